"""The sensitive-data policy: the one place that decides who may see or change what.

Given a caller (account tier, granted scopes, API generation) and property definitions, it
answers: allowed, 403 with the scopes that would suffice, hidden, or REDACTED. Domain code asks
it before any value enters or leaves the store; faces never filter values themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from localspot import scopes as sc
from localspot.errors import HubSpotError, forbidden, missing_scopes, validation_error

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
        refusal: HubSpotError | None = None,
    ) -> None:
        base = refusal or missing_scopes([sc.displayed(s) for s in acceptable])
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

    def for_request(self, correlation_id: str) -> Caller:
        """This caller, for one request. A remembered caller is copied on every request, and
        ``dataclasses.replace`` (which calls ``__init__`` through introspection) cost several
        times this."""
        copied = object.__new__(Caller)
        copied.__dict__.update(self.__dict__, correlation_id=correlation_id)
        return copied

    def require_any(self, acceptable: Sequence[str]) -> None:
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
    # Sensitive data is an Enterprise feature: an account that drops below it keeps its grants
    # on paper, but they open nothing until it is Enterprise again.
    refusal = enterprise_required() if caller.tier != ENTERPRISE else None
    if refusal or not caller.has_any(acceptable):
        raise SensitiveAccessDenied(
            caller, acceptable, object_type_id, property_names, access, record_ids, refusal
        )


def check_definition_write(
    caller: Caller, object_type_id: str, sensitivity: str, property_names: list[str] | None = None
) -> None:
    """Creating, editing or archiving a definition; sensitive ones need the sensitive write."""
    key = sc.scope_key(object_type_id)
    caller.require_any(sc.schema_write_scopes(key))
    require_sensitive(caller, object_type_id, sensitivity, "write", property_names or [])


def check_retype(caller: Caller, object_type_id: str, sensitivity: str, name: str) -> None:
    """Changing a definition's type or field type checks every stored value against the new
    one, and a refusal names the records whose values do not fit. For a sensitive property
    that answers questions about its values (options that are guesses, a type that only some
    values fit), so it needs the read scope of its level besides the write."""
    require_sensitive(caller, object_type_id, sensitivity, "read", [name])


# Custom object schemas (SPEC §3.5) --------------------------------------------------------------


def check_allows_sensitive(caller: Caller) -> None:
    """Letting a custom object hold sensitive properties is the Enterprise feature itself, so
    turning ``allowsSensitiveProperties`` on below Enterprise is refused (SPEC Part B17)."""
    require_enterprise(caller.tier)


def check_schema_display(roles: dict[str, list[str]], sensitivity: dict[str, str]) -> None:
    """400 when a display or searchable role of a schema names a sensitive property.

    ``roles`` maps a schema field (``primaryDisplayProperty``...) to the names it holds;
    ``sensitivity`` maps property names to their level. Display properties are returned by
    every plain read, but sensitive values are returned only when named (SPEC §1.3, Part B1),
    and ``query`` never searches sensitive values (Part B3).
    """
    offending: dict[str, list[str]] = {}
    for role, names in roles.items():
        for name in names:
            if is_protected(sensitivity.get(name, "non_sensitive")):
                offending.setdefault(name, []).append(role)
    if offending:
        names = sorted(offending)
        raise validation_error(
            "Sensitive and highly sensitive properties cannot be display or searchable "
            "properties of a schema: "
            + "; ".join(f"{n} ({', '.join(offending[n])})" for n in names),
            context={"propertyName": names},
        )


def returned_by_default(sensitivity: str) -> bool:
    """Whether a property may be among those a read returns unasked: only non-sensitive ones,
    whatever a (possibly older) schema names as display properties."""
    return sensitivity == "non_sensitive"


def check_schema_archive(caller: Caller, object_type_id: str, definitions: Iterable[Any]) -> None:
    """Archiving or purging a schema takes its properties with it, so it needs what archiving
    each of them would: the object's sensitive (and highly sensitive) write scope per level."""
    by_level: dict[str, list[str]] = {}
    for d in definitions:
        by_level.setdefault(d.data_sensitivity, []).append(d.name)
    for level in ("non_sensitive", "sensitive", "highly_sensitive"):
        if level in by_level or level == "non_sensitive":
            check_definition_write(caller, object_type_id, level, sorted(by_level.get(level, [])))


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
    by_level: dict[str, list[str]] = {}
    for d in definitions:
        by_level.setdefault(d.data_sensitivity, []).append(d.name)
    for level in ("sensitive", "highly_sensitive"):
        if level in by_level:
            require_sensitive(caller, object_type_id, level, access, sorted(by_level[level]))


def may_read_value(caller: Caller, object_type_id: str, sensitivity: str) -> bool:
    """Whether a value may appear in a response to this caller (after a write, say)."""
    if sensitivity == "non_sensitive":
        return True
    if caller.generation != "v3" or caller.tier != ENTERPRISE:
        return False
    key = sc.scope_key(object_type_id)
    return caller.has_any(sc.sensitive_scopes(key, sensitivity, "read"))  # type: ignore[arg-type]


