"""Adopt resources that exist but are missing from the state after an interrupted apply.

Why: terraform writes a resource to the state only after its create call returned. A deploy
killed in between (SIGKILL, OOM, CI time-out, lost VM) leaves resources that exist in AWS but not
in the state; the next apply tries to create them again and fails ("BucketAlreadyOwnedByYou",
"Table already exists", "EntityAlreadyExists", ...). The same happens within one apply when a
create call's response is lost and the provider retries it: the emulator, under load, loses
responses now and then, and the retried AuthorizeSecurityGroupEgress of a security group rule
is answered "InvalidPermission.Duplicate". Such a resource is adopted: its import ID is
computed (:mod:`.import_ids`) and a terraform 1.5+ ``import`` block for it written
(:func:`write_import_blocks`, ``tap-adopt.tf.json`` beside the stack's ``cdk.tf.json``), so the
next apply adopts it in the same plan as everything else. What cannot be adopted is named by
:func:`unadoptable_message` with the command that fixes it.

The failures are read from the apply's ``diagnostic`` messages (Terraform's machine-readable UI,
https://developer.hashicorp.com/terraform/internals/machine-readable-ui; parsed by
:mod:`.terraform_events`): ``address`` names the resource instance, and the AWS error code is a
word of the provider's ``summary`` or ``detail``. Both places occur, e.g. (recorded with
terraform 1.11 and aws provider 5.100.0)::

    {"severity": "error", "summary": "creating S3 Bucket (tap-data-dev): operation error S3:
     CreateBucket, https response error StatusCode: 409, RequestID: ..., BucketAlreadyOwnedByYou: ",
     "detail": "", "address": "aws_s3_bucket.Storage_DataBucket_ABCD1234", ...}

    {"severity": "error", "summary": "creating VPC Security Group Rule", "detail": "operation
     error EC2: AuthorizeSecurityGroupEgress, https response error StatusCode: 400, RequestID:
     ..., api error InvalidPermission.Duplicate: The specified rule already exists",
     "address": "aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE", ...}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling.lifecycle.terraform_events import Diagnostic

__all__ = [
    "ADOPT_FILE",
    "Orphan",
    "already_gone",
    "orphans",
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


# --------------------------------------------------------------------------- the diagnostics

#: Error codes meaning "it already exists": (code, words that must come with a generic code,
#: resource types for which the code alone is enough; ``"\0"``, which no text holds: only
#: those). S3, DynamoDB, IAM, CloudWatch Logs, SQS,
#: KMS, Lambda (a function, a permission's statement ID), RDS, Secrets Manager, Route 53, API
#: Gateway, EC2 security groups and their rules (a rule: the provider's retry of a create whose
#: response was lost; for a group's inline rules the code means something else), subnets, routes
#: and route table associations. EC2's codes:
#: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html (the provider's
#: own check before CreateRoute answers RouteAlreadyExists too). SNS topics and CloudWatch
#: alarms are created idempotently: never an error. Moto (the local target) answers a second
#: CreateDBCluster with DBClusterSnapshotAlreadyExistsFault, AWS with DBClusterAlreadyExistsFault.
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
    ("InvalidGroup.Duplicate", "", frozenset()),
    ("RouteAlreadyExists", "", frozenset()),
    ("Resource.AlreadyAssociated", "", frozenset()),
    # A subnet whose CIDR block another subnet of the VPC holds: the killed apply's own subnet
    # when one of the VPC has exactly that block (import_lookups finds it), else a conflict.
    ("InvalidSubnet.Conflict", "\0", frozenset({"aws_subnet"})),
    (
        "InvalidPermission.Duplicate",
        "\0",
        frozenset({"aws_vpc_security_group_egress_rule", "aws_vpc_security_group_ingress_rule"}),
    ),
)


def _address_steps(address: str) -> list[str]:
    """The dot-separated steps of a resource instance address, its index keys left out:
    ``module.a["x.y"].aws_s3_bucket.b[0]`` -> ``module``, ``a``, ``aws_s3_bucket``, ``b`` (a
    string key may hold dots and brackets: it is skipped up to its closing quote)."""
    steps, step = [], ""
    in_key = quoted = escaped = False
    for char in address:
        if in_key:
            if escaped:
                escaped = False
            elif quoted:
                escaped, quoted = char == "\\", char != '"'
            elif char == '"':
                quoted = True
            elif char == "]":
                in_key = False
        elif char == "[":
            in_key = True
        elif char == ".":
            steps.append(step)
            step = ""
        else:
            step += char
    steps.append(step)
    return steps


def _resource_type(address: str) -> str:
    """``module.a.aws_s3_bucket.x["k"]`` -> ``aws_s3_bucket``; ``""`` for a data source."""
    steps = _address_steps(address)
    while steps[:1] == ["module"]:
        steps = steps[2:]
    return steps[0] if len(steps) >= 2 and steps[0] != "data" else ""


def _words(text: str) -> set[str]:
    """The words of ``text``: runs of letters, digits, ``_`` and ``.`` (AWS error codes such as
    ``InvalidPermission.Duplicate``), without a sentence's leading or trailing dots."""
    words, word = set(), ""
    for char in text + " ":
        if char.isalnum() or char in "._":
            word += char
        elif word:
            words.add(word.strip("."))
            word = ""
    return words - {""}


