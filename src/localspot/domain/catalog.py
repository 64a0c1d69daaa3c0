"""HubSpot-defined property groups and properties that every new account starts with.

A subset of a real portal's definitions: those SPEC §4.4 names (default and searchable
properties of each standard object) and a few that apps commonly write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from localspot.domain import pipelines, property_cache
from localspot.store.schema import property_definitions, property_groups

GROUPS: dict[str, list[tuple[str, str]]] = {
    "0-1": [
        ("contactinformation", "Contact information"),
        ("emailinformation", "Email information"),
        ("analyticsinformation", "Web analytics history"),
    ],
    "0-2": [
        ("companyinformation", "Company information"),
        ("analyticsinformation", "Web analytics history"),
    ],
    "0-3": [("dealinformation", "Deal information")],
    "0-5": [("ticketinformation", "Ticket information")],
}

LIFECYCLE = [
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
]

# (name, label, type, fieldType, options, flags): flags are "ro" (read-only value) and
# "unique" (hasUniqueValue).
_Spec = tuple[str, str, str, str, list[str], str]

_COMMON: list[_Spec] = [
    ("hs_object_id", "Record ID", "number", "number", [], "ro"),
    ("createdate", "Create Date", "datetime", "date", [], "ro"),
    ("hubspot_owner_id", "Owner", "enumeration", "select", [], ""),
]

# Every custom object starts with these, in its own group.
CUSTOM_OBJECT_PROPERTIES: list[_Spec] = [
    ("hs_object_id", "Record ID", "number", "number", [], "ro"),
    ("createdate", "Create Date", "datetime", "date", [], "ro"),
    ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", [], "ro"),
    ("hubspot_owner_id", "Owner", "enumeration", "select", [], ""),
]

PROPERTIES: dict[str, tuple[str, list[_Spec]]] = {
    "0-1": (
        "contactinformation",
        [
            ("email", "Email", "string", "text", [], ""),
            ("firstname", "First Name", "string", "text", [], ""),
            ("lastname", "Last Name", "string", "text", [], ""),
            ("phone", "Phone Number", "string", "phonenumber", [], ""),
            ("mobilephone", "Mobile Phone Number", "string", "phonenumber", [], ""),
            ("fax", "Fax Number", "string", "text", [], ""),
            ("company", "Company Name", "string", "text", [], ""),
            ("jobtitle", "Job Title", "string", "text", [], ""),
            ("website", "Website URL", "string", "text", [], ""),
            ("address", "Street Address", "string", "text", [], ""),
            ("city", "City", "string", "text", [], ""),
            ("state", "State/Region", "string", "text", [], ""),
            ("zip", "Postal Code", "string", "text", [], ""),
            ("country", "Country/Region", "string", "text", [], ""),
            ("date_of_birth", "Date of birth", "string", "text", [], ""),
            (
                "hs_additional_emails",
                "Additional email addresses",
                "enumeration",
                "checkbox",
                [],
                "ro",
            ),
            (
                "hs_marketable_until_renewal",
                "Marketing contact until next update",
                "enumeration",
                "booleancheckbox",
                ["true", "false"],
                "ro",
            ),
            ("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", LIFECYCLE, ""),
            ("lastmodifieddate", "Last Modified Date", "datetime", "date", [], "ro"),
        ],
    ),
    "0-2": (
        "companyinformation",
        [
            ("name", "Company name", "string", "text", [], ""),
            ("domain", "Company Domain Name", "string", "text", [], ""),
            ("website", "Website URL", "string", "text", [], ""),
            ("phone", "Phone Number", "string", "phonenumber", [], ""),
            ("city", "City", "string", "text", [], ""),
            ("state", "State/Region", "string", "text", [], ""),
            ("country", "Country/Region", "string", "text", [], ""),
            ("industry", "Industry", "string", "text", [], ""),
            ("description", "Description", "string", "textarea", [], ""),
            ("numberofemployees", "Number of Employees", "number", "number", [], ""),
            ("annualrevenue", "Annual Revenue", "number", "number", [], ""),
            ("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", LIFECYCLE, ""),
            ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", [], "ro"),
        ],
    ),
    "0-3": (
        "dealinformation",
        [
            ("dealname", "Deal Name", "string", "text", [], ""),
            ("amount", "Amount", "number", "number", [], ""),
            ("closedate", "Close Date", "datetime", "date", [], ""),
            ("pipeline", "Pipeline", "enumeration", "select", pipelines.options("0-3")[0], ""),
            ("dealstage", "Deal Stage", "enumeration", "radio", pipelines.options("0-3")[1], ""),
            (
                "dealtype",
                "Deal Type",
                "enumeration",
                "radio",
                ["newbusiness", "existingbusiness"],
                "",
            ),
            ("description", "Deal Description", "string", "textarea", [], ""),
            ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", [], "ro"),
        ],
    ),
    "0-5": (
        "ticketinformation",
        [
            ("subject", "Ticket name", "string", "text", [], ""),
            ("content", "Ticket description", "string", "textarea", [], ""),
            ("hs_pipeline", "Pipeline", "enumeration", "select", pipelines.options("0-5")[0], ""),
            (
                "hs_pipeline_stage",
                "Ticket status",
                "enumeration",
                "select",
                pipelines.options("0-5")[1],
                "",
            ),
            (
                "hs_ticket_category",
                "Category",
                "enumeration",
                "checkbox",
                ["PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"],
                "",
            ),
            (
                "hs_ticket_priority",
                "Priority",
                "enumeration",
                "select",
                ["LOW", "MEDIUM", "HIGH", "URGENT"],
                "",
            ),
            ("hs_ticket_id", "Ticket ID", "number", "number", [], "ro"),
            ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", [], "ro"),
        ],
    ),
}


def _options(values: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "label": v.replace("_", " ").title() if v not in ("true", "false") else v.title(),
            "value": v,
            "hidden": False,
            "displayOrder": i,
            "description": "",
        }
        for i, v in enumerate(values)
    ]


def definition_row(
    hub_id: int, object_type_id: str, group: str, spec: _Spec, now: datetime, order: int
) -> dict[str, Any]:
    name, label, type_, field_type, options, flags = spec
    return {
        "hub_id": hub_id,
        "object_type_id": object_type_id,
        "name": name,
        "label": label,
        "type": type_,
        "field_type": field_type,
        "group_name": group,
        "description": "",
        "display_order": order,
        "options": _options(options),
        "has_unique_value": "unique" in flags,
        "hidden": False,
        "form_field": "ro" not in flags,
        "external_options": name == "hubspot_owner_id",
        "referenced_object_type": "OWNER" if name == "hubspot_owner_id" else None,
        "data_sensitivity": "non_sensitive",
        "sensitive_data_categories": None,
        "hubspot_defined": True,
        "read_only_value": "ro" in flags,
        "read_only_definition": True,
        "archived": False,
        "created_at": now,
        "updated_at": now,
    }


def seed_account(conn: Connection, hub_id: int, now: datetime) -> None:
    groups = []
    for object_type_id, entries in GROUPS.items():
        groups += [
            {
                "hub_id": hub_id,
                "object_type_id": object_type_id,
                "name": name,
                "label": label,
                "display_order": i,
                "archived": False,
                "hubspot_defined": True,
            }
            for i, (name, label) in enumerate(entries)
        ]
    conn.execute(insert(property_groups), groups)

    definitions = []
    for object_type_id, (group, specs) in PROPERTIES.items():
        for order, spec in enumerate([*_COMMON, *specs]):
            definitions.append(definition_row(hub_id, object_type_id, group, spec, now, order))
    conn.execute(insert(property_definitions), definitions)
    property_cache.touch(conn, hub_id, PROPERTIES)
