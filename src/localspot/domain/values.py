"""Property values: HubSpot's per-type rules for what a write may hold, and how it is stored.

Every value travels as a string, as HubSpot returns it. A value is checked against its
definition and turned into the stored forms: the string, a lower-cased prefix for text search,
and a number for numeric and date comparison. Error messages quote a value only when the
property is not sensitive.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from localspot.errors import HubSpotError
from localspot.store.schema import VALUE_NORM_CHARS
from localspot.validation import whole_number

MAX_STRING = 65_536
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MS_PER_DAY = 86_400_000
_MIN_MS = int(datetime(1, 1, 2, tzinfo=UTC).timestamp() * 1000)
_MAX_MS = int(datetime(9999, 12, 30, tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True)
class Problem:
    """One invalid value, in HubSpot's ``Property values were not valid`` list."""

    name: str
    error: str
    message: str
    value: str | None  # None when the property is sensitive

    def as_item(self, hub_id: int) -> dict[str, Any]:
        item: dict[str, Any] = {
            "isValid": False,
            "message": self.message,
            "error": self.error,
            "name": self.name,
            "localizedErrorMessage": self.message,
        }
        if self.value is not None:
            item["propertyValue"] = self.value
        item["portalId"] = hub_id
        return item


def invalid_values(hub_id: int, problems: list[Problem]) -> HubSpotError:
    """HubSpot's 400 for bad values: the list is JSON inside the message, as HubSpot sends it."""
    items = [p.as_item(hub_id) for p in problems]
    listed = json.dumps(items, separators=(",", ":"))
    return HubSpotError(
        400,
        "VALIDATION_ERROR",
        f"Property values were not valid: {listed}",
        errors=[
            {"message": p.message, "code": p.error, "context": {"propertyName": [p.name]}}
            for p in problems
        ],
        validation_results=items,
    )


class Stored(NamedTuple):
    """A checked value in the forms the store keeps (a tuple: a batch checks thousands)."""

    text: str
    norm: str | None
    num: float | None

    @property
    def is_cleared(self) -> bool:
        return self.text == ""


CLEARED = Stored("", None, None)


def coerce(raw: Any) -> str | None:
    """JSON input to HubSpot's string form; None for JSON null (accepted, changes nothing)."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return _plain_number(raw)
    if isinstance(raw, str):
        return raw
    raise TypeError


def _plain_number(raw: float) -> str:
    """A JSON number as plain decimal text: 1e22 as 10000000000000000000000, 1e-7 as 0.0000001.

    ``repr`` gives the shortest digits that read back as the same float, so no binary
    artefacts (``int(1e308)`` ends in ...858368); Decimal lays them out without an exponent.
    """
    if not math.isfinite(raw):
        raise TypeError
    text = format(Decimal(repr(raw)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def check(definition: Any, text: str, previous: str | None, sensitive: bool) -> Stored | Problem:
    """The stored form of ``text`` for ``definition``, or the problem with it."""
    if text == "":
        return CLEARED
    shown = None if sensitive else text
    subject = "The value" if sensitive else text
    kind = definition.type
    if kind in ("string", "phone_number"):
        if len(text) > MAX_STRING:
            return Problem(
                definition.name,
                "INVALID_STRING_LENGTH",
                f"Value must be at most {MAX_STRING} characters.",
                shown,
            )
        return Stored(text, text.lower()[:VALUE_NORM_CHARS], None)
    if kind == "number":
        number = parse_number(text)
        if number is None:
            return Problem(
                definition.name, "INVALID_INTEGER", f"{subject} was not a valid number.", shown
            )
        return Stored(text.strip(), None, number)
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            return Problem(
                definition.name,
                "INVALID_OPTION",
                f"{subject} was not one of the allowed options: [true, false]",
                shown,
            )
        return Stored(lowered, lowered, 1.0 if lowered == "true" else 0.0)
    if kind == "date":
        return _date(definition.name, text, subject, shown)
    if kind == "datetime":
        moment = parse_datetime_ms(text)
        if moment is None:
            return Problem(
                definition.name,
                "INVALID_LONG",
                f"{subject} is not a valid datetime: use ISO 8601 or epoch ms.",
                shown,
            )
        return Stored(ms_to_iso(moment), None, float(moment))
    if kind == "enumeration":
        return _enumeration(definition, text, previous, subject, shown)
    return Stored(text, text.lower()[:VALUE_NORM_CHARS], None)


# A decimal number in ASCII, as a JSON or Java client writes one. ``float`` alone also reads
# "1_000", Unicode digits ("٣") and "infinity", which no HubSpot client sends as a number.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_number(text: str) -> float | None:
    """The finite number ``text`` spells as a decimal (surrounding whitespace aside), or None."""
    text = text.strip()
    if not _DECIMAL.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def _date(name: str, text: str, subject: str, shown: str | None) -> Stored | Problem:
    text = text.strip()
    day: date | None = None
    ms = _epoch_ms(text)
    if ms is not None:
        if ms % _MS_PER_DAY != 0:
            return Problem(
                name,
                "INVALID_DATE",
                f"{subject} is not midnight UTC; a date property takes a date at midnight UTC.",
                shown,
            )
        day = datetime.fromtimestamp(ms / 1000, UTC).date()
    else:
        try:
            day = date.fromisoformat(text)
            datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        except (ValueError, OverflowError):
            return Problem(
                name,
                "INVALID_DATE",
                f"{subject} is not a valid date: use YYYY-MM-DD or epoch milliseconds "
                "at midnight UTC.",
                shown,
            )
    ms = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return Stored(day.isoformat(), None, float(ms))


def parse_datetime_ms(text: str) -> int | None:
    """Epoch ms from epoch-ms digits or an ISO 8601 date or datetime; None when neither."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return _epoch_ms(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        ms = int(moment.timestamp() * 1000)
    except (ValueError, OverflowError):
        return None
    return ms if _MIN_MS <= ms <= _MAX_MS else None


def _epoch_ms(text: str) -> int | None:
    """Signed epoch-ms digits within the years datetime can show (1 to 9999), or None."""
    number = whole_number(text.removeprefix("-"))
    if number is None:
        return None
    ms = -number if text.startswith("-") else number
    return ms if _MIN_MS <= ms <= _MAX_MS else None


@functools.lru_cache(maxsize=4096)
def ms_to_iso(ms: int) -> str:
    # Cached: a page renders the same few timestamps several times per record.
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _enumeration(
    definition: Any, text: str, previous: str | None, subject: str, shown: str | None
) -> Stored | Problem:
    if definition.external_options:
        return Stored(text, text[:VALUE_NORM_CHARS], None)
    allowed = [o["value"] for o in definition.options]
    multi = definition.field_type == "checkbox"
    if multi:
        appending = text.startswith(";")
        chosen = [v for v in text.split(";") if v != ""]
        if appending and previous:
            chosen = [v for v in previous.split(";") if v] + chosen
        chosen = list(dict.fromkeys(chosen))
    else:
        chosen = [text]
    wrong = [v for v in chosen if v not in allowed]
    if wrong:
        what = subject if shown is None else wrong[0]
        return Problem(
            definition.name,
            "INVALID_OPTION",
            f"{what} was not one of the allowed options: [{', '.join(allowed)}]",
            shown,
        )
    joined = ";".join(chosen)
    # Enumerations compare case-sensitively in search, so the exact value is the norm.
    return Stored(joined, joined[:VALUE_NORM_CHARS], None)


def check_email(text: str) -> bool:
    return bool(_EMAIL.match(text.strip()))
