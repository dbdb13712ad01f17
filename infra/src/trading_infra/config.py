"""Typed, frozen configuration of the platform, loaded from ``platform.toml``.

Everything that differs between deployments is data here: names, CIDRs, regions, sizing.
Validation is eager (at load time) and every error names the setting, shows the bad value
and says how to fix it.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

#: Regions the platform may be deployed to (AWS commercial partition).
KNOWN_REGIONS: frozenset[str] = frozenset(
    {
        "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
        "ap-southeast-4", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
        "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
        "il-central-1", "me-central-1", "me-south-1", "sa-east-1", "us-east-1", "us-east-2",
        "us-west-1", "us-west-2",
    }
)  # fmt: skip

#: Subnets per tier; one per availability zone.
AZ_COUNT = 3
#: Each subnet is the VPC CIDR split this many bits further (8 slots: 3 public, 3 private, 2 spare).
_SUBNET_EXTRA_BITS = 3
_SMALLEST_VPC_PREFIX, _LARGEST_VPC_PREFIX = 16, 25  # AWS allows /16../28 VPCs; /28 subnets minimum

_NAME_PART = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12}):.+$"
)

PROFILES_RESOURCE = "profiles.toml"


class ConfigError(ValueError):
    """The configuration file is invalid; the message says where, what and how to fix it."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _arn_in_region(value: str, *, service: str, region: str, setting: str) -> str:
    match = _ARN.match(value)
    if match is None or match["service"] != service:
        raise ValueError(
            f"{setting} = {value!r} is not a {service} ARN; "
            f"expected arn:aws:{service}:{region}:<account-id>:..."
        )
    if match["region"] != region:
        raise ValueError(
            f"{setting} = {value!r} belongs to region {match['region']!r}, but it is given for "
            f"{region!r}; use a {service} ARN from {region}"
        )
    return value


class DatabaseConfig(_Frozen):
    """The relational database of a region: Aurora MySQL cluster or RDS PostgreSQL instance."""

    engine: Literal["aurora-mysql", "postgres"] = "aurora-mysql"
    engine_version: str = Field(min_length=1)
    instance_class: str = Field(pattern=r"^db\.[a-z0-9]+(\.[a-z0-9]+)?$")
    backup_retention_days: int = Field(ge=1, le=35)
    serverless_min_capacity_acu: float = Field(default=0.5, ge=0, le=256)
    serverless_max_capacity_acu: float = Field(default=2, ge=1, le=256)
    allocated_storage_gib: int = Field(default=20, ge=20, le=65536)
    secret_rotation_days: int = Field(default=30, ge=1, le=365)
    enhanced_monitoring_interval_seconds: Literal[1, 5, 10, 15, 30, 60] = 60
    #: Name or ARN of an EXISTING secret (JSON with a "password" key) holding the master
    #: password. Unset: RDS generates and manages the password itself. Required for an Aurora
    #: global database, where RDS-managed passwords are not supported (Aurora User Guide,
    #: "Limitations for Secrets Manager integration"). Read ephemerally: never in state.
    master_password_secret: str | None = Field(default=None, min_length=1)
    #: Name of the rotation Lambda of that existing secret (e.g. AWS's
    #: SecretsManagerRDSMySQLRotationSingleUser deployed by the account's security team).
    rotation_function_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")

    @model_validator(mode="after")
    def _engine_specific(self) -> DatabaseConfig:
        if self.engine == "postgres" and self.instance_class == "db.serverless":
            raise ValueError(
                "database.instance_class = 'db.serverless' only exists for Aurora; "
                "for engine = 'postgres' use an instance class such as 'db.t4g.micro'"
            )
        if (self.master_password_secret is None) != (self.rotation_function_name is None):
            raise ValueError(
                "database.master_password_secret and database.rotation_function_name go "
                "together: an existing secret needs the function that rotates it; set both, "
                "or neither to let RDS manage and rotate the password"
            )
        if self.serverless_min_capacity_acu > self.serverless_max_capacity_acu:
            raise ValueError(
                f"database.serverless_min_capacity_acu = {self.serverless_min_capacity_acu} is "
                f"above serverless_max_capacity_acu = {self.serverless_max_capacity_acu}; "
                "lower the minimum or raise the maximum"
            )
        return self

    @property
    def port(self) -> int:
        return 3306 if self.engine == "aurora-mysql" else 5432

    @property
    def is_aurora(self) -> bool:
        return self.engine == "aurora-mysql"

    @property
    def log_exports(self) -> tuple[str, ...]:
        if self.is_aurora:
            return ("audit", "error", "general", "slowquery")
        return ("postgresql", "upgrade")


