"""Form submissions: the secure and open submit endpoints, and reading submissions back.

A valid submission writes its contact (found or created by email) and company values through
the same record writer as the Objects API, with history source ``FORM``, and stores the
submission, all in one transaction. The stored submission never holds a sensitive value: those
live only on the record, sealed, and the submission names which such fields were submitted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from localspot import policy
from localspot.domain import (
    accounts,
    association_links,
    forms,
    property_lookup,
    record_batches,
    record_store,
    record_writes,
)
from localspot.domain.form_checks import (
    FieldError,
    FormsError,
    Submission,
    field_path,
    parse,
    validate,
)
from localspot.domain.object_types import COMPANIES, CONTACTS, ObjectType
from localspot.domain.record_store import Source
from localspot.errors import HubSpotError, UniqueValueTaken, forbidden, validation_error
from localspot.policy import Caller
from localspot.runtime import Runtime
from localspot.store.schema import (
    VALUE_NORM_CHARS,
    form_submissions,
    record_values,
    records,
)
from localspot.store.schema import forms as form_rows
from localspot.validation import whole_number

MAX_READ_LIMIT = 50
DEFAULT_READ_LIMIT = 20
_ATTEMPTS = 2
_OBJECTS: dict[str, ObjectType] = {"0-1": CONTACTS, "0-2": COMPANIES}


@dataclass(frozen=True)
class _Target:
    """The form and account a submission goes to."""

    form: Any
    tier: str


def _target(conn: Connection, hub_id: int, guid: str) -> _Target:
    try:
        account = accounts.get_account(conn, hub_id)
        form = forms.find(conn, hub_id, guid)
    except HubSpotError as exc:
        if exc.status == 404:
            raise FormsError(404, f"Form {guid} was not found in portal {hub_id}") from None
        raise
    return _Target(form, account["tier"])


def submit(
    rt: Runtime, submitter: Caller | None, hub_id: int, guid: str, data: Any
) -> dict[str, Any]:
    """Submits ``data`` to a form; ``submitter`` is None on the open (unauthenticated) endpoint.

    Returns HubSpot's success body: the inline message or the redirect of the form.
    """
    if submitter is not None:
        policy.check_forms_access(submitter)
        if submitter.hub_id != hub_id:
            raise forbidden(f"The access token does not belong to portal {hub_id}")
    submission = parse(data)
    for attempt in range(_ATTEMPTS):
        try:
            target = _write_submission(rt, submitter, hub_id, guid, submission)
            break
        except IntegrityError:
            # Two first submissions with one new email raced; the retry finds the contact.
            if attempt == _ATTEMPTS - 1:
                raise
    return _success(target.form.definition)


def _write_submission(
    rt: Runtime, submitter: Caller | None, hub_id: int, guid: str, submission: Submission
) -> _Target:
    with rt.store.write() as conn:
        target = _target(conn, hub_id, guid)
        writer = policy.form_writer(hub_id, target.tier, submitter)
        definitions = _definitions(conn, hub_id, submission)
        for object_type_id, found in definitions.items():
            named = [found[n] for (o, n) in submission.values if o == object_type_id and n in found]
            policy.check_form_values(submitter, writer, object_type_id, named)
        errors = validate(target.form.definition, submission, definitions)
        if errors:
            raise FormsError(400, "The request is not valid", [e.as_item() for e in errors])
        contact_id = _write_records(rt, conn, writer, guid, submission, definitions)
        _store(rt, conn, target.form, submission, definitions, contact_id)
    return target


def _definitions(
    conn: Connection, hub_id: int, submission: Submission
) -> dict[str, dict[str, Any]]:
    """Property definitions of the submitted fields, by object type id."""
    out: dict[str, dict[str, Any]] = {}
    for object_type_id, object_type in _OBJECTS.items():
        names = [n for (o, n) in submission.values if o == object_type_id]
        if names:
            out[object_type_id] = property_lookup.definitions_by_name(
                conn, hub_id, object_type, names
            )
    return out


def _write_records(
    rt: Runtime,
    conn: Connection,
    writer: Caller,
    guid: str,
    submission: Submission,
    definitions: dict[str, dict[str, Any]],
) -> int | None:
    """Writes the contact (by email) and the company values; returns the contact's id."""
    source = Source("FORM", guid)
    given = {
        o: {n: v for (oo, n), v in submission.values.items() if oo == o and v != ""}
        for o in _OBJECTS
    }
    contact_id = None
    email = given["0-1"].pop("email", None)
    if email:
        contacts = record_writes.Writer(rt, conn, writer, CONTACTS, source)
        with _in_forms_terms("0-1"):
            contact_id, _ = record_batches.upsert(contacts, "email", email, given["0-1"])
    # TODO(forms): a submission without email writes no contact, so its contact values
    # (sensitive ones included) are dropped; HubSpot would use the hutk cookie instead.
    if given["0-2"]:
        companies = record_writes.Writer(rt, conn, writer, COMPANIES, source)
        with _in_forms_terms("0-2"):
            _write_company(rt, conn, writer, companies, given["0-2"], contact_id)
    return contact_id


