"""The deploy lifecycle of synthesized stacks: state backend, apply, plan, outputs, destroy.

What the ``deploy``, ``plan``, ``destroy`` and ``bootstrap-backend`` invoke tasks (and the e2e
tests) call. Every terraform process goes through :func:`tooling.terraform.run_terraform`; for
the local target, every AWS client (boto3 and terraform alike) is pointed at the emulator with
its fake credentials (:func:`tooling.emulator.process.local_process_env`), so nothing here
can reach real AWS with the developer's credentials while deploying locally.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tooling.emulator import process as emulator_mod
from tooling.terraform import TerraformError, run_terraform, terraform_binary, terraform_env

__all__ = [
    "PLAN_CHANGES",
    "PLAN_ERROR",
    "PLAN_NO_CHANGES",
    "ApplyResult",
    "BackendSpec",
    "DeployError",
    "Leftover",
    "Session",
    "StackInfo",
    "apply_stack",
    "bootstrap_backend",
    "destroy_stack",
    "flat_outputs",
    "has_state",
    "init_stack",
    "leftovers",
    "load_backend_spec",
    "merge_stack_outputs",
    "multi_region_flat_outputs",
    "plan_stack",
    "read_stacks",
    "recover_orphaned_lock",
    "region_key",
    "stack_outputs",
    "write_flat_outputs",
]

PLAN_NO_CHANGES = 0
PLAN_ERROR = 1
PLAN_CHANGES = 2

OUTPUTS_FILE = Path("cfn-outputs") / "flat-outputs.json"


class DeployError(RuntimeError):
    """A deploy step failed; the message says which and what to do."""


@dataclass(frozen=True)
class BackendSpec:
    """The remote state backend of platform.toml ``[state]``."""

    bucket: str
    lock_table: str
    region: str
    platform: str
    cost_center: str = ""


def load_backend_spec(config_file: Path) -> BackendSpec:
    import tomllib

    document = tomllib.loads(config_file.read_text(encoding="utf-8"))
    state = document["state"]
    return BackendSpec(
        bucket=state["bucket"],
        lock_table=state["lock_table"],
        region=state["region"],
        platform=document["platform"]["name"],
        cost_center=document["platform"].get("cost_center", ""),
    )


@dataclass(frozen=True)
class Session:
    """Where the lifecycle runs: ``root`` of the repository, the target and (local) emulator.

    ``env`` is the extra environment of every terraform process and boto3 client: for the
    local target the emulator's endpoint and fake credentials, the developer's profile removed.
    """

    root: Path
    target: str
    emulator: emulator_mod.Emulator | None = None

    def __post_init__(self) -> None:
        if self.target == "local" and self.emulator is None:
            raise DeployError(
                "the local target needs a running emulator (tooling.emulator.process)"
            )

    def process_env(self, region: str = emulator_mod.DEFAULT_REGION) -> dict[str, str]:
        if self.emulator is None:
            return dict(os.environ)
        return emulator_mod.local_process_env(self.emulator, region=region)

    def client(self, service: str, region: str) -> Any:
        import boto3

        if self.emulator is None:
            return boto3.client(service, region_name=region)  # type: ignore[call-overload]
        env = emulator_mod.local_aws_env(self.emulator, region=region)
        endpoint = env["AWS_ENDPOINT_URL"]
        assert_loopback(endpoint)
        return boto3.session.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=env["AWS_SESSION_TOKEN"],
            region_name=region,
        ).client(service, endpoint_url=endpoint)  # type: ignore[call-overload]

    def terraform(
        self, args: Sequence[str], stack_dir: Path, *, capture: bool = True, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return run_terraform(
            args,
            cwd=stack_dir,
            repo_root=self.root,
            env_extra=self._tf_extra(),
            capture=capture,
            check=check,
        )

    def _tf_extra(self) -> dict[str, str]:
        if self.emulator is None:
            return {}
        env = self.process_env()
        return {k: v for k, v in env.items() if k.startswith("AWS_")}

    def terraform_command_env(self, args: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """The command line and environment of a terraform process (for streaming runs)."""
        env = terraform_env(self.root, self.process_env())
        return [terraform_binary(env), *args], env


def assert_loopback(endpoint: str) -> None:
    from urllib.parse import urlsplit

    host = urlsplit(endpoint).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise DeployError(f"the local target's endpoint {endpoint} is not on loopback")


# --------------------------------------------------------------------------- backend


def _ignore(error_codes: Iterable[str], call: Callable[[], Any]) -> bool:
    """Run ``call``; True if it did something, False if it failed with one of the codes."""
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in set(error_codes):
            return False
        raise
    return True


def bootstrap_backend(session: Session, spec: BackendSpec) -> list[str]:
    """Create (idempotently) the state bucket and the lock table; return what was done.

    Bucket: versioning, SSE (aws:kms with the S3 managed key), public access block, TLS-only
    policy. Table: ``LockID`` (S) hash key, on-demand, PITR, SSE. Existing ones are brought to
    these settings (every setting call is idempotent).
    """
    s3 = session.client("s3", spec.region)
    dynamodb = session.client("dynamodb", spec.region)
    done: list[str] = []
    created = _ignore(
        ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"),
        lambda: s3.create_bucket(
            Bucket=spec.bucket,
            CreateBucketConfiguration={"LocationConstraint": spec.region},
        ),
    )
    done.append(f"bucket {spec.bucket}: {'created' if created else 'exists'}")
    s3.put_bucket_versioning(Bucket=spec.bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=spec.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=spec.bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    arn = f"arn:aws:s3:::{spec.bucket}"
    s3.put_bucket_policy(
        Bucket=spec.bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [arn, f"{arn}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    )
    created = _ignore(
        ("ResourceInUseException",),
        lambda: dynamodb.create_table(
            TableName=spec.lock_table,
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True, "SSEType": "KMS"},
        ),
    )
    done.append(f"table {spec.lock_table}: {'created' if created else 'exists'}")
    dynamodb.get_waiter("table_exists").wait(
        TableName=spec.lock_table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    dynamodb.update_continuous_backups(
        TableName=spec.lock_table,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    return done


# --------------------------------------------------------------------------- stacks


@dataclass(frozen=True)
class StackInfo:
    """A synthesized stack as the lifecycle needs it, read from its ``cdk.tf.json``."""

    name: str
    directory: Path
    environment: str
    region: str
    #: Stacks this one reads from (manifest ``dependencies`` plus ``terraform_remote_state``).
    dependencies: tuple[str, ...] = ()
    #: (bucket, key) of its S3 backend state object, if it has one.
    state: tuple[str, str] | None = None


def _state_address(backend: Mapping[str, Any]) -> tuple[str, str] | None:
    bucket, key = backend.get("bucket"), backend.get("key")
    return (str(bucket), str(key)) if bucket and key else None


def _remote_state_addresses(document: Mapping[str, Any]) -> set[tuple[str, str]]:
    """The (bucket, key) of every S3 ``terraform_remote_state`` data source of a stack."""
    found = set()
    for source in (document.get("data") or {}).get("terraform_remote_state", {}).values():
        if source.get("backend") == "s3":
            address = _state_address(source.get("config") or {})
            if address is not None:
                found.add(address)
    return found


def _environment_and_region(name: str, document: Mapping[str, Any]) -> tuple[str, str]:
    """The stack's ``Environment`` default tag and provider region (every stack has both)."""
    providers = (document.get("provider") or {}).get("aws") or [{}]
    provider = providers[0] if isinstance(providers, list) else providers
    tags: dict[str, Any] = {}
    for block in provider.get("default_tags") or []:
        tags.update(block.get("tags") or {})
    environment, region = tags.get("Environment"), provider.get("region")
    if not environment or not region:
        raise DeployError(
            f"stack {name} has no aws provider region or Environment default tag; "
            "synthesize it again (`./tap synth --force`)"
        )
    return str(environment), str(region)


