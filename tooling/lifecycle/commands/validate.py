"""``validate``: ``terraform validate`` (offline, no backend) of every synthesized stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tooling.lifecycle.synth import synth_stacks

if TYPE_CHECKING:
    from tooling.lifecycle.workspace import Workspace

__all__ = ["validate_stacks"]


def validate_stacks(ws: Workspace, env: str | None) -> list[str]:
    """Validate every stack ``env`` selects; print each result and return the stacks that
    failed (an error, or a deprecation warning)."""
    from tooling.terraform import validate_stack

    failures = []
    for stack in synth_stacks(ws, env):
        result = validate_stack(ws.outdir / "stacks" / stack, ws.root)
        deprecated = result.deprecations
        status = "ok" if not result.errors and not deprecated else "FAILED"
        counts = f"{len(result.errors)} errors, {len(result.warnings)} warnings"
        ws.echo(f"validate {stack}: {status} ({counts})")
        for diagnostic in [*result.errors, *result.warnings]:
            where = f" ({diagnostic.address})" if diagnostic.address else ""
            ws.echo(f"  {diagnostic.severity}: {diagnostic.summary}{where}: {diagnostic.detail}")
        if result.errors or deprecated:
            failures.append(stack)
    return failures
