"""tooling.deploy without an emulator: stack order (manifest or derived), merged outputs, and
which names and tags count as the platform's in the leftover check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tooling.deploy import (
    BackendSpec,
    DeployError,
    Session,
    StackInfo,
    _backend_of,
    _lock_holders,
    _Owner,
    flat_outputs,
    merge_stack_outputs,
    multi_region_flat_outputs,
    read_stacks,
    recover_orphaned_lock,
)

BUCKET = "tap-terraform-state-store"
SPEC = BackendSpec(
    bucket=BUCKET,
    lock_table="tap-terraform-locks",
    region="ap-southeast-1",
    platform="tap",
    cost_center="CC-1",
)


def _stack(
    outdir: Path, name: str, env: str = "dev", reads: tuple[str, ...] = (), region: str = "r-1"
) -> None:
    """A minimal cdk.tf.json: provider with region and tags, S3 backend, remote states."""
    document: dict[str, Any] = {
        "provider": {"aws": [{"region": region, "default_tags": [{"tags": {"Environment": env}}]}]},
        "terraform": {"backend": {"s3": {"bucket": BUCKET, "key": f"tap/{env}/{name}.tfstate"}}},
    }
    if reads:
        document["data"] = {
            "terraform_remote_state": {
                other: {
                    "backend": "s3",
                    "config": {"bucket": BUCKET, "key": f"tap/{env}/{other}.tfstate"},
                }
                for other in reads
            }
        }
    directory = outdir / "stacks" / name
    directory.mkdir(parents=True)
    (directory / "cdk.tf.json").write_text(json.dumps(document), encoding="utf-8")


def _manifest(outdir: Path, dependencies: dict[str, list[str]]) -> None:
    stacks = {name: {"name": name, "dependencies": deps} for name, deps in dependencies.items()}
    (outdir / "manifest.json").write_text(json.dumps({"stacks": stacks}), encoding="utf-8")


def _names(stacks: list[StackInfo]) -> list[str]:
    return [stack.name for stack in stacks]


def test_order_from_the_manifest(tmp_path: Path) -> None:
    # names sort the application first: only the dependency puts the network before it
    _stack(tmp_path, "tap-dev-r-1-app")
    _stack(tmp_path, "tap-dev-r-1-network")
    _manifest(tmp_path, {"tap-dev-r-1-app": ["tap-dev-r-1-network"], "tap-dev-r-1-network": []})
    stacks = read_stacks(tmp_path, ["tap-dev-r-1-app", "tap-dev-r-1-network"])
    assert _names(stacks) == ["tap-dev-r-1-network", "tap-dev-r-1-app"]
    app = stacks[1]
    assert (app.environment, app.region, app.dependencies) == (
        "dev",
        "r-1",
        ("tap-dev-r-1-network",),
    )
    assert app.state == (BUCKET, "tap/dev/tap-dev-r-1-app.tfstate")
    assert app.directory == tmp_path / "stacks" / "tap-dev-r-1-app"


def test_order_derived_from_remote_state_without_a_manifest(tmp_path: Path) -> None:
    _stack(tmp_path, "a-app", reads=("z-network",))
    _stack(tmp_path, "z-network")
    _stack(tmp_path, "m-other")
    assert _names(read_stacks(tmp_path, ["a-app", "z-network", "m-other"])) == [
        "m-other",
        "z-network",
        "a-app",
    ]


def test_dependencies_outside_the_selection_are_ignored(tmp_path: Path) -> None:
    _stack(tmp_path, "a-app", reads=("z-network",))
    _stack(tmp_path, "z-network")
    (stack,) = read_stacks(tmp_path, ["a-app"])
    assert stack.dependencies == ()


def test_a_cycle_is_an_error(tmp_path: Path) -> None:
    _stack(tmp_path, "a", reads=("b",))
    _stack(tmp_path, "b", reads=("a",))
    with pytest.raises(DeployError, match="cycle"):
        read_stacks(tmp_path, ["a", "b"])


def test_a_missing_stack_says_to_synthesize(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="synth"):
        read_stacks(tmp_path, ["nowhere"])


def test_outputs_of_an_environment_merge_and_the_dependent_stack_wins(tmp_path: Path) -> None:
    _stack(tmp_path, "tap-dev-r-1-app", reads=("tap-dev-r-1-network",))
    _stack(tmp_path, "tap-dev-r-1-network")
    _stack(tmp_path, "tap-prod-r-1-app", env="prod")
    stacks = read_stacks(tmp_path, ["tap-dev-r-1-app", "tap-dev-r-1-network", "tap-prod-r-1-app"])
    assert _names(stacks) == ["tap-dev-r-1-network", "tap-prod-r-1-app", "tap-dev-r-1-app"]
    network, prod, app = stacks
    merged = merge_stack_outputs(
        [
            (network, {"vpc_id": "vpc-1", "kms_key_arn": "from-network"}),
            (app, {"trades_table_name": "t", "kms_key_arn": "from-app"}),
            (prod, {"trades_table_name": "p"}),
        ]
    )
    assert flat_outputs(merged) == {
        "dev_vpc_id": "vpc-1",
        "dev_kms_key_arn": "from-app",
        "dev_trades_table_name": "t",
        "prod_trades_table_name": "p",
    }


def test_a_multi_region_environment_gets_region_keys_and_the_primary_keeps_the_plain_ones(
    tmp_path: Path,
) -> None:
    info = {
        (env, region, part): StackInfo(f"tap-{env}-{region}-{part}", tmp_path, env, region)
        for env, region in (("global", "ap-southeast-1"), ("global", "us-east-2"), ("dev", "r-1"))
        for part in ("network", "app")
    }
    flat = multi_region_flat_outputs(
        [
            (info["global", "ap-southeast-1", "network"], {"vpc_id": "vpc-a", "kms": "n"}),
            (info["global", "us-east-2", "network"], {"vpc_id": "vpc-b"}),
            (info["global", "ap-southeast-1", "app"], {"kms": "app", "api_id": "a"}),
            (info["global", "us-east-2", "app"], {"api_id": "b"}),
            (info["dev", "r-1", "network"], {"vpc_id": "vpc-d"}),
        ],
        {"global": "ap-southeast-1", "dev": "r-1"},
    )
    assert flat == {
        "global_vpc_id": "vpc-a",  # the primary region's, not the last deployed
        "global_kms": "app",
        "global_api_id": "a",
        "global_ap_southeast_1_vpc_id": "vpc-a",
        "global_ap_southeast_1_kms": "app",
        "global_ap_southeast_1_api_id": "a",
        "global_us_east_2_vpc_id": "vpc-b",
        "global_us_east_2_api_id": "b",
        "dev_vpc_id": "vpc-d",  # single region: no region keys
    }


@pytest.mark.parametrize(
    ("name", "mine"),
    [
        ("tap-trades-dev", True),
        ("tap-data-dev-ap-southeast-1", True),
        ("/aws/lambda/tap-processor-dev", True),
        ("/tap/dev/api-access", True),
        ("tap-aurora-dev", True),
        ("tap-trades-staging", False),  # another environment
        ("tap-terraform-locks", False),  # no environment token
        ("other-trades-dev", False),
        ("/aws/lambda/other-dev", False),
        ("", False),
    ],
)
def test_owner_by_name(name: str, mine: bool) -> None:
    assert _Owner(SPEC, frozenset({"dev"})).named(name) is mine


def test_owner_by_tags() -> None:
    owner = _Owner(SPEC, frozenset({"dev"}))

    def tags(**values: str) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in values.items()]

    assert owner.tagged(tags(CostCenter="CC-1", Environment="dev"))
    assert not owner.tagged(tags(CostCenter="CC-1", Environment="prod"))
    assert not owner.tagged(tags(CostCenter="CC-2", Environment="dev"))
    assert _Owner(SPEC, frozenset()).tagged(tags(CostCenter="CC-1"))  # every environment


# --------------------------------------------------------------------------- orphaned state locks


LOCK_KEY = "tap/dev/stack.tfstate"


@pytest.fixture
def locked(endpoint: str, tmp_path: Path) -> tuple[Session, Path]:
    """A local session on a reset moto, the state bucket and lock table, and a stack using them."""
    from tests.tooling.conftest import reset_moto
    from tooling.emulator.process import Emulator

    reset_moto(endpoint)
    port = int(endpoint.rsplit(":", 1)[1])
    session = Session(
        root=tmp_path,
        target="local",
        emulator=Emulator(endpoint=endpoint, port=port, pid=0, state_dir=tmp_path),
    )
    region = SPEC.region
    session.client("s3", region).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": region}
    )
    session.client("dynamodb", region).create_table(
        TableName=SPEC.lock_table,
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    backend = {
        "bucket": BUCKET, "key": LOCK_KEY, "region": region,
        "dynamodb_table": SPEC.lock_table, "use_lockfile": True,
    }  # fmt: skip
    (stack_dir / "cdk.tf.json").write_text(
        json.dumps({"terraform": {"backend": {"s3": backend}}}), encoding="utf-8"
    )
    return session, stack_dir


def _lock_in_table(session: Session, lock_id: str) -> None:
    info = json.dumps({"ID": lock_id, "Operation": "OperationTypeApply", "Who": "root@vm"})
    session.client("dynamodb", SPEC.region).put_item(
        TableName=SPEC.lock_table,
        Item={"LockID": {"S": f"{BUCKET}/{LOCK_KEY}"}, "Info": {"S": info}},
    )


def _lock_file(session: Session, lock_id: str) -> None:
    session.client("s3", SPEC.region).put_object(
        Bucket=BUCKET, Key=f"{LOCK_KEY}.tflock", Body=json.dumps({"ID": lock_id}).encode()
    )


def test_a_lock_item_without_lock_file_is_released(locked: tuple[Session, Path]) -> None:
    session, stack_dir = locked
    _lock_in_table(session, "orphan-1")
    note = recover_orphaned_lock(session, stack_dir)
    assert note is not None and "orphan-1" in note and "lock table only" in note
    assert _lock_holders(session, _backend_of(stack_dir)) == (None, None)


def test_a_lock_held_in_both_places_is_left_alone(locked: tuple[Session, Path]) -> None:
    session, stack_dir = locked
    _lock_file(session, "live-1")
    _lock_in_table(session, "live-1")
    assert recover_orphaned_lock(session, stack_dir) is None
    assert _lock_holders(session, _backend_of(stack_dir)) == ("live-1", "live-1")


def test_a_lock_file_alone_is_released_only_after_the_grace_time(
    locked: tuple[Session, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tooling import deploy

    session, stack_dir = locked
    _lock_file(session, "orphan-2")
    calls: list[float] = []

    def sleep(seconds: float) -> None:  # a live terraform takes the table lock meanwhile
        calls.append(seconds)
        _lock_in_table(session, "orphan-2")

    monkeypatch.setattr("tooling.deploy._sleep", sleep)
    assert recover_orphaned_lock(session, stack_dir) is None
    assert calls == [deploy._S3_ONLY_GRACE_SECONDS]
    session.client("dynamodb", SPEC.region).delete_item(
        TableName=SPEC.lock_table, Key={"LockID": {"S": f"{BUCKET}/{LOCK_KEY}"}}
    )
    monkeypatch.setattr("tooling.deploy._sleep", lambda seconds: None)
    note = recover_orphaned_lock(session, stack_dir)
    assert note is not None and "S3 lock file only" in note
    assert _lock_holders(session, _backend_of(stack_dir)) == (None, None)


def test_never_for_the_aws_target(locked: tuple[Session, Path]) -> None:
    session, stack_dir = locked
    _lock_in_table(session, "orphan-3")
    aws = Session(root=session.root, target="aws")
    assert recover_orphaned_lock(aws, stack_dir) is None


def test_terraform_runs_again_once_after_a_release(
    locked: tuple[Session, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from tooling.deploy import LOCK_FAILURE, _with_lock_recovery

    session, stack_dir = locked
    _lock_in_table(session, "orphan-4")
    answers = iter([(1, f"{LOCK_FAILURE}\nConditionalCheckFailedException"), (0, "ok")])
    assert _with_lock_recovery(session, stack_dir, sys.stdout, lambda: next(answers)) == 0
    assert "released the orphaned state lock orphan-4" in capsys.readouterr().out
    # a lock someone really holds is not released: the failure stands
    _lock_file(session, "live-2")
    _lock_in_table(session, "live-2")
    runs: list[int] = []

    def refused() -> tuple[int, str]:
        runs.append(1)
        return 1, LOCK_FAILURE

    assert _with_lock_recovery(session, stack_dir, sys.stdout, refused) == 1
    assert runs == [1]
