"""Starlette's router, asked first only of the routes a request could match."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path  # the path Route.matches compares
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

_EVERY_METHOD = "*"


class _Node:
    __slots__ = ("children", "routes")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        # By method: (position in the route list, route).
        self.routes: dict[str, list[tuple[int, BaseRoute]]] = {}


class IndexedRouter(Router):
    """Starlette's router tries every route in turn, a regular expression each: with some
    two hundred routes a request late in the list tried dozens. Here a request tries only
    the routes whose leading literal path segments its own path starts with and whose
    methods include its own, in the same order, so the first full match is the one
    Starlette would find. A request none of them takes (404, 405, a slash redirect) goes
    through Starlette's own loop, so those answers stay Starlette's."""

    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(list(routes), **kwargs)
        self._root = _Node()
        for position, each in enumerate(self.routes):
            node, methods = self._root, [_EVERY_METHOD]
            if isinstance(each, Route) and each.methods:
                methods = sorted(each.methods)
                for segment in _literal_segments(each.path):
                    node = node.children.setdefault(segment, _Node())
            for method in methods:
                node.routes.setdefault(method, []).append((position, each))

    def _candidates(self, scope: Scope) -> list[BaseRoute]:
        method = scope["method"]
        found: list[tuple[int, BaseRoute]] = []
        node: _Node | None = self._root
        segments = get_route_path(scope).split("/")[1:]
        depth = 0
        while node is not None:
            found += node.routes.get(method, ())
            found += node.routes.get(_EVERY_METHOD, ())
            node = node.children.get(segments[depth]) if depth < len(segments) else None
            depth += 1
        found.sort(key=_position)
        return [each for _, each in found]

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for each in self._candidates(scope):
                match, child_scope = each.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope["route"] = each
                    scope.update(child_scope)
                    await each.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)


def _position(entry: tuple[int, BaseRoute]) -> int:
    return entry[0]


def _literal_segments(path: str) -> list[str]:
    """The segments before the first one holding a parameter."""
    segments = []
    for segment in path.split("/")[1:]:
        if "{" in segment:
            break
        segments.append(segment)
    return segments
