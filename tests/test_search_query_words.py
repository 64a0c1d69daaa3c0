"""The free-text ``query``: repeated words and words that start others add nothing, and a query
of more words than the store can express is a 400, never a 500."""

from __future__ import annotations

import itertools
import string

import httpx

from localspot.domain.search import MAX_QUERY_WORDS, _necessary
from localspot.store import search_sql as q


def _search(http: httpx.Client, query: str) -> httpx.Response:
    return http.post("/crm/v3/objects/contacts/search", json={"query": query, "limit": 5})


def test_words_implied_by_others_are_dropped() -> None:
    assert _necessary(["an", "ana", "a", "ana", "ruiz", "r"], by_id=False) == ["ana", "ruiz"]
    # A number may match a record id, which a longer number does not imply.
    assert _necessary(["12", "123", "1"], by_id=True) == ["1", "12", "123"]
    assert _necessary(["12", "123", "1"], by_id=False) == ["123"]


def test_long_queries_answer_and_match_as_their_necessary_words(http: httpx.Client) -> None:
    """Regression: 988 repeated words made SQLite refuse the page query (a 500)."""
    made = http.post(
        "/crm/v3/objects/contacts",
        json={"properties": {"email": "zz.words@example.org", "firstname": "Zzyzx"}},
    )
    assert made.status_code == 201, made.text
    ids = {r["id"] for r in _search(http, "zzyzx").json()["results"]}
    assert made.json()["id"] in ids
    for query in (" ".join(["zz"] * 988), " ".join(["z", "zz", "zzy", "zzyzx"] * 150)):
        found = _search(http, query)
        assert found.status_code == 200, found.text
        assert {r["id"] for r in found.json()["results"]} >= {made.json()["id"]}


def test_as_many_different_words_as_allowed_answer_on_either_store(http: httpx.Client) -> None:
    """Regression: on PostgreSQL one semi-join per word made planning explode (160 words took
    ten seconds, 350 over a minute, the backend going on after the client left)."""
    made = http.post(
        "/crm/v3/objects/contacts",
        json={"properties": {"email": "many.words@example.org", "firstname": "Qq Qr"}},
    )
    assert made.status_code == 201, made.text
    triples = ("".join(p) for p in itertools.product("jk", string.ascii_lowercase, "mn"))
    words = list(itertools.islice(triples, MAX_QUERY_WORDS - 2))
    nobody = _search(http, " ".join([*words, "qq", "qr"]))
    assert nobody.status_code == 200, nobody.text
    assert nobody.json()["total"] == 0
    found = _search(http, "qq qr")
    assert [r["id"] for r in found.json()["results"]] == [made.json()["id"]]


def test_the_words_of_a_query_are_one_condition_on_postgresql() -> None:
    """The shape behind the regression above: one IN over the words' INTERSECT."""
    words = tuple(q.Words(1, "0-1", w) for w in ("ana", "bo", "cy"))
    sql = str(q.count_query(q.Plan(1, "0-1", (words,), None), sqlite=False))
    assert sql.count("INTERSECT") == 2
    assert sql.count(" IN (") == 1


def test_more_different_words_than_the_store_can_express_is_a_400(http: httpx.Client) -> None:
    pairs = ("".join(p) for p in itertools.product(string.ascii_lowercase, repeat=2))
    query = " ".join(itertools.islice(pairs, MAX_QUERY_WORDS + 1))
    assert len(query) <= 3000
    refused = _search(http, query)
    assert refused.status_code == 400, refused.text
    assert refused.json()["category"] == "VALIDATION_ERROR"
