"""Form definitions, as the marketing Forms API v3 holds them (``/marketing/v3/forms``).

A form is a list of field groups whose fields each map to a contact (``0-1``) or company
(``0-2``) property; sensitive properties may be form fields too, and only the secure
submission endpoint accepts values for them. The definition is kept as HubSpot's JSON, filled
out with HubSpot's defaults so every read has the same shape.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from sqlalchemy import Connection, insert, select, update

from localspot import policy
from localspot.clock import iso
from localspot.domain import accounts, object_types, property_lookup
from localspot.errors import not_found, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store.schema import forms
from localspot.validation import parse_input, whole_number

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_FIELDS_PER_GROUP = 3
DEFAULT_INLINE_MESSAGE = "Thanks for submitting the form."
FIELD_TYPES = (
    "datepicker",
    "dropdown",
    "email",
    "file",
    "mobile_phone",
    "multi_line_text",
    "multiple_checkboxes",
    "number",
    "payment_link_radio",
    "phone",
    "radio",
    "single_checkbox",
    "single_line_text",
)
CONSENT_TYPES = (
    "none",
    "implicit_consent_to_process",
    "explicit_consent_to_process",
    "legitimate_interest",
)


class _In(BaseModel):
    # Unknown keys are kept: HubSpot's definition has more than LocalSpot checks.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Option(_In):
    label: StrictStr
    value: StrictStr
    display_order: StrictInt = Field(-1, alias="displayOrder")
    description: StrictStr = ""


class FormField(_In):
    object_type_id: Literal["0-1", "0-2"] = Field(alias="objectTypeId")
    name: StrictStr = Field(min_length=1, max_length=100)
    label: StrictStr = ""
    required: StrictBool = False
    hidden: StrictBool = False
    field_type: Literal[FIELD_TYPES] = Field(alias="fieldType")  # type: ignore[valid-type]
    options: list[Option] | None = None
    dependent_fields: list[DependentField] = Field(default_factory=list, alias="dependentFields")


class DependentField(_In):
    """A field shown when its parent's value meets ``dependentCondition``."""

    dependent_condition: dict[str, Any] | None = Field(None, alias="dependentCondition")
    dependent_field: FormField = Field(alias="dependentField")


FormField.model_rebuild()


class FieldGroup(_In):
    group_type: Literal["default_group", "progressive", "queued"] = Field(
        "default_group", alias="groupType"
    )
    rich_text_type: Literal["text", "image"] = Field("text", alias="richTextType")
    fields: list[FormField] = Field(default_factory=list, max_length=MAX_FIELDS_PER_GROUP)


class PostSubmitAction(_In):
    type: Literal["thank_you", "redirect_url"]
    value: StrictStr


class Configuration(_In):
    post_submit_action: PostSubmitAction | None = Field(None, alias="postSubmitAction")
    recaptcha_enabled: StrictBool | None = Field(None, alias="recaptchaEnabled")


class CommunicationCheckbox(_In):
    subscription_type_id: StrictInt = Field(alias="subscriptionTypeId")
    label: StrictStr = ""
    required: StrictBool = False


class LegalConsent(_In):
    type: Literal[CONSENT_TYPES]  # type: ignore[valid-type]
    communications_checkboxes: list[CommunicationCheckbox] | None = Field(
        None, alias="communicationsCheckboxes"
    )


class FormCreate(_In):
    name: StrictStr = Field(min_length=1, max_length=400)
    form_type: Literal["hubspot"] = Field(alias="formType")
    field_groups: list[FieldGroup] = Field(default_factory=list, alias="fieldGroups")
    configuration: Configuration | None = None
    display_options: dict[str, Any] | None = Field(None, alias="displayOptions")
    legal_consent_options: LegalConsent | None = Field(None, alias="legalConsentOptions")
    archived: StrictBool = False


class FormPatch(_In):
    name: StrictStr | None = Field(None, min_length=1, max_length=400)
    field_groups: list[FieldGroup] | None = Field(None, alias="fieldGroups")
    configuration: Configuration | None = None
    display_options: dict[str, Any] | None = Field(None, alias="displayOptions")
    legal_consent_options: LegalConsent | None = Field(None, alias="legalConsentOptions")
    archived: StrictBool | None = None


# Defaults HubSpot fills in ------------------------------------------------------------------


def _default_configuration() -> dict[str, Any]:
    return {
        "language": "en",
        "cloneable": True,
        "postSubmitAction": {"type": "thank_you", "value": DEFAULT_INLINE_MESSAGE},
        "editable": True,
        "archivable": True,
        "recaptchaEnabled": False,
        "notifyContactOwner": False,
        "notifyRecipients": [],
        "createNewContactForNewEmail": False,
        "prePopulateKnownValues": True,
        "allowLinkToResetKnownValues": False,
        "lifecycleStages": [],
    }


def _default_display_options() -> dict[str, Any]:
    return {"renderRawHtml": False, "theme": "default_style", "submitButtonText": "Submit"}


