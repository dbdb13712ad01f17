"""``./tap verify --env ENV [--target aws|local]``: the run against a deployment, its report
printed as it goes, an error naming the failed checks.

The deployment is what its flat outputs say (:func:`tooling.lifecycle.outputs.read_outputs`),
reached with the lifecycle's session of the target: for ``local``, the running emulator of the
repository with its fake credentials, every endpoint on loopback; for ``aws``, boto3's default
credential chain (https://boto3.amazonaws.com/v1/documentation/api/latest/guide/credentials.html),
which also signs the API's IAM routes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tooling.verify.api import ApiClient
from tooling.verify.canary import Canary, new_canary
from tooling.verify.checks import DEFAULT_TIMEOUT_SECONDS, CanaryRun
from tooling.verify.errors import VerifyError
from tooling.verify.polling import Backoff
from tooling.verify.report import check_line, failure_message, header_line, summary_line
from tooling.verify.results import VerifyResult
from tooling.verify.runner import verify
from tooling.verify.store import CanaryStore, Store
from tooling.verify.target import VerifyTarget
from tooling.verify.transport import SigV4Signer, UrllibTransport

if TYPE_CHECKING:
    from botocore.credentials import Credentials

    from tooling.lifecycle.session import Session

__all__ = ["api_client", "api_credentials", "execute", "run", "verify_environment"]


def verify_environment(
    root: Path,
    environment: str,
    *,
    target: str = "local",
    region: str | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    out: TextIO | None = None,
) -> VerifyResult:
    """:func:`run` on the deployment of the repository ``root``: its flat outputs and its
    session of ``target`` (local: its running emulator). ``region`` picks a region of a
    multi-region environment (default: its primary region)."""
    from tooling.lifecycle.commands.context import session_for
    from tooling.lifecycle.errors import LifecycleError
    from tooling.lifecycle.outputs import read_outputs, region_key
    from tooling.lifecycle.workspace import Workspace

    try:
        outputs = read_outputs(root, environment)
        session = session_for(Workspace.from_environ(root, target=target), start=False)
    except LifecycleError as error:
        raise VerifyError(str(error), error.code) from None
    prefix = environment if region is None else f"{environment}_{region_key(region)}"
    return run(session, outputs, prefix, timeout_seconds=timeout_seconds, out=out)


def run(
    session: Session,
    outputs: Mapping[str, Any],
    prefix: str,
    *,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    out: TextIO | None = None,
    canary: Canary | None = None,
) -> VerifyResult:
    """``./tap verify``: the checks against the deployment whose flat outputs start with
    ``prefix``, on the session's target. Returns the result when every check passed; raises
    :class:`VerifyError` (code 1, with the result) naming the failed ones, after the report."""
    if timeout_seconds <= 0:
        raise VerifyError(f"--timeout {timeout_seconds:g}: a number of seconds above 0.", 2)
    target = VerifyTarget.from_outputs(outputs, prefix, session.target)
    store = CanaryStore(lambda service: session.client(service, target.region), target)
    return execute(
        target,
        api_client(session, target),
        store,
        canary or new_canary(),
        timeout_seconds=timeout_seconds,
        out=out,
    )


def execute(
    target: VerifyTarget,
    api: ApiClient,
    store: Store,
    canary: Canary,
    *,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    out: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    backoff: Backoff | None = None,
) -> VerifyResult:
    """The run with its ports given: the report printed to ``out`` (default stdout) line by
    line as the checks end; :class:`VerifyError` when one failed."""
    stream = out if out is not None else sys.stdout

    def say(line: str) -> None:
        print(line, file=stream, flush=True)

    say(header_line(target.name, target.target, canary))
    run = CanaryRun(canary, api, store, timeout_seconds, clock, sleep, backoff or Backoff())
    result = verify(
        run,
        environment=target.name,
        target=target.target,
        on_result=lambda check: say(check_line(check)),
    )
    say(summary_line(result))
    if not result.passed:
        raise VerifyError(failure_message(result), 1, result=result)
    return result


def api_client(session: Session, target: VerifyTarget) -> ApiClient:
    """The API of ``target`` over urllib, its IAM routes signed with the session's
    credentials (:func:`api_credentials`); for the local target only a loopback URL."""
    if session.emulator is not None:
        from tooling.lifecycle.session import DeployError, assert_loopback

        try:
            assert_loopback(target.api_url)
        except DeployError as error:
            raise VerifyError(f"{error} (api_local_url)", 2) from None
    signer = SigV4Signer(api_credentials(session, target.region), target.region)
    return ApiClient(target.api_url, UrllibTransport(), signer)


def api_credentials(session: Session, region: str) -> Credentials:
    """The credentials the session's boto3 clients use: the emulator's fake ones for the local
    target, boto3's default chain for AWS."""
    from botocore.credentials import Credentials

    if session.emulator is not None:
        from tooling.emulator.local_target import local_aws_env

        env = local_aws_env(session.emulator, region=region)
        return Credentials(
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]
        )
    import boto3

    found = boto3.session.Session(region_name=region).get_credentials()
    if found is None:
        raise VerifyError(
            "no AWS credentials to sign the API's IAM routes: boto3's default chain found none "
            "(AWS_PROFILE, AWS_ACCESS_KEY_ID..., SSO, an instance or task role).",
            2,
        )
    return found
