"""Every Terraform process this repository starts goes through this module.

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
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

__all__ = [
    "AWS_PROVIDER_ADDRESS",
    "GO_GC_PERCENT",
    "KNOWN_MIRROR_LOCATIONS",
    "MIRROR_ENV",
    "TERRAFORM_BIN_ENV",
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

#: Environment variable naming a Terraform filesystem mirror to use (validated when set).
MIRROR_ENV = "TAP_TF_PROVIDER_MIRROR"
#: Environment variable naming the terraform binary (default: ``terraform`` on PATH).
TERRAFORM_BIN_ENV = "TAP_TERRAFORM"
#: Provider source address whose presence makes a directory a usable mirror.
AWS_PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/aws"
#: Where a filesystem mirror is looked for when MIRROR_ENV is not set, in order.
KNOWN_MIRROR_LOCATIONS: tuple[Path, ...] = (
    Path("/opt/tf-plugins"),
    Path("~/.terraform.d/plugins"),
    Path("/usr/share/terraform/plugins"),
    Path("/usr/local/share/terraform/plugins"),
)

_MIRRORED_PROVIDERS = "registry.terraform.io/hashicorp/*"
_BUILD_DIR = Path(".build") / "terraform"
#: Go's GC target for terraform and its providers unless the environment sets GOGC
#: (:func:`terraform_env` says why).
GO_GC_PERCENT = "400"
_STDERR_TAIL_LINES = 20
#: Inherited variables that would override the project's CLI configuration or arguments.
# TF_WORKSPACE selects the environment for the project's tasks (tooling.lifecycle.selection); each
# environment already has its own state keys, so terraform itself must not also switch to a
# workspace of that name (it would look for state under env:/<name>/ and find none).
_STRIPPED_VARIABLES = frozenset(
    {"TF_CLI_CONFIG_FILE", "TERRAFORM_CONFIG", "TF_PLUGIN_CACHE_DIR", "TF_WORKSPACE"}
)


class TerraformSetupError(RuntimeError):
    """Terraform cannot be run as configured (binary missing, bad mirror, no configuration)."""


class ProviderMirrorError(TerraformSetupError):
    """``TAP_TF_PROVIDER_MIRROR`` does not point at a usable provider mirror."""


class TerraformError(RuntimeError):
    """A terraform command exited with a non-zero status."""

    def __init__(
        self, command: Sequence[str], cwd: Path, returncode: int, output_tail: Sequence[str]
    ) -> None:
        self.command = tuple(command)
        self.cwd = cwd
        self.returncode = returncode
        self.output_tail = tuple(output_tail)
        lines = [f"`{shlex.join(self.command)}` failed with exit code {returncode} in {cwd}"]
        if self.output_tail:
            lines.append(f"--- last {len(self.output_tail)} lines of its error output ---")
            lines.extend(self.output_tail)
        else:
            lines.append("(it wrote nothing to stderr)")
        super().__init__("\n".join(lines))


# --------------------------------------------------------------------------- provider mirror


def terraform_platform() -> str:
    """Terraform's name for this platform, e.g. ``linux_amd64`` or ``darwin_arm64``."""
    machine = platform.machine().lower()
    arch = {
        "x86_64": "amd64",
        "amd64": "amd64",
        "aarch64": "arm64",
        "arm64": "arm64",
        "i386": "386",
        "i686": "386",
        "armv7l": "arm",
    }.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


def _aws_packages(mirror: Path, os_arch: str) -> list[Path]:
    """The hashicorp/aws packages for ``os_arch`` in a mirror (unpacked or packed layout)."""
    provider_dir = mirror / AWS_PROVIDER_ADDRESS
    unpacked = provider_dir.glob(f"*/{os_arch}/terraform-provider-aws*")
    packed = provider_dir.glob(f"terraform-provider-aws_*_{os_arch}.zip")
    return sorted([*unpacked, *packed])


def _validated_mirror(value: str) -> Path:
    mirror = Path(value).expanduser()
    layout = (
        f"<mirror>/{AWS_PROVIDER_ADDRESS}/<version>/{terraform_platform()}/"
        "terraform-provider-aws_v<version>_x5"
    )
    advice = (
        f"Point {MIRROR_ENV} at a Terraform filesystem mirror laid out as {layout} "
        f"(for example {KNOWN_MIRROR_LOCATIONS[0]}), or unset it to search "
        f"{', '.join(str(p) for p in KNOWN_MIRROR_LOCATIONS)} and else use the registry."
    )
    if not mirror.is_dir():
        raise ProviderMirrorError(f"{MIRROR_ENV}={value!r}: no such directory. {advice}")
    if not (mirror / AWS_PROVIDER_ADDRESS).is_dir():
        raise ProviderMirrorError(
            f"{MIRROR_ENV}={value!r}: the directory has no {AWS_PROVIDER_ADDRESS}/ in it. {advice}"
        )
    if not _aws_packages(mirror, terraform_platform()):
        found = sorted(
            str(p.relative_to(mirror)) for p in (mirror / AWS_PROVIDER_ADDRESS).glob("*/*")
        )
        raise ProviderMirrorError(
            f"{MIRROR_ENV}={value!r}: no hashicorp/aws package for {terraform_platform()} "
            f"(found: {', '.join(found) or 'nothing'}). {advice}"
        )
    return mirror.resolve()