def may_skip_unchanged(caller: Caller, object_type_id: str, sensitivity: str) -> bool:
    """Whether a write of the value a record already holds may change nothing.

    Skipping it shows: the modified date stays, and no history entry or event is made. A
    caller who may write a value but not read it would learn from that whether a guess was
    right, so for such a caller every write of the value counts.
    """
    return may_read_value(caller, object_type_id, sensitivity)


def may_name_holder(caller: Caller, object_type_id: str, sensitivity: str) -> bool:
    """Whether a unique-value clash may name the record holding the value.

    The holder's id answers "which record has this value?", so a caller who may not read the
    value must not learn it: guessing values would otherwise find their holders.
    """
    return may_read_value(caller, object_type_id, sensitivity)


def is_protected(sensitivity: str) -> bool:
    """Whether values of this level are sealed at rest and kept out of plaintext columns."""
    return sensitivity != "non_sensitive"


# Webhooks (SPEC §1.3, Part B7) ----------------------------------------------------------------

WEBHOOK_REDACTED = "REDACTED"


def webhook_property_value(sensitivity: str, value: str) -> str | None:
    """What a propertyChange event may carry: the value, ``REDACTED``, or None for no event.

    Sensitive values are announced but never sent; highly sensitive properties raise no events.
    """
    if sensitivity == "highly_sensitive":
        return None
    if sensitivity == "sensitive":
        return WEBHOOK_REDACTED
    return value


def check_webhook_subscription(object_type_id: str, property_name: str, sensitivity: str) -> None:
    """Subscriptions on highly sensitive properties are refused (B7), and on sensitive ones of
    other objects than contacts, companies, deals and tickets (the guide names only those);
    sensitive ones need no sensitive scope, since their values arrive redacted."""
    if sensitivity == "highly_sensitive":
        raise validation_error(
            f"Property {property_name} is highly sensitive; "
            "webhook subscriptions are not supported for highly sensitive properties."
        )
    if sensitivity == "sensitive" and sc.scope_key(object_type_id) == "custom":
        raise validation_error(
            f"Property {property_name} is sensitive; webhook subscriptions to sensitive "
            "properties are supported on contacts, companies, deals and tickets only.",
            context={"propertyName": [property_name]},
        )


# Legacy API generations (contacts v1, companies v2, deals v1, properties v1/v2) ------------------
# Sensitive data is served only by the v3 generation. Older generations never show a sensitive
# value and never change one, whatever the token's scopes, yet answer with their usual success
# (SPEC §1.3, Part B8); their search refuses callers that could see sensitive data (Part B9).

LEGACY_SENSITIVITY = {"non_sensitive": "none", "sensitive": "standard", "highly_sensitive": "high"}
SENSITIVITY_FROM_LEGACY = {legacy: level for level, legacy in LEGACY_SENSITIVITY.items()}


def is_legacy(caller: Caller) -> bool:
    return caller.generation == "legacy"


def legacy_visible(definitions: Iterable[Any]) -> list[Any]:
    """The definitions whose values a legacy response may carry: non-sensitive ones only."""
    return [d for d in definitions if d.data_sensitivity == "non_sensitive"]


