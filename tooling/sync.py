"""``./tap sync``: the working tree's Lambda code into a deployed environment's functions, through
the Lambda API, in about a second per service after a change to its modules.

Which functions run which zip
    :data:`SERVICE_FUNCTIONS`: the ``processor`` zip runs the processor function, the
    ``api_handler`` zip the API handler and the session authorizer (its second entry point).
    The keys are those of the application stack's outputs (``<function>_function_name``;
    trading_infra/stacks.py), so a deployment's function names are read from its flat outputs:
    ``<prefix>_<function>_function_name``, the prefix being the environment, or
    ``<environment>_<region>`` for each region of a multi-region one (every region by default,
    one with ``--region``). tests/tooling/test_sync.py checks the mapping against the
    synthesized stacks (each ``aws_lambda_function``'s ``filename`` is ``<service>.zip``).

A sync of one service (:meth:`Syncer.sync`)
    1. **build** ``dist/<service>.zip`` for the current sources
       (:func:`tooling.build.lambda_zip.build_service`: after a change to the service's own
       code the dependency layer pip made last time is reused, so the build takes about half a
       second and writes the bytes a build from scratch writes);
    2. **check** that every module of the service package in the zip compiles under the
       runtime's CPython (``python3.12``, :func:`check_syntax`): a syntax error is reported and
       nothing is updated (Lambda would accept the zip and fail every invocation at import);
    3. **compare** each function's ``CodeSha256`` (GetFunctionConfiguration) with the zip's:
       a function already running it is left alone;
    4. **update** each other one: UpdateFunctionCode with ``FunctionName`` and the zip's bytes as
       ``ZipFile`` only (what ``aws lambda update-function-code --zip-file`` sends; no
       ``Publish``: ``$LATEST`` is what the triggers invoke), and check that the ``CodeSha256``
       Lambda answers is the zip's;
    5. **wait** until each one's ``LastUpdateStatus`` is ``Successful`` (the waiter
       ``function_updated_v2``: GetFunction every second). Until then Lambda still runs the
       previous code, afterwards every new invocation runs the new one
       (https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html). The emulator does
       the same: its warm workers are keyed by the function's configuration, ``CodeSha256``
       included (tooling/emulator/runtime/model.py), so the next invocation starts a worker on
       the new code and the old idle workers are stopped.

    One line per sync: ``synced api_handler -> tap-api-handler-dev, tap-api-authorizer-dev in
    0.6 s`` (the seconds from the start of the build until every function's update succeeded).

Rules of the Lambda API checked before anything is sent (each would be refused by AWS):
    - a zip uploaded in the request (``ZipFile``) is at most 50 MB, 52,428,800 bytes
      (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html; the API answers
      ``RequestEntityTooLargeException: Request must be smaller than 69905067 bytes``, the
      base64 size of that): :data:`DIRECT_UPLOAD_LIMIT_BYTES`;
    - the code must suit the function's instruction set architecture
      (https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html): a function
      whose ``Architectures`` differ from the zip's target is refused (the zip's binary wheels
      would not load); so is a function of package type ``Image``;
    - a function that is ``Pending`` or whose last update is ``InProgress`` refuses another
      update (``ResourceConflictException``, functions-states.html above): the sync waits for
      it first (``function_active_v2``, ``function_updated_v2``).

``--watch`` (:class:`Watcher`): after a first sync of every service, the input hash of each
service (:func:`~tooling.build.lambda_zip.compute_input_hash`: every file the build reads) is
polled every :data:`POLL_SECONDS`; a service whose hash changed is synced. A failed build or
sync is printed and watching goes on; the functions keep the code they had.

Terraform and a synced function: the state keeps the ``source_code_hash`` of the zip Terraform
uploaded, and the AWS provider does not read a function's code back
(hashicorp/terraform-provider-aws#41092, #42826), so neither ``plan`` nor ``drift`` sees the
code a sync put in. The next deploy updates the function in place when ``dist/`` holds a zip
other than the one in the state (which it does after a sync: the synced one), re-uploading the
same code and making the state match again. If the change is reverted instead, ``dist/`` holds
Terraform's zip again and the plan shows nothing: a sync puts that code back
(:data:`AWS_WARNING`, :data:`LOCAL_NOTE`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from tooling.build.lambda_zip import (
    DEPENDENCY_CACHE_DIR,
    BuildError,
    BuildResult,
    LambdaTarget,
    build_service,
    compute_input_hash,
)

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient
    from mypy_boto3_lambda.type_defs import FunctionConfigurationResponseTypeDef

    from tooling.lifecycle.session import Session
    from tooling.lifecycle.workspace import Workspace

__all__ = [
    "AWS_WARNING",
    "DIRECT_UPLOAD_LIMIT_BYTES",
    "LOCAL_NOTE",
    "POLL_SECONDS",
    "SERVICE_FUNCTIONS",
    "DeployedFunction",
    "SyncError",
    "SyncResult",
    "Syncer",
    "Watcher",
    "check_syntax",
    "code_sha256",
    "deployed_functions",
    "output_prefixes",
    "run",
]

#: Service (its zip, ``dist/<service>.zip``) -> the functions running it, by output key.
SERVICE_FUNCTIONS: Final[Mapping[str, tuple[str, ...]]] = {
    "processor": ("processor",),
    "api_handler": ("api_handler", "api_authorizer"),
}
#: The largest zip UpdateFunctionCode takes in the request (50 MiB; module docstring).
DIRECT_UPLOAD_LIMIT_BYTES: Final = 52_428_800
#: How often ``--watch`` looks at the services' inputs.
POLL_SECONDS: Final = 0.5

AWS_WARNING: Final = """\
WARNING (--target aws): {functions} now run code that Terraform did not deploy.
  The Terraform state still records the zip of the last `./tap deploy --target aws`, and the AWS
  provider does not read a function's code back: `./tap plan` and `./tap drift` do not see this.
  The next `./tap deploy --target aws` updates these functions in place with dist/ (this code)
  and the state matches again. If you revert your change instead, the plan shows no change while
  the functions keep the synced code: run `./tap sync --target aws` again to put dist/ back."""

LOCAL_NOTE: Final = (
    "note: the Terraform state still records the deployed zip; the next `./tap deploy` updates "
    "these functions in place with dist/ (this code) and the state matches again."
)


class SyncError(RuntimeError):
    """A sync cannot be done; the message says why and what to do."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DeployedFunction:
    """A deployed function: its name and region."""

    name: str
    region: str