class EnvironmentProfile(_Frozen):
    """Sizing and retention of one environment tier (see profiles.toml)."""

    lambda_memory_mib: int = Field(ge=128, le=10240)
    lambda_timeout_seconds: int = Field(ge=1, le=900)
    log_retention_days: Literal[
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
        2557, 2922, 3288, 3653,
    ]  # fmt: skip
    data_versioning_and_lifecycle: bool
    data_expiration_days: int = Field(ge=1)
    access_log_expiration_days: int = Field(ge=1)
    dynamodb_billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"]
    dynamodb_read_capacity_units: int | None = Field(default=None, ge=1)
    dynamodb_write_capacity_units: int | None = Field(default=None, ge=1)
    api_throttling_rate_limit_rps: float = Field(gt=0)
    api_throttling_burst_limit: int = Field(gt=0)
    interface_endpoints: tuple[Literal["logs", "secretsmanager", "xray", "kms", "sqs"], ...] = ()
    database: DatabaseConfig

    @model_validator(mode="after")
    def _capacity_matches_billing(self) -> EnvironmentProfile:
        provisioned = self.dynamodb_billing_mode == "PROVISIONED"
        has_units = (self.dynamodb_read_capacity_units, self.dynamodb_write_capacity_units)
        if provisioned and None in has_units:
            raise ValueError(
                "dynamodb_billing_mode = 'PROVISIONED' needs dynamodb_read_capacity_units and "
                "dynamodb_write_capacity_units; set both (e.g. 5 and 5)"
            )
        if not provisioned and has_units != (None, None):
            raise ValueError(
                f"dynamodb read/write capacity units {has_units} are set but "
                "dynamodb_billing_mode = 'PAY_PER_REQUEST' ignores them; remove them or use "
                "'PROVISIONED'"
            )
        return self


