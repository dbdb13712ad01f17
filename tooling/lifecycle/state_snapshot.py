"""What a stack's state is in its S3 backend now: its lineage and serial, and the outputs of the
remote states the stack reads (as one sha256), for :mod:`.saved_plans`.

Read with boto3 straight from the state objects (as :mod:`.applied` reads them), not with
``terraform state pull``: a deploy of saved plans compares every stack before it runs any
terraform, and needs no ``terraform init`` for that. A state object that does not exist is a
stack never deployed (lineage and serial None, outputs None).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling.lifecycle.account_clients import account_clients
from tooling.lifecycle.applied import StateLocation
from tooling.lifecycle.session import DeployError

if TYPE_CHECKING:
    from tooling.lifecycle.session import Session

__all__ = ["StateSnapshot", "config_sha256", "read_snapshot"]

_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass(frozen=True)
class StateSnapshot:
    """A stack's state as stored now (lineage/serial None: no state) and the sha256 over the
    outputs of every remote state it reads, by data source name."""

    lineage: str | None
    serial: int | None
    reads_sha256: str


def config_sha256(stack_dir: Path) -> str:
    """The sha256 of the stack's synthesized ``cdk.tf.json``."""
    return hashlib.sha256((stack_dir / "cdk.tf.json").read_bytes()).hexdigest()


def read_snapshot(session: Session, stack_dir: Path) -> StateSnapshot:
    """The :class:`StateSnapshot` of the stack in ``stack_dir``; a DeployError when its
    configuration has no S3 backend or a state cannot be read (a missing one is no state)."""
    document = _document(stack_dir)
    backend = ((document.get("terraform") or {}).get("backend") or {}).get("s3")
    location = StateLocation.from_settings(backend) if isinstance(backend, Mapping) else None
    if location is None:
        raise DeployError(f"{stack_dir.name}: no S3 backend (bucket, key, region) to read")
    state = _read_state(session, location, stack_dir.name)
    reads: dict[str, Any] = {}
    sources = (document.get("data") or {}).get("terraform_remote_state") or {}
    for name, source in sorted(sources.items()):
        where = StateLocation.from_settings(source.get("config") or {})
        if source.get("backend") != "s3" or where is None:
            reads[name] = {"config": source.get("config")}
            continue
        read = _read_state(session, where, stack_dir.name)
        reads[name] = None if read is None else _outputs(read)
    digest = hashlib.sha256(json.dumps(reads, sort_keys=True).encode()).hexdigest()
    if state is None:
        return StateSnapshot(None, None, digest)
    lineage, serial = state.get("lineage"), state.get("serial")
    return StateSnapshot(
        str(lineage) if lineage else None, int(serial) if serial is not None else None, digest
    )


def _document(stack_dir: Path) -> dict[str, Any]:
    path = stack_dir / "cdk.tf.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DeployError(f"cannot read {path}: {error}") from None
    if not isinstance(document, dict):
        raise DeployError(f"{path} is not a Terraform JSON configuration")
    return document


def _outputs(state: Mapping[str, Any]) -> dict[str, Any]:
    raw = state.get("outputs") or {}
    return {str(name): entry.get("value") for name, entry in raw.items() if isinstance(entry, dict)}


def _read_state(session: Session, location: StateLocation, stack: str) -> dict[str, Any] | None:
    """The state document at ``location`` (None when there is none)."""
    s3 = account_clients(
        session, location.access, region=location.region, session_name="tap-saved-plans"
    )("s3", location.region)
    try:
        body = s3.get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
    except Exception as error:
        if _error_code(error) in _NOT_FOUND:
            return None
        raise DeployError(
            f"{stack}: cannot read the state s3://{location.bucket}/{location.key}: {error}"
        ) from None
    state: Any = None
    with contextlib.suppress(ValueError):
        state = json.loads(body)
    if not isinstance(state, dict):
        raise DeployError(f"{stack}: s3://{location.bucket}/{location.key} is not a state")
    return state


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        return str((response.get("Error") or {}).get("Code") or "")
    return ""
