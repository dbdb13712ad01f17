"""Adopt resources that exist but are missing from the state after an interrupted apply.

Why: terraform writes a resource to the state only after its create call returned. A deploy
killed in between (SIGKILL, OOM, CI time-out, lost VM) leaves resources that exist in AWS but not
in the state; the next apply tries to create them again and fails ("BucketAlreadyOwnedByYou",
"Table already exists", "EntityAlreadyExists", ...). Most of the platform's resources have
deterministic names in the synthesized configuration, so the ID ``terraform import`` needs can
be computed: :func:`orphans_from_apply_output` finds them in the failed apply's output,
:func:`import_id` computes each ID, :func:`write_import_blocks` writes terraform 1.5+ ``import``
blocks (``tap-adopt.tf.json`` beside the stack's ``cdk.tf.json``) and the next apply adopts them
in the same plan as everything else. What cannot be adopted is named by
:func:`unadoptable_message` with the command that fixes it.

The error texts are the aws provider's (5.100.0) diagnostics, e.g.::

    Error: creating S3 Bucket (tap-data-dev): operation error S3: CreateBucket, https response
    error StatusCode: 409, RequestID: ..., BucketAlreadyOwnedByYou:

      with aws_s3_bucket.Storage_DataBucket_ABCD1234,
      on cdk.tf.json line 412, in resource.aws_s3_bucket.Storage_DataBucket_ABCD1234:

with or without colours and the ``│`` box terraform draws on a terminal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "ADOPT_FILE",
    "Boto3Resolver",
    "Orphan",
    "Resolver",
    "import_id",
    "orphans_from_apply_output",
    "remove_import_blocks",
    "unadoptable_message",
    "write_import_blocks",
]

#: The file of import blocks written beside a stack's ``cdk.tf.json`` (terraform reads every
#: ``*.tf.json`` of the directory; cdktf never writes this name).
ADOPT_FILE = "tap-adopt.tf.json"


@dataclass(frozen=True)
class Orphan:
    """A resource terraform tried to create although it exists (address, type, what it said)."""

    address: str
    type: str
    code: str
    name: str = ""
    message: str = ""


# --------------------------------------------------------------------------- the apply output

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_BOX = re.compile(r"^[\s│╷╵]*")
_WITH = re.compile(
    r"^\s*with ((?:module\.[\w-]+(?:\[[^\]]*\])?\.)*[a-z0-9_]+\.[\w-]+(?:\[[^\]]*\])?),$"
)
_SUMMARY = re.compile(r"^Error: (?:creating|putting) [^(:]*?(?: \((?P<name>[^)]*)\))?:")

#: Error codes meaning "it already exists": (code, words that must come with a generic code,
#: resource types for which the code alone is enough). S3, DynamoDB, IAM, CloudWatch Logs, SQS,
#: KMS, Lambda, RDS, Secrets Manager, Route 53, API Gateway. SNS topics and CloudWatch alarms are
#: created idempotently: never an error. Moto (the local target) answers a second CreateDBCluster
#: with DBClusterSnapshotAlreadyExistsFault, AWS with DBClusterAlreadyExistsFault.
_EXISTS_CODES: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("BucketAlreadyOwnedByYou", "", frozenset()),
    ("BucketAlreadyExists", "", frozenset()),
    ("ResourceInUseException", "already exists", frozenset()),
    ("TableAlreadyExistsException", "", frozenset()),
    ("EntityAlreadyExists", "", frozenset()),
    ("ResourceAlreadyExistsException", "", frozenset()),
    ("QueueAlreadyExists", "", frozenset()),
    ("QueueNameExists", "", frozenset()),
    ("AlreadyExistsException", "", frozenset()),
    ("ResourceConflictException", "already exist", frozenset()),
    ("DBClusterAlreadyExistsFault", "", frozenset()),
    ("DBInstanceAlreadyExists", "", frozenset()),
    ("DBSubnetGroupAlreadyExists", "", frozenset()),
    ("DBClusterParameterGroupAlreadyExists", "", frozenset()),
    ("DBParameterGroupAlreadyExists", "", frozenset()),
    ("GlobalClusterAlreadyExistsFault", "", frozenset()),
    ("DBClusterSnapshotAlreadyExistsFault", "\0", frozenset({"aws_rds_cluster"})),
    ("ResourceExistsException", "", frozenset()),
    ("HealthCheckAlreadyExists", "", frozenset()),
    ("HostedZoneAlreadyExists", "", frozenset()),
    ("InvalidChangeBatch", "already exists", frozenset()),
    ("ConflictException", "already exist", frozenset({"aws_apigatewayv2_domain_name"})),
)


def _resource_type(address: str) -> str:
    """``module.a.aws_s3_bucket.x["k"]`` -> ``aws_s3_bucket``."""
    parts = re.sub(r"\[[^\]]*\]", "", address).split(".")
    while parts and parts[0] == "module":
        parts = parts[2:]
    return parts[0] if parts else ""


def _exists_code(text: str, resource_type: str) -> str | None:
    for code, words, enough_for in _EXISTS_CODES:
        if not re.search(rf"\b{code}\b", text):
            continue
        if not words or words in text.lower() or resource_type in enough_for:
            return code
    return None


def _diagnostics(output: str) -> Iterable[tuple[str, str]]:
    """(text of an error diagnostic, the address of its ``with`` line) for each diagnostic."""
    lines = [_BOX.sub("", _ANSI.sub("", raw)).rstrip() for raw in output.splitlines()]
    text: list[str] | None = None
    for line in lines:
        if line.startswith("Error: "):
            text = [line]
            continue
        if text is None:
            continue
        match = _WITH.match(line)
        if match:
            yield " ".join(text), match[1]
            text = None
        elif line.strip():
            text.append(line.strip())


def orphans_from_apply_output(output: str) -> list[Orphan]:
    """The resources a failed ``terraform apply`` could not create because they exist.

    Other errors are ignored (they are not ours to fix); each address is listed once.
    """
    found: dict[str, Orphan] = {}
    for text, address in _diagnostics(output):
        resource_type = _resource_type(address)
        code = _exists_code(text, resource_type)
        if code is None or address in found:
            continue
        summary = _SUMMARY.match(text)
        name = (summary["name"] or "") if summary else ""
        message = text.removeprefix("Error: ")
        found[address] = Orphan(address, resource_type, code, name, message[:500])
    return list(found.values())


# --------------------------------------------------------------------------- import IDs


class Resolver(Protocol):
    """Looks up the IDs terraform imports by that are not in the configuration (ARNs, URLs)."""

    def queue_url(self, name: str) -> str | None: ...

    def topic_arn(self, name: str) -> str | None: ...

    def secret_arn(self, name: str) -> str | None: ...


class Boto3Resolver:
    """:class:`Resolver` through boto3: ``client(service)`` returns a client of the stack's
    region (for the local target, one pointed at the emulator)."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        self._client = client

    @staticmethod
    def _missing(exc: Exception) -> bool:
        code = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))
        return "NonExistent" in code or "NotFound" in code

    def queue_url(self, name: str) -> str | None:
        try:
            return str(self._client("sqs").get_queue_url(QueueName=name)["QueueUrl"])
        except Exception as exc:
            if self._missing(exc):
                return None
            raise

    def topic_arn(self, name: str) -> str | None:
        pages = self._client("sns").get_paginator("list_topics").paginate()
        for page in pages:
            for topic in page.get("Topics", []):
                if str(topic["TopicArn"]).rsplit(":", 1)[-1] == name:
                    return str(topic["TopicArn"])
        return None

    def secret_arn(self, name: str) -> str | None:
        try:
            return str(self._client("secretsmanager").describe_secret(SecretId=name)["ARN"])
        except Exception as exc:
            if self._missing(exc):
                return None
            raise


