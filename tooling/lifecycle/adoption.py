"""Adopt resources that exist but are missing from the state after an interrupted apply.

Why: terraform writes a resource to the state only after its create call returned. A deploy
killed in between (SIGKILL, OOM, CI time-out, lost VM) leaves resources that exist in AWS but not
in the state; the next apply tries to create them again and fails ("BucketAlreadyOwnedByYou",
"Table already exists", "EntityAlreadyExists", ...). The same happens within one apply when a
create call's response is lost and the provider retries it: the emulator, under load, loses
responses now and then, and the retried AuthorizeSecurityGroupEgress of a security group rule
is answered "InvalidPermission.Duplicate". Most of the platform's resources have deterministic
names in the synthesized configuration, so the ID ``terraform import`` needs can be computed;
a security group rule's ``sgr-`` ID is looked up in AWS by its group (whose ID comes from the
state), direction, protocol, ports and peer (:mod:`.import_ids`).
:func:`orphans_from_apply_output` finds them in the failed apply's output,
:func:`.import_ids.import_id` computes each ID, :func:`write_import_blocks` writes terraform 1.5+
``import`` blocks (``tap-adopt.tf.json`` beside the stack's ``cdk.tf.json``) and the next apply
adopts them in the same plan as everything else. What cannot be adopted is named by
:func:`unadoptable_message` with the command that fixes it.

The error texts are the aws provider's (5.100.0) diagnostics, the detail before the ``with``
line, e.g.::

    Error: creating S3 Bucket (tap-data-dev): operation error S3: CreateBucket, https response
    error StatusCode: 409, RequestID: ..., BucketAlreadyOwnedByYou:

      with aws_s3_bucket.Storage_DataBucket_ABCD1234,
      on cdk.tf.json line 412, in resource.aws_s3_bucket.Storage_DataBucket_ABCD1234:

or after it (and after the source line it points at), e.g.::

    Error: creating VPC Security Group Rule

      with aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE,
      on cdk.tf.json line 696, in resource.aws_vpc_security_group_egress_rule.Network_...:
     696:       },

    operation error EC2: AuthorizeSecurityGroupEgress, https response error StatusCode: 400,
    RequestID: ..., api error InvalidPermission.Duplicate: The specified rule already exists

with or without colours and the ``│`` box terraform draws on a terminal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ADOPT_FILE",
    "Orphan",
    "already_gone_from_apply_output",
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
#: KMS, Lambda, RDS, Secrets Manager, Route 53, API Gateway, EC2 security group rules (the
#: provider's retry of a create whose response was lost; for a group's inline rules the code
#: means something else). SNS topics and CloudWatch alarms are created idempotently: never an
#: error. Moto (the local target) answers a second CreateDBCluster with
#: DBClusterSnapshotAlreadyExistsFault, AWS with DBClusterAlreadyExistsFault.
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
    (
        "InvalidPermission.Duplicate",
        "\0",
        frozenset({"aws_vpc_security_group_egress_rule", "aws_vpc_security_group_ingress_rule"}),
    ),
)


def _resource_type(address: str) -> str:
    """``module.a.aws_s3_bucket.x["k"]`` -> ``aws_s3_bucket``."""
    parts = re.sub(r"\[[^\]]*\]", "", address).split(".")
    while parts and parts[0] == "module":
        parts = parts[2:]
    return parts[0] if parts else ""


def _exists_code(text: str, resource_type: str) -> str | None:
    for code, words, enough_for in _EXISTS_CODES:
        if not re.search(rf"\b{re.escape(code)}\b", text):
            continue
        if not words or words in text.lower() or resource_type in enough_for:
            return code
    return None


def _diagnostics(output: str) -> Iterable[tuple[str, str]]:
    """(text of an error diagnostic, the address of its first ``with`` line) for each error
    diagnostic that has one.

    A diagnostic runs from its ``Error: `` line to the next ``Error: ``/``Warning: `` line, the
    end of its box or the end of the output. Its text leaves out the source context: the
    ``with`` line and what follows it up to the next blank line (the ``on`` line and the source
    lines it shows); the detail may come before or after that context.
    """
    text: list[str] | None = None
    address: str | None = None
    in_context = False
    for raw in output.splitlines():
        plain = _ANSI.sub("", raw).rstrip()
        line = _BOX.sub("", plain)
        if line.startswith(("Error: ", "Warning: ")) or plain.strip() == "╵":
            if text is not None and address is not None:
                yield " ".join(text), address
            text = [line] if line.startswith("Error: ") else None
            address, in_context = None, False
            continue
        if text is None:
            continue
        if not line.strip():
            in_context = False
            continue
        match = _WITH.match(line)
        if match:
            address, in_context = address or match[1], True
        elif not in_context:
            text.append(line.strip())
    if text is not None and address is not None:
        yield " ".join(text), address


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


#: (error code, words the diagnostic must contain): a removal the provider repeated after a
#: lost response, answered "not found" because its first attempt had already removed the thing.
#: Only rules a resource manages inside another one (the rules ``aws_default_security_group``
#: revokes): the resource's desired state is reached, the next apply reads it and moves on.
_ALREADY_GONE_CODES: tuple[tuple[str, str], ...] = (
    ("InvalidPermission.NotFound", "revoking security group"),
)


def already_gone_from_apply_output(output: str) -> list[str]:
    """The addresses whose failed apply only repeated a removal that had already happened.

    Under load the emulator loses a response now and then, and the provider retries the call:
    a retried RevokeSecurityGroupEgress of the default security group's rule is answered
    "InvalidPermission.NotFound" (the first attempt revoked it). Applying again converges: the
    provider reads the group without the rule and has nothing left to revoke.
    """
    found: list[str] = []
    for text, address in _diagnostics(output):
        lowered = text.lower()
        if address not in found and any(
            re.search(rf"\b{re.escape(code)}\b", text) and words in lowered
            for code, words in _ALREADY_GONE_CODES
        ):
            found.append(address)
    return found


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
