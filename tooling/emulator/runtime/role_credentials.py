"""The credentials of an execution environment: those of its function's execution role.

Lambda assumes a function's execution role and gives the execution environment the temporary
credentials of that role session (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``; https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html,
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime);
the session is named after the function, so the caller is
``arn:aws:sts::<account>:assumed-role/<role>/<function>``
(https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html: the calls
of the function's code carry its ARN as ``lambda:SourceFunctionArn``).

:class:`ExecutionRoleCredentials` does the same with moto's STS, in the process of the emulator
server that runs the runtime: each new worker gets a fresh session of the role the function has
*now*, for :data:`SESSION_SECONDS` (AssumeRole's default duration). The sessions it issued are
remembered (:func:`function_session`), so that the emulator can authorize the requests signed
with them against the role's policies (``iam-execution-role-policies`` in
:mod:`tooling.emulator.patches.iam`). A warm worker is only reused while its credentials hold
(:meth:`ExecutionRoleCredentials.usable`): they must outlast the invocation's timeout, still
exist in moto (a reset forgets them) and belong to the function's current role.

A function moto does not know (the runtime used on its own, as its tests and benchmark do, with
no emulator behind the endpoint) gets the emulator's own credentials: there is no role to assume
and nothing that would check them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from tooling.emulator.credentials import FAKE_CREDENTIALS
from tooling.emulator.runtime.model import FunctionSpec

__all__ = [
    "EMULATOR_CREDENTIALS",
    "RENEWAL_MARGIN_SECONDS",
    "SESSION_SECONDS",
    "CredentialSource",
    "Credentials",
    "ExecutionRoleCredentials",
    "FunctionSession",
    "function_session",
]

#: AssumeRole's default DurationSeconds (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
SESSION_SECONDS: Final = 3600
#: A warm worker is replaced when its credentials would expire within its function's timeout
#: plus this margin.
RENEWAL_MARGIN_SECONDS: Final = 60


@dataclass(frozen=True)
class Credentials:
    """What a worker signs its AWS requests with; ``expiration`` None: they never expire."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime | None = None


#: The emulator's own credentials (moto's documented fake ones), for functions moto does not know.
EMULATOR_CREDENTIALS: Final = Credentials(
    access_key_id=FAKE_CREDENTIALS.access_key_id,
    secret_access_key=FAKE_CREDENTIALS.secret_access_key,
    session_token=FAKE_CREDENTIALS.session_token,
)


@dataclass(frozen=True)
class FunctionSession:
    """A role session issued to a function's execution environment."""

    access_key_id: str
    function_arn: str
    role_arn: str
    #: ``arn:aws:sts::<account>:assumed-role/<role>/<function>``
    session_arn: str
    account_id: str
    partition: str
    expiration: datetime


class CredentialSource(Protocol):
    """Where the runtime gets a new worker's credentials, and whether a warm worker's still do."""

    def issue(self, spec: FunctionSpec) -> Credentials: ...

    def usable(self, spec: FunctionSpec, credentials: Credentials) -> bool: ...


_SESSIONS: dict[str, FunctionSession] = {}
_SESSIONS_LOCK = threading.Lock()


def function_session(access_key_id: str) -> FunctionSession | None:
    """The function session ``access_key_id`` was issued for, if it was issued by a runtime."""
    with _SESSIONS_LOCK:
        return _SESSIONS.get(access_key_id)


def _remember(session: FunctionSession, now: datetime) -> None:
    with _SESSIONS_LOCK:
        for key in [k for k, s in _SESSIONS.items() if s.expiration <= now]:
            del _SESSIONS[key]
        _SESSIONS[session.access_key_id] = session


def _now() -> datetime:
    return datetime.now(UTC)


class ExecutionRoleCredentials:
    """Credentials of the function's execution role, from the emulator's (moto's) STS."""

    def __init__(self, *, clock: Callable[[], datetime] = _now) -> None:
        self._clock = clock

    def issue(self, spec: FunctionSpec) -> Credentials:
        """A new session of the function's role, or the emulator's credentials if moto does
        not know the function."""
        role_arn = _role_of(spec)
        if role_arn is None:
            return EMULATOR_CREDENTIALS
        from moto.sts.models import sts_backends
        from moto.utilities.utils import get_partition

        partition = get_partition(spec.region)
        backend: Any = sts_backends[spec.account_id][partition]
        assumed = backend.assume_role(
            region_name=spec.region,
            role_session_name=spec.function_name,
            role_arn=role_arn,
            policy=None,
            duration=SESSION_SECONDS,
            external_id=None,
        )
        expiration = self._clock() + timedelta(seconds=SESSION_SECONDS)
        _remember(
            FunctionSession(
                access_key_id=str(assumed.access_key_id),
                function_arn=spec.function_arn,
                role_arn=role_arn,
                session_arn=str(assumed.arn),
                account_id=str(assumed.account_id),
                partition=partition,
                expiration=expiration,
            ),
            self._clock(),
        )
        return Credentials(
            access_key_id=str(assumed.access_key_id),
            secret_access_key=str(assumed.secret_access_key),
            session_token=str(assumed.session_token),
            expiration=expiration,
        )

    def usable(self, spec: FunctionSpec, credentials: Credentials) -> bool:
        """Whether a warm worker holding ``credentials`` may serve an invocation of ``spec``."""
        role_arn = _role_of(spec)
        if credentials.expiration is None:
            return role_arn is None
        session = function_session(credentials.access_key_id)
        if session is None or session.role_arn != role_arn or not _sts_knows(session):
            return False
        needed = timedelta(seconds=spec.timeout_seconds + RENEWAL_MARGIN_SECONDS)
        return self._clock() + needed < session.expiration


def _role_of(spec: FunctionSpec) -> str | None:
    """The execution role moto has for the function now; None if moto does not know it."""
    from moto.awslambda.exceptions import UnknownFunctionException
    from moto.awslambda.utils import get_backend

    try:
        function = get_backend(spec.account_id, spec.region).get_function(spec.function_arn)
    except UnknownFunctionException:
        return None
    return str(function.role) if function.role else None


def _sts_knows(session: FunctionSession) -> bool:
    """Whether moto's STS still has the session (``/moto-api/reset`` forgets every one)."""
    from moto.sts.models import sts_backends

    backend = sts_backends[session.account_id][session.partition]
    return backend.get_assumed_role_from_access_key(session.access_key_id) is not None
