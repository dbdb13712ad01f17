"""Every Terraform process this repository starts goes through this package.

Why: the environment cannot be trusted to hold a usable Terraform CLI configuration (here
``TF_CLI_CONFIG_FILE`` points at a file that does not exist) and the Terraform registry may be
unreachable. So each run gets the project's own CLI configuration, written to
``<repo>/.build/terraform/terraformrc``:

* when a local filesystem mirror of ``hashicorp/aws`` exists (``TAP_TF_PROVIDER_MIRROR``, or one
  of :data:`KNOWN_MIRROR_LOCATIONS`), every ``registry.terraform.io/hashicorp/*`` provider is
  installed from it and never from the registry: ``terraform init`` works offline;
* otherwise providers come from the registry as usual;
* in both cases a plugin cache under ``<repo>/.build/terraform/plugin-cache`` is shared by every
  working directory (with a mirror, Terraform only symlinks, so nothing is copied).

The environment also disables the checkpoint call home and interactive input, and drops inherited
variables that would change the CLI configuration or inject arguments (``TF_CLI_CONFIG_FILE``,
``TERRAFORM_CONFIG``, ``TF_PLUGIN_CACHE_DIR``, ``TF_CLI_ARGS*``).

Which module holds what (every name below is importable from ``tooling.terraform`` itself):

==============  ===============================================================================
``errors``      :class:`TerraformSetupError`, :class:`ProviderMirrorError`,
                :class:`TerraformError` and the output tail an error quotes
``mirror``      the filesystem mirror of hashicorp/aws (:func:`find_provider_mirror`,
                :data:`MIRROR_ENV`, :data:`KNOWN_MIRROR_LOCATIONS`) and
                :func:`terraform_platform`
``cli_config``  the CLI configuration file (:func:`write_cli_config`, :func:`cli_config_path`),
                the shared plugin cache and its lock (:func:`plugin_cache_path`,
                :func:`plugin_cache_lock`, ``TAP_TERRAFORM_DIR``), the environment of a
                terraform process (:func:`terraform_env`) and the binary
                (:func:`terraform_binary`)
``process``     the one spawn path, :func:`.process.run_process`: own process group, death with
                our process, :class:`StopSignals`, line-by-line reading, the tail
                (:class:`StreamedRun`)
``commands``    :func:`run_terraform` (captured, or stdout left on ours), :func:`stream_terraform`
                (stderr merged into stdout, line by line) and :func:`terraform_version`, all
                through the one spawn path
``validate``    :func:`validate_stack`, :class:`ValidationResult` and :class:`Diagnostic`,
                read from ``terraform validate -json``
==============  ===============================================================================

Imports go one way: ``process`` knows nothing of the project (only how to run a process);
``commands`` joins it to ``cli_config`` (which uses ``mirror``); ``validate`` runs through
``commands``; any of them may raise the classes of ``errors``.
"""

from __future__ import annotations

from tooling.terraform.cli_config import (
    GO_GC_PERCENT,
    TERRAFORM_BIN_ENV,
    TERRAFORM_DIR_ENV,
    cli_config_path,
    cli_config_text,
    plugin_cache_lock,
    plugin_cache_path,
    terraform_binary,
    terraform_env,
    write_cli_config,
)
from tooling.terraform.commands import run_terraform, stream_terraform, terraform_version
from tooling.terraform.errors import ProviderMirrorError, TerraformError, TerraformSetupError
from tooling.terraform.mirror import (
    AWS_PROVIDER_ADDRESS,
    KNOWN_MIRROR_LOCATIONS,
    MIRROR_ENV,
    find_provider_mirror,
    terraform_platform,
)
from tooling.terraform.process import StopSignals, StreamedRun
from tooling.terraform.validate import Diagnostic, ValidationResult, validate_stack

__all__ = [
    "AWS_PROVIDER_ADDRESS",
    "GO_GC_PERCENT",
    "KNOWN_MIRROR_LOCATIONS",
    "MIRROR_ENV",
    "TERRAFORM_BIN_ENV",
    "TERRAFORM_DIR_ENV",
    "Diagnostic",
    "ProviderMirrorError",
    "StopSignals",
    "StreamedRun",
    "TerraformError",
    "TerraformSetupError",
    "ValidationResult",
    "cli_config_path",
    "cli_config_text",
    "find_provider_mirror",
    "plugin_cache_lock",
    "plugin_cache_path",
    "run_terraform",
    "stream_terraform",
    "terraform_binary",
    "terraform_env",
    "terraform_platform",
    "terraform_version",
    "validate_stack",
    "write_cli_config",
]
