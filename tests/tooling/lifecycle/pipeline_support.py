"""What the pipeline tests share: the read-only check of a policy, and a configuration with a
real repository in ``[pipeline]``."""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trading_infra.config import PlatformConfig, parse_config

ROOT = Path(__file__).resolve().parents[3]
REPOSITORY = "acme-trading/trading-platform"

#: The verbs of a read: every action a read-only role allows starts with one of them, except
#: the decryption of its state (kms:Decrypt).
READ_VERBS = ("Describe", "Get", "List", "GET")
READ_EXCEPTIONS = frozenset({"kms:Decrypt"})
#: Reads of data rather than of configuration: a plan role holds them only for its state.
DATA_READS = (
    "s3:GetObject", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
    "dynamodb:Scan", "secretsmanager:GetSecretValue", "logs:GetLogEvents",
    "logs:FilterLogEvents", "kms:Decrypt", "sqs:ReceiveMessage", "lambda:InvokeFunction",
)  # fmt: skip


def _actions(statement: Mapping[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def writes(document: Mapping[str, Any]) -> list[str]:
    """Every action ``document`` allows that is not a read (an empty list: read-only)."""
    found = []
    for statement in document["Statement"]:
        for action in _actions(statement):
            _, _, name = action.partition(":")
            if statement["Effect"] != "Allow" or action in READ_EXCEPTIONS:
                continue
            if not name.startswith(READ_VERBS):
                found.append(action)
    return found


def data_reads(document: Mapping[str, Any]) -> list[str]:
    """The allowed actions that read data, outside the state statements (Sid ``State...``)."""
    found = []
    for statement in document["Statement"]:
        if statement["Effect"] != "Allow" or statement["Sid"].startswith("State"):
            continue
        for action in _actions(statement):
            if any(fnmatch.fnmatchcase(read, action) for read in DATA_READS):
                found.append(action)
    return found


def pipeline_config(**pipeline: Any) -> PlatformConfig:
    """platform.toml with ``[pipeline]`` naming :data:`REPOSITORY` (and ``pipeline``'s keys)."""
    document = tomllib.loads((ROOT / "platform.toml").read_text(encoding="utf-8"))
    document["pipeline"] = {"github_repository": REPOSITORY, **pipeline}
    return parse_config(document)
