"""Where Terraform state lives: the shared backend settings and one environment's location."""

from __future__ import annotations

from pydantic import Field, field_validator

from trading_infra.config._base import _Frozen
from trading_infra.config.region import known_region


class StateBackend(_Frozen):
    """Where Terraform state lives: one bucket and key per environment (see ``state_of``)."""

    #: Each environment's state bucket is ``<bucket_prefix>-<environment>`` unless the
    #: environment names its own (``state_bucket``).
    bucket_prefix: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,40}$")
    lock_table: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    region: str

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        return known_region(value)


class StateLocation(_Frozen):
    """One environment's Terraform state: its bucket, key prefix and encryption key."""

    bucket: str
    key_prefix: str
    kms_key: str
    region: str
    lock_table: str
