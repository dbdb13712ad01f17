"""Specification of naming, required tags, deploy targets and secrets in the synthesized JSON."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cdktf import App
from cdktf import Testing as CdktfTesting
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from trading_infra.config import parse_config
from trading_infra.naming import Namer, NamingError, UniqueSuffix, check_name
from trading_infra.tagging import RequiredTagsAspect

from tests.infra.conftest import Stack, synth_to

ROOT = Path(__file__).resolve().parents[2]
#: How a stack refers to the deploying account's id (its data.aws_caller_identity).
ACCOUNT_ID = "${data.aws_caller_identity.CallerIdentity.account_id}"

#: Resource types whose ``name`` is a DNS name, not a resource name.
DNS_NAMED = {"aws_route53_record"}
NAME_FIELDS = ("name", "bucket", "function_name", "cluster_identifier", "identifier",
               "alarm_name")  # fmt: skip
ENVIRONMENT_LITERALS = re.compile(r"(^|[-_/])(dev|staging|prod|production|development)([-_/]|$)")


def test_names_follow_platform_type_suffix() -> None:
    namer = Namer("tap", "dev", "ap-southeast-1")
    assert namer.name("trades") == "tap-trades-dev"
    assert namer.name("data", kind="s3_bucket", regional=True) == "tap-data-dev-ap-southeast-1"


def test_bucket_names_end_with_the_account_id_or_the_configured_literal() -> None:
    # S3 bucket names are global across all accounts: the suffix makes them this account's.
    namer = Namer("tap", "dev", "ap-southeast-1")
    by_account = namer.bucket("data", unique=UniqueSuffix.account_id(ACCOUNT_ID))
    assert by_account == f"tap-data-dev-ap-southeast-1-{ACCOUNT_ID}"
    literal = namer.bucket("data", unique=UniqueSuffix.literal("acmetrading"))
    assert literal == "tap-data-dev-ap-southeast-1-acmetrading"


def test_a_bucket_name_is_checked_with_the_twelve_digits_of_the_account_id() -> None:
    # 51 characters fit S3's 63, but not with "-" and the 12 digits the account id adds.
    namer = Namer("tap", "a-longer-env-suffixx", "ap-southeast-1")
    assert len(namer.name("access-logs", kind="s3_bucket", regional=True)) == 51
    with pytest.raises(NamingError, match=r"'tap-access-logs-.*-000000000000' is 64 characters"):
        namer.bucket("access-logs", unique=UniqueSuffix.account_id(ACCOUNT_ID))
    fitting = Namer("tap", "a-longer-env-suffix", "ap-southeast-1")
    assert len(fitting.bucket("access-logs", unique=UniqueSuffix.literal("0" * 12))) == 63


def test_too_long_name_fails_at_synth_with_the_limit_and_the_fix() -> None:
    namer = Namer("tap", "a-long-suffix-x", "ap-southeast-1")
    with pytest.raises(NamingError, match=r"is 6\d characters, the limit is 63.*shorten"):
        namer.name("trade-file-access-logs-archive", kind="s3_bucket", regional=True)


def test_synthesized_bucket_names_carry_the_deploying_account_id(
    aws_stacks: dict[str, Stack], local_stacks: dict[str, Stack]
) -> None:
    for stacks in (aws_stacks, local_stacks):
        for name, stack in stacks.items():
            if not name.endswith("-app"):
                continue
            _, environment, region = name.removesuffix("-app").split("-", 2)
            buckets = sorted(b["bucket"] for b in stack.resources("aws_s3_bucket").values())
            assert buckets == [
                f"tap-access-logs-{environment}-{region}-{ACCOUNT_ID}",
                f"tap-data-{environment}-{region}-{ACCOUNT_ID}",
            ]


def test_every_stack_requires_terraform_1_11(
    aws_stacks: dict[str, Stack], local_stacks: dict[str, Stack]
) -> None:
    # Ephemeral resources, write-only arguments and the backend's use_lockfile.
    for stacks in (aws_stacks, local_stacks):
        assert len(stacks) == 12
        for stack in stacks.values():
            assert stack.document["terraform"]["required_version"] == ">= 1.11.0", stack.name


@pytest.fixture(scope="module")
def pinned_prod(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """prod alone, with its account id and a literal bucket name suffix configured: its
    application stack's provider and buckets, per target."""
    document = tomllib.loads((ROOT / "platform.toml").read_text())
    changed = copy.deepcopy(document)
    changed["platform"]["bucket_name_suffix"] = "acmetrading"
    changed["platform"]["default_environment"] = "prod"
    prod = changed["environments"]["prod"]
    prod["account_id"] = "111122223333"
    prod["aws_role_arn"] = "arn:aws:iam::111122223333:role/tap-deployer"
    changed["environments"] = {"prod": prod}
    config = parse_config(changed)
    found = {}
    for target in ("aws", "local"):
        stack = synth_to(tmp_path_factory.mktemp(f"pinned-{target}"), config, target)[
            "tap-prod-ap-southeast-1-app"
        ]
        (provider,) = stack.document["provider"]["aws"]
        buckets = sorted(b["bucket"] for b in stack.resources("aws_s3_bucket").values())
        found[target] = {"provider": provider, "buckets": buckets}
    return found


