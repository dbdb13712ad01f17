"""The deploy lifecycle of synthesized stacks: state backend, apply, plan, outputs, destroy.

What the ``deploy``, ``plan``, ``destroy`` and ``bootstrap-backend`` invoke tasks (and the e2e
tests) call. Every terraform process goes through :func:`tooling.terraform.run_terraform`; for
the local target, every AWS client (boto3 and terraform alike) is pointed at the emulator with
its fake credentials (:func:`tooling.emulator.local_process_env`), so nothing here can reach real
AWS with the developer's credentials while deploying locally.
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

from tooling import emulator as emulator_mod
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
    "apply_stack",
    "bootstrap_backend",
    "destroy_stack",
    "flat_outputs",
    "init_stack",
    "leftovers",
    "load_backend_spec",
    "plan_stack",
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
            raise DeployError("the local target needs a running emulator (tooling.emulator)")

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


def apply_stack(
    session: Session, stack_dir: Path, *, out: TextIO = sys.stdout, extra: Sequence[str] = ()
) -> ApplyResult:
    """``terraform apply -auto-approve -input=false`` with a live progress line."""
    command, env = session.terraform_command_env(
        ["apply", "-auto-approve", "-input=false", "-no-color", *extra]
    )
    code, result, tail = _stream(command, stack_dir, env, stack_dir.name, out, "created/updated")
    if code != 0:
        raise DeployError(
            f"terraform apply of {stack_dir.name} failed (exit {code}) after "
            f"{result.seconds:.0f} s, {len(result.completed)} resource(s) done:\n"
            f"{_failure_lines(tail)}"
        )
    return result


def destroy_stack(session: Session, stack_dir: Path, *, out: TextIO = sys.stdout) -> ApplyResult:
    """``terraform destroy -auto-approve -input=false`` with a live progress line."""
    command, env = session.terraform_command_env(
        ["destroy", "-auto-approve", "-input=false", "-no-color"]
    )
    code, result, tail = _stream(command, stack_dir, env, stack_dir.name, out, "destroyed")
    if code != 0:
        raise DeployError(
            f"terraform destroy of {stack_dir.name} failed (exit {code}):\n{_failure_lines(tail)}"
        )
    return result


def plan_stack(session: Session, stack_dir: Path) -> tuple[int, str]:
    """``terraform plan -detailed-exitcode``: (0 no changes | 1 error | 2 changes, output)."""
    result = session.terraform(
        ["plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock-timeout=60s"],
        stack_dir,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


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


def _has_prefix(name: str | None, prefix: str) -> bool:
    return bool(name) and str(name).startswith(prefix)


def _vpcs(session: Session, region: str, spec: BackendSpec, cidrs: set[str]) -> list[Leftover]:
    ec2 = session.client("ec2", region)
    found = []
    for vpc in ec2.describe_vpcs()["Vpcs"]:
        tags = {t["Key"]: t["Value"] for t in vpc.get("Tags", [])}
        mine = (
            vpc["CidrBlock"] in cidrs
            or _has_prefix(tags.get("Name"), f"{spec.platform}-")
            or tags.get("CostCenter") == spec.cost_center
        )
        if mine and not vpc.get("IsDefault"):
            found.append(Leftover(f"{region} vpc", vpc["VpcId"]))
    vpc_ids = {f.name for f in found}
    for subnet in ec2.describe_subnets()["Subnets"]:
        if subnet["VpcId"] in vpc_ids:
            found.append(Leftover(f"{region} subnet", subnet["SubnetId"]))
    return found


def _kms_keys(session: Session, region: str, spec: BackendSpec) -> list[Leftover]:
    kms = session.client("kms", region)
    found = []
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta.get("KeyManager") != "CUSTOMER" or meta["KeyState"] == "PendingDeletion":
            continue
        tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
        if {"TagKey": "CostCenter", "TagValue": spec.cost_center} in tags:
            found.append(Leftover(f"{region} kms key", key["KeyId"]))
    return found


def _named(region: str, kind: str, names: Iterable[str], prefix: str) -> list[Leftover]:
    return [Leftover(f"{region} {kind}", name) for name in names if _has_prefix(name, prefix)]


def _regional(session: Session, region: str, spec: BackendSpec) -> list[Leftover]:
    """Named resources: everything whose name starts with ``<platform>-``."""
    prefix = f"{spec.platform}-"
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
            g["logGroupName"].rsplit("/", 1)[-1]
            for g in c("logs").describe_log_groups().get("logGroups", [])
        ]),
    ]  # fmt: skip
    found: list[Leftover] = []
    for kind, listing in listings:
        found += _named(region, kind, listing(), prefix)
    return found


def leftovers(
    session: Session,
    regions: Iterable[str],
    spec: BackendSpec,
    *,
    cidrs: Iterable[str] = (),
) -> list[Leftover]:
    """Everything of the platform still present in ``regions`` (empty: nothing left).

    Checks each resource type the platform creates, by its ``<platform>-`` name prefix, its
    ``CostCenter`` tag or its CIDR: VPCs (not the default one) and their subnets, buckets
    (not the state bucket), DynamoDB tables (not the lock table), Lambda functions, RDS
    clusters and instances, SQS queues, SNS topics, KMS keys not pending deletion, log groups,
    alarms, HTTP APIs and IAM roles.
    """
    prefix = f"{spec.platform}-"
    found: list[Leftover] = []
    for region in sorted(set(regions)):
        found += _vpcs(session, region, spec, set(cidrs))
        buckets = session.client("s3", region).list_buckets().get("Buckets", [])
        found += [
            Leftover("s3 bucket", b["Name"])
            for b in buckets
            if _has_prefix(b["Name"], prefix) and b["Name"] != spec.bucket
        ]
        found += _regional(session, region, spec)
        found += _kms_keys(session, region, spec)
    roles = session.client("iam", spec.region).list_roles()["Roles"]
    found += _named("global", "iam role", [r["RoleName"] for r in roles], prefix)
    return found
