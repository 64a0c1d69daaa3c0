"""The public Python surface is small and deliberate: changing it should be a visible act."""

from __future__ import annotations

import inspect

import localspot


def test_public_names_are_pinned() -> None:
    assert localspot.__all__ == ["App", "LocalSpotServer", "Runtime", "Settings", "create_app"]
    for name in localspot.__all__:
        assert getattr(localspot, name) is not None
    exported = {n for n in dir(localspot) if not n.startswith("_")}
    # Subpackages appear as attributes once imported; everything else public is in __all__.
    modules = {n for n in exported if inspect.ismodule(getattr(localspot, n))}
    assert exported - modules == set(localspot.__all__)


def test_test_server_helpers() -> None:
    server = localspot.LocalSpotServer
    for helper in ("start", "stop", "close", "control", "new_account", "new_app", "set_scopes"):
        assert callable(getattr(server, helper)), helper
    for attribute in ("advance_clock", "log_text"):
        assert callable(getattr(server, attribute)), attribute
    assert isinstance(inspect.getattr_static(server, "pid"), property)
    assert [f for f in localspot.App.__dataclass_fields__] == [
        "hub_id",
        "app_id",
        "token",
        "scopes",
    ]