def _exists_code(text: str, resource_type: str) -> str | None:
    """The first code of :data:`_EXISTS_CODES` that is a whole word of ``text`` (not a part of a
    longer one) with its required words, or for which ``resource_type`` needs none."""
    words, lowered = _words(text), text.lower()
    for code, required, enough_for in _EXISTS_CODES:
        if code in words and (not required or required in lowered or resource_type in enough_for):
            return code
    return None


def _name(summary: str) -> str:
    """The name in ``creating S3 Bucket (tap-data-dev): ...`` (the provider's summary of a
    failed create names what it created in parentheses before the first colon); ``""``."""
    if not summary.startswith(("creating ", "putting ")):
        return ""
    start = summary.find(" (")
    end = summary.find(")", start + 2)
    if (
        start < 0
        or end < 0
        or ":" in summary[:start]
        or summary[end + 1 : end + 2] not in ("", ":")
    ):
        return ""
    return summary[start + 2 : end]


def _text(diagnostic: Diagnostic) -> str:
    """The summary and the detail of ``diagnostic`` on one line."""
    return " ".join(f"{diagnostic.summary} {diagnostic.detail}".split())


def orphans(diagnostics: Iterable[Diagnostic]) -> list[Orphan]:
    """The resources a failed ``terraform apply`` could not create because they exist: error
    diagnostics about a managed resource instance (``address``) whose text holds an
    "already exists" code of :data:`_EXISTS_CODES`.

    Other errors are ignored (they are not ours to fix); each address is listed once.
    """
    found: dict[str, Orphan] = {}
    for diagnostic in diagnostics:
        address = diagnostic.address
        resource_type = _resource_type(address)
        if not diagnostic.is_error or not resource_type or address in found:
            continue
        text = _text(diagnostic)
        code = _exists_code(text, resource_type)
        if code is not None:
            name = _name(diagnostic.summary)
            found[address] = Orphan(address, resource_type, code, name, text[:500])
    return list(found.values())


#: (error code, words the diagnostic must contain): a removal the provider repeated after a
#: lost response, answered "not found" because its first attempt had already removed the thing.
#: Only rules a resource manages inside another one (the rules ``aws_default_security_group``
#: revokes): the resource's desired state is reached, the next apply reads it and moves on.
_ALREADY_GONE_CODES: tuple[tuple[str, str], ...] = (
    ("InvalidPermission.NotFound", "revoking security group"),
)


def already_gone(diagnostics: Iterable[Diagnostic]) -> list[str]:
    """The addresses whose failed apply only repeated a removal that had already happened.

    Under load the emulator loses a response now and then, and the provider retries the call:
    a retried RevokeSecurityGroupEgress of the default security group's rule is answered
    "InvalidPermission.NotFound" (the first attempt revoked it). Applying again converges: the
    provider reads the group without the rule and has nothing left to revoke.
    """
    found: list[str] = []
    for diagnostic in diagnostics:
        if not diagnostic.is_error or not diagnostic.address or diagnostic.address in found:
            continue
        text = _text(diagnostic)
        words, lowered = _words(text), text.lower()
        if any(code in words and phrase in lowered for code, phrase in _ALREADY_GONE_CODES):
            found.append(diagnostic.address)
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


def unadoptable_message(unadoptable: Sequence[Orphan], stack_dir: Path | str | None = None) -> str:
    """What exists but could not be adopted automatically, and how to fix each."""
    where = str(stack_dir) if stack_dir is not None else "<stack dir>"
    lines = [
        f"{len(unadoptable)} resource(s) exist in AWS but not in the state of "
        f"{Path(where).name or where}, and their import ID is not known:"
    ]
    for orphan in unadoptable:
        named = f" ({orphan.name})" if orphan.name else ""
        lines.append(f"  {orphan.address}{named}: {orphan.code}")
    lines.append(
        "For each: either import it, with the ID the aws provider's documentation of its type "
        "gives (section Import):"
    )
    lines += [f"  terraform -chdir={where} import {o.address} <ID>" for o in unadoptable]
    lines.append("or delete it (in the console or with the aws CLI), then run ./tap deploy again.")
    return "\n".join(lines)
