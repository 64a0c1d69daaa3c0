"""What clients send to create and update property definitions (SPEC §2.3), as pydantic models.

Bounds follow the columns that keep the values: PostgreSQL refuses longer text where SQLite
would keep it.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

PropertyType = Literal[
    "bool", "date", "datetime", "enumeration", "number", "phone_number", "string"
]
FieldType = Literal[
    "booleancheckbox",
    "calculation_equation",
    "checkbox",
    "date",
    "file",
    "html",
    "number",
    "phonenumber",
    "radio",
    "select",
    "text",
    "textarea",
]
Sensitivity = Literal["non_sensitive", "sensitive", "highly_sensitive"]

FIELD_TYPES_BY_TYPE: dict[str, frozenset[str]] = {
    "bool": frozenset({"booleancheckbox", "calculation_equation"}),
    "enumeration": frozenset(
        {"booleancheckbox", "checkbox", "radio", "select", "calculation_equation"}
    ),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "string": frozenset(
        {"text", "textarea", "file", "html", "phonenumber", "calculation_equation"}
    ),
    "number": frozenset({"number", "calculation_equation"}),
    "phone_number": frozenset({"phonenumber"}),
}

# Used with fullmatch: "$" would also accept a trailing newline.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,99}")
MAX_LABEL = 400
MAX_DESCRIPTION = 4000
MAX_OPTIONS = 5000
MAX_UNIQUE_PER_OBJECT = 10
IMMUTABLE_FIELDS = ("name", "hasUniqueValue", "dataSensitivity", "sensitiveDataCategories")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# HubSpot's displayOrder is a 32-bit integer, and so is the column that keeps it.
DisplayOrder = Annotated[StrictInt, Field(ge=-(2**31), le=2**31 - 1)]
NumberDisplayHint = Literal[
    "currency", "duration", "formatted", "percentage", "probability", "unformatted"
]
# Bounds match the columns: PostgreSQL refuses longer text where SQLite would keep it.
Hint = Annotated[StrictStr, Field(max_length=32)]


class OptionInput(Input):
    label: StrictStr
    value: StrictStr
    hidden: StrictBool = False
    description: StrictStr = ""
    display_order: DisplayOrder = Field(-1, alias="displayOrder")


class PropertyCreate(Input):
    name: StrictStr
    label: StrictStr
    type: PropertyType
    field_type: FieldType = Field(alias="fieldType")
    group_name: StrictStr = Field(alias="groupName")
    description: StrictStr = ""
    display_order: DisplayOrder = Field(-1, alias="displayOrder")
    options: list[OptionInput] = []
    has_unique_value: StrictBool = Field(False, alias="hasUniqueValue")
    hidden: StrictBool = False
    form_field: StrictBool = Field(False, alias="formField")
    external_options: StrictBool = Field(False, alias="externalOptions")
    referenced_object_type: Annotated[StrictStr, Field(max_length=64)] | None = Field(
        None, alias="referencedObjectType"
    )
    calculation_formula: StrictStr | None = Field(None, alias="calculationFormula")
    currency_property_name: Annotated[StrictStr, Field(max_length=100)] | None = Field(
        None, alias="currencyPropertyName"
    )
    show_currency_symbol: StrictBool | None = Field(None, alias="showCurrencySymbol")
    number_display_hint: NumberDisplayHint | None = Field(None, alias="numberDisplayHint")
    text_display_hint: Hint | None = Field(None, alias="textDisplayHint")
    date_display_hint: Hint | None = Field(None, alias="dateDisplayHint")
    data_sensitivity: Sensitivity = Field("non_sensitive", alias="dataSensitivity")
    sensitive_data_categories: list[StrictStr] | None = Field(None, alias="sensitiveDataCategories")


class PropertyUpdate(Input):
    label: StrictStr | None = None
    type: PropertyType | None = None
    field_type: FieldType | None = Field(None, alias="fieldType")
    group_name: StrictStr | None = Field(None, alias="groupName")
    description: StrictStr | None = None
    display_order: DisplayOrder | None = Field(None, alias="displayOrder")
    options: list[OptionInput] | None = None
    hidden: StrictBool | None = None
    form_field: StrictBool | None = Field(None, alias="formField")
    calculation_formula: StrictStr | None = Field(None, alias="calculationFormula")
    currency_property_name: Annotated[StrictStr, Field(max_length=100)] | None = Field(
        None, alias="currencyPropertyName"
    )
    show_currency_symbol: StrictBool | None = Field(None, alias="showCurrencySymbol")
    number_display_hint: NumberDisplayHint | None = Field(None, alias="numberDisplayHint")
    text_display_hint: Hint | None = Field(None, alias="textDisplayHint")
    date_display_hint: Hint | None = Field(None, alias="dateDisplayHint")