def test_the_aws_provider_refuses_any_account_but_the_configured_one(
    pinned_prod: dict[str, dict[str, Any]], aws_stacks: dict[str, Stack]
) -> None:
    assert pinned_prod["aws"]["provider"]["allowed_account_ids"] == ["111122223333"]
    # Not locally (the emulator's account is its own), nor without a configured account id.
    assert "allowed_account_ids" not in pinned_prod["local"]["provider"]
    for stack in aws_stacks.values():
        (provider,) = stack.document["provider"]["aws"]
        assert "allowed_account_ids" not in provider, stack.name


def test_a_literal_bucket_name_suffix_replaces_the_account_id(
    pinned_prod: dict[str, dict[str, Any]],
) -> None:
    for target in ("aws", "local"):
        assert pinned_prod[target]["buckets"] == [
            "tap-access-logs-prod-ap-southeast-1-acmetrading",
            "tap-data-prod-ap-southeast-1-acmetrading",
        ]


def test_name_with_forbidden_characters_is_rejected() -> None:
    with pytest.raises(NamingError, match="breaks the naming rule"):
        check_name("Tap_Data", "s3_bucket")


def test_every_named_resource_carries_the_environment_suffix(aws_stacks: dict[str, Stack]) -> None:
    for stack in aws_stacks.values():
        suffix = stack.name.split("-")[1]
        for resource_type, name, body in stack.all_resources():
            if resource_type in DNS_NAMED:
                continue
            for field in NAME_FIELDS:
                value = body.get(field)
                if isinstance(value, str) and not value.startswith("${"):
                    assert suffix in value, f"{resource_type}.{name}.{field} = {value!r}"


def test_no_environment_name_is_hard_coded_in_infra_sources() -> None:
    sources = Path(__file__).resolve().parents[2] / "infra" / "src"
    for path in sources.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for literal in re.findall(r"[\"']([^\"']*)[\"']", line):
                assert not ENVIRONMENT_LITERALS.search(literal), f"{path}:{number}: {literal!r}"


def test_provider_default_tags_carry_the_four_required_tags(stack: Stack) -> None:
    (provider,) = stack.document["provider"]["aws"]
    assert provider["default_tags"][0]["tags"] == {
        "Environment": "dev",
        "Region": "ap-southeast-1",
        "CostCenter": "CC-4102-TRADING",
        "ManagedBy": "cdktf",
    }