def _field(field: FormField) -> dict[str, Any]:
    out = field.model_dump(by_alias=True, exclude_none=True)
    out.setdefault("label", field.name)
    out.setdefault("dependentFields", [])
    return out


def _groups(groups: list[FieldGroup]) -> list[dict[str, Any]]:
    out = []
    for group in groups:
        dumped = group.model_dump(by_alias=True, exclude_none=True)
        dumped["fields"] = [_field(f) for f in group.fields]
        out.append(dumped)
    return out


def _dump(model: BaseModel | None) -> dict[str, Any]:
    return model.model_dump(by_alias=True, exclude_none=True) if model is not None else {}


# Checks against the account's properties ------------------------------------------------------


# Attributes of HubSpot's field model that hold a value of the field's property (the default
# of a visible or hidden field, the preselected options of an enumerated one) rather than
# describe the field. Unknown keys are kept (see _In), so value-like ones count too.
VALUE_ATTRIBUTES = ("defaultValue", "defaultValues", "value", "values", "selectedOptions")
# A dependent field's condition compares its parent's value with these.
CONDITION_VALUE_ATTRIBUTES = ("value", "values", "rangeStart", "rangeEnd")


def _carries(value: Any) -> bool:
    # HubSpot's own definitions carry "defaultValue": "" on fields without a default.
    return value is not None and value != "" and value != [] and value != {}


def carried_values(field: FormField) -> list[str]:
    """The value-bearing attributes ``field`` sets, by name (for errors: never the values)."""
    extra = field.model_extra or {}
    carried = [name for name in VALUE_ATTRIBUTES if _carries(extra.get(name))]
    for i, dependent in enumerate(field.dependent_fields):
        condition = dependent.dependent_condition or {}
        carried += [
            f"dependentFields[{i}].dependentCondition.{name}"
            for name in CONDITION_VALUE_ATTRIBUTES
            if _carries(condition.get(name))
        ]
    return carried


def _with_dependents(field: FormField) -> list[FormField]:
    out = [field]
    for dependent in field.dependent_fields:
        out += _with_dependents(dependent.dependent_field)
    return out


def check_fields(conn: Connection, hub_id: int, groups: list[FieldGroup]) -> None:
    """Every field (dependent ones too) names an active, writable property of its object, and
    carries no value of a sensitive one; a top-level field appears once."""
    seen: set[tuple[str, str]] = set()
    wanted: dict[str, list[FormField]] = {}
    for group in groups:
        for field in group.fields:
            key = (field.object_type_id, field.name)
            if key in seen:
                raise validation_error(
                    f"Field {field.object_type_id}/{field.name} appears more than once",
                    context={"name": [field.name]},
                )
            seen.add(key)
            for each in _with_dependents(field):
                wanted.setdefault(each.object_type_id, []).append(each)
    for object_type_id, fields in wanted.items():
        object_type = object_types.resolve(conn, hub_id, object_type_id)
        found = property_lookup.definitions_by_name(
            conn, hub_id, object_type, [f.name for f in fields]
        )
        for field in fields:
            definition = found.get(field.name)
            if definition is None:
                raise validation_error(
                    f"Property {field.name} does not exist on {object_type.name}",
                    context={"name": [field.name], "objectTypeId": [object_type_id]},
                )
            if definition.read_only_value or definition.calculation_formula:
                raise validation_error(
                    f"Property {field.name} is read only and cannot be a form field",
                    context={"name": [field.name]},
                )
            _check_options(field, definition)
            policy.check_form_field_values(
                object_type_id, field.name, definition.data_sensitivity, carried_values(field)
            )


def _check_options(field: FormField, definition: Any) -> None:
    if field.options is None or definition.type != "enumeration":
        return
    allowed = {o["value"] for o in definition.options}
    unknown = [o.value for o in field.options if o.value not in allowed]
    if unknown and not definition.external_options:
        raise validation_error(
            f"Options of field {field.name} are not options of its property",
            context={"name": [field.name]},
        )


# Reading and writing ----------------------------------------------------------------------------


def render(row: Any) -> dict[str, Any]:
    definition = row.definition
    out: dict[str, Any] = {
        "id": row.guid,
        "name": row.name,
        "formType": row.form_type,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "archived": row.archived,
        "fieldGroups": definition["fieldGroups"],
        "configuration": definition["configuration"],
        "displayOptions": definition["displayOptions"],
        "legalConsentOptions": definition["legalConsentOptions"],
    }
    if row.archived and row.archived_at is not None:
        out["archivedAt"] = iso(row.archived_at)
    return out


def find(conn: Connection, hub_id: int | None, guid: str, archived: bool | None = False) -> Any:
    """A form by guid (in ``hub_id`` when given); 404 when unknown or not in that state."""
    query = select(forms).where(forms.c.guid == guid.lower())
    if hub_id is not None:
        query = query.where(forms.c.hub_id == hub_id)
    row = conn.execute(query).first()
    if row is None or (archived is not None and row.archived != archived):
        raise not_found(f"Form {guid} does not exist", context={"formId": [guid]})
    return row


