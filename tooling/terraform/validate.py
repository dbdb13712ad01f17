"""``terraform validate`` of a stack, read from its ``-json`` report into diagnostics.

Why the JSON report rather than the exit code: validate exits 0 with warnings, and the project
treats some warnings (deprecated arguments) as failures, so a caller needs each diagnostic's
severity, text and location, which only the report gives in a form a program can rely on
(the human output is prose laid out for a terminal).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.terraform.commands import run_terraform
from tooling.terraform.errors import TerraformError, TerraformSetupError, output_tail

__all__ = ["VALIDATE_DATA_DIR", "Diagnostic", "ValidationResult", "validate_stack"]

#: Terraform's data directory of a validation, in the stack's directory (``TF_DATA_DIR``): not
#: ``.terraform``, where a deploy keeps the stack's backend. ``init -backend=false`` in a
#: directory initialised with a backend still loads that backend's state (and fails when the
#: backend is unreachable: a stopped emulator, no credentials), and would leave the deploy's
#: ``.terraform`` initialised without it.
VALIDATE_DATA_DIR = ".terraform-validate"


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic of ``terraform validate -json``."""

    severity: str
    summary: str
    detail: str = ""
    address: str | None = None
    filename: str | None = None
    line: int | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Diagnostic:
        """The diagnostic of one entry of the report's ``diagnostics``; a missing severity is
        an error, so that an entry of an unexpected shape never passes as harmless."""
        source = raw.get("range") or {}
        start = source.get("start") or {}
        return cls(
            severity=str(raw.get("severity", "error")),
            summary=str(raw.get("summary", "")),
            detail=str(raw.get("detail", "")),
            address=raw.get("address"),
            filename=source.get("filename"),
            line=start.get("line"),
        )

    def mentions(self, word: str) -> bool:
        """Whether the summary or detail contains ``word`` (case-insensitive)."""
        return word.lower() in f"{self.summary}\n{self.detail}".lower()

    def __str__(self) -> str:
        where = f"{self.filename}:{self.line}" if self.filename else ""
        subject = " ".join(part for part in (self.address, f"({where})" if where else "") if part)
        text = f"{self.severity}: {self.summary}"
        if self.detail:
            text += f": {self.detail}"
        return f"{text} [{subject}]" if subject else text


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of :func:`validate_stack`: errors and warnings, kept apart."""

    errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not self.errors

    @property
    def deprecations(self) -> tuple[Diagnostic, ...]:
        """Warnings that mention "deprecated": a caller may treat them as failures."""
        return tuple(w for w in self.warnings if w.mentions("deprecated"))

    def messages(self) -> list[str]:
        """Every diagnostic as one line of text, errors first."""
        return [str(d) for d in (*self.errors, *self.warnings)]


def validate_stack(stack_dir: Path, repo_root: Path) -> ValidationResult:
    """``terraform init -backend=false`` then ``terraform validate -json`` in ``stack_dir``, with
    Terraform's data in :data:`VALIDATE_DATA_DIR`.

    ``stack_dir`` is a synthesized stack (``cdk.tf.json``) or any Terraform configuration
    directory. Raises :class:`TerraformError` when init fails (the configuration cannot be parsed
    or a provider cannot be installed) and when validate's output is not its JSON report. Any
    error diagnostic, and a non-zero exit without one, lands in ``errors``.
    """
    if not any(stack_dir.glob("*.tf.json")) and not any(stack_dir.glob("*.tf")):
        raise TerraformSetupError(f"{stack_dir} holds no Terraform configuration (*.tf.json, *.tf)")
    data_dir = {"TF_DATA_DIR": str(stack_dir / VALIDATE_DATA_DIR)}
    run_terraform(
        ["init", "-backend=false", "-input=false", "-no-color"],
        cwd=stack_dir,
        repo_root=repo_root,
        env_extra=data_dir,
        capture=True,
    )
    result = run_terraform(
        ["validate", "-json", "-no-color"],
        cwd=stack_dir,
        repo_root=repo_root,
        env_extra=data_dir,
        capture=True,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
        diagnostics = [Diagnostic.from_json(raw) for raw in report.get("diagnostics", [])]
    except (ValueError, AttributeError, TypeError) as exc:
        tail = output_tail(result.stderr) or output_tail(result.stdout)
        raise TerraformError(list(result.args), stack_dir, result.returncode, tail) from exc
    errors = [d for d in diagnostics if d.severity == "error"]
    warnings = [d for d in diagnostics if d.severity != "error"]
    if result.returncode != 0 and not errors:
        errors.append(
            Diagnostic(
                severity="error",
                summary=f"terraform validate exited with code {result.returncode}",
                detail="\n".join(output_tail(result.stderr)),
            )
        )
    return ValidationResult(errors=tuple(errors), warnings=tuple(warnings))
