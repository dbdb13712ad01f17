"""Loading ``platform.toml``: built-in profiles, overrides, and the data protection override."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from trading_infra.config._base import ConfigError
from trading_infra.config.platform import PlatformConfig

#: The built-in profiles: a package resource of ``trading_infra`` (infra/pyproject.toml's
#: package-data), not of this subpackage.
PROFILES_PACKAGE, PROFILES_RESOURCE = "trading_infra", "profiles.toml"
#: Environments deployed WITHOUT data protection whatever their profile says: a comma-separated
#: list of environment names, or ``all``. Meant for throwaway deployments that are destroyed
#: right after (the e2e tests, ``./tap bench --lifecycle``); for each named environment it is the
#: override ``protect_data = false``, read by :func:`load_config` only (docs/configuration.md).
UNPROTECTED_ENVIRONMENTS_ENV = "TAP_UNPROTECTED_ENVIRONMENTS"


def builtin_profiles() -> dict[str, dict[str, Any]]:
    """The built-in environment profiles (trading_infra/profiles.toml)."""
    profiles = resources.files(PROFILES_PACKAGE).joinpath(PROFILES_RESOURCE)
    text = profiles.read_text(encoding="utf-8")
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
