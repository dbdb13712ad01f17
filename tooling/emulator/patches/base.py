"""The one mechanism every compatibility patch uses: replace an attribute of moto, undo it later.

A patch is a function without arguments that changes as little of moto as possible and returns
an :data:`Undo` restoring what it changed. :func:`compat_patch` turns such a function into a
:class:`CompatPatch` (its name, the gap of docs/emulator.md it closes, the function), so the name
and gap stand right above the code. Nothing is applied at import: the service modules only list
their patches, :mod:`tooling.emulator.patches` applies them (all, or a chosen few in tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

__all__ = [
    "CompatPatch",
    "PatchedProperty",
    "Undo",
    "add",
    "compat_patch",
    "replace",
    "undo_all",
]

#: Restores whatever a patch changed; calling it twice is harmless.
Undo = Callable[[], None]

#: Attribute set on every replacement, so that a replaced attribute is never wrapped again.
_MARKER = "__tap_compat_patch__"


@dataclass(frozen=True)
class CompatPatch:
    """One compatibility patch: its name, the gap of docs/emulator.md it closes, how to apply it.

    ``apply`` changes moto and returns the :data:`Undo` of that change; its docstring says what
    moto does wrong (the gap as measured) and what the patch changes.
    """

    name: str
    gap: str
    apply: Callable[[], Undo]


def compat_patch(name: str, *, gap: str) -> Callable[[Callable[[], Undo]], CompatPatch]:
    """Declare the decorated patch function as the :class:`CompatPatch` ``name`` closing ``gap``.

    Registration stays explicit: each service module lists its patches in a tuple, in order.
    """

    def declare(apply: Callable[[], Undo]) -> CompatPatch:
        return CompatPatch(name=name, gap=gap, apply=apply)

    return declare


def replace(owner: type | ModuleType, name: str, make: Callable[[Any], Any]) -> Undo:
    """Replace ``owner.name`` by ``make(original)``; return a callable restoring the original.

    ``owner`` is a class or a module (a module-level function of moto, looked up by name at
    call time). Refuses to patch twice: the replacement is marked, and a marked attribute is
    never wrapped.
    """
    original = owner.__dict__[name]
    if getattr(original, _MARKER, False):
        label = getattr(owner, "__qualname__", None) or owner.__name__
        raise RuntimeError(f"{label}.{name} is already patched")
    replacement = make(original)
    setattr(replacement, _MARKER, True)
    setattr(owner, name, replacement)

    def undo() -> None:
        setattr(owner, name, original)

    return undo


def add(owner: type, name: str, value: Any) -> Undo:
    """Give ``owner`` the attribute ``name`` it lacks (an API action moto has not implemented:
    moto dispatches to any response method whose name matches the action); return a callable
    removing it again. Refuses an existing attribute: changing one is :func:`replace`'s job.
    """
    if name in owner.__dict__:
        raise RuntimeError(f"{owner.__qualname__}.{name} already exists; replace it instead")
    setattr(value, _MARKER, True)
    setattr(owner, name, value)

    def undo() -> None:
        if owner.__dict__.get(name) is value:
            delattr(owner, name)

    return undo


def undo_all(undos: Iterable[Undo]) -> Undo:
    """One :data:`Undo` for several: runs them in reverse order, once."""
    pending = list(undos)

    def undo() -> None:
        for step in reversed(pending):
            step()
        pending.clear()

    return undo


class PatchedProperty(property):
    """A property that can carry the patch marker (``property`` objects have no ``__dict__``):
    what a patch returns when it replaces a property."""