#: Resource types whose import ID is one attribute of their configuration.
_BY_ATTRIBUTE: dict[str, str] = {
    "aws_s3_bucket": "bucket",
    "aws_s3_bucket_versioning": "bucket",
    "aws_s3_bucket_server_side_encryption_configuration": "bucket",
    "aws_s3_bucket_public_access_block": "bucket",
    "aws_s3_bucket_policy": "bucket",
    "aws_s3_bucket_logging": "bucket",
    "aws_s3_bucket_lifecycle_configuration": "bucket",
    "aws_s3_bucket_notification": "bucket",
    "aws_s3_bucket_ownership_controls": "bucket",
    "aws_dynamodb_table": "name",
    "aws_iam_role": "name",
    "aws_cloudwatch_log_group": "name",
    "aws_lambda_function": "function_name",
    "aws_kms_alias": "name",
    "aws_rds_cluster": "cluster_identifier",
    "aws_rds_cluster_instance": "identifier",
    "aws_db_instance": "identifier",
    "aws_db_subnet_group": "name",
    "aws_rds_cluster_parameter_group": "name",
    "aws_db_parameter_group": "name",
    "aws_rds_global_cluster": "global_cluster_identifier",
    "aws_cloudwatch_metric_alarm": "alarm_name",
    "aws_apigatewayv2_domain_name": "domain_name",
}
#: The attribute most resources are named by (a constant, so that the secret's entry below is
#: not mistaken for a hard-coded secret by the secrets scan).
_NAME = "name"
#: Attribute-to-attribute aliases of references: ``${aws_s3_bucket.x.id}`` is the bucket name.
_ID_IS: dict[str, str] = {
    "aws_s3_bucket": "bucket",
    "aws_dynamodb_table": "name",
    "aws_iam_role": "name",
    "aws_cloudwatch_log_group": "name",
    "aws_lambda_function": "function_name",
    "aws_kms_alias": "name",
    "aws_rds_cluster": "cluster_identifier",
    "aws_rds_cluster_instance": "identifier",
    "aws_db_instance": "identifier",
    "aws_db_subnet_group": "name",
    "aws_rds_cluster_parameter_group": "name",
    "aws_db_parameter_group": "name",
    "aws_rds_global_cluster": "global_cluster_identifier",
    "aws_cloudwatch_metric_alarm": "alarm_name",
    "aws_apigatewayv2_domain_name": "domain_name",
    "aws_sqs_queue": "name",  # only as the name of a queue (``.name``): its id is the URL
    "aws_sns_topic": "name",
    "aws_secretsmanager_secret": _NAME,
}
_REFERENCE = re.compile(r"\$\{([^{}]*)\}")
_SIMPLE_REFERENCE = re.compile(r"^([a-z0-9_]+)\.([\w-]+)\.([a-z_]+)$")
_ADDRESS = re.compile(r"^([a-z0-9_]+)\.([\w-]+)$")


