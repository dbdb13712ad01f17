"""Sizing and retention of an environment tier (profiles.toml): its database and the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from trading_infra.config._base import _Frozen


class DatabaseConfig(_Frozen):
    """The relational database of a region: Aurora MySQL cluster or RDS PostgreSQL instance."""

    engine: Literal["aurora-mysql", "postgres"] = "aurora-mysql"
    #: Automatic minor version upgrades are always on, so this is the version a database is
    #: created with, not one it is held at. Aurora MySQL: the full version (e.g.
    #: "8.0.mysql_aurora.3.08.0"); later changes to it are ignored (components/database.py).
    #: PostgreSQL: the major version only (e.g. "16"): RDS then picks the current minor version
    #: and the provider compares it with the running version's prefix
    #: (https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/db_instance#engine_version).
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
        if self.engine == "postgres" and not self.engine_version.isdigit():
            major = self.engine_version.split(".")[0]
            raise ValueError(
                f"database.engine_version = {self.engine_version!r}; for engine = 'postgres' give "
                f"the major version only (e.g. {major!r}): automatic minor version upgrades move "
                "the minor version, and a pinned one would make the next plan a downgrade that "
                "RDS refuses"
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


@dataclass(frozen=True)
class ProvisionedCapacity:
    """A provisioned table's (and each index's) capacity: where it starts and the auto scaling
    minimum, the auto scaling maximum, and the consumed share auto scaling keeps."""

    read_units: int
    write_units: int
    max_read_units: int
    max_write_units: int
    target_utilization_percent: float

    def units(self, direction: Literal["read", "write"]) -> tuple[int, int]:
        """(minimum, maximum) capacity units of ``direction``."""
        if direction == "read":
            return self.read_units, self.max_read_units
        return self.write_units, self.max_write_units


#: What a provisioned table needs: its capacity (the auto scaling minimum), the auto scaling
#: maximum and the target utilization.
_PROVISIONED_CAPACITY_SETTINGS = (
    "dynamodb_read_capacity_units",
    "dynamodb_write_capacity_units",
    "dynamodb_max_read_capacity_units",
    "dynamodb_max_write_capacity_units",
    "dynamodb_target_utilization_percent",
)


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
    #: Provisioned tables: the capacity a table and each of its indexes start with and never
    #: go below (the auto scaling minimum) ...
    dynamodb_read_capacity_units: int | None = Field(default=None, ge=1)
    dynamodb_write_capacity_units: int | None = Field(default=None, ge=1)
    #: ... the most auto scaling may provision ...
    dynamodb_max_read_capacity_units: int | None = Field(default=None, ge=1)
    dynamodb_max_write_capacity_units: int | None = Field(default=None, ge=1)
    #: ... and the share of the provisioned capacity that auto scaling keeps consumed. DynamoDB
    #: auto scaling accepts a target utilization between 20 and 90 percent
    #: (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html).
    dynamodb_target_utilization_percent: float | None = Field(default=None, ge=20, le=90)
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
    #: deletion window, and the access logs kept as object versions (a deleted or overwritten
    #: log stays for access_log_expiration_days); ``./tap destroy`` refuses while it is on.
    #: Lifted per environment with the override ``protect_data = false`` (or
    #: TAP_UNPROTECTED_ENVIRONMENTS, see :func:`load_config`).
    protect_data: bool
    database: DatabaseConfig

    @model_validator(mode="after")
    def _capacity_matches_billing(self) -> EnvironmentProfile:
        provisioned = self.dynamodb_billing_mode == "PROVISIONED"
        capacity = {name: getattr(self, name) for name in _PROVISIONED_CAPACITY_SETTINGS}
        if provisioned and None in capacity.values():
            missing = [name for name, value in capacity.items() if value is None]
            raise ValueError(
                f"dynamodb_billing_mode = 'PROVISIONED' needs {', '.join(missing)}; set the "
                "capacity units, the auto scaling maxima and the target utilization (e.g. 5 and "
                "5, 50 and 50, 70)"
            )
        if not provisioned and any(value is not None for value in capacity.values()):
            given = {name: value for name, value in capacity.items() if value is not None}
            raise ValueError(
                f"{given} are set but dynamodb_billing_mode = 'PAY_PER_REQUEST' ignores them; "
                "remove them or use 'PROVISIONED'"
            )
        for direction in ("read", "write"):
            minimum = getattr(self, f"dynamodb_{direction}_capacity_units")
            maximum = getattr(self, f"dynamodb_max_{direction}_capacity_units")
            if minimum is not None and maximum is not None and maximum < minimum:
                raise ValueError(
                    f"dynamodb_max_{direction}_capacity_units = {maximum} is below "
                    f"dynamodb_{direction}_capacity_units = {minimum} (the auto scaling "
                    "minimum); raise the maximum or lower the capacity units"
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
        # The kept access logs are versions, and S3 never turns versioning off again on a bucket
        # that had it: versioning must not depend on the protection, or lifting it could not
        # deploy.
        if self.protect_data and not self.data_versioning_and_lifecycle:
            raise ValueError(
                "protect_data = true needs data_versioning_and_lifecycle = true (the access logs "
                "are kept as object versions); set both, or protect_data = false"
            )
        return self

    @property
    def provisioned_capacity(self) -> ProvisionedCapacity | None:
        """The capacity settings of ``PROVISIONED`` billing (validated complete); None for
        ``PAY_PER_REQUEST``."""
        values = [getattr(self, name) for name in _PROVISIONED_CAPACITY_SETTINGS]
        if self.dynamodb_billing_mode != "PROVISIONED" or None in values:
            return None
        return ProvisionedCapacity(*values)

    @property
    def kms_deletion_window_days(self) -> int:
        """Days a scheduled deletion of any of the environment's KMS keys waits (7..30): the
        longest, 30, when data is protected, since losing a key loses everything it encrypted."""
        return 30 if self.protect_data else 7