def test_tags_aspect_checks_every_taggable_resource(stack: Stack) -> None:
    aspect = RequiredTagsAspect()
    app = CdktfTesting.app()
    from cdktf import Aspects, TerraformStack

    probe = TerraformStack(app, "probe")
    AwsProvider(probe, "aws", region="ap-southeast-1", default_tags=[{"tags": {
        "Environment": "e", "Region": "r", "CostCenter": "c", "ManagedBy": "m"}}])  # fmt: skip
    SqsQueue(probe, "Queue", name="q")
    Aspects.of(probe).add(aspect)
    CdktfTesting.synth(probe)
    assert aspect.checked == 1


def test_synth_fails_naming_a_resource_without_required_tags() -> None:
    app: App = CdktfTesting.app()
    from cdktf import Aspects, TerraformStack

    probe = TerraformStack(app, "probe")
    AwsProvider(probe, "aws", region="ap-southeast-1")
    SqsQueue(probe, "Queue", name="q", tags={"Environment": "e"})
    Aspects.of(probe).add(RequiredTagsAspect())
    with pytest.raises(Exception, match=r"aws_sqs_queue\.Queue .*Region, CostCenter, ManagedBy"):
        CdktfTesting.synth(probe)


def test_aws_target_carries_no_emulator_address_credentials_or_skips(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in aws_stacks.values():
        text = json.dumps(stack.document)
        assert "127.0.0.1" not in text and "localhost" not in text
        (provider,) = stack.document["provider"]["aws"]
        assert not {"access_key", "secret_key", "endpoints"} & set(provider)
        assert not any(key.startswith("skip_") for key in provider)
        backend = stack.document["terraform"]["backend"]["s3"]
        assert not {"access_key", "secret_key", "endpoints"} & set(backend)
        assert not any(key.startswith("skip_") for key in backend)


def test_local_target_points_every_service_at_the_loopback_emulator(
    local_stacks: dict[str, Stack],
) -> None:
    for stack in local_stacks.values():
        (provider,) = stack.document["provider"]["aws"]
        endpoints = provider["endpoints"][0]
        assert set(endpoints.values()) == {"http://127.0.0.1:4566"}
        assert stack.document["terraform"]["backend"]["s3"]["endpoints"]["s3"] == (
            "http://127.0.0.1:4566"
        )


def test_single_region_targets_differ_only_in_provider_and_backend_settings(
    aws_stacks: dict[str, Stack], local_stacks: dict[str, Stack]
) -> None:
    # Multi-region deployments have one more, explicit difference: see test_multi_region.py.
    single_region = [name for name in aws_stacks if not name.startswith("tap-global-")]
    assert len(single_region) == 6
    for name in single_region:
        assert aws_stacks[name].document["resource"] == local_stacks[name].document["resource"]


PASSWORD_FIELDS = {"password", "master_password", "secret_string", "secret_binary"}


def test_no_secret_value_appears_in_the_synthesized_json(aws_stacks: dict[str, Stack]) -> None:
    for stack in aws_stacks.values():
        for resource_type, name, body in stack.all_resources():
            assert not PASSWORD_FIELDS & set(body), f"{resource_type}.{name}"
        assert "aws_secretsmanager_secret_version" not in stack.document.get("resource", {})
        assert "aws_secretsmanager_secret_version" not in stack.document.get("data", {})


def test_a_resource_blanking_a_default_tag_fails_synth() -> None:
    from cdktf import Aspects, TerraformStack

    tags = {"Environment": "e", "Region": "r", "CostCenter": "c", "ManagedBy": "m"}
    probe = TerraformStack(CdktfTesting.app(), "probe")
    AwsProvider(probe, "aws", region="ap-southeast-1", default_tags=[{"tags": tags}])
    SqsQueue(probe, "Queue", name="q", tags={"CostCenter": ""})
    Aspects.of(probe).add(RequiredTagsAspect(default_tags=tags))
    with pytest.raises(Exception, match=r"aws_sqs_queue\.Queue .*CostCenter"):
        CdktfTesting.synth(probe)