def _config(document: Mapping[str, Any], resource_type: str, name: str) -> Mapping[str, Any]:
    config = ((document.get("resource") or {}).get(resource_type) or {}).get(name)
    return config if isinstance(config, Mapping) else {}


def _reference(document: Mapping[str, Any], expression: str, depth: int) -> str | None:
    """The literal value of ``type.name.attribute`` in ``document`` (None: not a literal)."""
    match = _SIMPLE_REFERENCE.match(expression.strip())
    if match is None or match[1].startswith(("var", "local", "data", "module")):
        return None
    resource_type, name, attribute = match.groups()
    if attribute in ("id", "name") and resource_type in _ID_IS:
        if attribute == "id" and resource_type in ("aws_sqs_queue", "aws_sns_topic"):
            return None  # their id is a URL / an ARN, not in the configuration
        if attribute == "id" and resource_type == "aws_secretsmanager_secret":
            return None
        attribute = _ID_IS[resource_type]
    config = _config(document, resource_type, name)
    if attribute not in config:
        return None
    return _literal(document, config[attribute], depth + 1)


def _literal(document: Mapping[str, Any], value: Any, depth: int = 0) -> str | None:
    """``value`` as a literal string, references to other resources' literal attributes of
    the same document resolved; None when it depends on anything else (variables, computed
    attributes, functions) or is not a string."""
    if depth > 8 or not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value)
    if "${" not in text:
        return text if text else None
    unresolved = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal unresolved
        resolved = _reference(document, match[1], depth)
        if resolved is None:
            unresolved = True
            return ""
        return resolved

    result = _REFERENCE.sub(substitute, text)
    return None if unresolved or "${" in result or not result else result


