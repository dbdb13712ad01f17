"""Configuration from environment variables, validated once at cold start.

TRADES_TABLE_NAME  required   the DynamoDB trades table
QUARANTINE_PREFIX  optional   default ``quarantine/``; must end with ``/``
LOG_LEVEL          optional   default ``INFO``; DEBUG, INFO, WARNING, ERROR or CRITICAL
AWS_REGION / AWS_DEFAULT_REGION  required (set by the Lambda runtime)
AWS_LAMBDA_FUNCTION_NAME         set by the Lambda runtime: the function continues a file too
                                 large for one invocation by invoking itself under this name
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from processor.domain.errors import ProcessorError

DEFAULT_QUARANTINE_PREFIX: Final = "quarantine/"
DEFAULT_LOG_LEVEL: Final = "INFO"
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")


class ConfigError(ProcessorError):
    """The environment does not configure the service; the message names each variable."""


@dataclass(frozen=True, slots=True)
class Config:
    trades_table_name: str
    region: str
    quarantine_prefix: str = DEFAULT_QUARANTINE_PREFIX
    log_level: str = DEFAULT_LOG_LEVEL
    function_name: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        """Read and validate; raise ``ConfigError`` listing every problem at once."""
        problems: list[str] = []
        table = environ.get("TRADES_TABLE_NAME", "").strip()
        if not table:
            problems.append("TRADES_TABLE_NAME is required but not set")
        elif not _TABLE_NAME.fullmatch(table):
            problems.append(
                "TRADES_TABLE_NAME must be a DynamoDB table name "
                "(3-255 letters, digits, '_', '-' or '.')"
            )
        prefix = environ.get("QUARANTINE_PREFIX", DEFAULT_QUARANTINE_PREFIX)
        if not prefix.endswith("/") or prefix.startswith("/") or prefix.strip("/") == "":
            problems.append(
                f"QUARANTINE_PREFIX must be a key prefix such as {DEFAULT_QUARANTINE_PREFIX!r} "
                "(not starting with '/', ending with '/')"
            )
        log_level = environ.get("LOG_LEVEL", DEFAULT_LOG_LEVEL).strip().upper()
        if log_level not in LOG_LEVELS:
            problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or ""
        if not region:
            problems.append("AWS_REGION (or AWS_DEFAULT_REGION) is required but not set")
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(problems))
        return cls(
            trades_table_name=table,
            region=region,
            quarantine_prefix=prefix,
            log_level=log_level,
            function_name=environ.get("AWS_LAMBDA_FUNCTION_NAME") or None,
        )