def create_form(rt: Runtime, caller: Caller, data: dict[str, Any]) -> dict[str, Any]:
    policy.check_forms_access(caller)
    body = parse_input(FormCreate, data)
    now = rt.clock.now()
    definition = {
        "fieldGroups": _groups(body.field_groups),
        "configuration": {**_default_configuration(), **_dump(body.configuration)},
        "displayOptions": {**_default_display_options(), **(body.display_options or {})},
        "legalConsentOptions": _dump(body.legal_consent_options) or {"type": "none"},
    }
    guid = str(uuid.uuid4())
    with rt.store.write() as conn:
        check_fields(conn, caller.hub_id, body.field_groups)
        conn.execute(
            insert(forms).values(
                guid=guid,
                hub_id=caller.hub_id,
                name=body.name,
                form_type=body.form_type,
                definition=definition,
                archived=body.archived,
                archived_at=now if body.archived else None,
                created_at=now,
                updated_at=now,
            )
        )
        return render(find(conn, caller.hub_id, guid, archived=None))


def get_form(rt: Runtime, caller: Caller, guid: str, archived: bool = False) -> dict[str, Any]:
    policy.check_forms_access(caller)
    with rt.store.read() as conn:
        return render(find(conn, caller.hub_id, guid, archived))


def list_forms(
    rt: Runtime,
    caller: Caller,
    limit: int,
    after: str | None,
    archived: bool,
    form_types: list[str] | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of forms, oldest first; the cursor is the last form's row id."""
    policy.check_forms_access(caller)
    if not 1 <= limit <= MAX_LIMIT:
        raise validation_error(
            f"limit must be between 1 and {MAX_LIMIT}", context={"limit": [str(limit)]}
        )
    if form_types and not {"hubspot", "all"} & set(form_types):
        return [], None
    start = 0
    if after:
        cursor = whole_number(after)
        if cursor is None:
            raise validation_error("after is not a valid paging cursor", context={"after": [after]})
        start = cursor
    with rt.store.read() as conn:
        rows = list(
            conn.execute(
                select(forms)
                .where(forms.c.hub_id == caller.hub_id, forms.c.archived == archived)
                .where(forms.c.id > start)
                .order_by(forms.c.id)
                .limit(limit + 1)
            )
        )
    next_after = str(rows[limit - 1].id) if len(rows) > limit else None
    return [render(r) for r in rows[:limit]], next_after


def update_form(
    rt: Runtime, caller: Caller, guid: str, data: dict[str, Any], replace: bool
) -> dict[str, Any]:
    """PATCH merges the given parts; PUT replaces the definition (HubSpot's ``replace``)."""
    policy.check_forms_access(caller)
    now = rt.clock.now()
    with rt.store.write() as conn:
        row = find(conn, caller.hub_id, guid, archived=None)
        if replace:
            body = parse_input(FormCreate, {k: v for k, v in data.items() if k not in _READ_ONLY})
            patch = FormPatch.model_validate(body.model_dump(by_alias=True))
            definition: dict[str, Any] = {
                "fieldGroups": [],
                "configuration": _default_configuration(),
                "displayOptions": _default_display_options(),
                "legalConsentOptions": {"type": "none"},
            }
        else:
            patch = parse_input(FormPatch, {k: v for k, v in data.items() if k not in _READ_ONLY})
            definition = dict(row.definition)
        if patch.field_groups is not None:
            check_fields(conn, caller.hub_id, patch.field_groups)
            definition["fieldGroups"] = _groups(patch.field_groups)
        if patch.configuration is not None:
            definition["configuration"] = {
                **definition["configuration"],
                **_dump(patch.configuration),
            }
        if patch.display_options is not None:
            definition["displayOptions"] = {
                **definition["displayOptions"],
                **patch.display_options,
            }
        if patch.legal_consent_options is not None:
            definition["legalConsentOptions"] = _dump(patch.legal_consent_options)
        values: dict[str, Any] = {"definition": definition, "updated_at": now}
        if patch.name is not None:
            values["name"] = patch.name
        if patch.archived is not None and patch.archived != row.archived:
            values["archived"] = patch.archived
            values["archived_at"] = now if patch.archived else None
        conn.execute(update(forms).where(forms.c.id == row.id).values(**values))
        return render(find(conn, caller.hub_id, guid, archived=None))


_READ_ONLY = ("id", "createdAt", "updatedAt", "archivedAt")


def archive_form(rt: Runtime, caller: Caller, guid: str) -> None:
    policy.check_forms_access(caller)
    now = rt.clock.now()
    with rt.store.write() as conn:
        row = find(conn, caller.hub_id, guid)
        conn.execute(
            update(forms)
            .where(forms.c.id == row.id)
            .values(archived=True, archived_at=now, updated_at=now)
        )


def console_caller(rt: Runtime, hub_id: int) -> Caller:
    """The control plane acts for an account as its forms editor would in HubSpot's UI."""
    with rt.store.read() as conn:
        account = accounts.get_account(conn, hub_id)
    return Caller(
        hub_id=hub_id,
        tier=account["tier"],
        scopes=frozenset(policy.FORMS_SCOPES),
        generation="control",
    )