@contextmanager
def _in_forms_terms(object_type_id: str) -> Iterator[None]:
    """A record write's 400 becomes the forms error body, its fields named under the object."""
    try:
        yield
    except HubSpotError as exc:
        if exc.status != 400:
            raise
        raise _as_forms_error(exc, object_type_id) from None


def _write_company(
    rt: Runtime,
    conn: Connection,
    writer: Caller,
    companies: record_writes.Writer,
    given: dict[str, Any],
    contact_id: int | None,
) -> None:
    """As HubSpot's forms do: the company with the submitted domain is updated (else one is
    made), and associated with the submitting contact."""
    domain = str(given.get("domain", "")).strip().lower()
    found = None
    if domain and "domain" in companies.definitions:
        found = conn.scalar(
            select(record_values.c.record_id)
            .join(records, records.c.id == record_values.c.record_id)
            .where(
                record_values.c.property_id == companies.definitions["domain"].id,
                record_values.c.value_norm == domain[:VALUE_NORM_CHARS],
                records.c.archived.is_(False),
                records.c.merged_into.is_(None),
            )
            .order_by(records.c.id)
            .limit(1)
        )
    if found is not None:
        row = record_store.find(conn, writer.hub_id, COMPANIES, found)
        companies.update(row, given)
        company_id = found
    else:
        [company_id] = companies.create([given])
    if contact_id is not None:
        linker = association_links.Linker(rt, conn, writer)
        linker.link(CONTACTS, contact_id, COMPANIES, company_id, [])
        linker.finish()


def _as_forms_error(exc: HubSpotError, object_type_id: str) -> FormsError:
    """A record write's 400 in the forms error body: one entry per property it names, never
    the CRM's message (which may quote a value or name another record).

    HubSpot's forms errorType list (SPEC §6.1) has no type for a value another record holds;
    INVALID_METADATA is the list's type for a value the property refuses that no narrower
    type names (as for dates here), so a unique value clash takes it too (inferred).
    """
    if isinstance(exc, UniqueValueTaken):
        names = [exc.property_name]
        detail = "Another record already has this value, and the property holds unique values"
    else:
        names = list((exc.context or {}).get("propertyName", []))
        names += [n for e in exc.errors or [] for n in e.get("context", {}).get("propertyName", [])]
        detail = "The value was not accepted by the CRM"
    where = [field_path((object_type_id, n)) for n in dict.fromkeys(names)] or ["fields"]
    items = [FieldError(w, "INVALID_METADATA", detail).as_item() for w in where]
    return FormsError(400, "The request is not valid", items)


