"""Association types: HubSpot's own between the standard objects, and their identities.

HubSpot-defined types are the same in every account, so they live here in code. Types an
account defines (labels, custom object pairs) are stored rows; ``domain/associations.py``
turns both into :class:`AssociationType`.

Type ids and labels follow HubSpot's "Association type ID values" tables (v4 associations
guide). The v3 ``type`` names follow what v3 object reads return, for example
``contact_to_company`` for the primary company and ``contact_to_company_unlabeled``.
"""

from __future__ import annotations

from dataclasses import dataclass

HUBSPOT_DEFINED = "HUBSPOT_DEFINED"
USER_DEFINED = "USER_DEFINED"
INTEGRATOR_DEFINED = "INTEGRATOR_DEFINED"
CATEGORIES = (HUBSPOT_DEFINED, USER_DEFINED, INTEGRATOR_DEFINED)
# How a category is stored in record_associations.category.
CATEGORY_CODE = {HUBSPOT_DEFINED: 0, USER_DEFINED: 1, INTEGRATOR_DEFINED: 2}
CATEGORY_OF_CODE = {code: name for name, code in CATEGORY_CODE.items()}

CONTACT, COMPANY, DEAL, TICKET = "0-1", "0-2", "0-3", "0-5"
STANDARD_TYPES = (CONTACT, COMPANY, DEAL, TICKET)


@dataclass(frozen=True)
class AssociationType:
    """One direction of one kind of association between two object types."""

    category: str
    type_id: int
    from_type: str
    to_type: str
    label: str | None  # None: the unlabeled type
    name: str  # what v3 reads call it
    inverse_id: int  # the same association seen from the other side
    default: bool = False  # the unlabeled type every association of the pair carries
    primary: bool = False  # at most one per record and pair

    @property
    def key(self) -> tuple[int, int]:
        return CATEGORY_CODE[self.category], self.type_id

    @property
    def inverse_key(self) -> tuple[int, int]:
        return CATEGORY_CODE[self.category], self.inverse_id

    def spec(self) -> dict[str, object]:
        """As listed by the v4 labels API and in v4 association reads."""
        return {"category": self.category, "typeId": self.type_id, "label": self.label}


def _pair(
    forward: tuple[int, str, str, str | None, str],
    backward: tuple[int, str, str, str | None, str],
    default: bool = False,
    primary: bool = False,
) -> list[AssociationType]:
    """Two directions of one association kind: (type id, from, to, label, v3 name) each."""
    a = AssociationType(HUBSPOT_DEFINED, *forward, backward[0], default, primary)
    b = AssociationType(HUBSPOT_DEFINED, *backward, forward[0], default, primary)
    return [a] if a == b else [a, b]


def _catalog() -> list[AssociationType]:
    out: list[AssociationType] = []
    # Unlabeled defaults.
    out += _pair(
        (279, CONTACT, COMPANY, None, "contact_to_company_unlabeled"),
        (280, COMPANY, CONTACT, None, "company_to_contact_unlabeled"),
        default=True,
    )
    out += _pair(
        (4, CONTACT, DEAL, None, "contact_to_deal"),
        (3, DEAL, CONTACT, None, "deal_to_contact"),
        default=True,
    )
    out += _pair(
        (15, CONTACT, TICKET, None, "contact_to_ticket"),
        (16, TICKET, CONTACT, None, "ticket_to_contact"),
        default=True,
    )
    out += _pair(
        (342, COMPANY, DEAL, None, "company_to_deal_unlabeled"),
        (341, DEAL, COMPANY, None, "deal_to_company_unlabeled"),
        default=True,
    )
    out += _pair(
        (340, COMPANY, TICKET, None, "company_to_ticket_unlabeled"),
        (339, TICKET, COMPANY, None, "ticket_to_company_unlabeled"),
        default=True,
    )
    out += _pair(
        (27, DEAL, TICKET, None, "deal_to_ticket"),
        (28, TICKET, DEAL, None, "ticket_to_deal"),
        default=True,
    )
    for type_id, object_type, word in (
        (449, CONTACT, "contact"),
        (450, COMPANY, "company"),
        (451, DEAL, "deal"),
        (452, TICKET, "ticket"),
    ):
        out += _pair(
            (type_id, object_type, object_type, None, f"{word}_to_{word}"),
            (type_id, object_type, object_type, None, f"{word}_to_{word}"),
            default=True,
        )
    # Primary company, seen from the record and from the company.
    out += _pair(
        (1, CONTACT, COMPANY, "Primary", "contact_to_company"),
        (2, COMPANY, CONTACT, "Primary", "company_to_contact"),
        primary=True,
    )
    out += _pair(
        (5, DEAL, COMPANY, "Primary", "deal_to_company"),
        (6, COMPANY, DEAL, "Primary", "company_to_deal"),
        primary=True,
    )
    out += _pair(
        (26, TICKET, COMPANY, "Primary", "ticket_to_company"),
        (25, COMPANY, TICKET, "Primary", "company_to_ticket"),
        primary=True,
    )
    # Other HubSpot-defined labels.
    out += _pair(
        (13, COMPANY, COMPANY, "Parent Company", "parent_to_child_company"),
        (14, COMPANY, COMPANY, "Child Company", "child_to_parent_company"),
    )
    out += _pair(
        (931, CONTACT, COMPANY, "Billing contact", "billing_contact_to_company"),
        (930, COMPANY, CONTACT, "Billing contact", "company_to_billing_contact"),
    )
    return out


CATALOG: tuple[AssociationType, ...] = tuple(_catalog())
BY_ID: dict[tuple[str, str, int], AssociationType] = {
    (t.from_type, t.to_type, t.type_id): t for t in CATALOG
}


def hubspot_defined(from_type: str, to_type: str) -> list[AssociationType]:
    """HubSpot's types from one object type to another, the unlabeled default first."""
    found = [t for t in CATALOG if t.from_type == from_type and t.to_type == to_type]
    return sorted(found, key=lambda t: (not t.default, t.type_id))


def is_standard(object_type_id: str) -> bool:
    return object_type_id in STANDARD_TYPES