def _special(
    resource_type: str, config: Mapping[str, Any], document: Mapping[str, Any], resolve: Resolver
) -> str | None:
    """Import IDs composed of several attributes or looked up in AWS."""

    def get(attribute: str) -> str | None:
        return _literal(document, config.get(attribute))

    if resource_type == "aws_iam_role_policy":
        role, name = get("role"), get("name")
        return f"{role}:{name}" if role and name else None
    if resource_type == "aws_iam_role_policy_attachment":
        role, arn = get("role"), get("policy_arn")
        return f"{role}/{arn}" if role and arn else None
    if resource_type == "aws_sqs_queue":
        name = get("name")
        if name and config.get("fifo_queue") is True and not name.endswith(".fifo"):
            return None
        return resolve.queue_url(name) if name else None
    if resource_type == "aws_sns_topic":
        name = get("name")
        return resolve.topic_arn(name) if name else None
    if resource_type == "aws_secretsmanager_secret":
        name = get("name")
        return resolve.secret_arn(name) if name else None
    if resource_type == "aws_route53_record":
        return _record_id(config, document)
    return None


def _record_id(config: Mapping[str, Any], document: Mapping[str, Any]) -> str | None:
    """``<zone id>_<name>_<type>[_<set identifier>]`` of a Route 53 record."""
    zone, name, kind = (_literal(document, config.get(a)) for a in ("zone_id", "name", "type"))
    if not (zone and name and kind):
        return None
    identifier = _literal(document, config["set_identifier"]) if "set_identifier" in config else ""
    if identifier is None:
        return None
    return "_".join(part for part in (zone, name.rstrip("."), kind, identifier) if part)


def import_id(address: str, document: Mapping[str, Any], *, resolve: Resolver) -> str | None:
    """The ID ``terraform import`` needs for ``address`` of the synthesized ``document``.

    None when it is not deterministic (a name from a variable or a computed attribute, a
    ``name_prefix``, ``count``/``for_each`` instances, modules) or the type is not supported.
    """
    match = _ADDRESS.match(address)
    if match is None:
        return None
    resource_type, name = match.groups()
    config = _config(document, resource_type, name)
    if not config or "count" in config or "for_each" in config:
        return None
    attribute = _BY_ATTRIBUTE.get(resource_type)
    if attribute is not None:
        return _literal(document, config.get(attribute))
    return _special(resource_type, config, document, resolve)


# --------------------------------------------------------------------------- import blocks


def write_import_blocks(stack_dir: Path, imports: Mapping[str, str]) -> Path:
    """Write ``<stack_dir>/tap-adopt.tf.json``: one terraform 1.5+ import block per address.

    The next ``terraform apply`` imports them in the same plan that creates the rest (and
    changes an imported resource to match the configuration if it differs).
    """
    path = stack_dir / ADOPT_FILE
    blocks = [{"to": address, "id": ident} for address, ident in sorted(imports.items())]
    path.write_text(json.dumps({"import": blocks}, indent=2) + "\n", encoding="utf-8")
    return path


def remove_import_blocks(stack_dir: Path) -> bool:
    """Remove ``tap-adopt.tf.json`` (once applied, import blocks are no-ops, but they must not
    outlive the adoption: a later destroy-and-recreate would import instead of create)."""
    path = stack_dir / ADOPT_FILE
    if not path.exists():
        return False
    path.unlink()
    return True


def unadoptable_message(orphans: Sequence[Orphan], stack_dir: Path | str | None = None) -> str:
    """What exists but could not be adopted automatically, and how to fix each."""
    where = str(stack_dir) if stack_dir is not None else "<stack dir>"
    lines = [
        f"{len(orphans)} resource(s) exist in AWS but not in the state of "
        f"{Path(where).name or where}, and their import ID is not known:"
    ]
    for orphan in orphans:
        named = f" ({orphan.name})" if orphan.name else ""
        lines.append(f"  {orphan.address}{named}: {orphan.code}")
    lines.append(
        "For each: either import it, with the ID the aws provider's documentation of its type "
        "gives (section Import):"
    )
    lines += [f"  terraform -chdir={where} import {o.address} <ID>" for o in orphans]
    lines.append("or delete it (in the console or with the aws CLI), then run ./tap deploy again.")
    return "\n".join(lines)
