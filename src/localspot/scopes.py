"""HubSpot's scope names and the aliases between them (SPEC §1.2, Part B2).

Grants are stored as given. Checks compare canonical names: the ``.v2`` suffix that live portals
use is dropped, and the ticket scopes are folded onto one vocabulary. ``write`` never implies
``read``, and sensitive and highly sensitive scopes never imply each other.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Literal

Access = Literal["read", "write"]
Level = Literal["sensitive", "highly_sensitive"]

STANDARD_SCOPE_OBJECTS = ("contacts", "companies", "deals", "tickets")
# Objects whose scopes follow the crm.objects.<o>.* pattern; tickets are apart.
_CRM_OBJECTS = ("contacts", "companies", "deals", "custom")

_V2 = ".v2"


def canonical(scope: str) -> str:
    scope = scope.strip()
    if scope.endswith(_V2):
        scope = scope[: -len(_V2)]
    return scope


def canonical_set(scopes: Iterable[str]) -> frozenset[str]:
    return frozenset(canonical(s) for s in scopes)


def scope_key(object_type_id: str) -> str:
    """The word scopes use for an object type: ``contacts`` ... or ``custom``."""
    return {"0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-5": "tickets"}.get(
        object_type_id, "custom"
    )


def sensitive_scopes(key: str, level: Level, access: Access) -> list[str]:
    """Scopes, any one of which lets a caller read or write values of that level."""
    if key == "tickets":
        return [f"tickets.{level}", f"crm.objects.tickets.{level}.{access}"]
    return [f"crm.objects.{key}.{level}.{access}"]


def displayed(scope: str) -> str:
    """The name HubSpot prints in ``requiredGranularScopes``: the ``.v2`` form."""
    return scope + _V2


def record_scopes(key: str, access: Access) -> list[str]:
    if key == "tickets":
        return ["tickets"]
    return [f"crm.objects.{key}.{access}"]


@functools.lru_cache(maxsize=1024)  # asked on every definition read; object keys are few
def schema_read_scopes(key: str) -> tuple[str, ...]:
    """Reading property definitions: any scope that touches the object will do."""
    scopes = record_scopes(key, "read") + record_scopes(key, "write")
    scopes += [f"crm.schemas.{key}.read", f"crm.schemas.{key}.write"]
    for level in ("sensitive", "highly_sensitive"):
        for access in ("read", "write"):
            scopes += sensitive_scopes(key, level, access)  # type: ignore[arg-type]
    return tuple(dict.fromkeys(scopes))


def label_read_scopes(key: str) -> list[str]:
    """Reading association label definitions, per object: its records' or its schema's read
    scope. Labels hold no property value, so no sensitive scope is asked for or listed."""
    return [*record_scopes(key, "read"), f"crm.schemas.{key}.read"]


def pipeline_read_scopes(key: str) -> list[str]:
    """Reading deal or ticket pipelines: a scope on the object's records either way, or its
    schema read scope, as HubSpot's pipelines spec lists them (``tickets`` for tickets)."""
    scopes = record_scopes(key, "read") + record_scopes(key, "write")
    return list(dict.fromkeys([*scopes, f"crm.schemas.{key}.read"]))


def schema_write_scopes(key: str) -> list[str]:
    scopes = [f"crm.schemas.{key}.write"]
    if key == "tickets":
        scopes += ["tickets", "tickets.sensitive", "tickets.highly_sensitive"]
    return scopes


def all_scopes() -> list[str]:
    """Every scope LocalSpot knows, as a private app would be granted them."""
    scopes: list[str] = ["oauth", "forms", "forms-uploaded-files", "tickets"]
    for key in _CRM_OBJECTS:
        scopes += [f"crm.objects.{key}.read", f"crm.objects.{key}.write"]
    for key in (*_CRM_OBJECTS[:3], "tickets", "custom"):
        scopes += [f"crm.schemas.{key}.read", f"crm.schemas.{key}.write"]
    for key in (*_CRM_OBJECTS, "tickets"):
        for level in ("sensitive", "highly_sensitive"):
            for access in ("read", "write"):
                scopes += [displayed(s) for s in sensitive_scopes(key, level, access)]  # type: ignore[arg-type]
    return list(dict.fromkeys(scopes))


def is_sensitive_scope(scope: str) -> bool:
    name = canonical(scope)
    return ".sensitive" in name or ".highly_sensitive" in name


KNOWN_SCOPES = canonical_set(all_scopes())