class RegionConfig(_Frozen):
    """One region of an environment: where it runs and its region-specific parameters."""

    name: str
    vpc_cidr: ipaddress.IPv4Network
    #: One subnet of each tier per zone; default ``<region>a/b/c``. Pinned by name so that a
    #: zone appearing or disappearing in the region never shifts subnets to other zones.
    availability_zones: tuple[str, ...] = ()
    #: An existing customer-managed key of this region; without it the stack creates one.
    kms_key_arn: str | None = None
    #: An existing ACM certificate of this region for the API's custom domain; without it (and
    #: with ``dns`` set on the environment) the stack requests one, validated through DNS.
    certificate_arn: str | None = None

    @field_validator("name")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in KNOWN_REGIONS:
            raise ValueError(
                f"region {value!r} is not a known AWS region; use one of "
                f"{', '.join(sorted(KNOWN_REGIONS))}"
            )
        return value

    @field_validator("vpc_cidr", mode="before")
    @classmethod
    def _parse_cidr(cls, value: object) -> ipaddress.IPv4Network:
        try:
            network = ipaddress.IPv4Network(str(value), strict=True)
        except ValueError as error:
            raise ValueError(
                f"vpc_cidr = {value!r} is not an IPv4 network in CIDR notation ({error}); "
                "write it like '10.0.0.0/16' with the host bits zero"
            ) from None
        if not _SMALLEST_VPC_PREFIX <= network.prefixlen <= _LARGEST_VPC_PREFIX:
            raise ValueError(
                f"vpc_cidr = {value!r} has prefix length /{network.prefixlen}; it must be between "
                f"/{_SMALLEST_VPC_PREFIX} and /{_LARGEST_VPC_PREFIX} to hold {2 * AZ_COUNT} "
                "subnets of at least /28"
            )
        if not network.is_private:
            raise ValueError(
                f"vpc_cidr = {value!r} is not a private (RFC 1918) range; use e.g. 10.0.0.0/16"
            )
        return network

    @model_validator(mode="before")
    @classmethod
    def _default_zones(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and not data.get("availability_zones"):
            name = data.get("name", "")
            return {**data, "availability_zones": tuple(f"{name}{c}" for c in "abc"[:AZ_COUNT])}
        return data

    @model_validator(mode="after")
    def _zones_of_the_region(self) -> RegionConfig:
        zones = self.availability_zones
        if len(zones) != AZ_COUNT or len(set(zones)) != AZ_COUNT:
            raise ValueError(
                f"availability_zones = {list(zones)} must name {AZ_COUNT} distinct zones of "
                f"{self.name}, e.g. {[f'{self.name}{c}' for c in 'abc']}"
            )
        foreign = [zone for zone in zones if not re.fullmatch(rf"{self.name}[a-z]", zone)]
        if foreign:
            raise ValueError(
                f"availability_zones {foreign} are not zones of {self.name}; "
                f"use names like '{self.name}a'"
            )
        return self

    @model_validator(mode="after")
    def _arns_in_region(self) -> RegionConfig:
        if self.kms_key_arn is not None:
            _arn_in_region(self.kms_key_arn, service="kms", region=self.name, setting="kms_key_arn")
        if self.certificate_arn is not None:
            _arn_in_region(
                self.certificate_arn, service="acm", region=self.name, setting="certificate_arn"
            )
        return self

    @cached_property
    def _subnet_slots(self) -> list[ipaddress.IPv4Network]:
        return list(self.vpc_cidr.subnets(prefixlen_diff=_SUBNET_EXTRA_BITS))

    @property
    def public_subnet_cidrs(self) -> tuple[str, ...]:
        """The first AZ_COUNT slots of the VPC CIDR (one per AZ)."""
        return tuple(str(s) for s in self._subnet_slots[:AZ_COUNT])

    @property
    def private_subnet_cidrs(self) -> tuple[str, ...]:
        """The upper half's first AZ_COUNT slots (one per AZ), leaving room to grow each tier."""
        half = len(self._subnet_slots) // 2
        return tuple(str(s) for s in self._subnet_slots[half : half + AZ_COUNT])


class DnsConfig(_Frozen):
    """The API's custom domain: ``{api_record}.{zone_name}`` in an existing Route 53 zone."""

    zone_name: str = Field(pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$")
    api_record: str = Field(default="api", pattern=r"^[a-z0-9-]+$")
    health_check_path: str = Field(default="/health", pattern=r"^/[A-Za-z0-9/_-]*$")

    @property
    def api_domain(self) -> str:
        return f"{self.api_record}.{self.zone_name}"


class Environment(_Frozen):
    """One deployment: its name, its profile and the regions it runs in (the first is primary).

    A single-region environment (dev, staging, prod) and the multi-region deployment are the
    same thing here: a named list of regions with a profile and its own state.
    """

    name: str
    suffix: str
    profile: EnvironmentProfile
    regions: tuple[RegionConfig, ...] = Field(min_length=1)
    dns: DnsConfig | None = None
    aws_role_arn: str | None = None
    aws_profile: str | None = None
    #: How long API Gateway caches the session authorizer's answer per bearer token (0 = ask
    #: every time; HTTP APIs allow at most 3600). The trade-off: a revoked session keeps
    #: working on the user routes for up to this long, in exchange for one sessions-table
    #: read per token per TTL instead of per request.
    api_authorizer_cache_ttl_seconds: int = Field(default=60, ge=0, le=3600)

    @field_validator("name", "suffix")
    @classmethod
    def _name_part(cls, value: str) -> str:
        if not _NAME_PART.match(value):
            raise ValueError(
                f"{value!r} cannot be part of resource names; use 1-20 lowercase letters, "
                "digits or hyphens, starting with a letter"
            )
        return value

    @model_validator(mode="after")
    def _regions_distinct_and_disjoint(self) -> Environment:
        seen: set[str] = set()
        for region in self.regions:
            if region.name in seen:
                raise ValueError(
                    f"region {region.name!r} is listed twice in environment {self.name!r}; "
                    "each region may appear once (did you mean another region?)"
                )
            seen.add(region.name)
        _check_disjoint([(f"{self.name}/{r.name}", r.vpc_cidr) for r in self.regions])
        if self.is_multi_region and not self.profile.database.is_aurora:
            raise ValueError(
                f"environment {self.name!r} spans {len(self.regions)} regions, which needs an "
                "Aurora global database; set database.engine = 'aurora-mysql' in its profile"
            )
        if self.is_multi_region and self.profile.database.master_password_secret is None:
            raise ValueError(
                f"environment {self.name!r} spans {len(self.regions)} regions: an Aurora global "
                "database cannot use an RDS-managed password; name an existing secret in "
                "overrides.database.master_password_secret (and its rotation_function_name)"
            )
        return self

    @property
    def primary_region(self) -> RegionConfig:
        return self.regions[0]

    @property
    def is_multi_region(self) -> bool:
        return len(self.regions) > 1

    def is_primary(self, region: RegionConfig) -> bool:
        return region.name == self.primary_region.name


def _check_disjoint(named: list[tuple[str, ipaddress.IPv4Network]]) -> None:
    for index, (name, network) in enumerate(named):
        for other_name, other in named[index + 1 :]:
            if network.overlaps(other):
                raise ValueError(
                    f"vpc_cidr {network} of {name} overlaps {other} of {other_name}; "
                    "give each region a disjoint range (e.g. 10.0.0.0/16, 10.1.0.0/16)"
                )


class PlatformSettings(_Frozen):
    name: str
    cost_center: str = Field(min_length=1, max_length=256)
    managed_by: str = Field(default="cdktf", min_length=1)
    default_environment: str
    lambda_architecture: Literal["x86_64", "arm64"] = "x86_64"

    @field_validator("name")
    @classmethod
    def _name_part(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]{1,11}", value):
            raise ValueError(
                f"platform.name = {value!r}; use 2-12 lowercase letters, digits or hyphens, "
                "starting with a letter (it prefixes every resource name)"
            )
        return value


class StateBackend(_Frozen):
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    lock_table: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    region: str

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        return RegionConfig._known_region(value)


class PlatformConfig(_Frozen):
    """The whole configuration file."""

    platform: PlatformSettings
    state: StateBackend
    environments: tuple[Environment, ...] = Field(min_length=1)

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

    def environment(self, name: str) -> Environment:
        for environment in self.environments:
            if environment.name == name:
                return environment
        raise ConfigError(
            f"unknown environment {name!r}; choose one of "
            f"{', '.join(e.name for e in self.environments)}"
        )


def builtin_profiles() -> dict[str, dict[str, Any]]:
    """The built-in environment profiles (profiles.toml beside this module)."""
    text = resources.files(__package__).joinpath(PROFILES_RESOURCE).read_text(encoding="utf-8")
    return tomllib.loads(text)


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _environments_from_document(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    profiles = builtin_profiles()
    environments = document.get("environments")
    if not isinstance(environments, Mapping) or not environments:
        raise ConfigError(
            "no [environments.<name>] table found; define at least one, e.g. [environments.dev]"
        )
    result = []
    for name, raw in environments.items():
        if not isinstance(raw, Mapping):
            raise ConfigError(f"environments.{name} must be a table, got {raw!r}")
        entry = dict(raw)
        profile_name = entry.pop("profile", name)
        if profile_name not in profiles:
            raise ConfigError(
                f"environments.{name}.profile = {profile_name!r} is not a built-in profile; "
                f"choose one of {', '.join(sorted(profiles))}"
            )
        _check_same_region_parameters(name, entry.get("regions"))
        overrides = entry.pop("overrides", {})
        entry["profile"] = _deep_merge(profiles[profile_name], overrides)
        entry.setdefault("name", name)
        entry.setdefault("suffix", name)
        result.append(entry)
    return result


def _check_same_region_parameters(environment: str, regions: Any) -> None:
    """Every region of a deployment sets the same parameters (values differ, keys do not)."""
    if not isinstance(regions, list) or len(regions) < 2:
        return
    keys = [frozenset(region) if isinstance(region, Mapping) else frozenset() for region in regions]
    for region, region_keys in zip(regions[1:], keys[1:], strict=True):
        if region_keys != keys[0]:
            differing = sorted(region_keys ^ keys[0])
            raise ConfigError(
                f"environments.{environment}: region {region.get('name')!r} and "
                f"{regions[0].get('name')!r} set different parameters ({', '.join(differing)}); "
                "every region of a deployment must set the same ones"
            )


def _format_validation_error(source: str, error: ValidationError) -> str:
    lines = [f"{source} is invalid:"]
    for issue in error.errors(include_url=False):
        location = ".".join(str(part) for part in issue["loc"])
        message = issue["msg"].removeprefix("Value error, ")
        value = issue.get("input")
        shown = "" if isinstance(value, Mapping) else f" (got {value!r})"
        lines.append(f"  - {location}: {message}{shown}")
    return "\n".join(lines)


def parse_config(document: Mapping[str, Any], *, source: str = "configuration") -> PlatformConfig:
    """Validate an already-parsed configuration document."""
    data = {key: value for key, value in document.items() if key != "environments"}
    data["environments"] = _environments_from_document(document)
    try:
        return PlatformConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_format_validation_error(source, error)) from None


def load_config(path: Path) -> PlatformConfig:
    """Load and validate ``platform.toml``."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    return parse_config(document, source=str(path))