def find_provider_mirror(
    *,
    environ: Mapping[str, str] | None = None,
    candidates: Sequence[Path] | None = None,
) -> Path | None:
    """The filesystem mirror holding hashicorp/aws for this platform, or None (use the registry).

    ``TAP_TF_PROVIDER_MIRROR`` (read from ``environ``, default ``os.environ``) wins when set and
    non-empty; it must exist and contain ``registry.terraform.io/hashicorp/aws`` with a package for
    this platform, else :class:`ProviderMirrorError` says what is wrong and how to fix it.
    Otherwise the first of ``candidates`` (default :data:`KNOWN_MIRROR_LOCATIONS`) holding such a
    package is returned.
    """
    env = os.environ if environ is None else environ
    explicit = env.get(MIRROR_ENV, "").strip()
    if explicit:
        return _validated_mirror(explicit)
    os_arch = terraform_platform()
    for candidate in KNOWN_MIRROR_LOCATIONS if candidates is None else candidates:
        location = candidate.expanduser()
        if _aws_packages(location, os_arch):
            return location.resolve()
    return None


# --------------------------------------------------------------------------- CLI configuration


def _hcl_string(value: str) -> str:
    """A quoted HCL string literal: JSON escaping plus escaped template sequences."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def cli_config_text(mirror: Path | None, plugin_cache_dir: Path | None = None) -> str:
    """The Terraform CLI configuration (HCL) for ``mirror`` (None: registry only)."""
    lines = [
        "# Written by tooling/terraform.py for this repository's terraform runs; do not edit.",
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
            f"    include = [{_hcl_string(_MIRRORED_PROVIDERS)}]",
            "  }",
            "  direct {",
            f"    exclude = [{_hcl_string(_MIRRORED_PROVIDERS)}]",
            "  }",
        ]
    else:
        lines.append("  direct {}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _write_if_changed(dest: Path, content: str) -> None:
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


#: Another directory for the CLI configuration and the plugin cache (relative to the repository
#: or absolute): processes that must not share one cache, such as the e2e lanes, where a
#: ``terraform init`` killed on purpose in one lane can leave a cache entry that the next init
#: re-extracts while another lane's terraform is starting the provider from it.
TERRAFORM_DIR_ENV = "TAP_TERRAFORM_DIR"


def _terraform_dir(repo_root: Path) -> Path:
    chosen = os.environ.get(TERRAFORM_DIR_ENV, "").strip()
    return repo_root.resolve() / (Path(chosen) if chosen else _BUILD_DIR)


def cli_config_path(repo_root: Path) -> Path:
    """Where the project's Terraform CLI configuration is written."""
    return _terraform_dir(repo_root) / "terraformrc"


def plugin_cache_path(repo_root: Path) -> Path:
    """The provider plugin cache shared by every terraform working directory of the repository
    (of one ``TAP_TERRAFORM_DIR``)."""
    return _terraform_dir(repo_root) / "plugin-cache"


@contextlib.contextmanager
def plugin_cache_lock(repo_root: Path) -> Iterator[None]:
    """Hold the repository's plugin cache alone (an exclusive ``flock``, across processes):
    Terraform does not make its plugin cache safe for concurrent ``terraform init``."""
    lock_file = plugin_cache_path(repo_root).parent / "plugin-cache.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock_file):
        yield


def _is_stripped(name: str) -> bool:
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
    env = {name: value for name, value in source.items() if not _is_stripped(name)}
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


# --------------------------------------------------------------------------- running terraform


def terraform_binary(environ: Mapping[str, str] | None = None) -> str:
    """The terraform executable: ``TAP_TERRAFORM`` if set, else ``terraform`` on PATH."""
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


def _tail(text: str) -> list[str]:
    return text.rstrip("\n").splitlines()[-_STDERR_TAIL_LINES:] if text.strip() else []


def _run_streaming(command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> tuple[int, str]:
    """Run with inherited stdout; copy stderr through to ours, keeping its last lines."""
    tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
    with subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    ) as process:
        if process.stderr is not None:
            for line in process.stderr:
                sys.stderr.write(line)
                tail.append(line)
        returncode = process.wait()
    return returncode, "".join(tail)


