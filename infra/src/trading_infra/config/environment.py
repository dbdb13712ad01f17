"""One deployment: its profile, regions, DNS, alarm receivers, key administrator and state."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from trading_infra.config._base import _Frozen
from trading_infra.config.profile import EnvironmentProfile
from trading_infra.config.region import RegionConfig
from trading_infra.config.residency import check_residency, known_jurisdictions

_NAME_PART = re.compile(r"^[a-z][a-z0-9-]{0,19}$")

#: IAM role names (IAM User Guide, "IAM object quotas"); and role ARNs, with an optional path.
_ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
_ROLE_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/"
    r"(?:[A-Za-z0-9+=,.@_-]+/)*(?P<name>[A-Za-z0-9+=,.@_-]{1,64})$"
)

_ACCOUNT_ID = re.compile(r"\d{12}")
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
    #: The AWS account this environment deploys into (12 digits). When set, the aws target's
    #: provider refuses to act in any other account (``allowed_account_ids``), so credentials
    #: of the wrong account fail the plan instead of deploying there. Must be the account of
    #: ``aws_role_arn`` (and of an ARN ``key_admin_role``) when those are set.
    account_id: str | None = None
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

    @field_validator("account_id")
    @classmethod
    def _twelve_digits(cls, value: str | None) -> str | None:
        if value is None or _ACCOUNT_ID.fullmatch(value):
            return value
        raise ValueError(
            f"account_id = {value!r} is not an AWS account id; write its 12 digits as a string, "
            'e.g. account_id = "123456789012" (quoted: TOML would drop leading zeros)'
        )

    @model_validator(mode="after")
    def _roles_in_the_configured_account(self) -> Environment:
        if self.account_id is None:
            return self
        for setting in ("aws_role_arn", "key_admin_role"):
            value = getattr(self, setting)
            match = _ROLE_ARN.match(value or "")
            if match and match["account"] != self.account_id:
                raise ValueError(
                    f"{setting} = {value!r} is in account {match['account']}, but environment "
                    f"{self.name!r} sets account_id = {self.account_id!r}; name a role of "
                    f"{self.account_id} or correct account_id"
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
        return known_jurisdictions(value)

    @model_validator(mode="after")
    def _regions_within_jurisdictions(self) -> Environment:
        """Residency: every region holding a copy of the data is in a declared jurisdiction."""
        regions = [region.name for region in self.regions]
        check_residency(self.name, regions, self.replication_jurisdictions)
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
