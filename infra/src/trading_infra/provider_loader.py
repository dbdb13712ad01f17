"""Lazy loading of the AWS provider bindings (``cdktf_cdktf_provider_aws``).

Why: the prebuilt package's ``__init__.py`` ends with ~2,100 ``from . import <submodule>``
lines, so importing a single resource class imports every resource module of the provider
(about 20 s per Python process; upstream hashicorp/terraform-cdk#3753, never fixed, CDKTF is
archived). Everything else that ``__init__`` does (jsii assembly registration, the
``publication`` call, type helpers) is cheap and must still happen.

How: :func:`install` executes the package's own ``__init__.py`` source with only those eager
``from . import x`` lines removed, registers the result as the package in ``sys.modules`` and
adds a module ``__getattr__`` so ``cdktf_cdktf_provider_aws.vpc`` still works as an attribute.
Submodules are then ordinary Python imports, done on first use.

Safety: the rewrite is verified for exactly one provider package version
(:data:`VERIFIED_PROVIDER_VERSION`); with any other version, or with
``TAP_EAGER_PROVIDER_IMPORT=1``, the normal (eager) import is used and one warning line is
printed. ``tests/infra/test_provider_loader_equivalence.py`` proves the synthesized JSON is
byte-identical either way.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import re
import sys
import types
from enum import Enum
from pathlib import Path

PACKAGE = "cdktf_cdktf_provider_aws"
DISTRIBUTION = "cdktf-cdktf-provider-aws"
VERIFIED_PROVIDER_VERSION = "20.1.0"
EAGER_IMPORT_ENV_VAR = "TAP_EAGER_PROVIDER_IMPORT"

# Only bare relative submodule imports at the start of a line; nothing else is touched.
_EAGER_SUBMODULE_IMPORT = re.compile(r"^from \. import [A-Za-z_][A-Za-z0-9_]*[ \t]*$", re.MULTILINE)


class LoadMode(Enum):
    """How the provider package ended up loaded."""

    LAZY = "lazy"
    EAGER = "eager"
    ALREADY_IMPORTED = "already-imported"


def _warn(message: str) -> None:
    print(f"trading_infra.provider_loader: {message}", file=sys.stderr)


def install() -> LoadMode:
    """Load the AWS provider package lazily (idempotent); fall back to the eager import."""
    if PACKAGE in sys.modules:
        return LoadMode.ALREADY_IMPORTED
    if os.environ.get(EAGER_IMPORT_ENV_VAR) == "1":
        _warn(f"{EAGER_IMPORT_ENV_VAR}=1: importing {PACKAGE} eagerly (slow).")
        importlib.import_module(PACKAGE)
        return LoadMode.EAGER
    installed_version = importlib.metadata.version(DISTRIBUTION)
    if installed_version != VERIFIED_PROVIDER_VERSION:
        _warn(
            f"{DISTRIBUTION} is {installed_version}, the lazy loader was verified with "
            f"{VERIFIED_PROVIDER_VERSION}: importing eagerly (slow). Re-verify the loader "
            "(tests/infra/test_provider_loader_equivalence.py), then update "
            "VERIFIED_PROVIDER_VERSION."
        )
        importlib.import_module(PACKAGE)
        return LoadMode.EAGER
    _exec_without_eager_imports()
    return LoadMode.LAZY


def _exec_without_eager_imports() -> None:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None or spec.submodule_search_locations is None:
        raise ImportError(f"{PACKAGE} is not installed as a package: pip install {DISTRIBUTION}")
    source = Path(spec.origin).read_text(encoding="utf-8")
    lazy_source = _EAGER_SUBMODULE_IMPORT.sub("", source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    try:
        exec(compile(lazy_source, spec.origin, "exec"), module.__dict__)  # noqa: S102
    except BaseException:
        del sys.modules[PACKAGE]
        raise
    # The package's own code ends with publication.publish(), which replaces the module in
    # sys.modules by a public facade: the attribute hook belongs on that facade.
    public = sys.modules[PACKAGE]
    public.__getattr__ = _submodule_getter(public)  # type: ignore[method-assign]


def _submodule_getter(package: types.ModuleType) -> types.FunctionType:
    submodules = frozenset(getattr(package, "__all__", ()))

    def __getattr__(name: str) -> types.ModuleType:  # noqa: N807 (module protocol name)
        if name in submodules:
            return importlib.import_module(f"{package.__name__}.{name}")
        raise AttributeError(f"module {package.__name__!r} has no attribute {name!r}")

    return __getattr__  # type: ignore[return-value]


def count_eager_imports() -> int:
    """Number of eager submodule imports the loader skips (for the benchmark and tests)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        return 0
    return len(_EAGER_SUBMODULE_IMPORT.findall(Path(spec.origin).read_text(encoding="utf-8")))
