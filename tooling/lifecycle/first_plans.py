"""Plans of what does not exist yet: how ``plan`` plans a stack whose state is not there.

Why: a pull request that adds an environment, or deploys one for the first time, must show its
plan, but Terraform cannot make one the ordinary way. ``terraform init`` fails while the stack's
state bucket does not exist ("S3 bucket ... does not exist"), and a stack that reads another
stack's outputs (``terraform_remote_state``) fails while that state does not exist ("Unable to
find remote state"). So before a stack is planned, :func:`plan_basis` looks at what its
configuration needs (a :class:`BackendProbe` answers):

- a stack that reads the state of a stack of the same run (``depends_on``) while that state does
  not exist is :data:`WAITING`: it is not planned, since its plan is made from outputs that do
  not exist yet; its plan follows the deploy of what it waits for;
- a stack whose state bucket does not exist is planned against an :data:`EMPTY_STATE`: a scratch
  copy of its directory whose backend is a local one (:func:`scratch_copy`), so the plan shows
  everything a first deploy would add and nothing is written to any bucket or lock table;
- every other stack is planned against its :data:`STATE`, as always.

Only a definite "does not exist" answer changes how a stack is planned: any other answer (no
permission, a throttled request) plans it against its state, and Terraform then reports what it
cannot do, as it always did.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from tooling.lifecycle.account_clients import account_clients
from tooling.lifecycle.applied import StateLocation

if TYPE_CHECKING:
    from tooling.lifecycle.graph import StackInfo
    from tooling.lifecycle.session import Session

__all__ = [
    "EMPTY_STATE",
    "SCRATCH_STATE",
    "STATE",
    "WAITING",
    "BackendProbe",
    "Basis",
    "PlanBasis",
    "S3Probe",
    "empty_state_note",
    "not_applicable_reason",
    "plan_basis",
    "scratch_copy",
    "waiting_note",
]

#: How a stack is planned: against its state, against an empty state, or not yet.
Basis = Literal["state", "empty_state", "waiting"]
STATE: Basis = "state"
EMPTY_STATE: Basis = "empty_state"
WAITING: Basis = "waiting"

#: The state file of a scratch copy's local backend, inside the copy (never written by a plan).
SCRATCH_STATE = "terraform.tfstate"
#: What a scratch copy leaves out of the stack's directory: its initialised working directory
#: (initialised for the S3 backend) and any plan or state file.
_NOT_COPIED = (".terraform", "*.tfplan", "*.tfstate", "*.tfstate.backup")

#: The error codes of a bucket or object that does not exist. HeadBucket answers 404 when the
#: bucket does not exist (403 when it exists but the caller may not read it:
#: https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html); HeadObject answers 404
#: for a missing key only to a caller with s3:ListBucket, 403 otherwise
#: (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html), so a 403 is never
#: taken for "does not exist".
_MISSING = frozenset({"404", "NotFound", "NoSuchBucket", "NoSuchKey"})


#: One S3 request of a probe, given the client.
_Call = Callable[[Any], object]


@dataclass(frozen=True)
class PlanBasis:
    """How one stack is planned; ``waiting_for``: the stacks whose state it reads and that have
    none yet (:data:`WAITING` only)."""

    kind: Basis
    waiting_for: tuple[str, ...] = ()


class BackendProbe(Protocol):
    """Whether a state bucket, and a state object, exist."""

    def bucket_exists(self, location: StateLocation) -> bool: ...

    def state_exists(self, location: StateLocation) -> bool: ...


class S3Probe:
    """:class:`BackendProbe` of a session: HeadBucket and HeadObject with the credentials the
    backend block names (its region, its role), each answer asked once per run (the stacks of
    an environment share one bucket; the stacks plan in threads)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, StateLocation], bool] = {}

    def bucket_exists(self, location: StateLocation) -> bool:
        bucket_only = replace(location, key="", kms_key_id=None)
        return self._asked("bucket", bucket_only, lambda s3: s3.head_bucket(Bucket=location.bucket))

    def state_exists(self, location: StateLocation) -> bool:
        return self._asked(
            "state", location, lambda s3: s3.head_object(Bucket=location.bucket, Key=location.key)
        )

    def _asked(self, what: str, location: StateLocation, call: _Call) -> bool:
        with self._lock:
            known = self._answers.get((what, location))
        if known is not None:
            return known
        answer = _exists(self._s3(location), call)
        with self._lock:
            self._answers[(what, location)] = answer
        return answer

    def _s3(self, location: StateLocation) -> Any:
        clients = account_clients(
            self._session, location.access, region=location.region, session_name="tap-plan"
        )
        return clients("s3", location.region)


