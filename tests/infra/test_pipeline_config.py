"""platform.toml ``[pipeline]``: the CI pipeline's repository, role names and GitHub
environments, validated when the configuration is loaded (trading_infra.config.pipeline)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from trading_infra.config import (
    EXAMPLE_GITHUB_REPOSITORY,
    ConfigError,
    PlatformConfig,
    load_config,
    parse_config,
)

ROOT = Path(__file__).resolve().parents[2]


def _parse(pipeline: dict[str, Any] | None) -> PlatformConfig:
    document = tomllib.loads((ROOT / "platform.toml").read_text(encoding="utf-8"))
    document.pop("pipeline", None)
    if pipeline is not None:
        document["pipeline"] = pipeline
    return parse_config(document, source="platform.toml")


def test_the_shipped_configuration_names_the_example_repository_with_default_roles() -> None:
    pipeline = load_config(ROOT / "platform.toml", environ={}).pipeline
    assert pipeline is not None
    assert (pipeline.github_repository, pipeline.is_example) == (
        "example-org/trading-platform",
        True,
    )
    assert EXAMPLE_GITHUB_REPOSITORY == "example-org/trading-platform"
    assert pipeline.plan_role_name("tap") == "tap-pipeline-plan"
    assert pipeline.drift_role_name("tap") == "tap-pipeline-drift"
    assert pipeline.deploy_role_name("tap", "prod") == "tap-pipeline-deploy-prod"
    assert pipeline.github_environment("prod") == "prod"


def test_the_section_is_optional() -> None:
    assert _parse(None).pipeline is None


def test_role_names_and_github_environments_can_be_set() -> None:
    pipeline = _parse(
        {
            "github_repository": "acme-trading/trading-platform",
            "plan_role": "ci-plan",
            "drift_role": "ci-drift",
            "deploy_role_prefix": "ci-deploy",
            "github_environments": {"prod": "production"},
        }
    ).pipeline
    assert pipeline is not None and not pipeline.is_example
    assert pipeline.plan_role_name("tap") == "ci-plan"
    assert pipeline.drift_role_name("tap") == "ci-drift"
    assert pipeline.deploy_role_name("tap", "dev") == "ci-deploy-dev"
    assert (pipeline.github_environment("prod"), pipeline.github_environment("dev")) == (
        "production",
        "dev",
    )


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        (
            {"github_repository": "trading-platform"},
            "  - pipeline.github_repository: pipeline.github_repository = 'trading-platform' is "
            "not a GitHub repository; write 'owner/name' as GitHub shows it, e.g. "
            "'acme-trading/trading-platform' (got 'trading-platform')",
        ),
        (
            {"github_repository": "-acme/trading"},
            "  - pipeline.github_repository: pipeline.github_repository = '-acme/trading' is not "
            "a GitHub repository; write 'owner/name' as GitHub shows it, e.g. "
            "'acme-trading/trading-platform' (got '-acme/trading')",
        ),
        (
            {"github_repository": "acme/x", "github_environments": {"prod": "prod:main"}},
            "  - pipeline.github_environments: pipeline.github_environments.prod = "
            "'prod:main'; use 1-255 letters, digits, '.', '_' or '-' (the name becomes part of "
            "the token's sub claim, whose fields ':' separates)",
        ),
        (
            {"github_repository": "acme/x", "drift_role": "ci/drift"},
            "  - pipeline.drift_role: 'ci/drift' cannot be (part of) an IAM role name; use 1-64 "
            "letters, digits or +=,.@_- (got 'ci/drift')",
        ),
        (
            {"github_repository": "acme/x", "plan_role": "ci plan"},
            "  - pipeline.plan_role: 'ci plan' cannot be (part of) an IAM role name; use 1-64 "
            "letters, digits or +=,.@_- (got 'ci plan')",
        ),
    ],
)
def test_a_malformed_value_is_refused_naming_the_setting(
    pipeline: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        _parse(pipeline)
    assert message in str(refused.value).splitlines()


def test_a_github_environment_of_an_unknown_environment_is_refused() -> None:
    with pytest.raises(ConfigError) as refused:
        _parse({"github_repository": "acme/x", "github_environments": {"production": "prod"}})
    assert (
        "pipeline.github_environments names unknown environment(s) ['production']; use names "
        "of ['dev', 'staging', 'prod', 'global']"
    ) in str(refused.value)


def test_a_deploy_role_name_over_iam_s_64_characters_is_refused() -> None:
    prefix = "p" * 57  # + "-staging" is 65
    with pytest.raises(ConfigError) as refused:
        _parse({"github_repository": "acme/x", "deploy_role_prefix": prefix})
    assert (
        f"the deploy role name '{prefix}-staging' is 65 characters, IAM allows 64; shorten "
        "pipeline.deploy_role_prefix"
    ) in str(refused.value)
