"""Configuration from environment variables, validated once per execution environment.

=========================  ========  ==========================================================
Variable                   Default   Meaning
=========================  ========  ==========================================================
SESSIONS_TABLE_NAME        required  DynamoDB table of sessions (pk ``session_id``).
TRADES_TABLE_NAME          required  DynamoDB table of trades (pk ``trade_id``).
TRADES_BY_ACCOUNT_INDEX    required  GSI of the trades table: hash ``account_id``,
                                     range ``executed_at``, projecting all attributes.
SESSION_TTL_SECONDS        3600      Session lifetime when a request gives none (60..86400).
LOG_LEVEL                  INFO      DEBUG, INFO, WARNING, ERROR or CRITICAL.
AWS_REGION                 required  Set by Lambda; ``AWS_DEFAULT_REGION`` is the fallback.
=========================  ========  ==========================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from api_handler.domain.sessions import (
    DEFAULT_SESSION_TTL_SECONDS,
    SESSION_TTL_MAX_SECONDS,
    SESSION_TTL_MIN_SECONDS,
)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# DynamoDB's rule for table and index names.
_DYNAMODB_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_INTEGER = re.compile(r"[0-9]{1,9}")


class ConfigError(Exception):
    """The environment does not configure the function correctly (names every problem)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated configuration."""

    sessions_table_name: str
    trades_table_name: str
    trades_by_account_index: str
    region: str
    session_ttl_seconds: int = DEFAULT_SESSION_TTL_SECONDS
    log_level: str = "INFO"


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and validate the configuration; raise :class:`ConfigError` listing every problem."""
    problems: list[str] = []

    def dynamodb_name(variable: str) -> str:
        value = environ.get(variable, "").strip()
        if not value:
            problems.append(f"{variable} is required")
        elif _DYNAMODB_NAME.fullmatch(value) is None:
            problems.append(f"{variable} must be a DynamoDB name (3-255 of A-Z a-z 0-9 _ . -)")
        return value

    sessions_table = dynamodb_name("SESSIONS_TABLE_NAME")
    trades_table = dynamodb_name("TRADES_TABLE_NAME")
    index = dynamodb_name("TRADES_BY_ACCOUNT_INDEX")

    region = environ.get("AWS_REGION", "").strip() or environ.get("AWS_DEFAULT_REGION", "").strip()
    if not region:
        problems.append("AWS_REGION (or AWS_DEFAULT_REGION) is required")

    ttl_text = environ.get("SESSION_TTL_SECONDS", "").strip() or str(DEFAULT_SESSION_TTL_SECONDS)
    ttl = int(ttl_text) if _INTEGER.fullmatch(ttl_text) else -1
    if not SESSION_TTL_MIN_SECONDS <= ttl <= SESSION_TTL_MAX_SECONDS:
        problems.append(
            f"SESSION_TTL_SECONDS must be an integer from {SESSION_TTL_MIN_SECONDS} "
            f"to {SESSION_TTL_MAX_SECONDS}, got {ttl_text!r}"
        )

    log_level = (environ.get("LOG_LEVEL", "").strip() or "INFO").upper()
    if log_level not in LOG_LEVELS:
        problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")

    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))
    return Settings(
        sessions_table_name=sessions_table,
        trades_table_name=trades_table,
        trades_by_account_index=index,
        region=region,
        session_ttl_seconds=ttl,
        log_level=log_level,
    )
