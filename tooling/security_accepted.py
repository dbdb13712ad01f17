"""The accepted findings of ``nox -s security`` (security/accepted-findings.toml): its entries,
validated narrow (one checkov check on named Terraform addresses, optionally of named
environments; one secret value in named files; each with a reason), and what they accept of
the failures and secrets the scanners found (:mod:`tooling.security`).

An entry that accepts nothing is stale and fails the gate as much as an unaccepted finding:
the file lists every accepted finding, and nothing else.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ACCEPTED_FILE",
    "ROOT",
    "Accepted",
    "CheckSkip",
    "Failure",
    "FindingsFileError",
    "SecretAllow",
    "SecretFinding",
    "Verdict",
    "configured_environments",
    "evaluate",
    "evaluate_secrets",
    "load_accepted",
    "parse_accepted",
]

ROOT = Path(__file__).resolve().parent.parent
ACCEPTED_FILE = ROOT / "security" / "accepted-findings.toml"
CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
ADDRESS = re.compile(r"^(data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+$")


class FindingsFileError(ValueError):
    """The accepted-findings file is malformed (missing reason, wildcard, unknown field...)."""


@dataclass(frozen=True)
class Failure:
    check_id: str
    check_name: str
    stack: str
    environment: str
    address: str


@dataclass(frozen=True)
class CheckSkip:
    check_id: str
    resources: tuple[str, ...]
    environments: tuple[str, ...] | None  # None: every environment
    reason: str

    def covers(self, failure: Failure) -> bool:
        return (
            failure.check_id == self.check_id
            and failure.address in self.resources
            and (self.environments is None or failure.environment in self.environments)
        )


@dataclass(frozen=True)
class SecretAllow:
    value: str
    files: tuple[str, ...]
    reason: str

    @property
    def hashed(self) -> str:
        return hashlib.sha1(self.value.encode()).hexdigest()  # noqa: S324 (detect-secrets' hash)


@dataclass(frozen=True)
class SecretFinding:
    file: str
    line: int
    kind: str
    hashed_secret: str


@dataclass(frozen=True)
class Accepted:
    checks: tuple[CheckSkip, ...]
    secrets: tuple[SecretAllow, ...]


@dataclass
class Verdict:
    accepted: list[tuple[Failure, CheckSkip]] = field(default_factory=list)
    unaccepted: list[Failure] = field(default_factory=list)
    #: (entry, "address @ environment") that matched no failure: stale or over-broad entries.
    stale: list[tuple[CheckSkip, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unaccepted and not self.stale


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FindingsFileError(f"{where}: `{key}` is required and must be a non-empty string")
    return value.strip()


def _names(entry: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise FindingsFileError(f"{where}: `{key}` must be a non-empty list of strings")
    if len(set(value)) != len(value):
        raise FindingsFileError(f"{where}: `{key}` lists a name twice")
    return tuple(value)


def _parse_check(entry: Mapping[str, Any], where: str, known_envs: set[str]) -> CheckSkip:
    extra = set(entry) - {"check", "resources", "environments", "reason"}
    if extra:
        raise FindingsFileError(f"{where}: unknown field(s) {sorted(extra)}")
    check_id = _text(entry, "check", where)
    if not CHECK_ID.match(check_id):
        raise FindingsFileError(f"{where}: {check_id!r} is not one checkov check id")
    where = f"{where} ({check_id})"
    resources = _names(entry, "resources", where)
    for address in resources:
        if not ADDRESS.match(address):
            raise FindingsFileError(
                f"{where}: {address!r} is not a Terraform address like aws_s3_bucket.Name or "
                "data.aws_x.Name (no wildcards)"
            )
    envs = None
    if "environments" in entry:
        envs = _names(entry, "environments", where)
        if set(envs) - known_envs:
            raise FindingsFileError(
                f"{where}: unknown environment(s) {sorted(set(envs) - known_envs)}"
            )
    return CheckSkip(check_id, resources, envs, _text(entry, "reason", where))


def _parse_secret(entry: Mapping[str, Any], where: str) -> SecretAllow:
    extra = set(entry) - {"value", "files", "reason"}
    if extra:
        raise FindingsFileError(f"{where}: unknown field(s) {sorted(extra)}")
    value = _text(entry, "value", where)
    files = _names(entry, "files", where)
    for file in files:
        if any(char in file for char in "*?[") or file.endswith("/"):
            raise FindingsFileError(f"{where}: `files` must name files, got {file!r}")
    return SecretAllow(value, files, _text(entry, "reason", f"{where} ({value!r})"))


def parse_accepted(document: Mapping[str, Any], environments: Iterable[str]) -> Accepted:
    """Validate the accepted-findings document: every entry narrow, named and with a reason."""
    unknown = set(document) - {"checkov", "secret"}
    if unknown:
        raise FindingsFileError(f"unknown table(s) {sorted(unknown)}; use [[checkov]] / [[secret]]")
    known_envs = set(environments)
    checks = tuple(
        _parse_check(entry, f"[[checkov]] #{index + 1}", known_envs)
        for index, entry in enumerate(document.get("checkov", []))
    )
    secrets = tuple(
        _parse_secret(entry, f"[[secret]] #{index + 1}")
        for index, entry in enumerate(document.get("secret", []))
    )
    return Accepted(checks, secrets)


def configured_environments(platform_toml: Path) -> set[str]:
    """The environments platform.toml defines (read through the validated configuration)."""
    from trading_infra.config import load_config

    return {environment.name for environment in load_config(platform_toml).environments}


def load_accepted(path: Path = ACCEPTED_FILE, root: Path = ROOT) -> Accepted:
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    return parse_accepted(document, configured_environments(root / "platform.toml"))


def evaluate(
    failures: Sequence[Failure], skips: Sequence[CheckSkip], environments: Iterable[str]
) -> Verdict:
    """Accept a failure only if an entry names it; flag every entry target that failed nowhere."""
    all_envs = sorted(set(environments))
    verdict = Verdict()
    for failure in failures:
        covering = [s for s in skips if s.covers(failure)]
        if not covering:
            verdict.unaccepted.append(failure)
            continue
        verdict.accepted.append((failure, covering[0]))
        duplicate = f"{failure.address} @ {failure.environment} (another entry accepts it)"
        verdict.stale.extend((s, duplicate) for s in covering[1:])
    for skip in skips:
        for address in skip.resources:
            for env in skip.environments or all_envs:
                if not any(
                    f.check_id == skip.check_id and f.address == address and f.environment == env
                    for f in failures
                ):
                    verdict.stale.append((skip, f"{address} @ {env}"))
    return verdict


def evaluate_secrets(
    findings: Sequence[SecretFinding], allowed: Sequence[SecretAllow]
) -> tuple[list[tuple[SecretFinding, SecretAllow]], list[SecretFinding], list[str]]:
    """(accepted, unaccepted, stale "value in file"): an entry is one value in named files."""
    accepted, unaccepted = [], []
    for finding in findings:
        allow = next(
            (a for a in allowed if finding.file in a.files and a.hashed == finding.hashed_secret),
            None,
        )
        if allow is None:
            unaccepted.append(finding)
        else:
            accepted.append((finding, allow))
    stale = [
        f"{allow.value!r} in {file}"
        for allow in allowed
        for file in allow.files
        if not any(a is allow and f.file == file for f, a in accepted)
    ]
    return accepted, unaccepted, stale