@dataclass(frozen=True)
class SyncResult:
    """One service synced: the zip, the functions updated and those already running it."""

    service: str
    build: BuildResult
    updated: tuple[DeployedFunction, ...]
    unchanged: tuple[DeployedFunction, ...]
    seconds: float

    def line(self, *, show_regions: bool = False) -> str:
        """``synced api_handler -> a, b in 0.6 s``, or that every function already runs it."""

        def names(functions: Sequence[DeployedFunction]) -> str:
            if show_regions:
                return ", ".join(f"{fn.name} ({fn.region})" for fn in functions)
            return ", ".join(fn.name for fn in functions)

        if self.updated:
            return f"synced {self.service} -> {names(self.updated)} in {self.seconds:.1f} s"
        verb = "runs" if len(self.unchanged) == 1 else "run"
        return (
            f"{self.service}: up to date ({names(self.unchanged)} already {verb} "
            f"{self.build.zip_path.name})"
        )


def output_prefixes(environment: str, regions: Sequence[str], only: str | None) -> list[str]:
    """The flat outputs' prefixes of ``environment`` (its regions in order, primary first):
    the environment itself when it has one region, else ``<environment>_<region>`` for each
    region, or for ``only``."""
    if only is not None and only not in regions:
        raise SyncError(f"--region {only}: {environment} runs in {', '.join(regions)}.", 2)
    if len(regions) == 1:
        return [environment]
    chosen = [only] if only is not None else list(regions)
    return [f"{environment}_{region.replace('-', '_')}" for region in chosen]