def legacy_writable(given: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """``given`` without the sensitive properties, which a legacy write silently drops.

    Unknown names stay, so that the write reports them as HubSpot does.
    """
    return {
        name: value
        for name, value in given.items()
        if name not in definitions or definitions[name].data_sensitivity == "non_sensitive"
    }


def writable(caller: Caller, given: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """What a write by this caller may apply: everything for v3, no sensitive key for legacy."""
    return legacy_writable(given, definitions) if is_legacy(caller) else given


def check_legacy_search(caller: Caller, object_type_id: str) -> None:
    """403 for a legacy search by a token that holds any sensitive scope on the object."""
    key = sc.scope_key(object_type_id)
    for level in ("sensitive", "highly_sensitive"):
        for access in ("read", "write"):
            if caller.has_any(sc.sensitive_scopes(key, level, access)):  # type: ignore[arg-type]
                raise forbidden(
                    f"This token holds sensitive data scopes for {key}, and searching sensitive "
                    "data is supported only by CRM Search API v3 or later. Use "
                    f"POST /crm/v3/objects/{key}/search instead."
                )


# Forms ------------------------------------------------------------------------------------------

FORMS_SCOPES = ["forms"]
SUBMISSION_READ_SCOPES = ["forms", "forms-uploaded-files"]
# Objects a form field may write to: contacts and companies.
FORM_OBJECTS = ("0-1", "0-2")


def check_forms_access(caller: Caller) -> None:
    """Form definitions and secure submissions need the ``forms`` scope."""
    caller.require_any(FORMS_SCOPES)


def check_form_field_values(
    object_type_id: str, field_name: str, sensitivity: str, carried: list[str]
) -> None:
    """400 when a form field of a sensitive property carries a value in the form definition.

    A definition is readable with the ``forms`` scope alone, shown to every visitor of the
    form and stored as plain JSON, so a default or hidden value there would hand a sensitive
    value to callers without any sensitive scope. ``carried`` names the value-bearing
    attributes the field sets; the message names them and the field, never the value.
    """
    if not is_protected(sensitivity) or not carried:
        return
    level = sensitivity.replace("_", " ")
    raise validation_error(
        f"Field {object_type_id}/{field_name} maps to a {level} property and may not carry a "
        f"value in the form definition ({', '.join(carried)}). Sensitive values reach records "
        "only through the secure submission endpoint.",
        context={"name": [field_name], "objectTypeId": [object_type_id]},
    )


def check_submissions_read(caller: Caller) -> None:
    caller.require_any(SUBMISSION_READ_SCOPES)


def form_writer(hub_id: int, tier: str, submitter: Caller | None) -> Caller:
    """Who writes a submission's values to records.

    A form writes contacts and companies without the CRM object scopes, as HubSpot's forms do.
    Sensitive values come only through the secure endpoint, and only with the submitting
    token's own sensitive write scopes; the open endpoint (``submitter`` None) carries none.
    """
    granted = {s for o in FORM_OBJECTS for s in sc.record_scopes(sc.scope_key(o), "write")}
    if submitter is not None:
        granted |= {s for s in submitter.scopes if sc.is_sensitive_scope(s)}
    return Caller(
        hub_id=hub_id,
        tier=tier,
        scopes=frozenset(granted),
        generation="forms",
        app_id=submitter.app_id if submitter else None,
        token_id=submitter.token_id if submitter else None,
        user_id=submitter.user_id if submitter else None,
        correlation_id=submitter.correlation_id if submitter else None,
    )


def check_form_values(
    submitter: Caller | None, writer: Caller, object_type_id: str, definitions: Iterable[Any]
) -> None:
    """403 when a submission carries a sensitive value it may not.

    The open endpoint never accepts one; the secure endpoint needs the object's sensitive
    (or highly sensitive) write scope. Messages name fields only, never values.
    """
    protected = sorted({d.name for d in definitions if is_protected(d.data_sensitivity)})
    if not protected:
        return
    if submitter is None:
        raise forbidden(
            "This form submission includes sensitive data, which only the authenticated "
            "secure submission endpoint accepts. Fields: " + ", ".join(protected)
        )
    check_values(writer, object_type_id, definitions, "write")


def visible_submission_values(
    entries: Iterable[dict[str, Any]], sensitivity: dict[tuple[str, str], str]
) -> list[dict[str, Any]]:
    """A stored submission's values as any reader may see them (SPEC Part B8).

    Entries of sensitive or highly sensitive properties are dropped whole, whatever the
    reader's scopes. ``sensitivity`` maps (objectTypeId, property name) to its level now.
    """
    return [
        e
        for e in entries
        if not is_protected(sensitivity.get((e["objectTypeId"], e["name"]), "non_sensitive"))
    ]


# Associations -----------------------------------------------------------------------------------
# An association carries no property value, so no sensitive scope is ever involved.


def check_association_read(caller: Caller, from_type_id: str, to_type_id: str) -> None:
    """Listing associations needs the read scope of both object types."""
    check_record_access(caller, from_type_id, "read")
    check_record_access(caller, to_type_id, "read")


def may_read_associations(caller: Caller, from_type_id: str, to_type_id: str) -> bool:
    """Whether a record read may list associated ids of ``to_type_id`` (legacy reads, which
    leave out what they may not show rather than refuse the whole read)."""
    return caller.has_any(sc.record_scopes(sc.scope_key(from_type_id), "read")) and (
        caller.has_any(sc.record_scopes(sc.scope_key(to_type_id), "read"))
    )


def check_association_write(caller: Caller, from_type_id: str, to_type_id: str) -> None:
    """Associating changes the record written from; the other side need only be readable."""
    check_record_access(caller, from_type_id, "write")
    check_record_access(caller, to_type_id, "read")


def check_association_definition_read(caller: Caller, from_type_id: str, to_type_id: str) -> None:
    """A pair's labels: a read scope (records or schema) on each side. The 403 names the side
    that lacks one, with only scopes that suffice there."""
    for type_id in dict.fromkeys((from_type_id, to_type_id)):
        caller.require_any(sc.label_read_scopes(sc.scope_key(type_id)))


def check_association_definition_write(caller: Caller, from_type_id: str) -> None:
    """Labels are part of the object's schema, as properties are."""
    caller.require_any(sc.schema_write_scopes(sc.scope_key(from_type_id)))


# Pipelines ------------------------------------------------------------------------------------


def check_pipeline_read(caller: Caller, object_type_id: str) -> None:
    """Deal pipelines need a deals scope, ticket pipelines a tickets one."""
    caller.require_any(sc.pipeline_read_scopes(sc.scope_key(object_type_id)))


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