def run_terraform(
    args: Sequence[str],
    *,
    cwd: Path,
    repo_root: Path,
    env_extra: Mapping[str, str] | None = None,
    capture: bool = False,
    check: bool = True,
    base_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``terraform *args`` in ``cwd`` with :func:`terraform_env` plus ``env_extra``.

    The environment is built from ``base_env`` (default ``os.environ``; e.g.
    :func:`tooling.emulator.process.local_process_env` for the local target). Variables of
    ``env_extra``
    that would replace the project's CLI configuration (``TF_CLI_CONFIG_FILE``,
    ``TERRAFORM_CONFIG``, ``TF_PLUGIN_CACHE_DIR``, ``TF_CLI_ARGS*``) are ignored, so passing a
    whole environment there cannot undo it.

    ``capture=True`` returns stdout and stderr in the result; otherwise stdout goes to ours,
    stderr is copied to ours as it arrives and the result's ``stderr`` holds its last lines
    (``stdout`` is empty). Standard input is never connected. ``check=True`` raises
    :class:`TerraformError` (command, cwd, exit code, last lines of stderr) on a non-zero exit.
    """
    env = terraform_env(repo_root, base_env)
    env.update({k: v for k, v in (env_extra or {}).items() if not _is_stripped(k)})
    command = [terraform_binary(env), *args]
    if capture:
        result = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
            **_popen_options(),
        )
    else:
        returncode, stderr_tail = _run_streaming(command, cwd, env)
        result = subprocess.CompletedProcess(command, returncode, "", stderr_tail)
    if check and result.returncode != 0:
        raise TerraformError(
            command, cwd, result.returncode, _tail(result.stderr) or _tail(result.stdout)
        )
    return result


@dataclass(frozen=True)
class StreamedRun:
    """Outcome of :func:`stream_terraform`: the command, its exit code and its last lines.

    ``interrupted`` says the run was asked to stop (one SIGINT forwarded to terraform), and
    ``killed`` that it was then terminated (SIGTERM, SIGKILL) without finishing gracefully."""

    command: tuple[str, ...]
    returncode: int
    tail: tuple[str, ...]
    interrupted: bool = False
    killed: bool = False


@dataclass(frozen=True)
class StopSignals:
    """How a caller stops a running terraform from another thread.

    ``interrupt`` set: exactly one SIGINT is forwarded to terraform, which then stops starting
    operations, waits for those in flight, writes the state and releases its lock (the
    graceful stop of a Ctrl-C). ``kill`` set (a second Ctrl-C, the emulator is gone): SIGTERM,
    then SIGKILL after ``kill_grace`` seconds."""

    interrupt: threading.Event | None = None
    kill: threading.Event | None = None
    kill_grace: float = 5.0


#: prctl(2) option: the signal a child gets when the thread that started it dies.
_PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 0.1


def _die_with_parent_preexec() -> Callable[[], None] | None:
    """Linux: a ``preexec_fn`` making terraform get SIGKILL when our process dies, so that a
    terraform never outlives the ./tap run that started it (a crashed run's lock is then provably
    abandoned: its holder record names a pid whose terraform children are all gone). None
    elsewhere. The libc function is looked up here, before the fork, not in the child."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: do not run orphaned
            os._exit(137)

    return preexec


def _popen_options() -> dict[str, Any]:
    """Terraform runs in its own process group (a Ctrl-C in the terminal reaches our process
    only, which forwards exactly one SIGINT) and dies with our process (Linux)."""
    options: dict[str, Any] = {"process_group": 0}
    preexec = _die_with_parent_preexec()
    if preexec is not None:
        options["preexec_fn"] = preexec
    return options


def _signal(process: subprocess.Popen[str], signum: int) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)


def _watch(process: subprocess.Popen[str], stops: StopSignals, flags: dict[str, bool]) -> None:
    """Forward ``stops`` to ``process`` until it exits: one SIGINT, then maybe SIGTERM/SIGKILL."""
    killed_at: float | None = None
    while process.poll() is None:
        killing = stops.kill is not None and stops.kill.is_set()
        if stops.interrupt is not None and stops.interrupt.is_set() and not flags["interrupted"]:
            flags["interrupted"] = True
            if not killing:  # asked to terminate at once: no graceful SIGINT first
                _signal(process, signal.SIGINT)
        if killing:
            if killed_at is None:
                flags["interrupted"] = flags["killed"] = True
                killed_at = time.monotonic()
                _signal(process, signal.SIGTERM)
            elif time.monotonic() - killed_at > stops.kill_grace:
                _signal(process, signal.SIGKILL)
        try:
            process.wait(timeout=_POLL_SECONDS)
        except subprocess.TimeoutExpired:
            continue