def _manifest_stacks(outdir: Path) -> dict[str, Any]:
    """The ``stacks`` of cdktf's ``manifest.json`` in ``outdir`` ({} when absent or unreadable)."""
    try:
        manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    stacks = manifest.get("stacks") if isinstance(manifest, dict) else None
    return stacks if isinstance(stacks, dict) else {}


def _dependencies_first(infos: Mapping[str, StackInfo]) -> list[StackInfo]:
    """A topological order of ``infos`` (ties in name order); a cycle is a DeployError."""
    ordered: list[StackInfo] = []
    placed: set[str] = set()
    pending = sorted(infos)
    while pending:
        ready = [n for n in pending if set(infos[n].dependencies) <= placed]
        if not ready:
            cycle = ", ".join(f"{n} -> {list(infos[n].dependencies)}" for n in pending)
            raise DeployError(f"the stacks depend on each other in a cycle: {cycle}")
        for name in ready:
            ordered.append(infos[name])
            placed.add(name)
        pending = [n for n in pending if n not in placed]
    return ordered


def read_stacks(outdir: Path, names: Iterable[str]) -> list[StackInfo]:
    """``names`` of ``outdir/stacks`` in deploy order: every stack after the stacks it reads.

    Dependencies are the ``dependencies`` of ``outdir/manifest.json`` (when it lists the stack)
    plus those derived from the stack itself: a ``terraform_remote_state`` (S3) whose bucket and
    key are another stack's backend. Dependencies on stacks outside ``names`` are left out (they
    are not deployed or destroyed by this run). Ties keep name order; a cycle is an error.
    Destroy in the reverse of this order.
    """
    wanted = sorted(set(names))
    manifest = _manifest_stacks(outdir)
    documents: dict[str, dict[str, Any]] = {}
    for name in wanted:
        path = outdir / "stacks" / name / "cdk.tf.json"
        try:
            documents[name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DeployError(f"cannot read {path}: {exc}; run `./tap synth` first") from None
    owners = {}
    states: dict[str, tuple[str, str] | None] = {}
    for name, document in documents.items():
        backend = ((document.get("terraform") or {}).get("backend") or {}).get("s3") or {}
        states[name] = address = _state_address(backend)
        if address is not None:
            owners[address] = name
    infos: dict[str, StackInfo] = {}
    for name, document in documents.items():
        declared = set((manifest.get(name) or {}).get("dependencies") or [])
        derived = {owners[a] for a in _remote_state_addresses(document) if a in owners}
        dependencies = tuple(sorted((declared | derived) & set(wanted) - {name}))
        environment, region = _environment_and_region(name, document)
        infos[name] = StackInfo(
            name, outdir / "stacks" / name, environment, region, dependencies, states[name]
        )
    return _dependencies_first(infos)


def has_state(session: Session, info: StackInfo, region: str) -> bool:
    """Whether the stack's state object exists (False: never deployed, nothing to destroy)."""
    from botocore.exceptions import ClientError

    if info.state is None:
        return True
    bucket, key = info.state
    try:
        session.client("s3", region).head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchBucket"):
            return False
        raise
    return True


# --------------------------------------------------------------------------- terraform


def init_stack(session: Session, stack_dir: Path) -> None:
    """``terraform init -input=false -reconfigure`` (the backend address may differ per run)."""
    try:
        session.terraform(["init", "-input=false", "-reconfigure", "-no-color"], stack_dir)
    except TerraformError as exc:
        raise DeployError(f"terraform init failed in {stack_dir}: {exc}") from None


_PROGRESS = re.compile(
    r"^(?P<address>\S+): (?P<what>Creation|Modifications|Destruction) complete"
    r"(?: after (?P<after>\S+))?"
)
_SUMMARY = re.compile(
    r"(?:Apply|Destroy) complete! Resources: (?:(?P<added>\d+) added, (?P<changed>\d+) changed, )?"
    r"(?P<destroyed>\d+) destroyed"
)


@dataclass
class ApplyResult:
    stack: str
    seconds: float
    added: int = 0
    changed: int = 0
    destroyed: int = 0
    completed: list[str] = field(default_factory=list)

    @property
    def no_changes(self) -> bool:
        return self.added == self.changed == self.destroyed == 0


def _stream(
    command: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    stack: str,
    out: TextIO,
    verb: str,
) -> tuple[int, ApplyResult, list[str]]:
    """Run terraform, showing a one-line live progress; return code, counts, last lines."""
    started = time.monotonic()
    result = ApplyResult(stack=stack, seconds=0.0)
    tail: list[str] = []
    live = out.isatty()
    with subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip("\n")
            tail = [*tail[-59:], line]
            match = _PROGRESS.match(line)
            elapsed = time.monotonic() - started
            if match:
                result.completed.append(match["address"])
                status = (
                    f"{stack}: {len(result.completed)} resource(s) {verb} "
                    f"({elapsed:5.0f} s) last: {match['address']}"
                )
                if live:
                    out.write("\r\033[K" + status[:150])
                else:
                    out.write(status + "\n")
                out.flush()
            summary = _SUMMARY.search(line)
            if summary:
                result.added = int(summary["added"] or 0)
                result.changed = int(summary["changed"] or 0)
                result.destroyed = int(summary["destroyed"])
            if line.startswith(("Error:", "│ Error:", "╷")) or "Error:" in line[:12]:
                pass
        code = process.wait()
    if live and result.completed:
        out.write("\n")
    result.seconds = time.monotonic() - started
    return code, result, tail


def _failure_lines(tail: Sequence[str]) -> str:
    start = next((i for i, line in enumerate(tail) if "Error" in line), max(len(tail) - 25, 0))
    return "\n".join(tail[start:])


LOCK_FAILURE = "Error acquiring the state lock"
#: How long a state lock held only in S3 must stay so (same lock ID) to count as orphaned: a
#: live terraform takes the DynamoDB lock milliseconds after the S3 lock file.
_S3_ONLY_GRACE_SECONDS = 3.0
_sleep: Callable[[float], None] = time.sleep  # replaced by the tests


def _backend_of(stack_dir: Path) -> Mapping[str, Any]:
    try:
        document = json.loads((stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    backend = ((document.get("terraform") or {}).get("backend") or {}).get("s3") or {}
    return backend if isinstance(backend, dict) else {}


def _lock_holders(session: Session, backend: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The lock IDs in the DynamoDB lock item and in the S3 lock file (None: not there)."""
    from botocore.exceptions import ClientError

    region = str(backend.get("region") or emulator_mod.DEFAULT_REGION)
    bucket, key, table = backend["bucket"], backend["key"], backend["dynamodb_table"]
    item = (
        session.client("dynamodb", region)
        .get_item(TableName=table, Key={"LockID": {"S": f"{bucket}/{key}"}}, ConsistentRead=True)
        .get("Item", {})
    )
    in_table = json.loads(item["Info"]["S"]).get("ID") if "Info" in item else None
    try:
        body = session.client("s3", region).get_object(Bucket=bucket, Key=f"{key}.tflock")
        in_file = json.loads(body["Body"].read()).get("ID")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
            raise
        in_file = None
    return in_table, in_file


def recover_orphaned_lock(session: Session, stack_dir: Path) -> str | None:
    """Release a state lock no terraform process holds (local target only); say what was done.

    Seen with the emulator under load: the AWS SDK inside terraform loses the response to its
    lock request on the way back from moto's development server and retries it. A retried
    DynamoDB ``PutItem`` (``attribute_not_exists(LockID)``) then fails against the item the
    first attempt wrote, terraform gives up ("Error acquiring the state lock",
    ConditionalCheckFailedException) and the item stays: every later command is locked out.
    With ``use_lockfile`` a live terraform holds the S3 lock file first and the DynamoDB item
    second, so a DynamoDB item without the lock file, or a lock file without the item for
    longer than a live terraform needs between the two, is an orphan. That orphan (only that
    lock ID) is removed. Never for the aws target: there a lock is released with
    ``terraform force-unlock`` by someone who knows no one else is running.
    """
    backend = _backend_of(stack_dir)
    if session.emulator is None or not backend.get("use_lockfile"):
        return None
    if not all(backend.get(name) for name in ("bucket", "key", "dynamodb_table")):
        return None
    in_table, in_file = _lock_holders(session, backend)
    if in_table and not in_file:
        orphan, where = in_table, "lock table"
    elif in_file and not in_table:
        _sleep(_S3_ONLY_GRACE_SECONDS)
        if _lock_holders(session, backend) != (None, in_file):
            return None
        orphan, where = in_file, "S3 lock file"
    else:
        return None
    region = str(backend.get("region") or emulator_mod.DEFAULT_REGION)
    bucket, key, table = backend["bucket"], backend["key"], backend["dynamodb_table"]
    if where == "lock table":
        from botocore.exceptions import ClientError

        try:
            session.client("dynamodb", region).delete_item(
                TableName=table,
                Key={"LockID": {"S": f"{bucket}/{key}"}},
                ConditionExpression="contains(Info, :id)",
                ExpressionAttributeValues={":id": {"S": orphan}},
            )
        except ClientError as exc:  # taken over meanwhile: leave it
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise
    else:
        session.client("s3", region).delete_object(Bucket=bucket, Key=f"{key}.tflock")
    return f"released the orphaned state lock {orphan} of {stack_dir.name} ({where} only)"


def _with_lock_recovery(
    session: Session,
    stack_dir: Path,
    out: TextIO,
    run: Callable[[], tuple[int, str]],
) -> int:
    """``run()`` (exit code, output); once more after releasing an orphaned lock it hit."""
    code, output = run()
    if code not in (0, PLAN_CHANGES) and LOCK_FAILURE in output:
        note = recover_orphaned_lock(session, stack_dir)
        if note is not None:
            out.write(f"{stack_dir.name}: {note}; running terraform again\n")
            out.flush()
            code, output = run()
    return code


def apply_stack(
    session: Session, stack_dir: Path, *, out: TextIO = sys.stdout, extra: Sequence[str] = ()
) -> ApplyResult:
    """``terraform apply -auto-approve -input=false`` with a live progress line (local target:
    retried once after an orphaned state lock, :func:`recover_orphaned_lock`)."""
    command, env = session.terraform_command_env(
        ["apply", "-auto-approve", "-input=false", "-no-color", *extra]
    )
    streamed: list[tuple[ApplyResult, list[str]]] = []

    def run() -> tuple[int, str]:
        code, result, tail = _stream(
            command, stack_dir, env, stack_dir.name, out, "created/updated"
        )
        streamed.append((result, tail))
        return code, "\n".join(tail)

    code = _with_lock_recovery(session, stack_dir, out, run)
    result, tail = streamed[-1]
    if code != 0:
        raise DeployError(
            f"terraform apply of {stack_dir.name} failed (exit {code}) after "
            f"{result.seconds:.0f} s, {len(result.completed)} resource(s) done:\n"
            f"{_failure_lines(tail)}"
        )
    return result


def destroy_stack(session: Session, stack_dir: Path, *, out: TextIO = sys.stdout) -> ApplyResult:
    """``terraform destroy -auto-approve -input=false`` with a live progress line (local
    target: retried once after an orphaned state lock)."""
    command, env = session.terraform_command_env(
        ["destroy", "-auto-approve", "-input=false", "-no-color"]
    )
    streamed: list[tuple[ApplyResult, list[str]]] = []

    def run() -> tuple[int, str]:
        code, result, tail = _stream(command, stack_dir, env, stack_dir.name, out, "destroyed")
        streamed.append((result, tail))
        return code, "\n".join(tail)

    code = _with_lock_recovery(session, stack_dir, out, run)
    result, tail = streamed[-1]
    if code != 0:
        raise DeployError(
            f"terraform destroy of {stack_dir.name} failed (exit {code}):\n{_failure_lines(tail)}"
        )
    return result


def plan_stack(session: Session, stack_dir: Path, *, out: TextIO = sys.stdout) -> tuple[int, str]:
    """``terraform plan -detailed-exitcode``: (0 no changes | 1 error | 2 changes, output).
    Local target: once more after an orphaned state lock (:func:`recover_orphaned_lock`)."""
    outputs: list[str] = []

    def run() -> tuple[int, str]:
        result = session.terraform(
            ["plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock-timeout=60s"],
            stack_dir,
            check=False,
        )
        outputs.append(result.stdout + result.stderr)
        return result.returncode, outputs[-1]

    code = _with_lock_recovery(session, stack_dir, out, run)
    return code, outputs[-1]


def stack_outputs(session: Session, stack_dir: Path) -> dict[str, Any]:
    """``terraform output -json`` as name -> value."""
    result = session.terraform(["output", "-json", "-no-color"], stack_dir)
    raw: dict[str, Any] = json.loads(result.stdout or "{}")
    return {name: entry.get("value") for name, entry in raw.items()}


def flat_outputs(outputs_by_environment: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``{"<environment>_<output>": value}`` (lists stay lists)."""
    flat: dict[str, Any] = {}
    for environment, outputs in outputs_by_environment.items():
        for name, value in outputs.items():
            flat[f"{environment}_{name}"] = value
    return flat


def merge_stack_outputs(
    outputs_by_stack: Iterable[tuple[StackInfo, Mapping[str, Any]]],
) -> dict[str, dict[str, Any]]:
    """Outputs of every stack of an environment merged into one mapping per environment.

    ``outputs_by_stack`` comes in deploy order (:func:`read_stacks`), so when two stacks of an
    environment have an output of the same name, the stack that depends on the other (the
    application stack, not the network stack it reads) wins.
    """
    merged: dict[str, dict[str, Any]] = {}
    for info, outputs in outputs_by_stack:
        merged.setdefault(info.environment, {}).update(outputs)
    return merged


def region_key(region: str) -> str:
    """A region as part of an output key: ``us-east-1`` -> ``us_east_1``."""
    return region.replace("-", "_")


def multi_region_flat_outputs(
    outputs_by_stack: Iterable[tuple[StackInfo, Mapping[str, Any]]],
    primary_regions: Mapping[str, str],
) -> dict[str, Any]:
    """Flat outputs of environments that may span regions.

    ``<environment>_<output>``: the primary region's stacks merged (``primary_regions`` names it
    per environment; a single-region environment's only region). An environment with stacks in
    more than one region also gets ``<environment>_<region>_<output>`` for every region
    (``region`` with ``_`` for ``-``, :func:`region_key`), e.g. ``global_us_east_2_vpc_id``.
    Within a region, the stack that depends on the other wins a clash (deploy order).
    """
    by_region: dict[str, dict[str, dict[str, Any]]] = {}
    for info, outputs in outputs_by_stack:
        by_region.setdefault(info.environment, {}).setdefault(info.region, {}).update(outputs)
    flat: dict[str, Any] = {}
    for environment, regions in by_region.items():
        primary = primary_regions.get(environment) or next(iter(regions))
        for name, value in regions.get(primary, {}).items():
            flat[f"{environment}_{name}"] = value
        if len(regions) > 1:
            for region, outputs in regions.items():
                for name, value in outputs.items():
                    flat[f"{environment}_{region_key(region)}_{name}"] = value
    return flat


def write_flat_outputs(root: Path, flat: Mapping[str, Any]) -> Path:
    """Merge ``flat`` into cfn-outputs/flat-outputs.json (other environments' keys are kept)."""
    path = root / OUTPUTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    current: dict[str, Any] = {}
    if path.is_file():
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            current = {}
    current.update(flat)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def remove_outputs(root: Path, environment: str) -> None:
    """Drop an environment's keys from cfn-outputs/flat-outputs.json (after its destroy)."""
    path = root / OUTPUTS_FILE
    if not path.is_file():
        return
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return
    kept = {k: v for k, v in current.items() if not k.startswith(f"{environment}_")}
    path.write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- leftovers


@dataclass(frozen=True)
class Leftover:
    kind: str
    name: str


@dataclass(frozen=True)
class _Owner:
    """Which resources count as the platform's: its name prefix, cost center, environments."""

    spec: BackendSpec
    environments: frozenset[str]

    def named(self, name: str | None) -> bool:
        """``<platform>-...`` names, also as a path part (``/aws/lambda/tap-x-dev``,
        ``/tap/dev/api-access``), of one of the environments (a ``-``/``/`` separated token)."""
        if not name:
            return False
        platform = self.spec.platform
        parts = [part for part in str(name).split("/") if part]
        if not any(part == platform or part.startswith(f"{platform}-") for part in parts):
            return False
        return not self.environments or bool(self.environments & set(re.split(r"[/\-]", str(name))))

    def tagged(
        self, tags: Iterable[Mapping[str, str]], key: str = "Key", value: str = "Value"
    ) -> bool:
        """``CostCenter`` of the platform and ``Environment`` one of the environments."""
        found = {tag[key]: tag[value] for tag in tags}
        if found.get("CostCenter") != self.spec.cost_center:
            return False
        return not self.environments or found.get("Environment") in self.environments


def _ec2(session: Session, region: str, owner: _Owner, cidrs: set[str]) -> list[Leftover]:
    """VPCs (by CIDR, Name or tags) and every tagged network resource the platform creates."""
    ec2 = session.client("ec2", region)
    found = []
    for vpc in ec2.describe_vpcs()["Vpcs"]:
        tags = vpc.get("Tags", [])
        name = next((t["Value"] for t in tags if t["Key"] == "Name"), None)
        mine = vpc["CidrBlock"] in cidrs or owner.named(name) or owner.tagged(tags)
        if mine and not vpc.get("IsDefault"):
            found.append(Leftover(f"{region} vpc", vpc["VpcId"]))
    vpc_ids = {f.name for f in found}
    listings: list[tuple[str, str, str, str]] = [
        ("subnet", "describe_subnets", "Subnets", "SubnetId"),
        ("security group", "describe_security_groups", "SecurityGroups", "GroupId"),
        ("internet gateway", "describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
        ("route table", "describe_route_tables", "RouteTables", "RouteTableId"),
        ("vpc endpoint", "describe_vpc_endpoints", "VpcEndpoints", "VpcEndpointId"),
        ("flow log", "describe_flow_logs", "FlowLogs", "FlowLogId"),
    ]
    for kind, call, key, ident in listings:
        for item in getattr(ec2, call)()[key]:
            if str(item.get("State", "")).lower() == "deleted":  # e.g. VPC endpoints, like AWS
                continue
            attached = item.get("VpcId") in vpc_ids or any(
                a.get("VpcId") in vpc_ids for a in item.get("Attachments", [])
            )
            if attached or owner.tagged(item.get("Tags", [])):
                found.append(Leftover(f"{region} {kind}", item[ident]))
    return found


def _kms(session: Session, region: str, owner: _Owner) -> list[Leftover]:
    kms = session.client("kms", region)
    found = []
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta.get("KeyManager") != "CUSTOMER" or meta["KeyState"] == "PendingDeletion":
            continue
        tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
        if owner.tagged(tags, key="TagKey", value="TagValue"):
            found.append(Leftover(f"{region} kms key", key["KeyId"]))
    for alias in kms.list_aliases()["Aliases"]:
        if owner.named(alias["AliasName"].removeprefix("alias/")):
            found.append(Leftover(f"{region} kms alias", alias["AliasName"]))
    return found


def _secrets(session: Session, region: str, owner: _Owner) -> list[Leftover]:
    """Secrets named like the platform's, and secrets a service manages for one of its
    resources (the RDS master user secret names its cluster only in a tag)."""
    found = []
    for secret in session.client("secretsmanager", region).list_secrets()["SecretList"]:
        tags = secret.get("Tags", [])
        owners = [
            t["Value"].rsplit(":", 1)[-1] for t in tags if t["Key"].startswith("aws:rds:primary")
        ]
        if owner.named(secret["Name"]) or owner.tagged(tags) or any(map(owner.named, owners)):
            found.append(Leftover(f"{region} secret", secret["Name"]))
    return found


def _regional(session: Session, region: str, owner: _Owner) -> list[Leftover]:
    """Named resources of the platform."""
    spec = owner.spec
    c = functools.partial(session.client, region=region)
    listings: list[tuple[str, Callable[[], Iterable[str]]]] = [
        ("dynamodb table", lambda: [
            t for t in c("dynamodb").list_tables()["TableNames"] if t != spec.lock_table
        ]),
        ("lambda function", lambda: [
            f["FunctionName"] for f in c("lambda").list_functions()["Functions"]
        ]),
        ("rds cluster", lambda: [
            d["DBClusterIdentifier"] for d in c("rds").describe_db_clusters()["DBClusters"]
        ]),
        ("rds instance", lambda: [
            d["DBInstanceIdentifier"] for d in c("rds").describe_db_instances()["DBInstances"]
        ]),
        ("db subnet group", lambda: [
            g["DBSubnetGroupName"] for g in c("rds").describe_db_subnet_groups()["DBSubnetGroups"]
        ]),
        ("db cluster parameter group", lambda: [
            g["DBClusterParameterGroupName"]
            for g in c("rds").describe_db_cluster_parameter_groups()["DBClusterParameterGroups"]
        ]),
        ("sqs queue", lambda: [
            u.rsplit("/", 1)[-1] for u in c("sqs").list_queues().get("QueueUrls", [])
        ]),
        ("sns topic", lambda: [
            t["TopicArn"].rsplit(":", 1)[-1] for t in c("sns").list_topics().get("Topics", [])
        ]),
        ("alarm", lambda: [
            a["AlarmName"] for a in c("cloudwatch").describe_alarms().get("MetricAlarms", [])
        ]),
        ("http api", lambda: [a["Name"] for a in c("apigatewayv2").get_apis().get("Items", [])]),
        ("log group", lambda: [
            g["logGroupName"] for g in c("logs").describe_log_groups().get("logGroups", [])
        ]),
    ]  # fmt: skip
    found: list[Leftover] = []
    for kind, listing in listings:
        found += [Leftover(f"{region} {kind}", name) for name in listing() if owner.named(name)]
    return found


def _tag_list(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in (tags or {}).items()]


def _global_data(session: Session, region: str, owner: _Owner) -> list[Leftover]:
    """Multi-region parts: Aurora global clusters, API custom domain names, certificates."""
    found: list[Leftover] = []
    rds = session.client("rds", region)
    for cluster in rds.describe_global_clusters().get("GlobalClusters", []):
        if owner.named(cluster["GlobalClusterIdentifier"]):
            name = cluster["GlobalClusterIdentifier"]
            found.append(Leftover(f"{region} rds global cluster", name))
    for domain in session.client("apigatewayv2", region).get_domain_names().get("Items", []):
        if owner.tagged(_tag_list(domain.get("Tags"))):
            found.append(Leftover(f"{region} api domain name", domain["DomainName"]))
    acm = session.client("acm", region)
    for certificate in acm.list_certificates().get("CertificateSummaryList", []):
        arn = certificate["CertificateArn"]
        if owner.tagged(acm.list_tags_for_certificate(CertificateArn=arn).get("Tags", [])):
            found.append(Leftover(f"{region} acm certificate", certificate["DomainName"]))
    return found


def _route53(session: Session, region: str, owner: _Owner, dns_names: set[str]) -> list[Leftover]:
    """Health checks of the platform (by tags) and records of ``dns_names`` (and names under
    them, e.g. certificate validation records) in any hosted zone; never SOA/NS."""
    route53 = session.client("route53", region)
    found: list[Leftover] = []
    for check in route53.list_health_checks().get("HealthChecks", []):
        tags = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check["Id"])
        if owner.tagged(tags.get("ResourceTagSet", {}).get("Tags", [])):
            found.append(Leftover("route53 health check", check["Id"]))
    wanted = {name.rstrip(".") + "." for name in dns_names}
    if not wanted:
        return found
    for zone in route53.list_hosted_zones().get("HostedZones", []):
        records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
        for record in records:
            name = record["Name"]
            mine = any(name == w or name.endswith(f".{w}") for w in wanted)
            if mine and record["Type"] not in ("SOA", "NS"):
                where = record.get("SetIdentifier", "")
                found.append(Leftover("route53 record", f"{name} {record['Type']} {where}".strip()))
    return found


def leftovers(
    session: Session,
    regions: Iterable[str],
    spec: BackendSpec,
    *,
    cidrs: Iterable[str] = (),
    environments: Iterable[str] = (),
    dns_names: Iterable[str] = (),
) -> list[Leftover]:
    """Everything of the platform's ``environments`` (all when empty) still in ``regions``.

    Empty: nothing left. Checks every resource type the platform creates (the owned parts of a
    resource, e.g. bucket settings, table indexes, routes, rules and policies, go with it):
    VPCs (by CIDR, ``Name`` or tags; never the default VPC) with their subnets, security groups,
    internet gateways, route tables, VPC endpoints and flow logs; KMS keys (not pending
    deletion) and aliases; buckets (not the state bucket); DynamoDB tables (not the lock table);
    Lambda functions; RDS clusters, instances, subnet groups and cluster parameter groups;
    secrets (including the RDS-managed master user secret); SQS queues; SNS topics; alarms;
    HTTP APIs; log groups; IAM roles; Aurora global clusters, API custom domain names and ACM
    certificates (by tags), Route 53 health checks (by tags) and the records of ``dns_names``
    (e.g. ``api.<zone>``, and names under it) in every hosted zone. A resource is the
    platform's by its ``<platform>-`` name (an environment's name is one of its ``-``/``/``
    separated tokens) or its ``CostCenter`` and ``Environment`` tags.
    """
    owner = _Owner(spec, frozenset(environments))
    found: list[Leftover] = []
    for region in sorted(set(regions)):
        found += _ec2(session, region, owner, set(cidrs))
        buckets = session.client("s3", region).list_buckets().get("Buckets", [])
        found += [
            Leftover("s3 bucket", b["Name"])
            for b in buckets
            if owner.named(b["Name"]) and b["Name"] != spec.bucket
        ]
        found += _regional(session, region, owner)
        found += _kms(session, region, owner)
        found += _secrets(session, region, owner)
        found += _global_data(session, region, owner)
    found += _route53(session, spec.region, owner, set(dns_names))
    roles = session.client("iam", spec.region).list_roles()["Roles"]
    found += [
        Leftover("global iam role", r["RoleName"]) for r in roles if owner.named(r["RoleName"])
    ]
    return found
