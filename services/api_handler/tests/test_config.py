"""Configuration from environment variables, validated with errors naming the variable."""

from __future__ import annotations

import pytest
from api_handler.config import ConfigError, Settings, load_settings

FULL = {
    "SESSIONS_TABLE_NAME": "prod-sessions",
    "TRADES_TABLE_NAME": "prod-trades",
    "TRADES_BY_ACCOUNT_INDEX": "by-account",
    "SESSION_TTL_SECONDS": "900",
    "LOG_LEVEL": "debug",
    "AWS_REGION": "ap-southeast-1",
}


def _without(*names: str) -> dict[str, str]:
    return {k: v for k, v in FULL.items() if k not in names}


def test_a_complete_environment_gives_the_settings() -> None:
    assert load_settings(FULL) == Settings(
        sessions_table_name="prod-sessions",
        trades_table_name="prod-trades",
        trades_by_account_index="by-account",
        region="ap-southeast-1",
        session_ttl_seconds=900,
        log_level="DEBUG",
    )


def test_ttl_defaults_to_3600_seconds_and_log_level_to_info() -> None:
    settings = load_settings(_without("SESSION_TTL_SECONDS", "LOG_LEVEL"))
    assert (settings.session_ttl_seconds, settings.log_level) == (3600, "INFO")


def test_the_region_falls_back_to_aws_default_region() -> None:
    environ = {**_without("AWS_REGION"), "AWS_DEFAULT_REGION": "eu-west-1"}
    assert load_settings(environ).region == "eu-west-1"


@pytest.mark.parametrize(
    "variable", ["SESSIONS_TABLE_NAME", "TRADES_TABLE_NAME", "TRADES_BY_ACCOUNT_INDEX"]
)
def test_a_missing_required_variable_is_named(variable: str) -> None:
    with pytest.raises(ConfigError, match=f"{variable} is required"):
        load_settings(_without(variable))


def test_a_blank_required_variable_counts_as_missing() -> None:
    with pytest.raises(ConfigError, match="SESSIONS_TABLE_NAME is required"):
        load_settings({**FULL, "SESSIONS_TABLE_NAME": "  "})


def test_a_missing_region_is_named() -> None:
    with pytest.raises(ConfigError, match=r"AWS_REGION \(or AWS_DEFAULT_REGION\) is required"):
        load_settings(_without("AWS_REGION"))


def test_a_table_arn_instead_of_a_name_is_invalid() -> None:
    arn = "arn:aws:dynamodb:ap-southeast-1:123456789012:table/prod-trades"
    with pytest.raises(ConfigError, match="TRADES_TABLE_NAME must be a DynamoDB name"):
        load_settings({**FULL, "TRADES_TABLE_NAME": arn})


@pytest.mark.parametrize("value", ["59", "86401", "0", "-60", "1e3", "60s", "ten"])
def test_an_invalid_session_ttl_is_named(value: str) -> None:
    with pytest.raises(
        ConfigError, match="SESSION_TTL_SECONDS must be an integer from 60 to 86400"
    ):
        load_settings({**FULL, "SESSION_TTL_SECONDS": value})


def test_an_unknown_log_level_is_named() -> None:
    with pytest.raises(ConfigError, match="LOG_LEVEL must be one of"):
        load_settings({**FULL, "LOG_LEVEL": "LOUD"})


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"SESSION_TTL_SECONDS": "5"})
    message = str(raised.value)
    for variable in (
        "SESSIONS_TABLE_NAME",
        "TRADES_TABLE_NAME",
        "TRADES_BY_ACCOUNT_INDEX",
        "AWS_REGION",
        "SESSION_TTL_SECONDS",
    ):
        assert variable in message
