"""The compliance gate of ``nox -s security``: checkov and a secrets scan, offline.

checkov (pinned in constraints-security.txt, its own virtualenv) runs with NO skips over every
synthesized aws-target stack (``--framework terraform_json``); a failed check is accepted only when
its (check id, Terraform address, environment) is listed in security/accepted-findings.toml with a
reason. checkov can skip synthesized JSON only per check, not per resource, hence this matching.
detect-secrets (bc-detect-secrets, installed with checkov) scans the repository's files and the
synthesized JSON; a finding is accepted only for an exact value in one named file.

Nothing leaves the machine: no API key is passed on, ``--skip-download`` and BC_SKIP_MAPPING skip
the guideline/mapping download, CKV_SKIP_PACKAGE_UPDATE_CHECK skips the version check.

The accepted-findings file, and what it accepts, is :mod:`tooling.security_accepted`; this
module runs the scanners, reads their reports and decides.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tooling.security_accepted import (
    ACCEPTED_FILE,
    ROOT,
    Accepted,
    CheckSkip,
    Failure,
    FindingsFileError,
    SecretAllow,
    SecretFinding,
    Verdict,
    configured_environments,
    evaluate,
    evaluate_secrets,
    load_accepted,
    parse_accepted,
)

__all__ = [
    "ACCEPTED_FILE",
    "ROOT",
    "STACKS_DIR",
    "Accepted",
    "CheckSkip",
    "Failure",
    "FindingsFileError",
    "SecretAllow",
    "SecretFinding",
    "Verdict",
    "checkov_input",
    "configured_environments",
    "evaluate",
    "evaluate_secrets",
    "failures_from_report",
    "load_accepted",
    "main",
    "offline_env",
    "parse_accepted",
    "parsing_errors",
    "repository_files",
    "run_checkov",
    "run_detect_secrets",
    "secret_findings",
    "stack_environments",
    "summary",
]

STACKS_DIR = ROOT / "cdktf.out" / "stacks"
#: Directories never scanned for secrets: .gitignore'd build output, caches and environments.
SKIPPED_DIRS = {".git", ".venv", ".nox", ".build", ".emulator", "cdktf.out", "dist", "cfn-outputs",
                "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
                ".terraform", "node_modules"}  # fmt: skip
SKIPPED_SUFFIXES = (".pyc", ".zip", ".egg-info", ".tfstate")
#: checkov's documented switches for a local-only run (see the module docstring).
OFFLINE_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE",
               "LOG_LEVEL": "WARNING"}  # fmt: skip
SECRET_ENV_PREFIXES = ("BC_", "PRISMA_", "CKV_", "CHECKOV_")
#: Not run on the synthesized JSON, which is high-entropy by construction (every Lambda's
#: source_code_hash, CDKTF's hashed construct ids); keyword, AWS-key, private-key and the other
#: pattern detectors still run there, and every plugin runs on the repository's files.
SYNTH_ENTROPY_PLUGINS = ("Base64HighEntropyString", "HexHighEntropyString")


# --- checkov's report ---------------------------------------------------------------------


def stack_environments(stacks_dir: Path = STACKS_DIR) -> dict[str, str]:
    """Synthesized stack name -> its environment (the provider's ``Environment`` default tag)."""
    result = {}
    for path in sorted(stacks_dir.glob("*/cdk.tf.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        (provider,) = document["provider"]["aws"]
        result[path.parent.name] = provider["default_tags"][0]["tags"]["Environment"]
    return result


def _reports(raw: Any) -> list[dict[str, Any]]:
    reports = raw if isinstance(raw, list) else [raw]
    return [report for report in reports if isinstance(report, dict)]


def _address(resource: str, stack_json: Mapping[str, Any]) -> str:
    """Terraform address of a checkov resource id ("aws_x.N", "resource.N" or "data.N")."""
    kind, _, name = resource.partition(".")
    if kind in ("resource", "data"):
        blocks = stack_json.get(kind, {})
        types = [rtype for rtype, named in blocks.items() if name in named]
        if len(types) != 1:
            raise ValueError(f"cannot resolve checkov resource {resource!r}: candidates {types}")
        return f"{types[0]}.{name}" if kind == "resource" else f"data.{types[0]}.{name}"
    return resource


def failures_from_report(
    raw: Any, environments: Mapping[str, str]
) -> tuple[list[Failure], int, dict[str, str]]:
    """The failed checks of a checkov JSON report, the number passed, and check id -> name."""
    failures: list[Failure] = []
    names: dict[str, str] = {}
    passed = 0
    cache: dict[Path, Any] = {}
    for report in _reports(raw):
        if report.get("check_type") != "terraform_json":
            continue
        passed += len(report["results"]["passed_checks"])
        for result in report["results"]["passed_checks"]:
            names[result["check_id"]] = result["check_name"]
        for result in report["results"]["failed_checks"]:
            path = Path(result["file_abs_path"])
            path = path if path.is_absolute() else ROOT / path
            if path not in cache:
                cache[path] = json.loads(path.read_text(encoding="utf-8"))
            stack = path.parent.name
            if stack not in environments:
                raise ValueError(f"{stack} is no stack of platform.toml ({sorted(environments)})")
            names[result["check_id"]] = result["check_name"]
            failures.append(
                Failure(
                    check_id=result["check_id"],
                    check_name=result["check_name"],
                    stack=stack,
                    environment=environments[stack],
                    address=_address(result["resource"], cache[path]),
                )
            )
    return failures, passed, names


# --- secrets ------------------------------------------------------------------------------


def repository_files(root: Path) -> list[Path]:
    """The repository's own files: everything but .gitignore'd output, caches and venvs.

    The accepted-findings file is left out: it necessarily holds the accepted values, each of which
    must still be found in the files its entry names (or the entry is stale).
    """
    files = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIPPED_DIRS and not d.endswith(".egg-info")
        )
        for name in sorted(filenames):
            path = Path(directory, name)
            if not name.endswith(SKIPPED_SUFFIXES) and path != ACCEPTED_FILE:
                files.append(path)
    return files


def secret_findings(raw: Mapping[str, Any], root: Path) -> list[SecretFinding]:
    findings = []
    for file, results in raw.get("results", {}).items():
        path = Path(file)
        relative = path.relative_to(root) if path.is_absolute() else path
        for result in results:
            findings.append(
                SecretFinding(
                    file=relative.as_posix(),
                    line=result["line_number"],
                    kind=result["type"],
                    hashed_secret=result["hashed_secret"],
                )
            )
    return findings


# --- running the tools --------------------------------------------------------------------


def offline_env() -> dict[str, str]:
    """The environment for checkov: no API key or platform settings inherited, offline switches."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_ENV_PREFIXES)}
    env.update(OFFLINE_ENV)
    return env


def checkov_input(stacks_dir: Path, into: Path) -> Path:
    """A copy of the synthesized stacks (``<stack>/cdk.tf.json``) that checkov can parse.

    checkov's terraform_json parser reads every attribute of the ``terraform`` block as a
    nested block and fails on a string: the stacks' ``required_version`` makes it give up the
    whole file, which it reports as a parsing error and scans nothing of
    (https://github.com/bridgecrewio/checkov/issues/7454). The copy leaves out exactly that
    constraint on the Terraform CLI, which holds no resource and is in no check; every resource,
    provider and backend setting is scanned as synthesized. The same parser expects an object per
    block type and fails on the list of ``moved`` blocks (a renamed construct id's old address,
    https://developer.hashicorp.com/terraform/language/moved): they declare no resource either,
    so the copy leaves them out too.
    """
    shutil.rmtree(into, ignore_errors=True)
    for source in sorted(stacks_dir.glob("*/cdk.tf.json")):
        document = json.loads(source.read_text(encoding="utf-8"))
        document.get("terraform", {}).pop("required_version", None)
        document.pop("moved", None)
        target = into / source.parent.name / source.name
        target.parent.mkdir(parents=True)
        target.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return into


def parsing_errors(raw: Any) -> list[str]:
    """The files checkov could not parse, and so did not scan at all."""
    return sorted(
        str(path)
        for report in _reports(raw)
        for path in report.get("results", {}).get("parsing_errors", [])
    )


#: checkov's findings as SARIF 2.1.0, beside its JSON report (.github/workflows/pull-request.yml).
SARIF_NAME = "checkov.sarif"


def run_checkov(bindir: Path, stacks_dir: Path, report: Path) -> Any:
    """checkov's JSON report on the stacks; SystemExit when it crashed or could not parse a file
    (an unparsed file would pass the gate with none of its resources checked). The same findings
    are written as SARIF beside the report (:data:`SARIF_NAME`), which the pull-request workflow
    uploads to code scanning; accepted findings are in it too (dismiss them there with the reason
    security/accepted-findings.toml gives)."""
    scanned = checkov_input(stacks_dir, report.parent / "checkov-input")
    command = [
        str(bindir / "checkov"), "--directory", str(scanned), "--framework", "terraform_json",
        "--skip-download", "--skip-results-upload", "--output", "json", "--output", "sarif",
        "--output-file-path", f"console,{report.parent / SARIF_NAME}", "--compact",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=offline_env(), check=False)
    if result.returncode not in (0, 1) or not result.stdout.strip():
        sys.stderr.write(result.stderr)
        raise SystemExit(f"checkov crashed (exit {result.returncode}): {' '.join(command)}")
    if result.stderr.strip():
        sys.stderr.write(result.stderr)
    raw = json.loads(result.stdout)
    report.write_text(json.dumps(raw, indent=1), encoding="utf-8")
    unparsed = parsing_errors(raw)
    if unparsed:
        raise SystemExit(f"checkov could not parse, so scanned nothing of: {', '.join(unparsed)}")
    return raw


def run_detect_secrets(
    bindir: Path, files: Sequence[Path], report: Path, disable: Sequence[str] = ()
) -> Any:
    relative = [str(path.relative_to(ROOT)) for path in files]
    disabled = [arg for plugin in disable for arg in ("--disable-plugin", plugin)]
    command = [str(bindir / "detect-secrets"), "scan", *disabled, *relative]
    result = subprocess.run(
        command, capture_output=True, text=True, env=offline_env(), cwd=ROOT, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"detect-secrets failed (exit {result.returncode})")
    raw = json.loads(result.stdout)
    report.write_text(json.dumps(raw, indent=1), encoding="utf-8")
    return raw


# --- the gate -----------------------------------------------------------------------------


def _wrap(text: str, indent: str = "      ") -> Iterator[str]:
    words, line = text.split(), ""
    for word in words:
        if line and len(line) + len(word) > 92:
            yield indent + line
            line = ""
        line = f"{line} {word}" if line else word
    if line:
        yield indent + line


def summary(verdict: Verdict, passed: int, names: Mapping[str, str]) -> list[str]:
    lines = [
        f"checkov (terraform_json, aws target): {passed} passed, "
        f"{len(verdict.unaccepted)} failed, {len(verdict.accepted)} skipped (accepted findings)"
    ]
    for failure in verdict.unaccepted:
        lines.append(
            f"  FAILED {failure.check_id} {failure.address} [{failure.stack}]: {failure.check_name}"
        )
    by_skip: dict[int, list[Failure]] = {}
    for failure, skip in verdict.accepted:
        by_skip.setdefault(id(skip), []).append(failure)
    for skip in sorted({id(s): s for _, s in verdict.accepted}.values(), key=lambda s: s.check_id):
        hits = by_skip[id(skip)]
        envs = ", ".join(sorted({f.environment for f in hits}))
        lines.append(f"  skipped {skip.check_id} x{len(hits)} ({envs}): {names.get(skip.check_id)}")
        lines.append("      " + ", ".join(skip.resources))
        lines.extend(_wrap("reason: " + skip.reason))
    for skip, target in verdict.stale:
        lines.append(f"  STALE entry {skip.check_id} {target}: not needed to accept a failure")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", type=Path, required=True, help="bin/ with checkov, detect-secrets")
    parser.add_argument("--reports", type=Path, default=ROOT / ".build" / "security")
    args = parser.parse_args(argv)
    args.reports.mkdir(parents=True, exist_ok=True)
    environments = stack_environments()
    try:
        accepted = load_accepted()
    except FindingsFileError as error:
        print(f"{ACCEPTED_FILE.relative_to(ROOT)} is invalid: {error}", file=sys.stderr)
        return 1
    missing = sorted(configured_environments(ROOT / "platform.toml") - set(environments.values()))
    if missing:
        print(f"not synthesized: {missing}; run: invoke synth --env all --target aws",
              file=sys.stderr)  # fmt: skip
        return 1

    raw = run_checkov(args.bin, STACKS_DIR, args.reports / "checkov-terraform.json")
    failures, passed, names = failures_from_report(raw, environments)
    verdict = evaluate(failures, accepted.checks, environments.values())
    lines = summary(verdict, passed, names)

    files = repository_files(ROOT)
    synthesized = [STACKS_DIR / name / "cdk.tf.json" for name in sorted(environments)]
    findings = secret_findings(
        run_detect_secrets(args.bin, files, args.reports / "secrets-repository.json"), ROOT
    ) + secret_findings(
        run_detect_secrets(
            args.bin, synthesized, args.reports / "secrets-synth.json", SYNTH_ENTROPY_PLUGINS
        ),
        ROOT,
    )
    ok_secrets, bad_secrets, stale_secrets = evaluate_secrets(findings, accepted.secrets)
    lines.append(
        f"secrets (detect-secrets): {len(files)} repository files, {len(synthesized)} synthesized "
        f"stacks: {len(bad_secrets)} found, {len(ok_secrets)} accepted"
    )
    lines.extend(f"  FOUND {f.kind} in {f.file}:{f.line}" for f in bad_secrets)
    for allow in accepted.secrets:
        hits = [f"{f.file}:{f.line}" for f, a in ok_secrets if a is allow]
        if hits:
            lines.append(f"  accepted {allow.value!r} x{len(hits)}: {', '.join(hits)}")
            lines.extend(_wrap("reason: " + allow.reason))
    lines.extend(f"  STALE secret entry: {stale} is not found" for stale in stale_secrets)
    print("\n".join(lines))
    failed = not verdict.ok or bad_secrets or stale_secrets
    print("security: FAILED" if failed else "security: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