def stream_terraform(
    args: Sequence[str],
    *,
    cwd: Path,
    repo_root: Path,
    on_line: Callable[[str], None],
    env_extra: Mapping[str, str] | None = None,
    base_env: Mapping[str, str] | None = None,
    tail_lines: int = 60,
    stops: StopSignals | None = None,
) -> StreamedRun:
    """Run ``terraform *args`` like :func:`run_terraform`, handing each line to ``on_line``.

    For long runs (apply, destroy, plan) whose caller shows progress while they happen:
    stdout and stderr are merged in the order terraform wrote them, and each line reaches
    ``on_line`` (without its newline) as soon as it arrives. Standard input is never connected.
    Returns the exit code and the last ``tail_lines`` lines; a non-zero exit is not raised, the
    caller decides what it means (``plan -detailed-exitcode`` exits 2 on changes).

    Terraform runs in its own process group, so a Ctrl-C in the terminal does not reach it
    directly; ``stops`` forwards a stop instead (:class:`StopSignals`: one SIGINT, then maybe
    SIGTERM and SIGKILL). On Linux terraform is killed if our process dies.
    """
    env = terraform_env(repo_root, base_env)
    env.update({k: v for k, v in (env_extra or {}).items() if not _is_stripped(k)})
    command = [terraform_binary(env), *args]
    tail: deque[str] = deque(maxlen=tail_lines)
    flags = {"interrupted": False, "killed": False}
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        **_popen_options(),
    ) as process:
        watcher: threading.Thread | None = None
        if stops is not None:
            watcher = threading.Thread(
                target=_watch, args=(process, stops, flags), name="terraform-stop", daemon=True
            )
            watcher.start()
        try:
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.rstrip("\n")
                tail.append(line)
                on_line(line)
            returncode = process.wait()
        except BaseException:
            # Our own thread is interrupted (KeyboardInterrupt): stop terraform gracefully.
            if not flags["interrupted"]:
                flags["interrupted"] = True
                _signal(process, signal.SIGINT)
            process.wait()
            raise
        finally:
            if watcher is not None:
                watcher.join()
    return StreamedRun(
        tuple(command), returncode, tuple(tail), flags["interrupted"], flags["killed"]
    )


def terraform_version() -> str:
    """The version of the terraform binary, e.g. ``1.11.4`` (no configuration, no network)."""
    env = {name: value for name, value in os.environ.items() if not _is_stripped(name)}
    env.update(TF_CLI_CONFIG_FILE=os.devnull, CHECKPOINT_DISABLE="1")
    command = [terraform_binary(env), "version", "-json"]
    cwd = Path(tempfile.gettempdir())
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise TerraformError(command, cwd, result.returncode, _tail(result.stderr))
    return str(json.loads(result.stdout)["terraform_version"])


# --------------------------------------------------------------------------- validation


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
    """``terraform init -backend=false`` then ``terraform validate -json`` in ``stack_dir``.

    ``stack_dir`` is a synthesized stack (``cdk.tf.json``) or any Terraform configuration
    directory. Raises :class:`TerraformError` when init fails (the configuration cannot be parsed
    or a provider cannot be installed) and when validate's output is not its JSON report. Any
    error diagnostic, and a non-zero exit without one, lands in ``errors``.
    """
    if not any(stack_dir.glob("*.tf.json")) and not any(stack_dir.glob("*.tf")):
        raise TerraformSetupError(f"{stack_dir} holds no Terraform configuration (*.tf.json, *.tf)")
    run_terraform(
        ["init", "-backend=false", "-input=false", "-no-color"],
        cwd=stack_dir,
        repo_root=repo_root,
        capture=True,
    )
    result = run_terraform(
        ["validate", "-json", "-no-color"],
        cwd=stack_dir,
        repo_root=repo_root,
        capture=True,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
        diagnostics = [Diagnostic.from_json(raw) for raw in report.get("diagnostics", [])]
    except (ValueError, AttributeError, TypeError) as exc:
        tail = _tail(result.stderr) or _tail(result.stdout)
        raise TerraformError(list(result.args), stack_dir, result.returncode, tail) from exc
    errors = [d for d in diagnostics if d.severity == "error"]
    warnings = [d for d in diagnostics if d.severity != "error"]
    if result.returncode != 0 and not errors:
        errors.append(
            Diagnostic(
                severity="error",
                summary=f"terraform validate exited with code {result.returncode}",
                detail="\n".join(_tail(result.stderr)),
            )
        )
    return ValidationResult(errors=tuple(errors), warnings=tuple(warnings))
