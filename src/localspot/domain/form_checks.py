"""Checking a form submission (SPEC §6.1): its JSON, its context, consent and field values.

Problems are reported the way HubSpot's submit endpoints do: one ``{message, errorType}`` per
problem, the message naming the field (``Error in 'fields.email'. ...``). No message quotes a
submitted value, whatever the property's sensitivity.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from localspot.domain.values import MAX_STRING, Problem, check, check_email
from localspot.errors import HubSpotError
from localspot.validation import whole_number

MAX_FIELDS = 1000
MAX_VALUE_CHARS = MAX_STRING
MAX_PAGE_URI_CHARS = 2048
_HUTK = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_CONTEXT_TEXT = ("pageName", "pageId", "sfdcCampaignId")
_ENUMERATED_FIELDS = ("dropdown", "radio", "multiple_checkboxes")
# A values.py problem code, as the forms endpoint names it.
_ERROR_TYPES = {
    "INVALID_STRING_LENGTH": "INPUT_TOO_LARGE",
    "INVALID_INTEGER": "INVALID_NUMBER",
    "INVALID_OPTION": "VALUE_NOT_IN_FIELD_DEFINITION",
}


class FormsError(HubSpotError):
    """An error of the forms endpoints, in their body: no category, per-field ``errorType``."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None):
        category = {400: "VALIDATION_ERROR", 404: "OBJECT_NOT_FOUND"}.get(status, "ERROR")
        super().__init__(status, category, message, errors=errors)

    def body(self, correlation_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id,
        }
        if self.errors:
            body["errors"] = self.errors
        return body


@dataclass(frozen=True)
class FieldError:
    where: str  # "fields.email", "fields.0-2/name", "context.hutk", ...
    error_type: str
    detail: str

    def as_item(self) -> dict[str, str]:
        return {"message": f"Error in '{self.where}'. {self.detail}", "errorType": self.error_type}


@dataclass
class Submission:
    """A submission's parts once its JSON has the right shape."""

    values: dict[tuple[str, str], str]  # (objectTypeId, name) -> value, in submitted order
    # How many times each field given more than once was given; ``values`` holds its values
    # joined with ";", which only a multiple-checkbox property takes (see ``validate``).
    repeats: dict[tuple[str, str], int]
    context: dict[str, Any]
    consent: Any
    submitted_at: int | None
    skip_validation: bool
    page_uri: str | None


def _bad_json(what: str) -> FormsError:
    return FormsError(400, f"Invalid input JSON: {what}")


def parse(data: Any) -> Submission:
    """The submission's shape; 400 when a part has the wrong JSON type or too many fields."""
    if not isinstance(data, dict):
        raise _bad_json("expected a JSON object")
    fields = data.get("fields")
    if not isinstance(fields, list):
        raise _bad_json("fields must be a list")
    if len(fields) > MAX_FIELDS:
        raise FormsError(
            400,
            "The request is not valid",
            [
                {
                    "message": f"A submission may hold at most {MAX_FIELDS} field values; "
                    f"this one has {len(fields)}.",
                    "errorType": "MAX_NUMBER_OF_SUBMITTED_VALUES_EXCEEDED",
                }
            ],
        )
    values: dict[tuple[str, str], str] = {}
    repeats: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(fields):
        if not isinstance(entry, dict):
            raise _bad_json(f"fields[{i}] must be an object")
        name, value = entry.get("name"), entry.get("value")
        object_type_id = entry.get("objectTypeId", "0-1")
        if not isinstance(name, str) or not name:
            raise _bad_json(f"fields[{i}].name must be a non-empty string")
        if not isinstance(object_type_id, str):
            raise _bad_json(f"fields[{i}].objectTypeId must be a string")
        if not isinstance(value, str):
            raise _bad_json(f"fields[{i}].value must be a string")
        key = (object_type_id, name)
        if key in values:
            values[key] = f"{values[key]};{value}"
            repeats[key] = repeats.get(key, 1) + 1
        else:
            values[key] = value
    context = data.get("context", {})
    if not isinstance(context, dict):
        raise _bad_json("context must be an object")
    skip = data.get("skipValidation", False)
    if not isinstance(skip, bool):
        raise _bad_json("skipValidation must be true or false")
    page_uri = context.get("pageUri")
    return Submission(
        values=values,
        repeats=repeats,
        context=context,
        consent=data.get("legalConsentOptions"),
        submitted_at=_submitted_at(data.get("submittedAt")),
        skip_validation=skip,
        page_uri=page_uri if isinstance(page_uri, str) else None,
    )


