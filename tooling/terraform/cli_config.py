"""The project's Terraform CLI configuration, the environment of a terraform process, the binary.

Why the project writes its own CLI configuration: the environment cannot be trusted to hold a
usable one (here ``TF_CLI_CONFIG_FILE`` points at a file that does not exist), and where
providers come from (the mirror of :mod:`tooling.terraform.mirror`, else the registry) must not
depend on whoever runs the command. The file and the provider plugin cache live in one
directory per repository (``.build/terraform``, or ``TAP_TERRAFORM_DIR``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from filelock import FileLock

from tooling.terraform.errors import TerraformSetupError
from tooling.terraform.mirror import MIRRORED_PROVIDERS, find_provider_mirror

__all__ = [
    "GO_GC_PERCENT",
    "TERRAFORM_BIN_ENV",
    "TERRAFORM_DIR_ENV",
    "cli_config_path",
    "cli_config_text",
    "command_env",
    "is_overriding",
    "plugin_cache_lock",
    "plugin_cache_path",
    "terraform_binary",
    "terraform_env",
    "write_cli_config",
]

#: Environment variable naming the terraform binary (default: ``terraform`` on PATH).
TERRAFORM_BIN_ENV = "TAP_TERRAFORM"
#: Another directory for the CLI configuration and the plugin cache (relative to the repository
#: or absolute): processes that must not share one cache, such as the e2e lanes, where a
#: ``terraform init`` killed on purpose in one lane can leave a cache entry that the next init
#: re-extracts while another lane's terraform is starting the provider from it.
TERRAFORM_DIR_ENV = "TAP_TERRAFORM_DIR"
#: Go's GC target for terraform and its providers unless the environment sets GOGC
#: (:func:`terraform_env` says why).
GO_GC_PERCENT = "400"

_BUILD_DIR = Path(".build") / "terraform"
#: Inherited variables that would override the project's CLI configuration or arguments.
# TF_WORKSPACE selects the environment for the project's tasks (tooling.lifecycle.selection); each
# environment already has its own state keys, so terraform itself must not also switch to a
# workspace of that name (it would look for state under env:/<name>/ and find none).
_STRIPPED_VARIABLES = frozenset(
    {"TF_CLI_CONFIG_FILE", "TERRAFORM_CONFIG", "TF_PLUGIN_CACHE_DIR", "TF_WORKSPACE"}
)


# --------------------------------------------------------------------------- the configuration


def _hcl_string(value: str) -> str:
    """A quoted HCL string literal: JSON escaping plus escaped template sequences."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def cli_config_text(mirror: Path | None, plugin_cache_dir: Path | None = None) -> str:
    """The Terraform CLI configuration (HCL) for ``mirror`` (None: registry only)."""
    lines = [
        "# Written by tooling/terraform/ for this repository's terraform runs; do not edit.",
        "disable_checkpoint = true",
    ]
    if plugin_cache_dir is not None:
        lines.append(f"plugin_cache_dir = {_hcl_string(str(plugin_cache_dir))}")
    lines.append("")
    lines.append("provider_installation {")
    if mirror is not None:
        lines += [
            "  filesystem_mirror {",
            f"    path    = {_hcl_string(str(mirror))}",
            f"    include = [{_hcl_string(MIRRORED_PROVIDERS)}]",
            "  }",
            "  direct {",
            f"    exclude = [{_hcl_string(MIRRORED_PROVIDERS)}]",
            "  }",
        ]
    else:
        lines.append("  direct {}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _write_if_changed(dest: Path, content: str) -> None:
    """Write through a temporary file and a rename: a terraform starting concurrently reads the
    old configuration or the new one, never half of one."""
    if dest.is_file() and dest.read_text(encoding="utf-8") == content:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_cli_config(
    dest: Path, mirror: Path | None, *, plugin_cache_dir: Path | None = None
) -> Path:
    """Write the CLI configuration for ``mirror`` to ``dest`` (atomically, only if it changed).

    With a mirror, ``registry.terraform.io/hashicorp/*`` providers are installed from it only
    (``direct`` excludes them, so the registry is never asked); other providers still come from
    the registry. Without one, everything comes from the registry. ``plugin_cache_dir`` (created
    if missing) is shared by all working directories. Returns ``dest``.
    """
    if plugin_cache_dir is not None:
        plugin_cache_dir.mkdir(parents=True, exist_ok=True)
    _write_if_changed(dest, cli_config_text(mirror, plugin_cache_dir))
    return dest


# --------------------------------------------------------------------------- where it lives


def _terraform_dir(repo_root: Path) -> Path:
    chosen = os.environ.get(TERRAFORM_DIR_ENV, "").strip()
    return repo_root.resolve() / (Path(chosen) if chosen else _BUILD_DIR)


def cli_config_path(repo_root: Path) -> Path:
    """Where the project's Terraform CLI configuration is written."""
    return _terraform_dir(repo_root) / "terraformrc"


def plugin_cache_path(repo_root: Path) -> Path:
    """The provider plugin cache shared by every terraform working directory of the repository
    (of one ``TAP_TERRAFORM_DIR``): with a mirror, Terraform only symlinks from it, so nothing
    is copied per stack."""
    return _terraform_dir(repo_root) / "plugin-cache"


@contextlib.contextmanager
def plugin_cache_lock(repo_root: Path) -> Iterator[None]:
    """Hold the repository's plugin cache alone (an exclusive ``flock``, across processes):
    Terraform does not make its plugin cache safe for concurrent ``terraform init``."""
    lock_file = plugin_cache_path(repo_root).parent / "plugin-cache.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock_file):
        yield


# --------------------------------------------------------------------------- the environment


def is_overriding(name: str) -> bool:
    """Whether the variable ``name`` would replace the project's CLI configuration, plugin
    cache or workspace, or inject arguments (``TF_CLI_ARGS*``): such a variable never reaches a
    terraform process, whoever set it."""
    return name in _STRIPPED_VARIABLES or name == "TF_CLI_ARGS" or name.startswith("TF_CLI_ARGS_")


def terraform_env(repo_root: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a terraform subprocess for the repository at ``repo_root``.

    ``base`` (default ``os.environ``) minus the variables that would replace the project's CLI
    configuration or inject arguments, plus ``TF_CLI_CONFIG_FILE`` (the project's configuration,
    (re)written here), ``TF_PLUGIN_CACHE_DIR``, ``TF_IN_AUTOMATION=1``, ``TF_INPUT=0`` and
    ``CHECKPOINT_DISABLE=1``, and ``GOGC`` unless ``base`` sets it. The mirror is looked up with
    ``base``'s ``TAP_TF_PROVIDER_MIRROR``.
    """
    source: Mapping[str, str] = os.environ if base is None else base
    env = {name: value for name, value in source.items() if not is_overriding(name)}
    cache = plugin_cache_path(repo_root)
    config = write_cli_config(
        cli_config_path(repo_root), find_provider_mirror(environ=source), plugin_cache_dir=cache
    )
    env.update(
        TF_CLI_CONFIG_FILE=str(config),
        TF_PLUGIN_CACHE_DIR=str(cache),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
    )
    # Terraform and the provider plugins it starts (they inherit this environment) are Go
    # programs; the aws provider allocates its ~1,500 resource schemas at every start, so
    # collecting garbage at 4x the live heap instead of 2x saves CPU at every start for some
    # more peak memory (figures: docs/performance.md#terraform). A GOGC of the caller's own is
    # kept.
    env.setdefault("GOGC", GO_GC_PERCENT)
    return env


def command_env(
    repo_root: Path,
    base_env: Mapping[str, str] | None = None,
    env_extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """:func:`terraform_env` of ``base_env`` plus ``env_extra``, whose overriding variables
    (:func:`is_overriding`) are ignored: passing a whole environment as ``env_extra`` cannot
    undo the project's configuration."""
    env = terraform_env(repo_root, base_env)
    env.update({k: v for k, v in (env_extra or {}).items() if not is_overriding(k)})
    return env


def terraform_binary(environ: Mapping[str, str] | None = None) -> str:
    """The terraform executable: ``TAP_TERRAFORM`` if set, else ``terraform`` on PATH (of
    ``environ``, default ``os.environ``: the PATH the process will run with)."""
    env = os.environ if environ is None else environ
    explicit = env.get(TERRAFORM_BIN_ENV, "").strip()
    found = shutil.which(explicit or "terraform", path=env.get("PATH"))
    if found is None:
        wanted = f"{TERRAFORM_BIN_ENV}={explicit!r}" if explicit else "terraform on PATH"
        raise TerraformSetupError(
            f"Cannot find {wanted}. Install Terraform 1.6 or later, or set {TERRAFORM_BIN_ENV} "
            "to the terraform executable."
        )
    return found
