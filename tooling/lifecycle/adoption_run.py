"""The adoption step of an apply: what exists but is missing from the state gets import blocks.

Why a module of its own: :mod:`.adoption` finds the orphans in the failed apply's diagnostics
and writes the blocks, :mod:`.import_ids` makes each import ID from what Terraform planned for
the orphan; this module runs what they need (``terraform plan -refresh=false -out`` and
``terraform show -json`` of that plan, the AWS lookups of :class:`.Boto3Resolver`) for
:func:`.runs.apply_stack`, which applies again once the blocks are written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tooling.lifecycle import adoption, import_ids
from tooling.lifecycle.import_lookups import Boto3Resolver
from tooling.lifecycle.session import DeployError, Session
from tooling.lifecycle.terraform_events import Diagnostic, diagnostics, parse
from tooling.terraform import TerraformError

__all__ = ["ADOPT_PLAN", "adopt_orphans"]

#: Where the plan of an adoption is saved, beside the stack's ``cdk.tf.json`` (and removed
#: once read: a plan can hold sensitive values).
ADOPT_PLAN = ".tap-adopt.tfplan"


def _show(session: Session, stack_dir: Path, plan_file: Path) -> dict[str, Any]:
    """``terraform show -json`` of the saved plan (the JSON plan representation,
    https://developer.hashicorp.com/terraform/internals/json-format); the file is removed."""
    try:
        shown = session.terraform(["show", "-json", "-no-color", str(plan_file)], stack_dir)
        document: dict[str, Any] = json.loads(shown.stdout or "{}")
        return document
    finally:
        plan_file.unlink(missing_ok=True)


def _stack_region(stack_dir: Path) -> str:
    """The region of the stack's aws provider: where the lookups of the IDs AWS makes go."""
    document = json.loads((stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
    providers = (document.get("provider") or {}).get("aws") or [{}]
    provider: Mapping[str, Any] = providers[0] if isinstance(providers, list) else providers
    return str(provider.get("region") or "us-east-1")


def _planned(
    session: Session, stack_dir: Path, note: Callable[[str], None]
) -> import_ids.PlannedResources:
    """What Terraform plans for every resource of the stack, from its configuration and state
    alone (import blocks removed first; ``-refresh=false``: nothing is read again but the data
    sources; ``-lock=false``: a read that writes nothing). A plan that fails leaves the values
    unknown, with a note saying why."""
    adoption.remove_import_blocks(stack_dir)
    plan_file = stack_dir / ADOPT_PLAN
    args = ["plan", "-refresh=false", "-lock=false", "-input=false", "-json", f"-out={plan_file}"]
    planned = session.terraform(args, stack_dir, check=False)
    if planned.returncode == 0:
        try:
            return import_ids.planned_resources(_show(session, stack_dir, plan_file))
        except (TerraformError, ValueError) as error:
            reason = f"terraform show: {error}"
    else:
        plan_file.unlink(missing_ok=True)
        errors = diagnostics(parse(line) for line in (planned.stdout or "").splitlines())
        said = [e.summary for e in errors] + (planned.stderr or "").strip().splitlines()[-1:]
        reason = f"terraform plan: {said[0] if said else f'exit {planned.returncode}'}"
    note(
        f"{stack_dir.name}: could not plan the attributes of what exists ({reason}); "
        "their import IDs are not known"
    )
    return import_ids.PlannedResources()


def adopt_orphans(
    session: Session,
    stack_dir: Path,
    errors: Sequence[Diagnostic],
    adopted: dict[str, str],
    note: Callable[[str], None],
) -> bool:
    """Write import blocks for what the failed apply found existing (beside those already
    adopted); True if there is something new to apply again with.

    An orphan whose import ID is not known yet (a value it is made of depends on a resource the
    state does not hold yet) is left to the next round, once the others are imported; when none
    of the orphans can be adopted, a DeployError names each and the command that fixes it.
    """
    orphans = [o for o in adoption.orphans(errors) if o.address not in adopted]
    if not orphans:
        return False
    plan = _planned(session, stack_dir, note)
    region = _stack_region(stack_dir)
    resolver = Boto3Resolver(lambda service: session.client(service, region))
    ids = {o.address: import_ids.import_id(o.address, plan, resolve=resolver) for o in orphans}
    known = [o for o in orphans if ids[o.address] is not None]
    unknown = [o for o in orphans if ids[o.address] is None]
    if not known:
        raise DeployError(
            f"terraform apply of {stack_dir.name} failed: "
            + adoption.unadoptable_message(unknown, stack_dir)
        )
    adopted.update({o.address: str(ids[o.address]) for o in known})
    adoption.write_import_blocks(stack_dir, adopted)
    names = ", ".join(o.name or o.address for o in known)
    pending = ", ".join(o.address for o in unknown)
    later = f"; import ID not known yet, tried again after this apply: {pending}" if unknown else ""
    note(
        f"{stack_dir.name}: {len(known)} resource(s) exist but are missing from the state "
        f"(an interrupted apply or a lost response): adopting them with import blocks ({names}); "
        f"applying again{later}"
    )
    return True
