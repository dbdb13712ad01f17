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

The authorizer entry point (``api_handler.authorizer``) reads only ``SESSIONS_TABLE_NAME``,
``LOG_LEVEL`` and the region (:func:`load_authorizer_settings`).
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


@dataclass(frozen=True, slots=True)
class AuthorizerSettings:
    """Validated configuration of the authorizer entry point: it only reads sessions."""

    sessions_table_name: str
    region: str
    log_level: str = "INFO"


class _Reader:
    """Reads variables and collects every problem, so one error names all of them."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def dynamodb_name(self, variable: str) -> str:
        value = self.environ.get(variable, "").strip()
        if not value:
            self.problems.append(f"{variable} is required")
        elif _DYNAMODB_NAME.fullmatch(value) is None:
            self.problems.append(f"{variable} must be a DynamoDB name (3-255 of A-Z a-z 0-9 _ . -)")
        return value

    def region(self) -> str:
        environ = self.environ
        region = (
            environ.get("AWS_REGION", "").strip() or environ.get("AWS_DEFAULT_REGION", "").strip()
        )
        if not region:
            self.problems.append("AWS_REGION (or AWS_DEFAULT_REGION) is required")
        return region

    def session_ttl(self) -> int:
        text = self.environ.get("SESSION_TTL_SECONDS", "").strip() or str(
            DEFAULT_SESSION_TTL_SECONDS
        )
        ttl = int(text) if _INTEGER.fullmatch(text) else -1
        if not SESSION_TTL_MIN_SECONDS <= ttl <= SESSION_TTL_MAX_SECONDS:
            self.problems.append(
                f"SESSION_TTL_SECONDS must be an integer from {SESSION_TTL_MIN_SECONDS} "
                f"to {SESSION_TTL_MAX_SECONDS}, got {text!r}"
            )
        return ttl

    def log_level(self) -> str:
        level = (self.environ.get("LOG_LEVEL", "").strip() or "INFO").upper()
        if level not in LOG_LEVELS:
            self.problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        return level

    def check(self) -> None:
        if self.problems:
            raise ConfigError("invalid configuration: " + "; ".join(self.problems))


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and validate the configuration; raise :class:`ConfigError` listing every problem."""
    reader = _Reader(environ)
    settings = Settings(
        sessions_table_name=reader.dynamodb_name("SESSIONS_TABLE_NAME"),
        trades_table_name=reader.dynamodb_name("TRADES_TABLE_NAME"),
        trades_by_account_index=reader.dynamodb_name("TRADES_BY_ACCOUNT_INDEX"),
        region=reader.region(),
        session_ttl_seconds=reader.session_ttl(),
        log_level=reader.log_level(),
    )
    reader.check()
    return settings


def load_authorizer_settings(environ: Mapping[str, str]) -> AuthorizerSettings:
    """The authorizer's configuration: ``SESSIONS_TABLE_NAME``, the region and ``LOG_LEVEL``
    (the trades variables are neither needed nor read)."""
    reader = _Reader(environ)
    settings = AuthorizerSettings(
        sessions_table_name=reader.dynamodb_name("SESSIONS_TABLE_NAME"),
        region=reader.region(),
        log_level=reader.log_level(),
    )
    reader.check()
    return settings
