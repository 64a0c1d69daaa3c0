"""The sensitive-data policy: the one place that decides who may see or change what.

Given a caller (account tier, granted scopes, API generation) and property definitions, it
answers: allowed, 403 with the scopes that would suffice, hidden, or REDACTED. Domain code asks
it before any value enters or leaves the store; faces never filter values themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from localspot import scopes as sc
from localspot.errors import HubSpotError, forbidden, missing_scopes

Generation = Literal["v3", "legacy", "forms", "webhook", "control"]
Sensitivity = Literal["non_sensitive", "sensitive", "highly_sensitive"]

SENSITIVITIES: tuple[Sensitivity, ...] = ("non_sensitive", "sensitive", "highly_sensitive")
ENTERPRISE = "enterprise"
TIERS = ("free", "starter", "professional", "enterprise")


class SensitiveAccessDenied(HubSpotError):
    """403 MISSING_SCOPES for a sensitive or highly sensitive scope.

    It carries what the audit trail records about the attempt (never a value); the route
    wrapper in ``faces/http.py`` records it once the refused request has rolled back.
    """

    def __init__(
        self,
        caller: Caller,
        acceptable: list[str],
        object_type_id: str,
        property_names: list[str],
        access: str,
        record_ids: list[int] | None = None,
    ) -> None:
        base = missing_scopes([sc.displayed(s) for s in acceptable])
        super().__init__(
            base.status, base.category, base.message, errors=base.errors, links=base.links
        )
        self.caller = caller
        self.object_type_id = object_type_id
        self.property_names = property_names
        self.access = access
        self.record_ids = record_ids or []


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


def require_sensitive(
    caller: Caller,
    object_type_id: str,
    sensitivity: str,
    access: sc.Access,
    property_names: list[str],
    record_ids: list[int] | None = None,
) -> None:
    """The sensitive scope for reading or writing ``property_names``; an audited 403 without."""
    if sensitivity == "non_sensitive":
        return
    acceptable = sc.sensitive_scopes(sc.scope_key(object_type_id), sensitivity, access)  # type: ignore[arg-type]
    if not caller.has_any(acceptable):
        raise SensitiveAccessDenied(
            caller, acceptable, object_type_id, property_names, access, record_ids
        )


def check_definition_write(
    caller: Caller, object_type_id: str, sensitivity: str, property_names: list[str] | None = None
) -> None:
    """Creating, editing or archiving a definition; sensitive ones need the sensitive write."""
    key = sc.scope_key(object_type_id)
    caller.require_any(sc.schema_write_scopes(key))
    if sensitivity == "non_sensitive":
        return
    require_enterprise(caller.tier)
    require_sensitive(caller, object_type_id, sensitivity, "write", property_names or [])
