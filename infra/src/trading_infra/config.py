"""Typed, frozen configuration of the platform, loaded from ``platform.toml``.

Everything that differs between deployments is data here: names, CIDRs, regions, sizing.
Validation is eager (at load time) and every error names the setting, shows the bad value
and says how to fix it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Collection, Mapping
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

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

#: The jurisdiction (ISO 3166-1 alpha-2 country) whose law governs data held in each region:
#: the data that residency rules are written against. ``replication_jurisdictions`` of an
#: environment is checked against it (every known region has exactly one entry; a test
#: keeps the two in step).
REGION_JURISDICTIONS: Mapping[str, str] = {
    "af-south-1": "ZA", "ap-east-1": "HK", "ap-northeast-1": "JP", "ap-northeast-2": "KR",
    "ap-northeast-3": "JP", "ap-south-1": "IN", "ap-south-2": "IN", "ap-southeast-1": "SG",
    "ap-southeast-2": "AU", "ap-southeast-3": "ID", "ap-southeast-4": "AU", "ca-central-1": "CA",
    "ca-west-1": "CA", "eu-central-1": "DE", "eu-central-2": "CH", "eu-north-1": "SE",
    "eu-south-1": "IT", "eu-south-2": "ES", "eu-west-1": "IE", "eu-west-2": "GB",
    "eu-west-3": "FR", "il-central-1": "IL", "me-central-1": "AE", "me-south-1": "BH",
    "sa-east-1": "BR", "us-east-1": "US", "us-east-2": "US", "us-west-1": "US", "us-west-2": "US",
}  # fmt: skip
JURISDICTIONS: frozenset[str] = frozenset(REGION_JURISDICTIONS.values())

#: Subnets per tier; one per availability zone.
AZ_COUNT = 3
#: Each subnet is the VPC CIDR split this many bits further (8 slots: 3 public, 3 private, 2 spare).
_SUBNET_EXTRA_BITS = 3
_SMALLEST_VPC_PREFIX, _LARGEST_VPC_PREFIX = 16, 25  # AWS allows /16../28 VPCs; /28 subnets minimum

_NAME_PART = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12}):.+$"
)

#: IAM role names (IAM User Guide, "IAM object quotas"); and role ARNs, with an optional path.
_ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
_ROLE_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/"
    r"(?:[A-Za-z0-9+=,.@_-]+/)*(?P<name>[A-Za-z0-9+=,.@_-]{1,64})$"
)

PROFILES_RESOURCE = "profiles.toml"
#: Environments deployed WITHOUT data protection whatever their profile says: a comma-separated
#: list of environment names, or ``all``. Meant for throwaway deployments that are destroyed
#: right after (the e2e tests, ``./tap bench --lifecycle``); for each named environment it is the
#: override ``protect_data = false``, read by :func:`load_config` only (docs/configuration.md).
UNPROTECTED_ENVIRONMENTS_ENV = "TAP_UNPROTECTED_ENVIRONMENTS"


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
    #: Statements running longer than this go to the slow query log (Aurora MySQL
    #: ``long_query_time``; PostgreSQL ``log_min_duration_statement``, in milliseconds there).
    slow_query_threshold_seconds: float = Field(default=1, gt=0, le=3600)
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
    #: ``GET /health``'s own, smaller throttle: it is open to anyone and invokes the same
    #: function as the authenticated routes, so a flood of it is capped here instead of using
    #: up the function's concurrency at the default route rate.
    api_health_throttling_rate_limit_rps: float = Field(gt=0)
    api_health_throttling_burst_limit: int = Field(gt=0)
    interface_endpoints: tuple[Literal["logs", "secretsmanager", "xray", "kms", "sqs"], ...] = ()
    #: Guard the environment's data against deletion: deletion protection on the database and
    #: the tables, a final database snapshot, no force_destroy on the buckets, a 30-day KMS
    #: deletion window and Object Lock (governance mode, access_log_expiration_days) on the
    #: access-log bucket; ``./tap destroy`` refuses while it is on. Lifted per environment with
    #: the override ``protect_data = false`` (or TAP_UNPROTECTED_ENVIRONMENTS, see
    #: :func:`load_config`).
    protect_data: bool
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

    @model_validator(mode="after")
    def _health_throttle_within_the_default(self) -> EnvironmentProfile:
        rate, burst = (
            self.api_health_throttling_rate_limit_rps,
            self.api_health_throttling_burst_limit,
        )
        if rate > self.api_throttling_rate_limit_rps or burst > self.api_throttling_burst_limit:
            default = (self.api_throttling_rate_limit_rps, self.api_throttling_burst_limit)
            raise ValueError(
                f"api_health_throttling_rate_limit_rps = {rate} / "
                f"api_health_throttling_burst_limit = {burst} exceed the default route throttle "
                f"{default[0]} / {default[1]}; the unauthenticated health check must not get "
                "more than the other routes: lower them (e.g. to a tenth of the default)"
            )
        return self

    @model_validator(mode="after")
    def _protected_data_is_versioned(self) -> EnvironmentProfile:
        # Object Lock keeps versions, and S3 never turns versioning off again on a bucket that
        # had it: versioning must not depend on the protection, or lifting it could not deploy.
        if self.protect_data and not self.data_versioning_and_lifecycle:
            raise ValueError(
                "protect_data = true needs data_versioning_and_lifecycle = true (Object Lock on "
                "the access logs works on object versions); set both, or protect_data = false"
            )
        return self

    @property
    def kms_deletion_window_days(self) -> int:
        """Days a scheduled deletion of any of the environment's KMS keys waits (7..30): the
        longest, 30, when data is protected, since losing a key loses everything it encrypted."""
        return 30 if self.protect_data else 7


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


_EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class AlarmSubscription(_Frozen):
    """One receiver of the alarm topic's notifications: an email address or an HTTPS URL."""

    protocol: str
    endpoint: str = Field(min_length=1)

    @field_validator("protocol")
    @classmethod
    def _supported_protocol(cls, value: str) -> str:
        if value not in ("email", "https"):
            raise ValueError(
                f"protocol = {value!r} is not supported for alarm notifications; use 'email' "
                "(an address) or 'https' (a URL): plain 'http' would send alarms unencrypted"
            )
        return value

    @model_validator(mode="after")
    def _endpoint_fits_the_protocol(self) -> AlarmSubscription:
        if self.protocol == "email" and not _EMAIL.match(self.endpoint):
            raise ValueError(
                f"endpoint = {self.endpoint!r} is not an email address; write it like "
                "'trading-oncall@example.com'"
            )
        if self.protocol == "https":
            url = urlsplit(self.endpoint)
            if url.scheme != "https" or not url.hostname:
                raise ValueError(
                    f"endpoint = {self.endpoint!r} is not an https:// URL; protocol 'https' "
                    "needs one like 'https://hooks.example.com/alarms' (alarms leave AWS only "
                    "over TLS)"
                )
        return self


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
    #: The IAM role that administers the environment's KMS keys (key policies: create, describe,
    #: enable/disable, rotate, tag, schedule/cancel deletion; never encrypt or decrypt). A role
    #: name in the deploying account, or a role ARN. Default: ``aws_role_arn`` when set, else the
    #: role ``<platform>-deployer``. It must exist (KMS rejects a key policy naming an unknown
    #: principal) and should be the role Terraform deploys with, which updates the key policies.
    key_admin_role: str | None = None
    #: How long API Gateway caches the session authorizer's answer per bearer token (0 = ask
    #: every time; HTTP APIs allow at most 3600). The trade-off: a revoked session keeps
    #: working on the user routes for up to this long, in exchange for one sessions-table
    #: read per token per TTL instead of per request.
    api_authorizer_cache_ttl_seconds: int = Field(default=60, ge=0, le=3600)
    #: Jurisdictions (REGION_JURISDICTIONS values) this deployment may hold copies of its data
    #: in: a multi-region deployment replicates the sessions table and the whole Aurora
    #: database into every region it lists (docs/multi-region.md), so each of its regions must
    #: be in one of these. Required for a multi-region deployment; a single region replicates
    #: nothing.
    replication_jurisdictions: tuple[str, ...] = ()
    #: This environment's own Terraform state: bucket (default ``<state.bucket_prefix>-<name>``)
    #: and the customer-managed KMS key encrypting it (default ``alias/<bucket>``; an alias
    #: name or a key/alias ARN of state.region). Separate per environment, so a writer of one
    #: environment's state cannot read or change another's (see docs/security.md).
    state_bucket: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    state_kms_key: str | None = Field(
        default=None,
        pattern=r"^(alias/[A-Za-z0-9/_-]{1,250}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/.+)$",
    )
    #: Who the region's alarm topic notifies (SNS subscriptions): email addresses (each confirms
    #: the subscription from the first message) and HTTPS endpoints. Empty: nobody is notified.
    alarm_subscriptions: tuple[AlarmSubscription, ...] = ()

    @field_validator("alarm_subscriptions")
    @classmethod
    def _subscriptions_distinct(
        cls, value: tuple[AlarmSubscription, ...]
    ) -> tuple[AlarmSubscription, ...]:
        seen: set[tuple[str, str]] = set()
        for subscription in value:
            key = (subscription.protocol, subscription.endpoint)
            if key in seen:
                raise ValueError(
                    f"alarm_subscriptions lists {{protocol = {key[0]!r}, endpoint = {key[1]!r}}} "
                    "twice; SNS would notify it once, remove the duplicate"
                )
            seen.add(key)
        return value

    @field_validator("key_admin_role")
    @classmethod
    def _role_name_or_arn(cls, value: str | None) -> str | None:
        if value is None or _ROLE_NAME.match(value) or _ROLE_ARN.match(value):
            return value
        raise ValueError(
            f"key_admin_role = {value!r} is neither an IAM role name nor an IAM role ARN; write "
            "a role name of the deploying account like 'tap-deployer' (1-64 letters, digits or "
            "+=,.@_-) or an ARN like 'arn:aws:iam::123456789012:role/tap-deployer'"
        )

    @model_validator(mode="after")
    def _key_admin_in_the_deploying_account(self) -> Environment:
        admin = _ROLE_ARN.match(self.key_admin_role or "")
        deployer = _ROLE_ARN.match(self.aws_role_arn or "")
        if admin and deployer and admin["account"] != deployer["account"]:
            raise ValueError(
                f"key_admin_role = {self.key_admin_role!r} is in account {admin['account']}, but "
                f"environment {self.name!r} deploys into account {deployer['account']} "
                f"(aws_role_arn); name a role of {deployer['account']}, or just its name"
            )
        return self

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

    @field_validator("replication_jurisdictions")
    @classmethod
    def _known_jurisdictions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [code for code in value if code not in JURISDICTIONS]
        if unknown:
            raise ValueError(
                f"replication_jurisdictions {unknown} are not jurisdictions of any known region; "
                f"use ISO country codes among {', '.join(sorted(JURISDICTIONS))}"
            )
        return value

    @model_validator(mode="after")
    def _regions_within_jurisdictions(self) -> Environment:
        """Residency: every region holding a copy of the data is in a declared jurisdiction."""
        if not self.is_multi_region and not self.replication_jurisdictions:
            return self
        if not self.replication_jurisdictions:
            needed = sorted({REGION_JURISDICTIONS[r.name] for r in self.regions})
            raise ValueError(
                f"environment {self.name!r} replicates its data into {len(self.regions)} regions "
                f"({', '.join(r.name for r in self.regions)}) but declares no "
                f"replication_jurisdictions; declare where its data may be held, e.g. "
                f"replication_jurisdictions = {needed}"
            )
        for region in self.regions:
            jurisdiction = REGION_JURISDICTIONS[region.name]
            if jurisdiction not in self.replication_jurisdictions:
                role = "primary" if self.is_primary(region) else "replica"
                raise ValueError(
                    f"{role} region {region.name!r} of environment {self.name!r} is in "
                    f"jurisdiction {jurisdiction!r}, outside its replication_jurisdictions "
                    f"{list(self.replication_jurisdictions)}; remove the region, or add "
                    f"{jurisdiction!r} to replication_jurisdictions if the data may be held there"
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
    """Where Terraform state lives: one bucket and key per environment (see ``state_of``)."""

    #: Each environment's state bucket is ``<bucket_prefix>-<environment>`` unless the
    #: environment names its own (``state_bucket``).
    bucket_prefix: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,40}$")
    lock_table: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    region: str

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        return RegionConfig._known_region(value)


