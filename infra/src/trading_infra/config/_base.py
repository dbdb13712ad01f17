"""What every configuration model shares: the error type, the frozen base model, the ARN shape."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12}):.+$"
)


class ConfigError(ValueError):
    """The configuration file is invalid; the message says where, what and how to fix it."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)