def _store(
    rt: Runtime,
    conn: Connection,
    form: Any,
    submission: Submission,
    definitions: dict[str, dict[str, Any]],
    contact_id: int | None,
) -> None:
    kept: list[dict[str, str]] = []
    sensitive: list[str] = []
    for (object_type_id, name), value in submission.values.items():
        definition = definitions[object_type_id][name]
        if policy.is_protected(definition.data_sensitivity):
            sensitive.append(f"{object_type_id}/{name}")
        elif value != "":
            kept.append({"objectTypeId": object_type_id, "name": name, "value": value})
    now_ms = rt.clock.millis()
    conn.execute(
        insert(form_submissions).values(
            form_id=form.id,
            conversion_id=str(uuid.uuid4()),
            submitted_ms=submission.submitted_at or now_ms,
            received_ms=now_ms,
            page_url=submission.page_uri,
            values=kept,
            sensitive_fields=sensitive,
            contact_id=contact_id,
        )
    )


def _success(definition: dict[str, Any]) -> dict[str, Any]:
    action = definition["configuration"].get("postSubmitAction") or {}
    if action.get("type") == "redirect_url":
        return {"redirectUri": action.get("value", "")}
    return {"inlineMessage": action.get("value") or forms.DEFAULT_INLINE_MESSAGE}


# Reading submissions ----------------------------------------------------------------------------


def list_submissions(
    rt: Runtime, caller: Caller, guid: str, limit: int, after: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of a form's submissions, newest first, without any sensitive entry (Part B8)."""
    policy.check_submissions_read(caller)
    if not 1 <= limit <= MAX_READ_LIMIT:
        raise validation_error(
            f"limit must be between 1 and {MAX_READ_LIMIT}", context={"limit": [str(limit)]}
        )
    query = select(form_submissions)
    if after:
        cursor = whole_number(after)
        if cursor is None:
            raise validation_error("after is not a valid paging cursor", context={"after": [after]})
        query = query.where(form_submissions.c.id < cursor)
    with rt.store.read() as conn:
        form = forms.find(conn, caller.hub_id, guid, archived=None)
        rows = list(
            conn.execute(
                query.where(form_submissions.c.form_id == form.id)
                .order_by(form_submissions.c.id.desc())
                .limit(limit + 1)
            )
        )
        sensitivity = _sensitivity(conn, caller.hub_id, rows[:limit])
    next_after = str(rows[limit - 1].id) if len(rows) > limit else None
    return [_render(r, sensitivity) for r in rows[:limit]], next_after


def _sensitivity(conn: Connection, hub_id: int, rows: list[Any]) -> dict[tuple[str, str], str]:
    """Today's sensitivity of every property the rows name."""
    out: dict[tuple[str, str], str] = {}
    for object_type_id, object_type in _OBJECTS.items():
        names = sorted(
            {e["name"] for r in rows for e in r.values if e["objectTypeId"] == object_type_id}
        )
        if names:
            found = property_lookup.definitions_by_name(conn, hub_id, object_type, names)
            out.update({(object_type_id, n): d.data_sensitivity for n, d in found.items()})
    return out


def _render(row: Any, sensitivity: dict[tuple[str, str], str]) -> dict[str, Any]:
    values = policy.visible_submission_values(row.values, sensitivity)
    return {
        "conversionId": row.conversion_id,
        "submittedAt": row.submitted_ms,
        "values": [{"name": _label(e), "value": e["value"]} for e in values],
        "pageUrl": row.page_url or "",
    }


def _label(entry: dict[str, str]) -> str:
    if entry["objectTypeId"] == "0-1":
        return entry["name"]
    return f"{entry['objectTypeId']}/{entry['name']}"


def purge_account(conn: Connection, hub_id: int) -> None:
    """Deletes the submissions of every form of an account; the forms stay (account reset)."""
    of_account = select(form_rows.c.id).where(form_rows.c.hub_id == hub_id)
    conn.execute(delete(form_submissions).where(form_submissions.c.form_id.in_(of_account)))
