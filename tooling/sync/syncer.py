"""The :class:`Syncer`: a service's zip built, its modules' syntax checked, and put into each of
its deployed functions not running it yet (``CodeSha256`` compared, UpdateFunctionCode, the
update waited for), with the Lambda API's rules checked before anything is sent (the package's
docstring)."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from tooling.build.lambda_zip import BuildError, LambdaTarget, build_service, compute_input_hash
from tooling.sync.errors import SyncError
from tooling.sync.functions import DeployedFunction
from tooling.sync.report import AWS_WARNING, LOCAL_NOTE, SyncResult
from tooling.sync.syntax import check_syntax, package_root

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient
    from mypy_boto3_lambda.type_defs import FunctionConfigurationResponseTypeDef

__all__ = ["DIRECT_UPLOAD_LIMIT_BYTES", "Syncer", "code_sha256"]

#: The largest zip UpdateFunctionCode takes in the request (50 MiB; the package's docstring).
DIRECT_UPLOAD_LIMIT_BYTES: Final = 52_428_800


def code_sha256(data: bytes) -> str:
    """Lambda's ``CodeSha256`` of a zip: base64 of its sha256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


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
        root = package_root(self.sources / "services" / service)
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
