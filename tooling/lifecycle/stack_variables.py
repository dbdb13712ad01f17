"""The input variables ``./tap`` sets on a stack's terraform runs.

One today: :data:`trading_infra.components.database.MASTER_CREDENTIAL_SWITCH`, which opens an
existing master password secret (the ``global`` deployment's primary database: RDS cannot
manage the password of a global database's cluster,
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-secrets-manager.html).
Terraform opens an ephemeral resource in every plan that evaluates it, so the secret is opened
only by the runs whose plan is applied: ``./tap deploy`` and ``./tap plan --out``. Review plans,
drift and destroy keep the variable's default (false) and never read the secret, which the
read-only plan and drift roles may not (docs/delivery.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from trading_infra.components.database import MASTER_CREDENTIAL_SWITCH

__all__ = ["applying_arguments"]


def applying_arguments(stack_dir: Path) -> list[str]:
    """The ``-var`` arguments of a run whose plan is applied, for the stack synthesized in
    ``stack_dir``: the master password opened where the stack declares the variable (a
    ``-var`` for an undeclared variable is an error)."""
    document = json.loads((stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
    if MASTER_CREDENTIAL_SWITCH in (document.get("variable") or {}):
        return [f"-var={MASTER_CREDENTIAL_SWITCH}=true"]
    return []
