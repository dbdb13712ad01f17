"""tooling.lifecycle.preflight: ``./tap preflight --target aws`` against a plain moto server
playing the account (the in-process ``endpoint``, no emulator patches), reached the way the aws
target reaches AWS: boto3's default credentials and ``AWS_ENDPOINT_URL``.

Each state of the account is built with boto3 the way docs/tasks.md tells a user to: bare (every
missing prerequisite listed with its fix, exit 1), partial, complete (exit 0); for ``dev`` and
for ``global`` (a copy of platform.toml whose zone is a domain one can own: the shipped
``trading.example.com`` is reserved and fails).
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from trading_infra.app import SynthRequest, synthesize
from trading_infra.config import PlatformConfig, load_config
from trading_infra.target import DeployTarget

from tests.infra.conftest import fake_artifacts
from tooling.lifecycle.backend import backend_spec, bootstrap_backend
from tooling.lifecycle.commands import deploy
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.graph import StackInfo, read_stacks
from tooling.lifecycle.preflight import (
    PreflightError,
    preflight_checks,
    require_preflight,
    run_preflight,
    terraform_check,
)
from tooling.lifecycle.preflight.account import reserved_domain
from tooling.lifecycle.preflight.base import Check
from tooling.lifecycle.session import Session
from tooling.lifecycle.workspace import Workspace

ROOT = Path(__file__).resolve().parents[3]
#: moto's account when a request names none.
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "444455556666"
#: A zone name one can own (not reserved by RFC 2606/6761), for the copy of platform.toml.
OWNED_ZONE = "trading.tap-markets.net"
PRIMARY = "ap-southeast-1"


# --------------------------------------------------------------------------- fixtures


def _synth(outdir: Path, config: PlatformConfig, environments: tuple[str, ...]) -> list[StackInfo]:
    names = synthesize(
        SynthRequest(
            config=config,
            environments=environments,
            target=DeployTarget(kind="aws", emulator_port=4566),
            artifacts=fake_artifacts(outdir / "artifacts"),
            outdir=outdir,
        )
    )
    return read_stacks(outdir, names)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[PlatformConfig, list[StackInfo]]:
    """platform.toml as shipped (no account_id; global's zone is trading.example.com)."""
    config = load_config(ROOT / "platform.toml", environ={})
    return config, _synth(tmp_path_factory.mktemp("shipped"), config, ("dev", "global"))


@pytest.fixture(scope="module")
def owned(tmp_path_factory: pytest.TempPathFactory) -> tuple[PlatformConfig, list[StackInfo]]:
    """A copy of platform.toml with a zone one can own and the account of dev and global set,
    as docs/tasks.md says (``account_id = "..."`` in each environment's table)."""
    text = (ROOT / "platform.toml").read_text(encoding="utf-8")
    assert 'dns = { zone_name = "trading.example.com" }' in text
    text = text.replace("trading.example.com", OWNED_ZONE)
    for table in ("[environments.dev]", "[environments.global]"):
        assert table in text
        text = text.replace(table, f'{table}\naccount_id = "{ACCOUNT}"')
    directory = tmp_path_factory.mktemp("owned")
    (directory / "platform.toml").write_text(text, encoding="utf-8")
    config = load_config(directory / "platform.toml", environ={})
    return config, _synth(directory / "cdktf.out", config, ("dev", "global"))


@pytest.fixture
def aws(bare_account: Session) -> Session:
    """An empty account on the moto server, reached as the aws target reaches AWS."""
    return bare_account


def _environment(
    config_stacks: tuple[PlatformConfig, list[StackInfo]], name: str
) -> tuple[PlatformConfig, list[StackInfo]]:
    config, stacks = config_stacks
    return config, [stack for stack in stacks if stack.environment == name]


def _run(
    session: Session, config: PlatformConfig, stacks: list[StackInfo]
) -> tuple[list[Check], str, LifecycleError | None]:
    """require_preflight as deploy runs it: the checks, the printed report, the error."""
    out = io.StringIO()
    ws = Workspace(root=session.root, outdir=session.root / "cdktf.out", target="aws", out=out)
    try:
        checks = require_preflight(ws, stacks, config=config, session=session)
    except PreflightError as error:
        return list(error.checks), out.getvalue(), error
    return checks, out.getvalue(), None


def _failures(checks: list[Check]) -> list[tuple[str, str, str, str, str]]:
    return [(c.environment, c.where, c.name, c.detail, c.fix) for c in checks if not c.ok]


# --------------------------------------------------------------------------- the documented steps


def _rotation_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("rotation.py", "def lambda_handler(event, context):\n    pass\n")
    return buffer.getvalue()


def _hosted_zone(session: Session, zone: str) -> None:
    session.client("route53", PRIMARY).create_hosted_zone(Name=zone, CallerReference=f"tap-{zone}")


def _master_secret(session: Session) -> None:
    session.client("secretsmanager", PRIMARY).create_secret(
        Name="tap/global/aurora-master",
        SecretString=json.dumps({"username": "tap_admin", "password": "correct-horse-battery"}),
    )


def _rotation_function(session: Session, *, permission: bool) -> None:
    role = "tap-global-aurora-rotation-role"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    session.client("iam", PRIMARY).create_role(
        RoleName=role, AssumeRolePolicyDocument=json.dumps(trust)
    )
    aws_lambda = session.client("lambda", PRIMARY)
    aws_lambda.create_function(
        FunctionName="tap-global-aurora-rotation",
        Runtime="python3.12",
        Role=f"arn:aws:iam::{ACCOUNT}:role/{role}",
        Handler="rotation.lambda_handler",
        Code={"ZipFile": _rotation_zip()},
    )
    if permission:
        aws_lambda.add_permission(
            FunctionName="tap-global-aurora-rotation",
            StatementId="SecretsManagerRotation",
            Action="lambda:InvokeFunction",
            Principal="secretsmanager.amazonaws.com",
            SourceAccount=ACCOUNT,
        )


def _bootstrap(session: Session, config: PlatformConfig, name: str) -> None:
    bootstrap_backend(session, backend_spec(config).for_environments({name}))


# --------------------------------------------------------------------------- bare account

KEY_ADMIN_MISSING = (
    "global",
    "key administrator",
    f"arn:aws:iam::{ACCOUNT}:role/tap-deployer does not exist: KMS refuses a key policy naming it",
    "./tap bootstrap-backend --target aws (creates the role tap-deployer, trusted by this "
    "account's root; the key policies grant it key administration)",
)


def test_a_bare_account_fails_dev_with_each_fix_and_touches_nothing(
    aws: Session, shipped: tuple[PlatformConfig, list[StackInfo]]
) -> None:
    config, stacks = _environment(shipped, "dev")
    checks, printed, error = _run(aws, config, stacks)
    assert _failures(checks) == [
        (
            "dev",
            "global",
            "account",
            f"the credentials are for account {ACCOUNT}; [environments.dev] names no account",
            f'set account_id = "{ACCOUNT}" in [environments.dev] of platform.toml, if '
            f"{ACCOUNT} is the account dev deploys into",
        ),
        ("dev", *KEY_ADMIN_MISSING),
    ]
    assert isinstance(error, PreflightError) and error.code == 1
    assert str(error) == (
        f"preflight failed: 2 of {len(checks)} checks (listed above, each with its fix); nothing "
        "was created or changed. After fixing them: ./tap preflight --target aws --env dev"
    )
    # Every check is in the table, then each failure's fix on a line of its own.
    assert printed.count("│ pass ") + printed.count("│ FAIL ") == len(checks)
    assert (
        f'FIX dev account (global): set account_id = "{ACCOUNT}" in [environments.dev] of '
        f"platform.toml, if {ACCOUNT} is the account dev deploys into\n"
    ) in printed
    assert printed.endswith(f"preflight: {len(checks) - 2} passed, 2 failed\n")
    # Read-only: nothing was created.
    assert aws.client("s3", PRIMARY).list_buckets()["Buckets"] == []
    assert aws.client("dynamodb", PRIMARY).list_tables()["TableNames"] == []
    roles = aws.client("iam", PRIMARY).list_roles()["Roles"]
    assert [r["RoleName"] for r in roles if r["RoleName"].startswith("tap-")] == []


def test_what_passes_in_a_bare_account_says_what_it_found(
    aws: Session, owned: tuple[PlatformConfig, list[StackInfo]]
) -> None:
    config, stacks = _environment(owned, "dev")
    found = {(c.where, c.name): c.detail for c in preflight_checks(aws, config, stacks) if c.ok}
    assert found == {
        ("this machine", "terraform version"): "1.11.4 (needs 1.11+)",
        ("global", "credentials"): f"arn:aws:sts::{ACCOUNT}:user/moto",
        ("global", "account"): f"{ACCOUNT} (account_id)",
        (PRIMARY, "state bucket"): "tap-terraform-state-dev is free: bootstrap creates it",
        (PRIMARY, "lock table"): "tap-terraform-locks is free: bootstrap creates it",
        (PRIMARY, f"bucket tap-data-dev-{PRIMARY}-{ACCOUNT}"): "free: the application stack "
        "creates it",
        (PRIMARY, f"bucket tap-access-logs-dev-{PRIMARY}-{ACCOUNT}"): "free: the application "
        "stack creates it",
        # moto's default VPC is the one other VPC; Service Quotas answers for vpc only.
        (PRIMARY, "VPCs per Region"): "needs 1, 1 other VPC(s) in use, quota 5 (applied quota)",
        (PRIMARY, "interface endpoints per VPC"): "needs 3 (lambda, logs, secretsmanager) in "
        "the new VPC, quota 50 (applied quota)",
        (PRIMARY, "Lambda concurrency"): "3 function(s), none reserves concurrency: they share "
        "the pool, at most 1000 unreserved (documented default; GetAccountSettings did not "
        "answer)",
        (PRIMARY, "Elastic IPs"): "needs none (no NAT gateway, no EIP)",
    }


def test_a_bare_account_fails_global_on_every_prerequisite(
    aws: Session, owned: tuple[PlatformConfig, list[StackInfo]]
) -> None:
    config, stacks = _environment(owned, "global")
    checks, _, error = _run(aws, config, stacks)
    assert _failures(checks) == [
        ("global", *KEY_ADMIN_MISSING),
        (
            "global",
            "global",
            "hosted zone",
            f"no hosted zone {OWNED_ZONE} in account {ACCOUNT}: the API's records need a public "
            "one",
            f"aws route53 create-hosted-zone --name {OWNED_ZONE} --caller-reference "
            f"tap-{OWNED_ZONE}, then delegate {OWNED_ZONE} to the zone's name servers (NS records "
            "at its parent or registrar)",
        ),
        (
            "global",
            PRIMARY,
            "master secret",
            "no secret tap/global/aurora-master",
            f"aws secretsmanager create-secret --region {PRIMARY} --name tap/global/aurora-master "
            '--secret-string \'{"username":"tap_admin","password":"<a strong password>"}\'',
        ),
        (
            "global",
            PRIMARY,
            "rotation function",
            "no function tap-global-aurora-rotation",
            f"deploy the rotation function tap-global-aurora-rotation in {PRIMARY} (e.g. from "
            "AWS's rotation templates: https://docs.aws.amazon.com/secretsmanager/latest/"
            "userguide/reference_available-rotation-templates.html)",
        ),
        (
            "global",
            PRIMARY,
            "rotation permission",
            "tap-global-aurora-rotation does not exist, so nothing allows "
            "secretsmanager.amazonaws.com to invoke it",
            f"after creating it: aws lambda add-permission --region {PRIMARY} --function-name "
            "tap-global-aurora-rotation --statement-id SecretsManagerRotation --action "
            "lambda:InvokeFunction --principal secretsmanager.amazonaws.com --source-account "
            f"{ACCOUNT}",
        ),
    ]
    assert isinstance(error, PreflightError) and error.code == 1
    # Every region of the environment is checked.
    regions = {c.where for c in checks if c.name == "VPCs per Region"}
    assert regions == {PRIMARY, "us-east-1", "us-east-2"}


# --------------------------------------------------------------------------- partial, complete


def test_a_partial_account_fails_only_on_what_is_still_missing(
    aws: Session, owned: tuple[PlatformConfig, list[StackInfo]]
) -> None:
    config, stacks = _environment(owned, "global")
    _bootstrap(aws, config, "global")
    _hosted_zone(aws, OWNED_ZONE)
    _master_secret(aws)
    _rotation_function(aws, permission=False)
    checks, _, error = _run(aws, config, stacks)
    assert _failures(checks) == [
        (
            "global",
            PRIMARY,
            "rotation permission",
            "the resource policy of tap-global-aurora-rotation does not let "
            "secretsmanager.amazonaws.com invoke it",
            f"aws lambda add-permission --region {PRIMARY} --function-name "
            "tap-global-aurora-rotation --statement-id SecretsManagerRotation --action "
            "lambda:InvokeFunction --principal secretsmanager.amazonaws.com --source-account "
            f"{ACCOUNT}",
        )
    ]
    assert isinstance(error, PreflightError)


def test_a_complete_account_passes_dev(
    aws: Session, owned: tuple[PlatformConfig, list[StackInfo]]
) -> None:
    config, stacks = _environment(owned, "dev")
    _bootstrap(aws, config, "dev")
    checks, printed, error = _run(aws, config, stacks)
    assert error is None
    assert _failures(checks) == []
    found = {c.name: c.detail for c in checks}
    assert found["key administrator"] == f"arn:aws:iam::{ACCOUNT}:role/tap-deployer exists"
    assert found["state bucket"] == f"tap-terraform-state-dev is this account's, in {PRIMARY}"
    assert found["lock table"] == "tap-terraform-locks exists"
    assert printed.endswith(f"preflight: {len(checks)} passed, 0 failed\n")


def test_a_complete_account_passes_global(
    aws: Session, owned: tuple[PlatformConfig, list[StackInfo]]
) -> None:
    config, stacks = _environment(owned, "global")
    _bootstrap(aws, config, "global")
    _hosted_zone(aws, OWNED_ZONE)
    _master_secret(aws)
    _rotation_function(aws, permission=True)
    checks, _, error = _run(aws, config, stacks)
    assert error is None
    assert _failures(checks) == []
    found = {c.name: c.detail for c in checks}
    assert found["dns zone name"] == f"{OWNED_ZONE} can be delegated"
    assert found["hosted zone"].startswith("public zone ")
    master = found["master secret"]
    assert master == "tap/global/aurora-master, encrypted with aws/secretsmanager"
    assert found["rotation function"] == "tap-global-aurora-rotation exists"
    assert found["rotation permission"] == (
        "secretsmanager.amazonaws.com may invoke tap-global-aurora-rotation"
    )


def test_the_shipped_global_zone_is_reserved_and_fails_even_with_its_zone(
    aws: Session, shipped: tuple[PlatformConfig, list[StackInfo]]
) -> None:
    config, stacks = _environment(shipped, "global")
    _bootstrap(aws, config, "global")
    _hosted_zone(aws, "trading.example.com")
    _master_secret(aws)
    _rotation_function(aws, permission=True)
    failures = _failures(preflight_checks(aws, config, stacks))
    assert [name for _, _, name, _, _ in failures] == ["account", "dns zone name"]
    assert failures[1] == (
        "global",
        "global",
        "dns zone name",
        "trading.example.com is under example.com, a name reserved by RFC 2606/6761: it is "
        "never delegated, so the ACM DNS validation of api.trading.example.com would never "
        "finish",
        'set dns = { zone_name = "<a domain you own>" } in [environments.global] of platform.toml',
    )


@pytest.mark.parametrize(
    ("zone", "reserved"),
    [
        ("trading.example.com", "example.com"),
        ("example.org", "example.org"),
        ("api.example.net", "example.net"),
        ("corp.example", "example"),
        ("trading.test", "test"),
        ("x.invalid", "invalid"),
        ("app.localhost", "localhost"),
        ("trading.tap-markets.net", None),
        ("myexample.com", None),  # a label, not a suffix of "example.com"
        ("example.com.au", None),
    ],
)
def test_reserved_domains_are_those_of_rfc_2606_and_6761(zone: str, reserved: str | None) -> None:
    assert reserved_domain(zone) == reserved


# --------------------------------------------------------------------------- names and accounts


def _other_account(aws: Session, service: str, region: str) -> Any:
    """A client of another account on the same moto server (moto's account header)."""
    client = aws.client(service, region)
    client.meta.events.register(
        f"before-sign.{service}.*",
        lambda request, **_: request.headers.__setitem__("x-moto-account-id", OTHER_ACCOUNT),
    )
    return client


def test_buckets_another_account_owns_fail_with_the_setting_to_change(
    aws: Session, owned: tuple[PlatformConfig, list[StackInfo]]
) -> None:
    config, stacks = _environment(owned, "dev")
    s3 = _other_account(aws, "s3", PRIMARY)
    data = f"tap-data-dev-{PRIMARY}-{ACCOUNT}"
    for bucket in ("tap-terraform-state-dev", data):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": PRIMARY})
    failures = _failures(preflight_checks(aws, config, stacks))
    assert failures == [
        ("dev", *KEY_ADMIN_MISSING),
        (
            "dev",
            PRIMARY,
            "state bucket",
            "tap-terraform-state-dev belongs to another AWS account (S3 bucket names are global)",
            f'add the account id to [state] bucket_prefix ("tap-terraform-state-{ACCOUNT}") or '
            f'set state_bucket = "tap-terraform-state-dev-{ACCOUNT}" in [environments.dev]',
        ),
        (
            "dev",
            PRIMARY,
            f"bucket {data}",
            "belongs to another AWS account (S3 bucket names are global)",
            'set [platform] bucket_name_suffix = "account-id" in platform.toml (every bucket '
            "name then ends with this account's id), or another suffix nobody uses",
        ),
    ]


def test_a_state_bucket_of_this_account_in_another_region_fails(
    aws: Session, owned: tuple[PlatformConfig, list[StackInfo]]
) -> None:
    config, stacks = _environment(owned, "dev")
    aws.client("s3", "us-east-1").create_bucket(Bucket="tap-terraform-state-dev")
    failures = _failures(preflight_checks(aws, config, stacks))
    assert failures[1:] == [
        (
            "dev",
            PRIMARY,
            "state bucket",
            "tap-terraform-state-dev is this account's, in us-east-1",
            f"[state] region is {PRIMARY}: move the state or set state_bucket in "
            f"[environments.dev] to a bucket of {PRIMARY}",
        )
    ]


def test_a_read_the_account_refuses_fails_its_check_and_the_others_run(
    owned: tuple[PlatformConfig, list[StackInfo]],
) -> None:
    from botocore.exceptions import ClientError

    from tooling.lifecycle.preflight import _guarded
    from tooling.lifecycle.preflight.base import Account

    config, _ = owned
    account = Account(config, config.environment("dev"), ACCOUNT, "aws", lambda s, r: None)

    def refused(account: Account) -> list[Check]:
        error = {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}
        raise ClientError(error, "ListHostedZonesByName")  # type: ignore[arg-type]

    assert _guarded(account, "hosted zone", refused) == [
        Check(
            "dev",
            "-",
            "hosted zone",
            False,
            "could not be checked: An error occurred (AccessDenied) when calling the "
            "ListHostedZonesByName operation: not allowed",
            "allow these credentials the read call named in the error (preflight only "
            "describes, gets and lists)",
        )
    ]


def test_credentials_of_another_account_stop_the_checks(
    aws: Session,
    owned: tuple[PlatformConfig, list[StackInfo]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, stacks = _environment(owned, "dev")
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)  # the in-process server reads it
    checks = preflight_checks(aws, config, stacks)
    assert [(c.name, c.ok) for c in checks] == [
        ("terraform version", True),
        ("credentials", True),
        ("account", False),
    ]
    assert (checks[-1].detail, checks[-1].fix) == (
        f"the credentials are for account {OTHER_ACCOUNT}, but account_id of dev says {ACCOUNT}",
        f"use credentials of account {ACCOUNT} (AWS_PROFILE, or aws_profile in "
        "[environments.dev]), or correct account_id there",
    )


def test_no_credentials_stop_the_checks_with_how_to_get_them(
    aws: Session,
    owned: tuple[PlatformConfig, list[StackInfo]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, stacks = _environment(owned, "dev")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    checks = preflight_checks(aws, config, stacks)
    assert [(c.name, c.ok) for c in checks] == [("terraform version", True), ("credentials", False)]
    assert checks[-1].detail == "no working credentials: Unable to locate credentials"
    assert checks[-1].fix == (
        "give this shell the credentials of the account dev deploys into (aws sso login / "
        "AWS_PROFILE, or aws_profile in [environments.dev]); `aws sts get-caller-identity` "
        "must answer"
    )


def test_a_deployment_role_is_assumed_and_as_key_administrator_is_never_created(
    aws: Session, owned: tuple[PlatformConfig, list[StackInfo]], tmp_path: Path
) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/tap-deployer"
    text = (ROOT / "platform.toml").read_text(encoding="utf-8")
    text = text.replace("[environments.dev]", f'[environments.dev]\naws_role_arn = "{role}"')
    (tmp_path / "platform.toml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "platform.toml", environ={})
    # Preflight reads names and counts from the stacks; aws_role_arn changes neither.
    _, stacks = _environment(owned, "dev")
    _bootstrap(aws, config, "dev")
    assert backend_spec(config).for_environments({"dev"}).key_admin_roles == ()
    checks = preflight_checks(aws, config, stacks)
    found = {c.name: (c.ok, c.detail) for c in checks}
    assert found["deployment role"] == (True, f"assumed {role}")
    assert found["account"] == (True, f"{ACCOUNT} (aws_role_arn)")
    assert _failures(checks) == [
        (
            "dev",
            "global",
            "key administrator",
            f"{role} does not exist: KMS refuses a key policy naming it",
            f"create the role {role}, or name an existing role in key_admin_role of "
            "[environments.dev]",
        )
    ]


def test_a_full_region_fails_the_vpc_quota_with_the_increase_to_ask_for(
    aws: Session, owned: tuple[PlatformConfig, list[StackInfo]]
) -> None:
    config, stacks = _environment(owned, "dev")
    _bootstrap(aws, config, "dev")
    ec2 = aws.client("ec2", PRIMARY)
    for index in range(4):  # with the default VPC: 5 in use, the quota moto applies
        ec2.create_vpc(CidrBlock=f"172.{16 + index}.0.0/16")
    assert _failures(preflight_checks(aws, config, stacks)) == [
        (
            "dev",
            PRIMARY,
            "VPCs per Region",
            "needs 1, 5 other VPC(s) in use, quota 5 (applied quota)",
            f"delete unused VPCs of {PRIMARY}, or: aws service-quotas "
            f"request-service-quota-increase --region {PRIMARY} --service-code vpc --quota-code "
            "L-F678F1CE --desired-value 6",
        )
    ]


# --------------------------------------------------------------------------- terraform, task


@pytest.mark.parametrize(
    ("version", "ok"),
    [("1.10.5", False), ("1.11.0", True), ("1.12.0-beta1", True), ("2.0.0", True)],
)
def test_terraform_must_be_1_11_or_later(
    version: str, ok: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tooling.terraform.terraform_version", lambda: version)
    check = terraform_check()
    assert (check.ok, check.detail) == (ok, f"{version} (needs 1.11+)")
    assert check.fix == (
        ""
        if ok
        else "install Terraform 1.11 or later (https://developer.hashicorp.com/terraform/install)"
        ", or set TAP_TERRAFORM to one"
    )


def test_a_missing_terraform_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAP_TERRAFORM", "/nonexistent/terraform")
    check = terraform_check()
    assert (check.where, check.name, check.ok) == ("this machine", "terraform version", False)
    assert check.detail.startswith("Cannot find TAP_TERRAFORM='/nonexistent/terraform'.")


def test_preflight_refuses_the_local_target(tmp_path: Path) -> None:
    ws = Workspace(root=ROOT, outdir=tmp_path / "cdktf.out", target="local")
    with pytest.raises(LifecycleError) as refused:
        run_preflight(ws, "dev")
    assert refused.value.code == 2
    assert not (tmp_path / "cdktf.out").exists()  # refused before any synth


# --------------------------------------------------------------------------- deploy runs it first


class _DeployStoppedError(Exception):
    """Ends a faked deploy once the steps under test have run."""


def _fake_deploy_steps(
    monkeypatch: pytest.MonkeyPatch, steps: list[str], *, preflight_fails: bool
) -> None:
    stack = StackInfo("tap-dev-ap-southeast-1-network", Path("unused"), "dev", PRIMARY)

    def preflight(ws: Workspace, stacks: list[StackInfo]) -> list[Check]:
        steps.append(f"preflight {[s.name for s in stacks]}")
        if preflight_fails:
            raise PreflightError("preflight failed", [])
        return []

    def session_for(ws: Workspace, *, start: bool = True) -> Session:
        steps.append("session")
        return Session(root=ws.root, target="aws")

    def bootstrap(ws: Workspace, session: Session, environments: Any = None) -> None:
        steps.append(f"bootstrap {sorted(environments)}")
        raise _DeployStoppedError

    monkeypatch.setattr(deploy, "ordered_stacks", lambda ws, env: [stack])
    monkeypatch.setattr(deploy, "require_preflight", preflight)
    monkeypatch.setattr(deploy, "session_for", session_for)
    monkeypatch.setattr(deploy, "bootstrap", bootstrap)


def test_an_aws_deploy_runs_preflight_before_bootstrap_and_apply(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    steps: list[str] = []
    _fake_deploy_steps(monkeypatch, steps, preflight_fails=False)
    ws = Workspace(root=tmp_path, outdir=tmp_path / "cdktf.out", target="aws")
    with pytest.raises(_DeployStoppedError):
        deploy.deploy_stacks(ws, "dev", stop=threading.Event())
    assert steps == ["preflight ['tap-dev-ap-southeast-1-network']", "session", "bootstrap ['dev']"]


def test_a_failing_preflight_stops_an_aws_deploy_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    steps: list[str] = []
    _fake_deploy_steps(monkeypatch, steps, preflight_fails=True)
    ws = Workspace(root=tmp_path, outdir=tmp_path / "cdktf.out", target="aws")
    with pytest.raises(PreflightError):
        deploy.deploy_stacks(ws, "dev")
    assert steps == ["preflight ['tap-dev-ap-southeast-1-network']"]


def test_a_local_deploy_has_no_preflight(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    steps: list[str] = []
    _fake_deploy_steps(monkeypatch, steps, preflight_fails=True)
    ws = Workspace(root=tmp_path, outdir=tmp_path / "cdktf.out", target="local")
    with pytest.raises(_DeployStoppedError):
        deploy.deploy_stacks(ws, "dev")
    assert steps == ["session", "bootstrap ['dev']"]
