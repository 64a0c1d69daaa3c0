"""Input validation with pydantic, failing with HubSpot's 400 body."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, StrictInt, ValidationError
from pydantic_core import PydanticCustomError

from localspot.errors import HubSpotError, validation_error

M = TypeVar("M", bound=BaseModel)


def parse_input(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise pydantic_error(exc) from None


def pydantic_error(exc: ValidationError) -> HubSpotError:
    # include_input=False: the rejected input may be a sensitive value.
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        if err["type"] == "extra_forbidden":
            message, code = f'Unrecognized field "{where}"', "UNRECOGNIZED_FIELD"
        elif err["type"] == "missing":
            message, code = f"{where} is required", "REQUIRED"
        else:
            message, code = f"{where}: {err['msg']}", err["type"].upper()
        errors.append({"message": message, "code": code, "in": where})
    summary = "; ".join(e["message"] for e in errors)
    return validation_error(f"Invalid input JSON: {summary}", errors=errors)


def whole_number(text: str, max_digits: int = 18) -> int | None:
    """The number that ``text`` spells in ASCII digits, or None.

    ``str.isdigit`` also accepts digits such as '²' (which ``int`` refuses) and '٣' (which it
    reads as 3), and more than 18 digits overflow a BIGINT column on both stores.
    """
    if 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None


def without_nulls(changes: dict[str, Any], nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    """A PATCH body's changes with JSON nulls dropped, except for fields that may be cleared.

    A null leaves the field as it is, as HubSpot does for a null record value; the columns
    behind the other fields hold no null.
    """
    return {k: v for k, v in changes.items() if v is not None or k in nullable}


def _whole_number_input(value: Any) -> Any:
    if isinstance(value, str):
        number = whole_number(value)
        if number is None:
            raise PydanticCustomError(
                "int_parsing",
                "Input should be a whole number (a JSON integer or a string of digits)",
            )
        return number
    return value


# An id that HubSpot's schema types as an integer but that its own responses hand out as a
# string (webhook subscriptions, say): clients send back either, so both are taken. JSON
# booleans and fractions stay refused, as StrictInt refuses them.
WholeNumberInput = Annotated[StrictInt, BeforeValidator(_whole_number_input)]
