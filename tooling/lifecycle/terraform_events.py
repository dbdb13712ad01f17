"""Terraform's machine-readable UI: the JSON messages ``apply``/``plan``/``destroy -json`` print.

Why: Terraform's human output is "not a stable interface for integrations"; with ``-json`` the
long-running commands print one JSON message per line instead, with a defined interface
(https://developer.hashicorp.com/terraform/internals/machine-readable-ui). The lifecycle reads
what it needs from those messages and never from the human text: the resources done
(``apply_complete``: ``hook.resource.addr``, ``hook.action``, ``hook.elapsed_seconds``), the
counts (``change_summary``: ``changes.add/change/remove/import`` of the ``apply`` or
``destroy`` operation; a plan's summary has ``operation`` ``plan``) and the failures
(``diagnostic``: ``severity``, ``summary``, ``detail`` and, for a diagnostic about one resource
instance, its ``address``) and what a plan would change (``planned_change``:
``change.resource.addr`` and ``change.action``).

A line that is not a JSON object (something the CLI or a plugin wrote before the JSON view took
over, or a crash report) is kept as text. :meth:`Message.lines` renders a message for people:
its ``@message``, and a diagnostic the way Terraform's human view lays it out (``Error:`` and the
summary, the address it is about, the detail), so that a log of a run reads as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "TEXT",
    "Changes",
    "Completed",
    "Diagnostic",
    "Message",
    "Planned",
    "diagnostics",
    "parse",
]

#: The ``type`` of a line that is not a JSON UI message.
TEXT = "text"
#: The ``hook.action`` values of an ``apply_complete`` that changed a resource (``read`` is a
#: data source read during the apply, ``noop`` nothing).
_CHANGING_ACTIONS = frozenset({"create", "update", "delete", "replace"})


@dataclass(frozen=True)
class Diagnostic:
    """A ``diagnostic`` message: ``severity`` (``error`` or ``warning``), what it says and, when
    it is about one resource instance, its ``address`` (``""`` otherwise)."""

    severity: str
    summary: str
    detail: str = ""
    address: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def lines(self) -> list[str]:
        """``Error: <summary>``, ``  with <address>``, then the detail, as Terraform's human view
        shows them (without the source snippet)."""
        head = f"{'Error' if self.is_error else self.severity.capitalize()}: {self.summary}"
        lines = [head.rstrip()]
        if self.address:
            lines.append(f"  with {self.address}")
        lines += [line.rstrip() for line in self.detail.strip("\n").splitlines()]
        return lines


@dataclass(frozen=True)
class Completed:
    """An ``apply_complete`` message: the resource instance, what was done, how long it took."""

    address: str
    action: str
    elapsed_seconds: float | None = None

    @property
    def changed(self) -> bool:
        """Whether it created, updated, replaced or destroyed something (not a data read)."""
        return self.action in _CHANGING_ACTIONS


#: The ``change.action`` values of a ``planned_change`` that change no remote object: a data
#: source read, a resource only moved to another address or only imported (and ``noop``).
_KEEPING_ACTIONS = frozenset({"noop", "read", "move", "import"})


@dataclass(frozen=True, order=True)
class Planned:
    """A ``planned_change`` message: a resource instance and the action a plan proposes for it
    (``create``, ``update``, ``replace``, ``delete``, ``remove`` (forget), ``move``, ...)."""

    address: str
    action: str

    @property
    def changes_remote(self) -> bool:
        """Whether applying it changes (or forgets) the remote object (:data:`_KEEPING_ACTIONS`
        do not)."""
        return self.action not in _KEEPING_ACTIONS


@dataclass(frozen=True)
class Changes:
    """A ``change_summary`` message: the counts of one ``operation`` (``plan``, ``apply`` or
    ``destroy``)."""

    operation: str
    add: int = 0
    change: int = 0
    remove: int = 0
    imported: int = 0


@dataclass(frozen=True)
class Message:
    """One line of a ``-json`` run: its ``type`` (:data:`TEXT` for a line that is not JSON), its
    human ``text`` (``@message``, or the line itself) and what the lifecycle reads from it."""

    type: str
    text: str
    diagnostic: Diagnostic | None = None
    completed: Completed | None = None
    changes: Changes | None = None
    planned: Planned | None = None

    def lines(self) -> list[str]:
        """The message for people: a diagnostic laid out on its lines, else its text."""
        if self.diagnostic is not None:
            return self.diagnostic.lines()
        return [self.text]


def _text(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    return value if isinstance(value, str) else ""


def _count(mapping: Mapping[str, Any], key: str) -> int:
    value = mapping.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _diagnostic(body: Mapping[str, Any]) -> Diagnostic:
    return Diagnostic(
        severity=_text(body, "severity") or "error",
        summary=_text(body, "summary"),
        detail=_text(body, "detail"),
        address=_text(body, "address"),
    )


def _completed(hook: Mapping[str, Any]) -> Completed:
    elapsed = hook.get("elapsed_seconds")
    seconds = float(elapsed) if isinstance(elapsed, int | float) else None
    address = _text(_mapping(hook.get("resource")), "addr")
    return Completed(address, _text(hook, "action"), seconds)


def _changes(body: Mapping[str, Any]) -> Changes:
    return Changes(
        operation=_text(body, "operation"),
        add=_count(body, "add"),
        change=_count(body, "change"),
        remove=_count(body, "remove"),
        imported=_count(body, "import"),
    )


def parse(line: str) -> Message:
    """The message of one line of a ``-json`` run; a line that is not a JSON object is
    :data:`TEXT`. Unknown message types and properties are ignored, as the interface asks of
    its readers for forward compatibility."""
    try:
        document = json.loads(line)
    except ValueError:
        document = None
    if not isinstance(document, Mapping) or not isinstance(document.get("type"), str):
        return Message(TEXT, line)
    kind, text = document["type"], _text(document, "@message")
    if kind == "diagnostic":
        return Message(kind, text, diagnostic=_diagnostic(_mapping(document.get("diagnostic"))))
    if kind == "apply_complete":
        return Message(kind, text, completed=_completed(_mapping(document.get("hook"))))
    if kind == "change_summary":
        return Message(kind, text, changes=_changes(_mapping(document.get("changes"))))
    if kind == "planned_change":
        change = _mapping(document.get("change"))
        address = _text(_mapping(change.get("resource")), "addr")
        return Message(kind, text, planned=Planned(address, _text(change, "action")))
    return Message(kind, text)


def diagnostics(messages: Iterable[Message], *, errors_only: bool = True) -> list[Diagnostic]:
    """The diagnostics among ``messages`` (only the errors, unless ``errors_only`` is False)."""
    return [
        m.diagnostic
        for m in messages
        if m.diagnostic is not None and (m.diagnostic.is_error or not errors_only)
    ]
