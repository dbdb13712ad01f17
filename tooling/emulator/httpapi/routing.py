"""Which stage and which route of an HTTP API a request is for, by API Gateway's rules.

Stage: if the first path segment names a deployed stage (other than ``$default``), that stage,
and the segment is not part of the path routes are matched against; otherwise the
``$default`` stage if one is deployed; otherwise there is nothing to serve (404).

Route ("Working with routes for HTTP APIs"): the most specific match wins. A route matches if
its method is the request's or ``ANY`` and its path matches segment by segment, where
``{name}`` matches one segment and a final ``{name+}`` one or more. Specificity is compared
from the left: a literal segment beats ``{name}``, which beats ``{name+}``; with equal paths an
explicit method beats ``ANY``. The ``$default`` route catches whatever matched nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from tooling.emulator.httpapi.ports import HttpApi, Route, Stage

__all__ = [
    "DEFAULT_ROUTE_KEY",
    "DEFAULT_STAGE",
    "RouteMatch",
    "StagedPath",
    "resolve_stage",
    "select_route",
]

DEFAULT_STAGE = "$default"
DEFAULT_ROUTE_KEY = "$default"

_LITERAL, _PARAMETER, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class StagedPath:
    """A request path split into the stage it is for and the path routes are matched against
    (``route_path``, without the stage segment, percent-encoded as received)."""

    stage: Stage
    route_path: str


@dataclass(frozen=True)
class RouteMatch:
    """The route chosen for a request and its decoded path parameters."""

    route: Route
    path_parameters: dict[str, str]


def resolve_stage(api: HttpApi, path: str) -> StagedPath | None:
    """The stage ``path`` (everything after the API id, e.g. ``/dev/trades/1``) is for."""
    first, slash, rest = path.lstrip("/").partition("/")
    named = api.stage(unquote(first)) if first else None
    if named is not None and named.name != DEFAULT_STAGE:
        return StagedPath(stage=named, route_path="/" + rest if slash else "/")
    default = api.stage(DEFAULT_STAGE)
    if default is None:
        return None
    return StagedPath(stage=default, route_path=path or "/")


def select_route(routes: tuple[Route, ...], method: str, route_path: str) -> RouteMatch | None:
    """The most specific route for ``method`` and ``route_path``, or the ``$default`` route,
    or None when nothing matches."""
    segments = _segments(route_path)
    best: tuple[tuple[int, ...], int, RouteMatch] | None = None
    for route in routes:
        if route.route_key == DEFAULT_ROUTE_KEY:
            continue
        route_method, _, pattern = route.route_key.partition(" ")
        if route_method not in (method.upper(), "ANY"):
            continue
        matched = _match(_segments(pattern), segments)
        if matched is None:
            continue
        ranks, parameters = matched
        key = (ranks, 1 if route_method == "ANY" else 0, RouteMatch(route, parameters))
        if best is None or key[:2] < best[:2]:
            best = key
    if best is not None:
        return best[2]
    fallback = next((r for r in routes if r.route_key == DEFAULT_ROUTE_KEY), None)
    return RouteMatch(fallback, {}) if fallback is not None else None


def _segments(path: str) -> list[str]:
    """``/a/b`` → ``["a", "b"]``; the root path has no segments."""
    return [] if path in ("", "/") else path.removeprefix("/").split("/")


def _match(
    pattern: list[str], segments: list[str]
) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """How specifically ``pattern`` matches ``segments`` (a rank per pattern segment) and the
    decoded path parameters it binds, or None."""
    ranks: list[int] = []
    parameters: dict[str, str] = {}
    for index, part in enumerate(pattern):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[index:]
            if index != len(pattern) - 1 or not rest:
                return None
            parameters[part[1:-2]] = unquote("/".join(rest))
            ranks.append(_GREEDY)
            return tuple(ranks), parameters
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            if not segments[index]:
                return None
            parameters[part[1:-1]] = unquote(segments[index])
            ranks.append(_PARAMETER)
        elif unquote(segments[index]) == part:
            ranks.append(_LITERAL)
        else:
            return None
    if len(segments) != len(pattern):
        return None
    return tuple(ranks), parameters