def deployed_functions(
    outputs: Mapping[str, Any],
    prefixes: Sequence[str],
    *,
    mapping: Mapping[str, Sequence[str]] = SERVICE_FUNCTIONS,
    deploy_hint: str = "./tap deploy",
) -> dict[str, tuple[DeployedFunction, ...]]:
    """Service -> its deployed functions, from the flat outputs (``<prefix>_<key>_function_name``
    and ``<prefix>_aws_region``)."""
    missing = [
        f"{prefix}_{name}"
        for prefix in prefixes
        for name in [
            "aws_region",
            *(f"{key}_function_name" for keys in mapping.values() for key in keys),
        ]
        if not outputs.get(f"{prefix}_{name}")
    ]
    if missing:
        environment = prefixes[0].split("_", 1)[0]
        raise SyncError(
            f"cfn-outputs/flat-outputs.json has no {', '.join(missing)}: deploy it first "
            f"(`{deploy_hint} --env {environment}`)."
        )
    return {
        service: tuple(
            DeployedFunction(
                str(outputs[f"{prefix}_{key}_function_name"]),
                str(outputs[f"{prefix}_aws_region"]),
            )
            for prefix in prefixes
            for key in keys
        )
        for service, keys in mapping.items()
    }


def code_sha256(data: bytes) -> str:
    """Lambda's ``CodeSha256`` of a zip: base64 of its sha256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


_SYNTAX_CHECK: Final = """\
import json, sys, zipfile
errors = []
with zipfile.ZipFile(sys.argv[1]) as archive:
    for name in archive.namelist():
        if name.startswith(sys.argv[2] + "/") and name.endswith(".py"):
            try:
                compile(archive.read(name), name, "exec", dont_inherit=True)
            except SyntaxError as error:
                errors.append([name, error.lineno or 0, error.msg])
