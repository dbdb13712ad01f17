"""The emulator's compatibility patches of moto (as pinned), one module per AWS service.

Each patch closes one gap of docs/emulator.md in moto, never in the platform: the configuration
deployed to AWS is never changed for the emulator's sake. Each has a test
(``tests/tooling/emulator/patches/test_<service>.py``) showing that unpatched moto has the gap
and that the patch closes it. When moto fixes a gap upstream, that test fails on the "unpatched"
assertion: drop the patch then.

:data:`PATCHES` is every patch, grouped by service. The order is stable (it is how the status
endpoint lists them) but does not change behaviour: no two patches replace the same attribute
(:func:`~tooling.emulator.patches.base.replace` refuses it, so applying them all proves it), and
each replacement calls the original it wrapped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from tooling.emulator.patches import (
    apigatewayv2,
    applicationautoscaling,
    core,
    dynamodb,
    ec2,
    iam,
    kms,
    lambda_,
    rds,
    s3,
    secretsmanager,
)
from tooling.emulator.patches.base import CompatPatch, Undo, undo_all

__all__ = ["PATCHES", "CompatPatch", "Undo", "apply_patches", "patched"]

#: Every compatibility patch the emulator applies, in the order it applies them.
PATCHES: tuple[CompatPatch, ...] = (
    *core.PATCHES,
    *rds.PATCHES,
    *lambda_.PATCHES,
    *apigatewayv2.PATCHES,
    *s3.PATCHES,
    *kms.PATCHES,
    *ec2.PATCHES,
    *secretsmanager.PATCHES,
    *iam.PATCHES,
    *dynamodb.PATCHES,
    *applicationautoscaling.PATCHES,
)


def apply_patches(patches: Sequence[CompatPatch] = PATCHES) -> Undo:
    """Apply ``patches`` in order; return a callable undoing all of them (reverse order).

    If one fails, those already applied are undone before the error propagates.
    """
    undos: list[Undo] = []
    try:
        for patch in patches:
            undos.append(patch.apply())
    except BaseException:
        undo_all(undos)()
        raise
    return undo_all(undos)


@contextmanager
def patched(patches: Sequence[CompatPatch] = PATCHES) -> Iterator[None]:
    """Apply ``patches`` for the duration of a ``with`` block (tests, in-process servers)."""
    undo = apply_patches(patches)
    try:
        yield
    finally:
        undo()
