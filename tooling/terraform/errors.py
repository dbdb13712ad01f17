"""The errors of :mod:`tooling.terraform`, and the output tail a failed command's error carries.

They live apart from the modules raising them so that every caller catches one set of classes
whichever part of the package failed (setup, a run, validation).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "ERROR_TAIL_LINES",
    "ProviderMirrorError",
    "TerraformError",
    "TerraformSetupError",
    "output_tail",
]

#: How many of a failed command's last output lines its :class:`TerraformError` quotes: enough
#: for terraform's error block (summary, ``with``/``on`` lines, detail), short enough for a log.
ERROR_TAIL_LINES = 20


class TerraformSetupError(RuntimeError):
    """Terraform cannot be run as configured (binary missing, bad mirror, no configuration)."""


class ProviderMirrorError(TerraformSetupError):
    """``TAP_TF_PROVIDER_MIRROR`` does not point at a usable provider mirror."""


class TerraformError(RuntimeError):
    """A terraform command exited with a non-zero status.

    The message names the command, its working directory and exit code, and quotes the last
    lines it wrote (``output_tail``), because that is where terraform puts its error: a caller
    can show the message as it is without rerunning the command.
    """

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


def output_tail(text: str) -> list[str]:
    """The last :data:`ERROR_TAIL_LINES` lines of ``text``, trailing blank lines dropped (terraform
    ends its error blocks with one); none when ``text`` is blank."""
    return text.rstrip("\n").splitlines()[-ERROR_TAIL_LINES:] if text.strip() else []
