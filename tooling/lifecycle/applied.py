"""Which stacks are unchanged since their last successful apply, so that a deploy can skip them.

Why: a handler change rebuilds one zip, which changes one stack's configuration; planning and
applying every other stack of the deployment again (a refresh of each of their resources) costs
most of a redeploy and changes nothing. After every successful apply, ``deploy`` records the
stack's *fingerprint*; the next deploy skips a stack whose fingerprint is the recorded one.

**The fingerprint** (:func:`fingerprint`) is a sha256 over what decides what an apply does: the
configuration terraform reads (every ``*.tf.json``/``*.tf`` of the stack's directory but the
adoption's import blocks, which an apply removes first), every file under its ``assets/`` (the
Lambda zips, referenced by path from ``cdk.tf.json``), the target, the terraform version (the
provider's is pinned exactly in the configuration) and, per ``terraform_remote_state`` the stack
reads, the outputs of that state as stored now (so a stack that reads another one is applied
again whenever what it reads changed, whoever changed it).

**The record** is ``<state key>.applied-fingerprint`` in the stack's state bucket (beside the
state and terraform's ``.tflock``): it lives and dies with the state, so there is one source of
truth and no file on the developer's machine to go stale. On the local target it goes when the
emulator stops (with everything it deployed); on AWS it is in the account the state is in.
Besides the fingerprint it holds the ETag of the state object the apply left: a state written
since (a destroy, an import, terraform run by hand, an apply by another checkout) no longer
matches, and the stack is applied again.

**Crash safety.** The record is deleted before an apply starts (:meth:`AppliedRecords.forget`;
a failure to delete it stops that stack) and written only after the apply succeeded
(:meth:`AppliedRecords.remember`), so a failed, interrupted or killed apply never leaves an
"unchanged" behind. Whatever cannot be read (no record, no state, an S3 error) means "apply".

**What a skip cannot see**: a change made outside Terraform (drift) to a skipped stack's
resources. ``./tap plan`` and ``./tap drift`` always plan every stack and show it;
``./tap deploy --plan-all`` applies every stack and repairs it (docs/tasks.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling.lifecycle.account_clients import AccountAccess, account_clients
from tooling.lifecycle.adoption import ADOPT_FILE
from tooling.lifecycle.session import DeployError

if TYPE_CHECKING:
    from tooling.lifecycle.graph import StackInfo
    from tooling.lifecycle.session import Session

__all__ = [
    "FINGERPRINT_FORMAT",
    "RECORD_SUFFIX",
    "AppliedRecord",
    "AppliedRecords",
    "StateLocation",
    "Verdict",
    "configuration_files",
    "fingerprint",
]

#: The record of a state ``<key>`` is ``<key>.applied-fingerprint`` in the state bucket.
RECORD_SUFFIX = ".applied-fingerprint"
#: Part of every fingerprint: a change to what is hashed makes every record stale at once.
FINGERPRINT_FORMAT = "tap-applied/1"
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass(frozen=True)
class StateLocation:
    """Where a state object is, and how its backend reaches it (from an S3 backend block or a
    ``terraform_remote_state`` config): the record is read and written the same way."""

    bucket: str
    key: str
    region: str
    kms_key_id: str | None = None
    access: AccountAccess = field(default_factory=AccountAccess)

    @property
    def record_key(self) -> str:
        """The key of the record beside this state."""
        return self.key + RECORD_SUFFIX

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> StateLocation | None:
        """The location an S3 backend block (or remote state config) names; None without one."""
        bucket, key, region = settings.get("bucket"), settings.get("key"), settings.get("region")
        if not bucket or not key or not region:
            return None
        role = settings.get("assume_role")
        role_arn = role.get("role_arn") if isinstance(role, Mapping) else None
        profile = settings.get("profile")
        kms = settings.get("kms_key_id")
        return cls(
            bucket=str(bucket),
            key=str(key),
            region=str(region),
            kms_key_id=str(kms) if kms else None,
            access=AccountAccess(
                profile=str(profile) if profile else None,
                role_arn=str(role_arn) if role_arn else None,
            ),
        )


@dataclass(frozen=True)
class AppliedRecord:
    """What a successful apply left: the stack's fingerprint and the ETag of the state it wrote."""

    stack: str
    fingerprint: str
    state_etag: str
    recorded_at: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FINGERPRINT_FORMAT,
                "stack": self.stack,
                "fingerprint": self.fingerprint,
                "state_etag": self.state_etag,
                "recorded_at": self.recorded_at,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: bytes | str) -> AppliedRecord | None:
        """The record in ``text``; None when it is not one (of this format)."""
        try:
            raw = json.loads(text)
        except ValueError:
            return None
        if not isinstance(raw, dict) or raw.get("format") != FINGERPRINT_FORMAT:
            return None
        values = [raw.get(name) for name in ("stack", "fingerprint", "state_etag")]
        if not all(isinstance(value, str) and value for value in values):
            return None
        stack, digest, etag = (str(value) for value in values)
        return cls(stack, digest, etag, str(raw.get("recorded_at") or ""))