class StateLocation(_Frozen):
    """One environment's Terraform state: its bucket, key prefix and encryption key."""

    bucket: str
    key_prefix: str
    kms_key: str
    region: str
    lock_table: str


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


def parse_config(
    document: Mapping[str, Any],
    *,
    source: str = "configuration",
    unprotected: Collection[str] = (),
) -> PlatformConfig:
    """Validate an already-parsed configuration document; ``unprotected`` names environments
    (or ``all``) whose ``protect_data`` is forced off (:data:`UNPROTECTED_ENVIRONMENTS_ENV`)."""
    data = {key: value for key, value in document.items() if key != "environments"}
    data["environments"] = _environments_from_document(document)
    _lift_data_protection(data["environments"], unprotected)
    try:
        return PlatformConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_format_validation_error(source, error)) from None


def _lift_data_protection(environments: list[dict[str, Any]], unprotected: Collection[str]) -> None:
    wanted = set(unprotected)
    names = [entry["name"] for entry in environments]
    unknown = sorted(wanted - {*names, "all"})
    if unknown:
        raise ConfigError(
            f"{UNPROTECTED_ENVIRONMENTS_ENV} names unknown environment(s) {unknown}; use "
            f"names of {names}, comma-separated, or 'all'"
        )
    for entry in environments:
        if "all" in wanted or entry["name"] in wanted:
            entry["profile"] = {**entry["profile"], "protect_data": False}


def unprotected_environments(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The environments :data:`UNPROTECTED_ENVIRONMENTS_ENV` of ``environ`` names (or ``all``)."""
    value = environ.get(UNPROTECTED_ENVIRONMENTS_ENV, "")
    return tuple(part.strip() for part in value.split(",") if part.strip())


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> PlatformConfig:
    """Load and validate ``platform.toml``.

    ``environ`` (default: the process environment) may lift data protection with
    :data:`UNPROTECTED_ENVIRONMENTS_ENV`; pass ``{}`` for the configuration exactly as written.
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    unprotected = unprotected_environments(os.environ if environ is None else environ)
    return parse_config(document, source=str(path), unprotected=unprotected)
