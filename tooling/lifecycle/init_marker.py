"""Whether a stack's working directory is initialised for its configuration as it is now.

Why: ``terraform init`` costs ~2 s of CPU per stack (it starts the provider and reads the
backend), and every lifecycle command used to run it for every stack, although what init
depends on rarely changes between two commands: the ``terraform`` block of ``cdk.tf.json``
(the backend with its address, and the required providers) and where the providers come from
(the CLI configuration and the plugin cache). Terraform records its side of that in
``.terraform/`` and refuses to plan with a backend configuration that changed since
(https://developer.hashicorp.com/terraform/cli/commands/init: "re-run init ... after any
change to the backend configuration"); it has no machine-readable way to ask "would init
change anything?". So after each successful init we write our own record
(:data:`MARKER`) of exactly those inputs, and a later command runs init only when the record is
missing or differs. A synth keeps each stack's ``.terraform/`` and lock file
(:func:`tooling.lifecycle.synth.synth_stacks`), so the record survives a synth that did not
change the ``terraform`` block, and goes with a stack that is no longer synthesized.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["MARKER", "PROVIDER_ENV", "init_inputs", "is_current", "record"]

#: Our record of what the last successful ``terraform init`` of a stack was run for.
MARKER = ".terraform/tap-init.json"
#: The environment variables that decide where ``terraform init`` finds the providers.
PROVIDER_ENV = ("TF_CLI_CONFIG_FILE", "TF_PLUGIN_CACHE_DIR", "TF_DATA_DIR")


def init_inputs(stack_dir: Path, env: Mapping[str, str], terraform: str) -> dict[str, Any]:
    """What ``terraform init`` of ``stack_dir`` depends on: the configuration's ``terraform``
    block (digested), the terraform binary and the provider-source environment."""
    document = json.loads((stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
    block = json.dumps(document.get("terraform") or {}, sort_keys=True)
    return {
        "terraform_block_sha256": hashlib.sha256(block.encode()).hexdigest(),
        "terraform": terraform,
        "env": {name: env.get(name) for name in PROVIDER_ENV},
    }


def is_current(stack_dir: Path, inputs: Mapping[str, Any]) -> bool:
    """Whether the stack was initialised for ``inputs`` and what init installed is still there
    (the dependency lock file and the providers directory)."""
    marker = stack_dir / MARKER
    if not marker.is_file() or not (stack_dir / ".terraform.lock.hcl").is_file():
        return False
    if not (stack_dir / ".terraform" / "providers").is_dir():
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(recorded == dict(inputs))


def record(stack_dir: Path, inputs: Mapping[str, Any]) -> None:
    """Record that ``terraform init`` of ``stack_dir`` succeeded for ``inputs``."""
    marker = stack_dir / MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(dict(inputs), sort_keys=True, indent=2) + "\n", encoding="utf-8")
