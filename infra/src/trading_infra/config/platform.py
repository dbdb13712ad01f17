"""The whole configuration file: platform settings, state backend and the environments."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from trading_infra.config._base import _ARN, ConfigError, _Frozen
from trading_infra.config.environment import Environment
from trading_infra.config.pipeline import PipelineSettings
from trading_infra.config.state import StateBackend, StateLocation

#: ``bucket_name_suffix`` keyword: every bucket name ends with the deploying account's id.
ACCOUNT_ID_BUCKET_SUFFIX = "account-id"
_LITERAL_BUCKET_SUFFIX = re.compile(r"[a-z0-9]{4,16}")


class PlatformSettings(_Frozen):
    name: str
    cost_center: str = Field(min_length=1, max_length=256)
    managed_by: str = Field(default="cdktf", min_length=1)
    default_environment: str
    lambda_architecture: Literal["x86_64", "arm64"] = "x86_64"
    #: What ends every bucket name, so that it is unique: S3 bucket names are global across all
    #: accounts (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html),
    #: and a name another account holds cannot be created. ``"account-id"`` (default): the
    #: deploying account's id, unique by construction; or a literal of 4-16 lowercase letters
    #: and digits that the user guarantees nobody else uses.
    bucket_name_suffix: str = ACCOUNT_ID_BUCKET_SUFFIX

    @field_validator("name")
    @classmethod
    def _name_part(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]{1,11}", value):
            raise ValueError(
                f"platform.name = {value!r}; use 2-12 lowercase letters, digits or hyphens, "
                "starting with a letter (it prefixes every resource name)"
            )
        return value

    @field_validator("bucket_name_suffix")
    @classmethod
    def _bucket_suffix(cls, value: str) -> str:
        if value == ACCOUNT_ID_BUCKET_SUFFIX or _LITERAL_BUCKET_SUFFIX.fullmatch(value):
            return value
        raise ValueError(
            f"platform.bucket_name_suffix = {value!r}; use 'account-id' (the deploying "
            "account's id ends every bucket name) or 4-16 lowercase letters and digits that no "
            "other AWS account uses in its bucket names, e.g. 'acmetrading'"
        )


class PlatformConfig(_Frozen):
    """The whole configuration file."""

    platform: PlatformSettings
    state: StateBackend
    environments: tuple[Environment, ...] = Field(min_length=1)
    #: The CI pipeline's identity (``[pipeline]``); None: bootstrap creates none.
    pipeline: PipelineSettings | None = None

    @model_validator(mode="after")
    def _default_environment_exists(self) -> PlatformConfig:
        names = [e.name for e in self.environments]
        if self.platform.default_environment not in names:
            raise ValueError(
                f"platform.default_environment = {self.platform.default_environment!r} is not "
                f"one of the environments {names}; add it or pick one of them"
            )
        suffixes = [e.suffix for e in self.environments]
        duplicated = sorted({s for s in suffixes if suffixes.count(s) > 1})
        if duplicated:
            raise ValueError(
                f"environment suffix {duplicated[0]!r} is used twice; resource names would "
                "collide, give each environment its own suffix"
            )
        return self

    @model_validator(mode="after")
    def _state_isolated_per_environment(self) -> PlatformConfig:
        seen: dict[str, str] = {}
        for environment in self.environments:
            location = self.state_of(environment)
            for value in (location.bucket, location.kms_key):
                if value in seen:
                    raise ValueError(
                        f"environments {seen[value]!r} and {environment.name!r} share the state "
                        f"location {value!r}; give each environment its own state_bucket and "
                        "state_kms_key (or drop them for the per-environment defaults)"
                    )
                seen[value] = environment.name
            match = _ARN.match(location.kms_key)
            if match is not None and match["region"] != self.state.region:
                raise ValueError(
                    f"environments.{environment.name}.state_kms_key = {location.kms_key!r} is in "
                    f"region {match['region']!r}; the state bucket is in state.region = "
                    f"{self.state.region!r}: use a key of that region"
                )
        return self

    @model_validator(mode="after")
    def _pipeline_names_environments(self) -> PlatformConfig:
        if self.pipeline is None:
            return self
        names = [e.name for e in self.environments]
        unknown = sorted(set(self.pipeline.github_environments) - set(names))
        if unknown:
            raise ValueError(
                f"pipeline.github_environments names unknown environment(s) {unknown}; use "
                f"names of {names}"
            )
        for name in names:
            role = self.pipeline.deploy_role_name(self.platform.name, name)
            if len(role) > 64:
                raise ValueError(
                    f"the deploy role name {role!r} is {len(role)} characters, IAM allows 64; "
                    "shorten pipeline.deploy_role_prefix"
                )
        return self

    def state_of(self, environment: Environment) -> StateLocation:
        """``environment``'s own state bucket, key prefix and customer-managed key."""
        bucket = environment.state_bucket or f"{self.state.bucket_prefix}-{environment.name}"
        return StateLocation(
            bucket=bucket,
            key_prefix=f"{self.platform.name}/{environment.name}/",
            kms_key=environment.state_kms_key or f"alias/{bucket}",
            region=self.state.region,
            lock_table=self.state.lock_table,
        )

    def environment(self, name: str) -> Environment:
        for environment in self.environments:
            if environment.name == name:
                return environment
        raise ConfigError(
            f"unknown environment {name!r}; choose one of "
            f"{', '.join(e.name for e in self.environments)}"
        )
