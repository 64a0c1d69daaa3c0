"""The sensitive-data policy: the one place that decides who may see or change what.

Given a caller (account tier, granted scopes, API generation) and property definitions, it
answers: allowed, 403 with the scopes that would suffice, hidden, or REDACTED. Domain code asks
it before any value enters or leaves the store; faces never filter values themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from localspot import scopes as sc
from localspot.errors import HubSpotError, forbidden, missing_scopes, validation_error

Generation = Literal["v3", "legacy", "forms", "webhook", "control"]
Sensitivity = Literal["non_sensitive", "sensitive", "highly_sensitive"]

SENSITIVITIES: tuple[Sensitivity, ...] = ("non_sensitive", "sensitive", "highly_sensitive")
ENTERPRISE = "enterprise"
TIERS = ("free", "starter", "professional", "enterprise")


@dataclass(frozen=True)
class Caller:
    """Who is calling, as far as access decisions go."""

    hub_id: int
    tier: str
    scopes: frozenset[str] = field(default_factory=frozenset)  # canonical names
    generation: Generation = "v3"
    app_id: int | None = None
    token_id: str | None = None
    user_id: int | None = None
    correlation_id: str | None = None

    def has_any(self, acceptable: Iterable[str]) -> bool:
        return any(sc.canonical(s) in self.scopes for s in acceptable)

    def require_any(self, acceptable: list[str]) -> None:
        if not self.has_any(acceptable):
            raise missing_scopes(
                [sc.displayed(s) if sc.is_sensitive_scope(s) else s for s in acceptable]
            )


def enterprise_required() -> HubSpotError:
    return forbidden(
        "Sensitive data requires a HubSpot Enterprise subscription. "
        "This account's subscription does not include it."
    )


def require_enterprise(tier: str) -> None:
    if tier != ENTERPRISE:
        raise enterprise_required()


def check_scope_grant(tier: str, granted: Iterable[str]) -> None:
    """Granting a sensitive scope outside Enterprise is refused (SPEC Part B17)."""
    if any(sc.is_sensitive_scope(s) for s in granted):
        require_enterprise(tier)


# Property definitions -------------------------------------------------------------------------


def check_definition_read(caller: Caller, object_type_id: str) -> None:
    """Definitions are readable with any scope on the object, sensitive ones included."""
    caller.require_any(sc.schema_read_scopes(sc.scope_key(object_type_id)))


def check_definition_write(caller: Caller, object_type_id: str, sensitivity: str) -> None:
    """Creating, editing or archiving a definition; sensitive ones need the sensitive write."""
    key = sc.scope_key(object_type_id)
    caller.require_any(sc.schema_write_scopes(key))
    if sensitivity == "non_sensitive":
        return
    require_enterprise(caller.tier)
    caller.require_any(sc.sensitive_scopes(key, sensitivity, "write"))  # type: ignore[arg-type]


# Record values ----------------------------------------------------------------------------------


def check_record_access(caller: Caller, object_type_id: str, access: sc.Access) -> None:
    """The object's base read or write scope, before any value is looked at."""
    caller.require_any(sc.record_scopes(sc.scope_key(object_type_id), access))


def check_values(
    caller: Caller, object_type_id: str, definitions: Iterable[Any], access: sc.Access
) -> None:
    """403 unless the caller may read or write every sensitive value among ``definitions``.

    One level at a time: the error lists the scopes that would each grant the first level
    the caller lacks.
    """
    levels = {d.data_sensitivity for d in definitions} - {"non_sensitive"}
    key = sc.scope_key(object_type_id)
    for level in ("sensitive", "highly_sensitive"):
        if level in levels:
            caller.require_any(sc.sensitive_scopes(key, level, access))  # type: ignore[arg-type]


def may_read_value(caller: Caller, object_type_id: str, sensitivity: str) -> bool:
    """Whether a value may appear in a response to this caller (after a write, say)."""
    if sensitivity == "non_sensitive":
        return True
    if caller.generation != "v3":
        return False
    key = sc.scope_key(object_type_id)
    return caller.has_any(sc.sensitive_scopes(key, sensitivity, "read"))  # type: ignore[arg-type]


def is_protected(sensitivity: str) -> bool:
    """Whether values of this level are sealed at rest and kept out of plaintext columns."""
    return sensitivity != "non_sensitive"


# Search ---------------------------------------------------------------------------------------


def check_search(caller: Caller, object_type_id: str, definitions: Iterable[Any]) -> None:
    """Filtering on, sorting by or returning properties in a search (SPEC §1.3, Part B3).

    Each sensitive property needs the object's read scope of its level (403 otherwise).
    Search never works over highly sensitive values: with the scope the answer is a 400.
    """
    named = list(definitions)
    check_values(caller, object_type_id, named, "read")
    highly = sorted({d.name for d in named if d.data_sensitivity == "highly_sensitive"})
    if highly:
        raise validation_error(
            "Search does not support highly sensitive properties: "
            f"{', '.join(highly)} cannot be used in filters, sorts or properties.",
            errors=[
                {
                    "message": "search does not support highly sensitive properties",
                    "code": "HIGHLY_SENSITIVE_PROPERTY",
                    "context": {"propertyName": highly},
                }
            ],
        )


def matched_by_query(sensitivity: str) -> bool:
    """Whether search's free-text ``query`` looks at values of this level: never at sensitive
    or highly sensitive ones, whatever the caller's scopes (SPEC Part B3)."""
    return sensitivity == "non_sensitive"