def _exists(s3: Any, call: _Call) -> bool:
    """False when ``call(s3)`` answers that its bucket or object does not exist; True when it
    succeeds or fails otherwise (the plan against the state then reports that failure)."""
    from botocore.exceptions import ClientError

    try:
        call(s3)
    except ClientError as error:
        return str(error.response.get("Error", {}).get("Code")) not in _MISSING
    return True


def _document(stack_dir: Path) -> Mapping[str, Any]:
    """The stack's ``cdk.tf.json``; {} when it cannot be read (the plan against the state then
    reports what is wrong with it)."""
    try:
        document = json.loads((stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _read_states(document: Mapping[str, Any]) -> list[StateLocation]:
    """Where each S3 ``terraform_remote_state`` of the stack reads, as its config says."""
    sources = (document.get("data") or {}).get("terraform_remote_state") or {}
    found = []
    for source in sources.values():
        if isinstance(source, Mapping) and source.get("backend") == "s3":
            location = StateLocation.from_settings(source.get("config") or {})
            if location is not None:
                found.append(location)
    return found


def plan_basis(stack: StackInfo, run: Iterable[StackInfo], probe: BackendProbe) -> PlanBasis:
    """How ``stack`` is planned, given the stacks of the ``run`` (see the module's docstring).

    Waiting comes first: a stack that waits is not planned at all, whether or not its own
    state bucket exists (in a new environment neither does)."""
    document = _document(stack.directory)
    owners = {other.state: other.name for other in run if other.state is not None}
    waiting: list[str] = []
    for location in _read_states(document):
        owner = owners.get((location.bucket, location.key))
        if owner in stack.depends_on and owner not in waiting and not probe.state_exists(location):
            waiting.append(owner)
    if waiting:
        return PlanBasis(WAITING, tuple(sorted(waiting)))
    backend = ((document.get("terraform") or {}).get("backend") or {}).get("s3")
    own = StateLocation.from_settings(backend) if isinstance(backend, Mapping) else None
    if own is not None and not probe.bucket_exists(own):
        return PlanBasis(EMPTY_STATE)
    return PlanBasis(STATE)


def scratch_copy(stack_dir: Path, scratch: Path) -> Path:
    """A copy of the stack in ``stack_dir`` at ``scratch`` (which must not exist) whose backend
    is a local state file inside the copy; its path.

    The copy's ``cdk.tf.json`` is the stack's with ``terraform.backend`` replaced, rather than
    the stack's own beside an override file: the lifecycle itself reads the S3 backend of a
    ``cdk.tf.json`` (its state-lock guard writes a holder record next to the state,
    :func:`.locks.holding`), so only a copy without one is planned with nothing written to S3,
    by Terraform or by the lifecycle. The assets the configuration names by relative path
    (the Lambda zips) are copied with it."""
    shutil.copytree(stack_dir, scratch, ignore=shutil.ignore_patterns(*_NOT_COPIED))
    config = scratch / "cdk.tf.json"
    document = json.loads(config.read_text(encoding="utf-8"))
    terraform = document.setdefault("terraform", {})
    terraform["backend"] = {"local": {"path": SCRATCH_STATE}}
    config.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return scratch


def empty_state_note(bootstrap: str | None) -> str:
    """What the report says of a stack planned against an empty state; ``bootstrap``: the
    command that creates the state backend, as the caller spells it (None: no command)."""
    note = "planned against an empty state: the state backend does not exist yet"
    return f"{note}; `{bootstrap}` creates it" if bootstrap else note


def waiting_note(waiting_for: Iterable[str]) -> str:
    """What the report says of a stack not planned while what it reads is not deployed."""
    names = list(waiting_for)
    follows = "the dependency's deploy" if len(names) == 1 else "the dependencies' deploys"
    return f"waiting for {', '.join(names)}: not deployed yet; its plan follows {follows}"


def not_applicable_reason(basis: PlanBasis, bootstrap: str | None) -> str:
    """Why ``deploy --plan`` cannot apply the saved plan of a stack planned on ``basis`` (not
    :data:`STATE`): the environment is bootstrapped and deployed first, then planned again."""
    if basis.kind == WAITING:
        return (
            f"not planned: waiting for {', '.join(basis.waiting_for)} (not deployed yet): "
            "deploy first, then plan again"
        )
    command = f" (`{bootstrap}`)" if bootstrap else ""
    return (
        "planned against an empty state (its state backend did not exist), not a plan to "
        f"apply: bootstrap the state backend{command} and deploy first, then plan again"
    )
