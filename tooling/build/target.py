"""The Lambda runtime a zip is built for: Python version, architecture, pip platform tags."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["LambdaTarget"]


@dataclass(frozen=True)
class LambdaTarget:
    """The Lambda runtime a zip is built for.

    ``python_version`` is the runtime's ``"3.X"``; ``architecture`` is Lambda's name for it.
    Lambda python3.12 and later run on Amazon Linux 2023 (glibc 2.34), earlier ones on Amazon
    Linux 2 (glibc 2.26); ``pip_platforms`` lists the manylinux tags that run there.
    """

    python_version: str = "3.12"
    architecture: Literal["x86_64", "arm64"] = "x86_64"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"3\.\d{1,2}", self.python_version):
            raise ValueError(f"python_version must look like '3.12', not {self.python_version!r}")
        if self.architecture not in ("x86_64", "arm64"):
            raise ValueError(f"architecture must be 'x86_64' or 'arm64', not {self.architecture!r}")

    @property
    def machine(self) -> str:
        """The machine name in wheel platform tags: ``x86_64`` or ``aarch64``."""
        return "aarch64" if self.architecture == "arm64" else "x86_64"

    @property
    def glibc_minor(self) -> int:
        """The minor version of the runtime's glibc (2.X)."""
        minor = int(self.python_version.split(".")[1])
        return 34 if minor >= 12 else 26

    @property
    def pip_platforms(self) -> tuple[str, ...]:
        """pip ``--platform`` tags, most specific first, as pip orders them on the runtime.

        ``manylinux_2_{glibc}`` down to ``manylinux_2_17`` plus the legacy alias
        ``manylinux2014`` (which pip widens to manylinux2010/manylinux1 on x86_64).
        """
        machine = self.machine
        perennial = tuple(
            f"manylinux_2_{minor}_{machine}" for minor in range(self.glibc_minor, 16, -1)
        )
        return (*perennial, f"manylinux2014_{machine}")

    def describe(self) -> dict[str, Any]:
        """The target as recorded in the manifest (and hashed into the input hash)."""
        return {
            "architecture": self.architecture,
            "implementation": "cp",
            "platforms": list(self.pip_platforms),
            "python_version": self.python_version,
        }