print(json.dumps(errors))
"""


def check_syntax(python: Path, zip_path: Path, package: str) -> list[tuple[str, int, str]]:
    """The syntax errors (zip path, line, message) of the modules of ``package`` in the zip,
    compiled by ``python`` (the runtime's CPython: what Lambda imports them with)."""
    completed = subprocess.run(
        [str(python), "-I", "-S", "-W", "ignore", "-c", _SYNTAX_CHECK, str(zip_path), package],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SyncError(f"checking the syntax of {zip_path.name} failed: {completed.stderr}")
    return [(str(name), int(line), str(msg)) for name, line, msg in json.loads(completed.stdout)]


@dataclass
class Syncer:
    """Syncs services of ``sources`` (built into ``dist_dir`` for ``target``) into the deployed
    ``functions`` (service -> functions) with the Lambda client of each region (``client``)."""

    sources: Path
    dist_dir: Path
    target: LambdaTarget
    #: The dependency layers (tooling/build): a code-only change rebuilds without pip.
    cache_dir: Path
    functions: Mapping[str, Sequence[DeployedFunction]]
    client: Callable[[str], LambdaClient]
    python: Path
    out: TextIO
    aws: bool = False
    clock: Callable[[], float] = time.perf_counter
    _clients: dict[str, LambdaClient] = field(default_factory=dict, init=False, repr=False)
    _warned: set[DeployedFunction] = field(default_factory=set, init=False, repr=False)

    @property
    def services(self) -> list[str]:
        return list(self.functions)

    @property
    def _show_regions(self) -> bool:
        return len({fn.region for functions in self.functions.values() for fn in functions}) > 1

    def fingerprint(self, service: str) -> str:
        """The input hash of ``service``'s build (every file it reads), or the error reading it."""
        try:
            return compute_input_hash(self.sources, service, target=self.target)
        except (BuildError, OSError) as error:
            return f"error: {error}"

    def sync(self, service: str) -> SyncResult:
        """Build ``service``, check its modules, and put the zip into each of its functions
        that does not run it yet; raises :class:`SyncError` (nothing updated when the build or
        the check fails)."""
        started = self.clock()
        try:
            built = build_service(
                self.sources,
                service,
                target=self.target,
                dist_dir=self.dist_dir,
                cache_dir=self.cache_dir,
            )
        except BuildError as error:
            raise SyncError(f"build failed: {error}") from None
        self._check(service, built.zip_path)
        data = built.zip_path.read_bytes()
        if len(data) > DIRECT_UPLOAD_LIMIT_BYTES:
            raise SyncError(
                f"{built.zip_path.name} is {len(data):,} bytes: UpdateFunctionCode takes at most "
                f"{DIRECT_UPLOAD_LIMIT_BYTES:,} bytes in the request (Lambda's 50 MB quota for "
                "a direct upload); make the zip smaller."
            )
        sha = code_sha256(data)
        stale: list[DeployedFunction] = []
        unchanged: list[DeployedFunction] = []
        for function in self.functions[service]:
            configuration = self._configuration(function)
            if configuration.get("CodeSha256") == sha:
                unchanged.append(function)
                continue
            self._check_updatable(function, configuration)
            stale.append(function)
        if stale:
            self._warn(stale)
        for function in stale:
            self._update(function, data, sha)
        for function in stale:
            self._wait(function, "function_updated_v2")
        return SyncResult(service, built, tuple(stale), tuple(unchanged), self.clock() - started)

    def sync_and_report(self, service: str) -> SyncResult | None:
        """:meth:`sync`, its line printed; a failure is printed too (None), never raised."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            result = self.sync(service)
        except SyncError as error:
            self._say(f"sync of {service} failed: {error}")
            return None
        except (BotoCoreError, ClientError) as error:  # the emulator stopped, access denied...
            self._say(f"sync of {service} failed: {error}")
            return None
        self._say(result.line(show_regions=self._show_regions))
        return result

    def sync_all(self) -> list[SyncResult | None]:
        """Every service, in order, each line printed; failures printed, not raised."""
        return [self.sync_and_report(service) for service in self.services]

    # ----------------------------------------------------------------------------- steps

    def _check(self, service: str, zip_path: Path) -> None:
        errors = check_syntax(self.python, zip_path, service)
        if not errors:
            return
        # Shown as the source file (relative to the tree built from) when the layout says where.
        root = _package_root(self.sources / "services" / service)
        prefix = f"services/{service}/{root}" if root is not None else ""
        shown = [f"{prefix}{name}:{line}: {message}" for name, line, message in errors]
        raise SyncError(
            "syntax error, not synced (the functions keep their code): " + "; ".join(shown)
        )

    def _lambda(self, region: str) -> LambdaClient:
        if region not in self._clients:
            self._clients[region] = self.client(region)
        return self._clients[region]

    def _configuration(self, function: DeployedFunction) -> FunctionConfigurationResponseTypeDef:
        client = self._lambda(function.region)
        try:
            return client.get_function_configuration(FunctionName=function.name)
        except client.exceptions.ResourceNotFoundException:
            place = "AWS" if self.aws else "the local emulator"
            raise SyncError(
                f"function {function.name} does not exist in {function.region} on {place}: "
                "deploy the environment first."
            ) from None

    def _check_updatable(
        self, function: DeployedFunction, configuration: FunctionConfigurationResponseTypeDef
    ) -> None:
        if configuration.get("PackageType", "Zip") != "Zip":
            raise SyncError(f"{function.name} is a container image function, not a zip one.")
        architectures = list(configuration.get("Architectures") or ["x86_64"])
        if architectures != [self.target.architecture]:
            raise SyncError(
                f"{function.name} runs on {', '.join(architectures)} but the zip is built for "
                f"{self.target.architecture} (platform.lambda_architecture): deploy the "
                "architecture change first."
            )
        if configuration.get("State") == "Pending":
            self._wait(function, "function_active_v2")
        if configuration.get("LastUpdateStatus") == "InProgress":
            self._wait(function, "function_updated_v2")

    def _update(self, function: DeployedFunction, data: bytes, sha: str) -> None:
        client = self._lambda(function.region)
        try:
            answer = client.update_function_code(FunctionName=function.name, ZipFile=data)
        except client.exceptions.ResourceConflictException as error:
            raise SyncError(
                f"{function.name}: another update started meanwhile (a deploy?): {error}; "
                "run the sync again when it is done."
            ) from None
        if answer.get("CodeSha256") != sha:
            raise SyncError(
                f"{function.name}: Lambda stored code with CodeSha256 "
                f"{answer.get('CodeSha256')}, not the zip's {sha}."
            )

    def _wait(self, function: DeployedFunction, waiter_name: str) -> None:
        from botocore.exceptions import WaiterError

        client = self._lambda(function.region)
        try:
            if waiter_name == "function_active_v2":
                client.get_waiter("function_active_v2").wait(FunctionName=function.name)
            else:
                client.get_waiter("function_updated_v2").wait(FunctionName=function.name)
        except WaiterError as error:
            last: dict[str, Any] = dict(error.last_response or {})
            configuration: dict[str, Any] = dict(last.get("Configuration") or {})
            reason = (
                configuration.get("LastUpdateStatusReason")
                or configuration.get("StateReason")
                or str(error)
            )
            raise SyncError(
                f"{function.name}: the update did not succeed ({reason}); Lambda keeps running "
                "its previous code."
            ) from None

    def _warn(self, functions: Sequence[DeployedFunction]) -> None:
        """AWS: the warning, for functions not warned about yet; local: the note, once."""
        new = [fn for fn in functions if fn not in self._warned]
        if self.aws and new:
            self._say(AWS_WARNING.format(functions=", ".join(fn.name for fn in new)))
        elif not self._warned:
            self._say(LOCAL_NOTE)
        self._warned.update(functions)

    def _say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


class Watcher:
    """Syncs a service whenever its build inputs change (``--watch``)."""

    def __init__(self, syncer: Syncer) -> None:
        self._syncer = syncer
        self._seen = {service: syncer.fingerprint(service) for service in syncer.services}

    def poll(self) -> list[SyncResult | None]:
        """One look at every service's inputs: each changed one is synced (its line printed;
        None for a failed sync, also printed)."""
        outcomes = []
        for service, seen in self._seen.items():
            current = self._syncer.fingerprint(service)
            if current == seen:
                continue
            # Remembered before the sync: an edit made while it runs is seen at the next poll.
            self._seen[service] = current
            outcomes.append(self._syncer.sync_and_report(service))
        return outcomes

    def run(
        self, *, poll_seconds: float = POLL_SECONDS, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """Poll until interrupted (KeyboardInterrupt propagates: Ctrl-C ends the task)."""
        while True:
            sleep(poll_seconds)
            self.poll()


# --------------------------------------------------------------------------- the task


def run(
    ws: Workspace,
    session: Session,
    outputs: Mapping[str, Any],
    environment: str,
    *,
    region: str | None = None,
    watch: bool = False,
    out: TextIO | None = None,
) -> None:
    """``./tap sync``: sync every service of the environment (each line printed); with
    ``watch``, then keep syncing each service when its files change, until Ctrl-C. Raises
    :class:`SyncError` when a sync without ``watch`` failed."""
    from tooling.emulator.runtime.interpreters import find_cpython, install_hint
    from tooling.lifecycle.synth import lambda_target

    config = ws.config()
    regions = [r.name for r in config.environment(environment).regions]
    aws = ws.target == "aws"
    hint = "./tap deploy --target aws" if aws else "./tap deploy"
    functions = deployed_functions(
        outputs, output_prefixes(environment, regions, region), deploy_hint=hint
    )
    target = lambda_target(config)
    python = find_cpython(target.python_version)
    if python is None:
        raise SyncError(
            f"the syntax check needs CPython {target.python_version} (Lambda's runtime): "
            f"{install_hint(target.python_version)}.",
            2,
        )
    syncer = Syncer(
        sources=ws.sources,
        dist_dir=ws.dist,
        target=target,
        cache_dir=ws.root / DEPENDENCY_CACHE_DIR,
        functions=functions,
        client=lambda name: session.client("lambda", name),
        python=python,
        out=out or sys.stdout,
        aws=aws,
    )
    if not watch:
        failed = [
            service
            for service, result in zip(syncer.services, syncer.sync_all(), strict=True)
            if result is None
        ]
        if failed:
            raise SyncError(f"the sync of {', '.join(failed)} failed (above).")
        return
    watcher = Watcher(syncer)
    syncer.sync_all()
    roots = ", ".join(f"services/{service}" for service in syncer.services)
    syncer.out.write(f"watching {roots} (Ctrl-C to stop)\n")
    syncer.out.flush()
    watcher.run()


def _package_root(service_dir: Path) -> str | None:
    """Where setuptools finds the service's packages (``[tool.setuptools.packages.find]
    where``), relative to ``service_dir`` with a trailing ``/`` (``"src/"``), to show a syntax
    error at its source file; None when the layout does not say."""
    try:
        pyproject = tomllib.loads((service_dir / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    packages = pyproject.get("tool", {}).get("setuptools", {}).get("packages")
    where = packages.get("find", {}).get("where") if isinstance(packages, dict) else None
    if not (isinstance(where, list) and len(where) == 1 and isinstance(where[0], str)):
        return None
    root = where[0].strip("/")
    return "" if root in ("", ".") else root + "/"