@dataclass(frozen=True)
class Verdict:
    """Whether a stack is unchanged since its last apply, and what the deploy needs either way.

    ``fingerprint`` None: the stack cannot be fingerprinted (no synthesized configuration, no
    S3 backend) and is applied without a record. ``outputs``: the outputs of its state (only
    for an unchanged stack, which is not applied and so has no ``terraform output`` to read).
    ``reason``: why it is applied (empty when unchanged).
    """

    stack: str
    unchanged: bool
    fingerprint: str | None
    reason: str = ""
    outputs: dict[str, Any] | None = None


def configuration_files(stack_dir: Path) -> list[Path]:
    """What terraform reads in ``stack_dir`` and a deploy keeps: its ``*.tf.json`` and ``*.tf``
    files (not the adoption's import blocks: an apply removes them first) and every file under
    ``assets/``; sorted."""
    found = [
        path
        for pattern in ("*.tf.json", "*.tf")
        for path in stack_dir.glob(pattern)
        if path.is_file() and path.name != ADOPT_FILE
    ]
    assets = stack_dir / "assets"
    if assets.is_dir():
        found += [path for path in assets.rglob("*") if path.is_file()]
    return sorted(set(found))


def fingerprint(
    stack_dir: Path,
    *,
    target: str,
    terraform_version: str,
    reads: Mapping[str, Any],
) -> str:
    """The stack's fingerprint: sha256 over :func:`configuration_files` (relative path and
    bytes), the target, the terraform version and ``reads`` (per remote state the stack reads,
    by data source name: the outputs of that state, None when it has none), as hex."""
    digest = hashlib.sha256()

    def part(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    part("format", FINGERPRINT_FORMAT.encode())
    part("target", target.encode())
    part("terraform", terraform_version.encode())
    for path in configuration_files(stack_dir):
        part(f"file {path.relative_to(stack_dir).as_posix()}", path.read_bytes())
    for name in sorted(reads):
        part(f"reads {name}", json.dumps(reads[name], sort_keys=True).encode())
    return digest.hexdigest()


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        return str((response.get("Error") or {}).get("Code") or "")
    return ""


@dataclass(frozen=True)
class _State:
    """A state object as stored now: its ETag and its outputs (name -> value)."""

    etag: str
    outputs: dict[str, Any]


class AppliedRecords:
    """The applied-fingerprint records of one deploy run (thread-safe: jobs call it at once).

    ``terraform_version``: called once, when the first stack is fingerprinted (a process run
    costs little, but a stack without configuration needs none).
    """

    def __init__(
        self,
        session: Session,
        *,
        terraform_version: Callable[[], str] | None = None,
    ) -> None:
        self._session = session
        self._version_of = terraform_version or _terraform_version
        self._version: str | None = None
        self._lock = threading.Lock()
        self._clients: dict[tuple[AccountAccess, str], Any] = {}

    # ------------------------------------------------------------------ the three operations

    def check(self, stack: StackInfo) -> Verdict:
        """Whether ``stack`` is unchanged since its last successful apply (see the module)."""
        document = _document(stack.directory)
        location = _backend(document)
        if document is None or location is None:
            return Verdict(stack.name, False, None, "no S3 backend to keep its record in")
        # What cannot be read means "apply"; with a fingerprint, the apply is recorded.
        try:
            digest = self._fingerprint(stack, document)
        except Exception as error:
            return Verdict(stack.name, False, None, f"it could not be fingerprinted ({error})")
        try:
            record = self._read_record(location)
            state = self._read_state(location)
        except Exception as error:
            return Verdict(stack.name, False, digest, f"its record could not be read ({error})")
        if record is None:
            reason = "no record of a successful apply"
        elif state is None:
            reason = "it has no state"
        elif record.fingerprint != digest:
            reason = "its configuration, assets or what it reads changed since its last apply"
        elif record.state_etag != state.etag:
            reason = "its state was written since its last apply (outside this deploy)"
        else:
            return Verdict(stack.name, True, digest, outputs=state.outputs)
        return Verdict(stack.name, False, digest, reason)

    def forget(self, stack: StackInfo) -> None:
        """Delete ``stack``'s record before its state changes (apply, destroy); a DeployError
        when it cannot be deleted (the change must not start under a stale record)."""
        location = _backend(_document(stack.directory))
        if location is None:
            return
        try:
            self._s3(location).delete_object(Bucket=location.bucket, Key=location.record_key)
        except Exception as error:
            raise DeployError(
                f"{stack.name}: cannot delete its applied record "
                f"s3://{location.bucket}/{location.record_key} before changing its state: {error}"
            ) from None

    def remember(self, stack: StackInfo, digest: str) -> str | None:
        """Record ``digest`` after ``stack``'s successful apply, with the ETag of the state it
        left. None when recorded, else why not (no error: the next deploy applies again)."""
        location = _backend(_document(stack.directory))
        if location is None:
            return "not recorded: no S3 backend"
        try:
            state = self._read_state(location, outputs=False)
            if state is None:
                return "not recorded: the apply left no state object"
            record = AppliedRecord(
                stack.name, digest, state.etag, datetime.now(UTC).isoformat(timespec="seconds")
            )
            extra: dict[str, str] = {}
            if location.kms_key_id:
                extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": location.kms_key_id}
            self._s3(location).put_object(
                Bucket=location.bucket,
                Key=location.record_key,
                Body=record.to_json().encode(),
                ContentType="application/json",
                **extra,
            )
        except Exception as error:  # the apply succeeded; the record only saves time
            return f"not recorded ({error}): the next deploy applies it again"
        return None

    # ------------------------------------------------------------------ reading

    def _fingerprint(self, stack: StackInfo, document: Mapping[str, Any]) -> str:
        reads: dict[str, Any] = {}
        for name, source in _remote_states(document).items():
            where = StateLocation.from_settings(source.get("config") or {})
            if where is None:
                reads[name] = {"config": source.get("config")}
                continue
            state = self._read_state(where)
            reads[name] = None if state is None else state.outputs
        return fingerprint(
            stack.directory,
            target=self._session.target,
            terraform_version=self._terraform_version(),
            reads=reads,
        )

    def _terraform_version(self) -> str:
        with self._lock:
            if self._version is None:
                self._version = self._version_of()
            return self._version

    def _read_record(self, location: StateLocation) -> AppliedRecord | None:
        try:
            response = self._s3(location).get_object(
                Bucket=location.bucket, Key=location.record_key
            )
        except Exception as error:
            if _error_code(error) in _NOT_FOUND:
                return None
            raise
        return AppliedRecord.from_json(response["Body"].read())

    def _read_state(self, location: StateLocation, *, outputs: bool = True) -> _State | None:
        """The state object now (None when there is none); ``outputs=False``: its ETag only."""
        s3 = self._s3(location)
        try:
            if not outputs:
                head = s3.head_object(Bucket=location.bucket, Key=location.key)
                return _State(str(head["ETag"]), {})
            response = s3.get_object(Bucket=location.bucket, Key=location.key)
        except Exception as error:
            if _error_code(error) in _NOT_FOUND:
                return None
            raise
        state = json.loads(response["Body"].read())
        raw = state.get("outputs") if isinstance(state, dict) else None
        values = {
            str(name): entry.get("value")
            for name, entry in (raw or {}).items()
            if isinstance(entry, dict)
        }
        return _State(str(response["ETag"]), values)

    def _s3(self, location: StateLocation) -> Any:
        """The S3 client of ``location``'s account, made once per account and region."""
        with self._lock:
            key = (location.access, location.region)
            if key not in self._clients:
                clients = account_clients(
                    self._session,
                    location.access,
                    region=location.region,
                    session_name="tap-applied-record",
                )
                self._clients[key] = clients("s3", location.region)
            return self._clients[key]


def _terraform_version() -> str:
    from tooling.terraform import terraform_version

    return terraform_version()


def _document(stack_dir: Path) -> dict[str, Any] | None:
    with contextlib.suppress(OSError, ValueError):
        document = json.loads((stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
        if isinstance(document, dict):
            return document
    return None


def _backend(document: Mapping[str, Any] | None) -> StateLocation | None:
    if document is None:
        return None
    backend = ((document.get("terraform") or {}).get("backend") or {}).get("s3")
    return StateLocation.from_settings(backend) if isinstance(backend, Mapping) else None


def _remote_states(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The S3 ``terraform_remote_state`` data sources of a stack, by name."""
    sources = (document.get("data") or {}).get("terraform_remote_state") or {}
    return {
        str(name): source
        for name, source in sources.items()
        if isinstance(source, Mapping) and source.get("backend") == "s3"
    }
