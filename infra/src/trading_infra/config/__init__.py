"""Typed, frozen configuration of the platform, loaded from ``platform.toml``.

Everything that differs between deployments is data here: names, CIDRs, regions, sizing.
Validation is eager (at load time) and every error names the setting, shows the bad value
and says how to fix it.

One module per part: ``profile`` (an environment tier's sizing and its database), ``region``
(known regions, a region's network layout), ``residency`` (region jurisdictions, where data may
be held), ``environment`` (one deployment), ``state`` (where Terraform state lives),
``platform`` (the whole file) and ``loader`` (reading it: profiles, overrides, environment
variables). This package re-exports what the rest of the repository imports.
"""

from __future__ import annotations

from trading_infra.config._base import ConfigError
from trading_infra.config.environment import AlarmSubscription, DnsConfig, Environment
from trading_infra.config.loader import UNPROTECTED_ENVIRONMENTS_ENV, load_config, parse_config
from trading_infra.config.pipeline import EXAMPLE_GITHUB_REPOSITORY, PipelineSettings
from trading_infra.config.platform import PlatformConfig, PlatformSettings
from trading_infra.config.profile import DatabaseConfig, EnvironmentProfile, ProvisionedCapacity
from trading_infra.config.region import AZ_COUNT, KNOWN_REGIONS, RegionConfig
from trading_infra.config.residency import REGION_JURISDICTIONS

__all__ = [
    "AZ_COUNT",
    "EXAMPLE_GITHUB_REPOSITORY",
    "KNOWN_REGIONS",
    "REGION_JURISDICTIONS",
    "UNPROTECTED_ENVIRONMENTS_ENV",
    "AlarmSubscription",
    "ConfigError",
    "DatabaseConfig",
    "DnsConfig",
    "Environment",
    "EnvironmentProfile",
    "PipelineSettings",
    "PlatformConfig",
    "PlatformSettings",
    "ProvisionedCapacity",
    "RegionConfig",
    "load_config",
    "parse_config",
]
