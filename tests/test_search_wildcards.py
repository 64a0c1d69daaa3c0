"""CONTAINS_TOKEN wildcards on sealed values are matched in memory: exactly, and in time linear
in the term whatever the pattern."""

from __future__ import annotations

import random
import re

import httpx
import pytest

from localspot.domain.search_terms import wildcard_match
from tests.records_helpers import add_property


def _oracle(pattern: str, term: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, term, re.DOTALL) is not None


def test_wildcards_match_as_a_regular_expression_would() -> None:
    rng = random.Random(4)
    for _ in range(20_000):
        term = "".join(rng.choice("ab.") for _ in range(rng.randrange(0, 9)))
        pattern = "".join(rng.choice("ab.**") for _ in range(rng.randrange(0, 7)))
        assert wildcard_match(pattern, term) == _oracle(pattern, term), (pattern, term)


@pytest.mark.timeout(60)
def test_a_backtracking_pattern_on_a_sensitive_value_answers_at_once(http: httpx.Client) -> None:
    """Regression: ``*a*a*a*a*a*a*a*b`` on a sealed 60-character value held the whole server for
    13 seconds (a regular expression backtracking); a longer one, for hours."""
    add_property(http, "contacts", "contactinformation", name="wild_note")
    made = http.post(
        "/crm/v3/objects/contacts",
        json={"properties": {"email": "wild@example.org", "wild_note": "a" * 200}},
    )
    assert made.status_code == 201, made.text
    filters = [
        {"propertyName": "email", "operator": "EQ", "value": "wild@example.org"},
        {"propertyName": "wild_note", "operator": "CONTAINS_TOKEN", "value": "*a" * 20 + "*b"},
    ]
    found = http.post(
        "/crm/v3/objects/contacts/search", json={"filterGroups": [{"filters": filters}]}
    )
    assert found.status_code == 200, found.text
    assert found.json()["total"] == 0
    filters[1]["value"] = "*a" * 20 + "*"
    found = http.post(
        "/crm/v3/objects/contacts/search", json={"filterGroups": [{"filters": filters}]}
    )
    assert [r["id"] for r in found.json()["results"]] == [made.json()["id"]]