def _submitted_at(raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise _bad_json("submittedAt must be epoch milliseconds")
    text = str(raw)
    ms = whole_number(text, max_digits=15)
    if ms is None or ms <= 0:
        raise _bad_json("submittedAt must be epoch milliseconds")
    return ms


# Validation ---------------------------------------------------------------------------------------


def validate(
    definition: dict[str, Any], submission: Submission, found: dict[str, dict[str, Any]]
) -> list[FieldError]:
    """Every problem of a well-shaped submission against its form and the properties."""
    errors: list[FieldError] = []
    if definition["configuration"].get("recaptchaEnabled"):
        errors.append(
            FieldError(
                "form.configuration",
                "FORM_HAS_RECAPTCHA_ENABLED",
                "This form has reCAPTCHA turned on, so it does not take API submissions.",
            )
        )
    form_fields = {
        (f["objectTypeId"], f["name"]): f
        for group in definition["fieldGroups"]
        for f in group["fields"]
    }
    for key, value in submission.values.items():
        field = form_fields.get(key)
        prop = found.get(key[0], {}).get(key[1])
        if field is None or prop is None:
            errors.append(
                FieldError(
                    field_path(key), "FIELD_NOT_IN_FORM_DEFINITION", "Field is not in the form"
                )
            )
            continue
        given = submission.repeats.get(key, 1)
        if given > 1 and not _takes_several(prop):
            errors.append(_repeated(key, given))
            continue
        problem = _value_problem(field, prop, value, submission.skip_validation)
        if problem is not None:
            errors.append(FieldError(field_path(key), *problem))
    if not submission.skip_validation:
        for key, field in form_fields.items():
            if field.get("required") and not submission.values.get(key):
                detail = f"Required field '{_label(key)}' is missing"
                errors.append(FieldError(field_path(key), "REQUIRED_FIELD", detail))
    errors += _context_errors(submission.context)
    errors += _consent_errors(definition.get("legalConsentOptions") or {}, submission.consent)
    return errors


def field_path(key: tuple[str, str]) -> str:
    """Where a field is, as error messages name it: ``fields.email``, ``fields.0-2/name``."""
    return f"fields.{_label(key)}"


def _label(key: tuple[str, str]) -> str:
    object_type_id, name = key
    return name if object_type_id == "0-1" else f"{object_type_id}/{name}"


def _takes_several(prop: Any) -> bool:
    """A field named more than once carries several choices of one multiple-checkbox
    property; any other property holds one value."""
    return bool(prop.type == "enumeration" and prop.field_type == "checkbox")


def _repeated(key: tuple[str, str], given: int) -> FieldError:
    # HubSpot documents no answer to a single-value field given twice; keeping the last value
    # would drop the others unseen. MAX_NUMBER_OF_SUBMITTED_VALUES_EXCEEDED is the type of
    # HubSpot's list about too many values (inferred: its documented use is the 1,000 fields).
    return FieldError(
        field_path(key),
        "MAX_NUMBER_OF_SUBMITTED_VALUES_EXCEEDED",
        f"The field takes one value; it was given {given}",
    )


def _value_problem(
    field: dict[str, Any], prop: Any, value: str, skip: bool
) -> tuple[str, str] | None:
    if value == "":
        return None
    if len(value) > MAX_VALUE_CHARS:
        return "INPUT_TOO_LARGE", f"Value is longer than {MAX_VALUE_CHARS} characters"
    is_email = field.get("fieldType") == "email" or (
        field["objectTypeId"] == "0-1" and field["name"] == "email"
    )
    if is_email:
        if not check_email(value):
            return "INVALID_EMAIL", "Invalid email address"
        blocked = (field.get("validation") or {}).get("blockedEmailDomains") or []
        domain = value.strip().rsplit("@", 1)[-1].lower()
        if not skip and domain in {str(d).lower() for d in blocked}:
            return "BLOCKED_EMAIL", "Email addresses of this domain are not accepted"
    options = field.get("options")
    if not skip and options and field.get("fieldType") in _ENUMERATED_FIELDS:
        allowed = {o.get("value") for o in options}
        if any(v not in allowed for v in value.split(";") if v):
            return "VALUE_NOT_IN_FIELD_DEFINITION", "Value is not one of the field's options"
    # Checked as if sensitive, so that the result never carries the value itself.
    result = check(prop, value, None, sensitive=True)
    if isinstance(result, Problem):
        # TODO(forms): dates and datetimes have no errorType of their own in HubSpot's list.
        error_type = _ERROR_TYPES.get(result.error, "INVALID_METADATA")
        return error_type, _DETAIL.get(error_type, "Value is not valid for this field")
    return None


_DETAIL = {
    "INPUT_TOO_LARGE": f"Value is longer than {MAX_VALUE_CHARS} characters",
    "INVALID_NUMBER": "Value is not a valid number",
    "VALUE_NOT_IN_FIELD_DEFINITION": "Value is not one of the property's options",
}


def _context_errors(context: dict[str, Any]) -> list[FieldError]:
    errors = []
    if "hutk" in context:
        hutk = context["hutk"]
        if not isinstance(hutk, str) or not _HUTK.match(hutk):
            errors.append(FieldError("context.hutk", "INVALID_HUTK", "Invalid hutk"))
    if "pageUri" in context and not _valid_uri(context["pageUri"]):
        errors.append(FieldError("context.pageUri", "INVALID_PAGE_URI", "Invalid page URI"))
    if "ipAddress" in context and not _valid_ip(context["ipAddress"]):
        errors.append(FieldError("context.ipAddress", "INVALID_IP_ADDRESS", "Invalid IP address"))
    key = context.get("goToWebinarWebinarKey")
    if key is not None and not (isinstance(key, str) and key.isdigit()):
        errors.append(
            FieldError(
                "context.goToWebinarWebinarKey",
                "INVALID_GOTOWEBINAR_WEBINAR_KEY",
                "Invalid GoToWebinar webinar key",
            )
        )
    for name in _CONTEXT_TEXT:
        if name in context and not isinstance(context[name], str):
            errors.append(FieldError(f"context.{name}", "INVALID_METADATA", "Must be a string"))
    return errors


def _valid_uri(raw: Any) -> bool:
    if not isinstance(raw, str) or len(raw) > MAX_PAGE_URI_CHARS:
        return False
    try:
        parts = urlsplit(raw)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in raw


def _valid_ip(raw: Any) -> bool:
    if not isinstance(raw, str):
        return False
    try:
        ipaddress.ip_address(raw.strip())
    except ValueError:
        return False
    return True


def _consent_errors(form_consent: dict[str, Any], given: Any) -> list[FieldError]:
    form_type = form_consent.get("type", "none")
    if given is None:
        if form_type == "explicit_consent_to_process":
            return [_missing_processing_consent()]
        return []
    where = "legalConsentOptions"
    if not isinstance(given, dict) or len({"consent", "legitimateInterest"} & set(given)) != 1:
        return [
            FieldError(
                where,
                "INVALID_LEGAL_OPTION_FORMAT",
                "Give either consent or legitimateInterest, as an object",
            )
        ]
    if "legitimateInterest" in given:
        return _legitimate_interest_errors(given["legitimateInterest"])
    return _consent_object_errors(form_type, given["consent"])


def _missing_processing_consent() -> FieldError:
    return FieldError(
        "legalConsentOptions.consent.consentToProcess",
        "MISSING_PROCESSING_CONSENT",
        "This form requires consent to process",
    )


def _consent_object_errors(form_type: str, consent: Any) -> list[FieldError]:
    where = "legalConsentOptions.consent"
    if not isinstance(consent, dict) or not isinstance(consent.get("consentToProcess"), bool):
        return [
            FieldError(where, "INVALID_LEGAL_OPTION_FORMAT", "consentToProcess must be a boolean")
        ]
    errors = []
    if form_type == "explicit_consent_to_process" and not consent["consentToProcess"]:
        errors.append(_missing_processing_consent())
    text = consent.get("text")
    if consent["consentToProcess"] and not (isinstance(text, str) and text.strip()):
        errors.append(
            FieldError(
                f"{where}.text",
                "MISSING_PROCESSING_CONSENT_TEXT",
                "Consent to process needs the text the visitor agreed to",
            )
        )
    communications = consent.get("communications", [])
    if not isinstance(communications, list):
        return [*errors, FieldError(where, "INVALID_LEGAL_OPTION_FORMAT", "Bad communications")]
    seen: set[int] = set()
    for item in communications:
        if not isinstance(item, dict) or not isinstance(item.get("subscriptionTypeId"), int):
            errors.append(
                FieldError(
                    f"{where}.communications",
                    "INVALID_LEGAL_OPTION_FORMAT",
                    "Each communication needs a value, a subscriptionTypeId and a text",
                )
            )
            continue
        if item["subscriptionTypeId"] in seen:
            errors.append(
                FieldError(
                    f"{where}.communications",
                    "DUPLICATE_SUBSCRIPTION_TYPE_ID",
                    "A subscription type appears more than once",
                )
            )
        seen.add(item["subscriptionTypeId"])
        text = item.get("text")
        if not (isinstance(text, str) and text.strip()):
            errors.append(
                FieldError(
                    f"{where}.communications",
                    "MISSING_COMMUNICATION_CONSENT_TEXT",
                    "Each communication consent needs its text",
                )
            )
    return errors


def _legitimate_interest_errors(given: Any) -> list[FieldError]:
    where = "legalConsentOptions.legitimateInterest"
    if not isinstance(given, dict) or not isinstance(given.get("subscriptionTypeId"), int):
        return [
            FieldError(where, "INVALID_LEGAL_OPTION_FORMAT", "subscriptionTypeId must be a number")
        ]
    text = given.get("text")
    if not (isinstance(text, str) and text.strip()):
        return [
            FieldError(
                f"{where}.text",
                "MISSING_LEGITIMATE_INTEREST_TEXT",
                "Legitimate interest needs its text",
            )
        ]
    return []
