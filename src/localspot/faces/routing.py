"""Starlette's router, asked first only of the routes a request could match."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path  # the path Route.matches compares
from starlette.convertors import PathConvertor
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

_EVERY_METHOD = "*"


class _Node:
    __slots__ = ("children", "routes")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        # By method and number of path segments (None: any number), each route with its
        # position in the route list.
        self.routes: dict[tuple[str, int | None], list[tuple[int, BaseRoute]]] = {}


class IndexedRouter(Router):
    """Starlette's router tries every route in turn, a regular expression each: with some
    240 routes a request late in the list tried dozens. Here a request tries only the
    routes whose leading literal path segments its own path starts with, whose methods
    include its own and whose number of segments its path has, in the same order, so the
    first full match is the one Starlette would find. A request none of them takes (404,
    405, a slash redirect) goes through Starlette's own loop, so those answers stay
    Starlette's."""

    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(list(routes), **kwargs)
        self._root = _Node()
        for position, each in enumerate(self.routes):
            node, methods, length = self._root, [_EVERY_METHOD], None
            if isinstance(each, Route) and each.methods:
                methods = sorted(each.methods)
                for segment in _literal_segments(each.path):
                    node = node.children.setdefault(segment, _Node())
                length = _segment_count(each)
            for method in methods:
                node.routes.setdefault((method, length), []).append((position, each))

    def _candidates(self, scope: Scope) -> list[tuple[int, BaseRoute]]:
        method = scope["method"]
        segments = get_route_path(scope).split("/")[1:]
        keys = ((method, len(segments)), (method, None), (_EVERY_METHOD, None))
        node = self._root
        lists = [node.routes[key] for key in keys if key in node.routes]
        for segment in segments:
            child = node.children.get(segment)
            if child is None:
                break
            node = child
            lists += [node.routes[key] for key in keys if key in node.routes]
        if len(lists) == 1:
            return lists[0]
        return sorted((entry for found in lists for entry in found), key=_position)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for _, each in self._candidates(scope):
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


def _segment_count(route: Route) -> int | None:
    """How many segments every path this route matches has; None when a parameter may span
    several (a ``path`` parameter). Other convertors match within one segment."""
    if any(isinstance(c, PathConvertor) for c in route.param_convertors.values()):
        return None
    return len(route.path.split("/")) - 1


def _literal_segments(path: str) -> list[str]:
    """The segments before the first one holding a parameter."""
    segments = []
    for segment in path.split("/")[1:]:
        if "{" in segment:
            break
        segments.append(segment)
    return segments
