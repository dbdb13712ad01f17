"""Configuration from the environment, and reading S3 event notifications."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from processor.config import Config, ConfigError
from processor.domain.ports import ObjectRef
from processor.events import InvalidEventError, parse_s3_event

BASE_ENV = {"TRADES_TABLE_NAME": "trades-dev", "AWS_REGION": "ap-southeast-1"}


def test_defaults() -> None:
    config = Config.from_env(BASE_ENV)

    assert config == Config(
        trades_table_name="trades-dev",
        region="ap-southeast-1",
        quarantine_prefix="quarantine/",
        log_level="INFO",
    )


def test_all_variables_are_read() -> None:
    config = Config.from_env(
        {
            "TRADES_TABLE_NAME": "trades-prod",
            "QUARANTINE_PREFIX": "rejects/trades/",
            "LOG_LEVEL": "debug",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )

    assert (config.trades_table_name, config.quarantine_prefix) == (
        "trades-prod",
        "rejects/trades/",
    )
    assert (config.log_level, config.region) == ("DEBUG", "eu-west-1")


def test_aws_region_wins_over_aws_default_region() -> None:
    config = Config.from_env({**BASE_ENV, "AWS_DEFAULT_REGION": "us-east-1"})

    assert config.region == "ap-southeast-1"


def test_a_missing_table_name_is_named_in_the_error() -> None:
    with pytest.raises(ConfigError, match="TRADES_TABLE_NAME is required but not set"):
        Config.from_env({"AWS_REGION": "ap-southeast-1"})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TRADES_TABLE_NAME", "a b", "TRADES_TABLE_NAME must be a DynamoDB table name"),
        ("QUARANTINE_PREFIX", "quarantine", "QUARANTINE_PREFIX must be a key prefix"),
        ("QUARANTINE_PREFIX", "/", "QUARANTINE_PREFIX must be a key prefix"),
        ("QUARANTINE_PREFIX", "/quarantine/", "QUARANTINE_PREFIX must be a key prefix"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ],
)
def test_invalid_values_are_named(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env({**BASE_ENV, variable: value})


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"LOG_LEVEL": "LOUD"})

    message = str(caught.value)
    assert "TRADES_TABLE_NAME" in message
    assert "LOG_LEVEL" in message
    assert "AWS_REGION (or AWS_DEFAULT_REGION)" in message


def test_the_handler_module_imports_without_any_aws_configuration() -> None:
    """The build's smoke test imports the handler from the zip with a bare environment."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    if "PYTHONPATH" in os.environ:  # how the package is found when it is not installed
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    code = "import processor.handler as h; print(callable(h.lambda_handler))"

    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def record(key: str, event_name: str = "ObjectCreated:Put", **object_fields: Any) -> dict[str, Any]:
    return {
        "eventSource": "aws:s3",
        "eventName": event_name,
        "s3": {"bucket": {"name": "data"}, "object": {"key": key, **object_fields}},
    }


def test_keys_are_url_decoded() -> None:
    event = {"Records": [record("incoming/2026/my+batch+%281%29%2Bfinal%C3%A9.csv")]}

    assert parse_s3_event(event).objects == [
        ObjectRef("data", "incoming/2026/my batch (1)+finalé.csv")
    ]


def test_version_ids_are_kept() -> None:
    event = {"Records": [record("incoming/a.csv", versionId="v-123"), record("incoming/b.csv")]}

    assert parse_s3_event(event).objects == [
        ObjectRef("data", "incoming/a.csv", "v-123"),
        ObjectRef("data", "incoming/b.csv", None),
    ]


def test_the_s3_test_event_yields_nothing() -> None:
    event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "data"}

    parsed = parse_s3_event(event)

    assert parsed.objects == []
    assert parsed.skipped == ["s3:TestEvent"]


def test_records_other_than_object_created_are_skipped() -> None:
    event = {
        "Records": [record("incoming/a.csv", "ObjectRemoved:Delete"), record("incoming/b.csv")]
    }

    parsed = parse_s3_event(event)

    assert parsed.objects == [ObjectRef("data", "incoming/b.csv")]
    assert parsed.skipped == ["ObjectRemoved:Delete s3://data/incoming/a.csv"]


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"Records": "nope"},
        {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]},
        {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}]},
        {"Records": [record("")]},
        {"Records": ["text"]},
    ],
)
def test_anything_else_is_an_invalid_event(event: dict[str, Any]) -> None:
    with pytest.raises(InvalidEventError):
        parse_s3_event(event)
