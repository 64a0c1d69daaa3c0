"""The indexed router picks the route Starlette's own loop would, for every route we serve."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Match, Route

from localspot.app import _routes
from localspot.faces.routing import IndexedRouter

ROUTES = _routes()
ROUTER = IndexedRouter(ROUTES)
# Values that fit each parameter's convertor, some of which are also literal segments
# elsewhere ("batch", "search", "groups"), to make routes compete.
VALUES = ["contacts", "2026-03", "123", "batch", "search", "groups", "0-1", "read"]


def _filled(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "2026-03" if "apiversion" in m[0] else value, path)


def _linear_pick(scope: dict[str, object]) -> Route | None:
    for each in ROUTES:
        match, _ = each.matches(scope)
        if match is Match.FULL:
            assert isinstance(each, Route)
            return each
    return None


def _indexed_pick(scope: dict[str, object]) -> Route | None:
    for _, each in ROUTER._candidates(scope):
        match, _ = each.matches(scope)
        if match is Match.FULL:
            assert isinstance(each, Route)
            return each
    return None


def _paths() -> list[str]:
    paths = {_filled(r.path, v) for r in ROUTES if isinstance(r, Route) for v in VALUES}
    paths |= {p + "/" for p in list(paths)}
    return sorted(paths | {"/", "/crm/v3", "/nothing/here", "/crm/v3/properties"})


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"])
def test_same_route_as_starlette(method: str) -> None:
    for path in _paths():
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        assert _indexed_pick(scope) is _linear_pick(scope), (method, path)
