"""Compatibility patches of moto's core, shared by every service: what it keeps, what it redoes."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tooling.emulator.patches.base import CompatPatch, Undo, compat_patch, replace

__all__ = ["PATCHES", "WeakInstances", "models_tracked_weakly", "service_modules_listed_once"]


class WeakInstances:
    """The live instances of one moto model class, held by weak references.

    Stands in for the list moto appends every instance to (``instances_tracked``): ``append``
    and iteration are all moto does with it (its ``/moto-api/data.json`` dump, and S3's reset,
    which disposes of the keys still alive). An instance that cannot be weakly referenced is
    kept as moto keeps it.
    """

    def __init__(self, existing: Iterable[Any] = ()) -> None:
        self._weak: dict[int, weakref.ref[Any]] = {}
        self._strong: list[Any] = []
        for instance in existing:
            self.append(instance)

    def append(self, instance: Any) -> None:
        key = id(instance)
        try:
            # The callback runs while the instance is freed, before its id can be reused.
            self._weak[key] = weakref.ref(instance, lambda _ref: self._weak.pop(key, None))
        except TypeError:
            self._strong.append(instance)

    def __iter__(self) -> Iterator[Any]:
        alive = [instance for ref in list(self._weak.values()) if (instance := ref()) is not None]
        return iter([*self._strong, *alive])

    def __len__(self) -> int:
        return len(self._strong) + len(self._weak)


@compat_patch("core-models-tracked-weakly", gap="14")
def models_tracked_weakly() -> Undo:
    """docs/emulator.md, gap 14: moto keeps every model object it ever created.

    moto's ``BaseModel.__new__`` appends each instance of every model class (a DynamoDB
    ``Item``, an S3 ``FakeKey`` and each multipart part, a log event) to a list on its class,
    for its ``/moto-api/data.json`` dashboard, and nothing takes them out until a reset: every
    item a transaction copies, every replaced object version, every part of a completed
    multipart upload (with its buffer) stays in the emulator's memory. Ingesting a 100,000-line
    file grew the server past 14 GB. The patch keeps those lists as weak references: an object
    nothing else holds is freed, and the dashboard and S3's reset still see every live one.
    """
    from moto.core.common_models import BaseModel

    def make(_original: Any) -> Any:
        def __new__(cls: type[Any], *args: Any, **kwargs: Any) -> Any:  # noqa: N807 - replaces __new__
            instance = super(BaseModel, cls).__new__(cls)
            tracked = cls.__dict__.get("instances_tracked")
            if not isinstance(tracked, WeakInstances):
                tracked = WeakInstances(tracked or ())
                cls.instances_tracked = tracked
            tracked.append(instance)
            return instance

        return staticmethod(__new__)

    return replace(BaseModel, "__new__", make)


@compat_patch("core-service-modules-listed-once", gap="15")
def service_modules_listed_once() -> Undo:
    """docs/emulator.md, gap 15: moto's server lists its own package directory for every request.

    To route a request, moto's ``DomainDispatcherApplication`` asks
    ``moto.backends.list_of_moto_modules()``, which lists moto's directory and stats each of its
    ~170 entries, every time: a few percent of the server's time under a steady stream of
    requests. The installed package does not change while the server runs; the patch lists it
    once and answers the same names, in the same order, afterwards.
    """
    import moto.backends as backends

    def make(original: Callable[[], Iterable[str]]) -> Callable[[], Iterable[str]]:
        @functools.lru_cache(maxsize=1)
        def listed() -> tuple[str, ...]:
            return tuple(original())

        @functools.wraps(original)
        def list_of_moto_modules() -> Iterable[str]:
            return iter(listed())

        return list_of_moto_modules

    return replace(backends, "list_of_moto_modules", make)


#: The core patches, in the order they are applied (before any service's).
PATCHES: tuple[CompatPatch, ...] = (models_tracked_weakly, service_modules_listed_once)
