"""One rule for tests that need an external toolchain (Terraform, the provider mirror, Node.js).

On a developer machine without Terraform, without the offline ``hashicorp/aws`` mirror or without
node and npm (tests/node_tools.py) such a test is skipped. In CI (``CI`` set to a true value, as
GitHub Actions and most CI systems do) the toolchain is part of the job, so its absence is a
broken job, not a reason to skip: a skipped validation would let the job pass without ever having
validated anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

import pytest

_FALSE = frozenset({"", "0", "false", "no", "off"})


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the tests run in CI: ``CI`` is set to anything but an empty or false value."""
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() not in _FALSE


def missing_toolchain(reason: str) -> NoReturn:
    """Skip the test for ``reason`` locally; fail it in CI."""
    if in_ci():
        pytest.fail(f"{reason}: required in CI (CI={os.environ.get('CI')!r})", pytrace=False)
    pytest.skip(reason)
