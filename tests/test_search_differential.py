"""Random filter trees against a plain in-memory evaluation of the search contract.

Thousands of random contacts go in through batch create; then random searches (every
operator, every property type, groups, a top-level ``filters`` list, a sort, ``query``,
paging) run over HTTP and every page is compared with what the contract says. The reference
below is written from the contract, not from the server's code. Set SEARCH_DIFF_SEED to
replay a failure; SEARCH_DIFF_TREES to run more trees.
"""

from __future__ import annotations

import os
import random
import re
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from localspot.testing import LocalSpotServer

from .conftest import http_client

RECORDS = 3000
TREES = int(os.environ.get("SEARCH_DIFF_TREES", "2000"))
SEED = int(os.environ.get("SEARCH_DIFF_SEED", str(random.SystemRandom().randrange(10**9))))

# name -> (type, fieldType, options, sensitivity)
PROPS: dict[str, tuple[str, str, list[str], str]] = {
    "d_str": ("string", "text", [], "non_sensitive"),
    "d_num": ("number", "number", [], "non_sensitive"),
    "d_date": ("date", "date", [], "non_sensitive"),
    "d_dt": ("datetime", "date", [], "non_sensitive"),
    "d_enum": ("enumeration", "select", ["Alpha", "beta", "Gamma", "delta"], "non_sensitive"),
    "d_multi": ("enumeration", "checkbox", ["a", "B", "c", "D"], "non_sensitive"),
    "d_bool": ("bool", "booleancheckbox", ["true", "false"], "non_sensitive"),
    "d_secret": ("string", "text", [], "sensitive"),
    "d_snum": ("number", "number", [], "sensitive"),
}
BUILTIN = {"email": "string", "firstname": "string", "lastname": "string"}
VIRTUAL = {"hs_object_id": "id", "createdate": "created", "lastmodifieddate": "updated"}
SEARCHABLE = ("firstname", "lastname", "email")

WORDS = ["ana", "Ana", "ANA", "bob", "Zoë", "zoe", "smith", "o'neil", "x_y", "r2d2", "Über",
         "100%", "what?", "[x]", "ruiz", "Ruiz-Diaz", "lee"]  # fmt: skip
DAYS = [date(2024, 1, d) for d in (1, 2, 3, 5, 8, 13, 21)] + [date(2023, 12, 31)]
NUMBERS = ["0", "1", "2", "2.5", "-3", "10", "1e3", "-0.5", "7", "42"]


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _iso_ms(text: str) -> int:
    if text.lstrip("-").isdigit():
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


# The contract, in memory -------------------------------------------------------------------


def terms(kind: str, text: str) -> set[str]:
    if kind in ("enum", "multi", "bool"):
        return {o for o in (text.split(";") if kind == "multi" else [text]) if o}
    low = text.lower()
    words = low.split()
    out = {low, *words, *re.findall(r"[^\W_]+", low)}
    for w in words:
        if "@" in w:
            local, _, domain = w.rpartition("@")
            out |= {local, domain}
    return {t for t in out if t.strip()}


def kind_of(name: str) -> str:
    if name in VIRTUAL:
        return "number"
    if name in BUILTIN:
        return "text"
    type_, field, _, _ = PROPS[name]
    if type_ == "enumeration":
        return "multi" if field == "checkbox" else "enum"
    return "text" if type_ == "string" else "number"


def number(name: str, text: str) -> float:
    type_ = "datetime" if name in ("createdate", "lastmodifieddate") else PROPS.get(name, ("",))[0]
    if type_ == "bool":
        return 1.0 if text.lower() == "true" else 0.0
    if type_ in ("date", "datetime"):
        return float(_iso_ms(text))
    return float(text)


def holds(f: dict[str, Any], record: dict[str, Any]) -> bool:
    name, op = f["propertyName"], f["operator"]
    text = record.get(name)
    has = text not in (None, "")
    if op == "HAS_PROPERTY":
        return has
    if op == "NOT_HAS_PROPERTY":
        return not has
    negative = op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
    if not has:
        return negative
    kind = kind_of(name)
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = f["value"].lower() if kind == "text" else f["value"]
        regex = ".*".join(re.escape(p) for p in pattern.split("*"))
        hit = any(re.fullmatch(regex, t, re.DOTALL) for t in terms(kind, text))
        return hit != negative
    given = f.get("values") or [f["value"]] + ([f["highValue"]] if op == "BETWEEN" else [])
    if kind == "multi" and op in ("EQ", "NEQ", "IN", "NOT_IN"):
        hit = bool(set(text.split(";")) & set(given))
        return hit != negative
    if kind == "number":
        key: Any = number(name, text)
        args: list[Any] = [number(name, g) for g in given]
    elif kind == "text":
        key = text.lower()
        args = given if op in ("IN", "NOT_IN") else [g.lower() for g in given]
    else:
        key, args = text, given
    hit = {
        "EQ": lambda: key == args[0],
        "NEQ": lambda: key == args[0],
        "IN": lambda: key in args,
        "NOT_IN": lambda: key in args,
        "LT": lambda: key < args[0],
        "LTE": lambda: key <= args[0],
        "GT": lambda: key > args[0],
        "GTE": lambda: key >= args[0],
        "BETWEEN": lambda: args[0] <= key <= args[1],
    }[op]()
    return hit != negative


def query_holds(query: str, record: dict[str, Any]) -> bool:
    found = set()
    for name in SEARCHABLE:
        if record.get(name):
            found |= terms("text", record[name])
    return all(any(t.startswith(w) for t in found) for w in query.lower().split())


def expected(body: dict[str, Any], universe: list[dict[str, Any]]) -> list[str]:
    groups = [g["filters"] for g in body.get("filterGroups", []) if g["filters"]]
    top = body.get("filters", [])
    groups = [g + top for g in groups] or ([top] if top else [])
    hits = [
        r
        for r in universe
        if (not groups or any(all(holds(f, r) for f in g) for g in groups))
        and (not body.get("query") or query_holds(body["query"], r))
    ]
    hits.sort(key=lambda r: int(r["hs_object_id"]))
    sorts = body.get("sorts")
    if sorts:
        name, descending = sorts[0]["propertyName"], sorts[0]["direction"] == "DESCENDING"
        kind = kind_of(name)

        def key(r: dict[str, Any]) -> Any:
            text = r[name]
            return (
                number(name, text) if kind == "number" else text.lower() if kind == "text" else text
            )

        present = [r for r in hits if r.get(name) not in (None, "")]
        present.sort(key=key, reverse=descending)
        hits = present + [r for r in hits if r.get(name) in (None, "")]
    return [r["hs_object_id"] for r in hits]


# Data -----------------------------------------------------------------------------------------


def _text(rng: random.Random) -> str:
    words = rng.sample(WORDS, rng.randint(1, 3))
    text = rng.choice([" ", ".", "-", " "]).join(words)
    if rng.random() < 0.15:
        text = f"{words[0].lower()}@{rng.choice(['example.org', 'EX.com', 'mail.ex.org'])}"
    return text


def _value(rng: random.Random, name: str) -> str:
    type_, field, options, _ = PROPS[name]
    if type_ == "string":
        return _text(rng)
    if type_ == "number":
        return rng.choice(NUMBERS)
    if type_ == "date":
        day = rng.choice(DAYS)
        return day.isoformat() if rng.random() < 0.5 else str(_ms(day))
    if type_ == "datetime":
        return str(_ms(rng.choice(DAYS)) + rng.randrange(0, 86_400_000, 3_600_000))
    if type_ == "bool":
        return rng.choice(["true", "false", "TRUE"])
    if field == "checkbox":
        return ";".join(rng.sample(options, rng.randint(1, 3)))
    return rng.choice(options)


def _record(rng: random.Random, i: int) -> dict[str, str]:
    props = {
        "email": f"{rng.choice(['ana', 'bob', 'lee', 'zoe'])}{i}@{rng.choice(['ex.org', 'b.com'])}",
        "firstname": rng.choice(["Ana", "Bob", "Zoë", "Lee", "ana maria", "Über"]),
    }
    if rng.random() < 0.7:
        props["lastname"] = rng.choice(["Ruiz", "Smith", "O'Neil", "Ruiz-Diaz", "lee"])
    for name in PROPS:
        if rng.random() < 0.75:
            props[name] = _value(rng, name)
    return props


def _create(client: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


@pytest.fixture(scope="module")
def dataset(server: LocalSpotServer) -> Any:
    from localspot.scopes import all_scopes

    app = server.new_app(all_scopes())
    client = http_client(server, app)
    for name, (type_, field, options, sensitivity) in PROPS.items():
        _create(
            client,
            "/crm/v3/properties/contacts",
            {
                "name": name,
                "label": name,
                "type": type_,
                "fieldType": field,
                "groupName": "contactinformation",
                "dataSensitivity": sensitivity,
                "options": [{"label": o, "value": o} for o in options],
            },
        )
    rng = random.Random(SEED)
    ids: list[str] = []
    for start in range(0, RECORDS, 100):
        inputs = [{"properties": _record(rng, i)} for i in range(start, start + 100)]
        made = _create(client, "/crm/v3/objects/contacts/batch/create", {"inputs": inputs})
        ids += sorted((r["id"] for r in made["results"]), key=int)
    # Cleared values, archived records and merged-away records.
    cleared = [{"id": i, "properties": {n: "" for n in PROPS}} for i in rng.sample(ids, 80)]
    _create(client, "/crm/v3/objects/contacts/batch/update", {"inputs": cleared})
    _create(
        client,
        "/crm/v3/objects/contacts/batch/archive",
        {"inputs": [{"id": i} for i in rng.sample(ids, 60)]},
    )
    if server.database_url:
        # PostgreSQL plans a fresh table by guesses until autovacuum has analysed it (about a
        # minute after a load in production); a semi join planned for one row then runs for
        # seconds. Analyse now, as autovacuum would have by the time users search.
        import psycopg

        with psycopg.connect(server.database_url, autocommit=True) as conn:
            conn.execute("ANALYZE")
    names = ",".join([*PROPS, *BUILTIN, *VIRTUAL])
    universe = []
    after: str | None = None
    while True:
        params = {"limit": 100, "properties": names, **({"after": after} if after else {})}
        page = client.get("/crm/v3/objects/contacts", params=params).json()
        universe += [r["properties"] for r in page["results"]]
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            break
    yield client, universe
    client.close()


# Random trees -------------------------------------------------------------------------------


def _pick_value(rng: random.Random, name: str, universe: list[dict[str, Any]]) -> str:
    present = [r[name] for r in rng.sample(universe, 20) if r.get(name)]
    kind = kind_of(name)
    if present and rng.random() < 0.8:
        value = rng.choice(present)
        if kind == "multi":
            return rng.choice(value.split(";"))
        if name in ("createdate", "lastmodifieddate") and rng.random() < 0.5:
            return str(_iso_ms(value))
        if kind == "text" and rng.random() < 0.3:
            return value.upper()
        return value
    if kind == "text":
        return _text(rng)
    if name == "hs_object_id":
        return str(rng.randint(1, 10**6))
    if name in ("createdate", "lastmodifieddate"):
        return str(rng.randint(0, 2 * 10**12))
    return _value(rng, name)


def _pattern(rng: random.Random, name: str, universe: list[dict[str, Any]]) -> str:
    kind = kind_of(name)
    texts = [r[name] for r in rng.sample(universe, 10) if r.get(name)] or ["zz"]
    term = rng.choice(sorted(terms(kind, rng.choice(texts))))
    if kind == "text" and rng.random() < 0.3:
        term = term.upper()
    shape = rng.randrange(6)
    if shape == 0 or len(term) < 2:
        return term
    cut = rng.randint(1, len(term) - 1)
    return [term[:cut] + "*", "*" + term[cut:], "*" + term[1:cut] + "*", term[0] + "*" + term[-1],
            "*"][shape - 1]  # fmt: skip


def _filter(rng: random.Random, universe: list[dict[str, Any]]) -> dict[str, Any]:
    name = rng.choice([*PROPS, *BUILTIN, *VIRTUAL])
    kind = kind_of(name)
    operators = ["EQ", "NEQ", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY", "LT", "LTE",
                 "GT", "GTE", "BETWEEN"]  # fmt: skip
    if kind in ("text", "enum", "multi") and name not in VIRTUAL:
        operators += ["CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"] * 2
    op = rng.choice(operators)
    f: dict[str, Any] = {"propertyName": name, "operator": op}
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        f["value"] = _pattern(rng, name, universe)
    elif op in ("IN", "NOT_IN"):
        values = [_pick_value(rng, name, universe) for _ in range(rng.randint(1, 3))]
        f["values"] = [v.lower() if kind == "text" and rng.random() < 0.8 else v for v in values]
    elif op == "BETWEEN":
        low, high = sorted(
            [_pick_value(rng, name, universe), _pick_value(rng, name, universe)],
            key=lambda v: number(name, v) if kind == "number" else v.lower(),
        )
        f["value"], f["highValue"] = low, high
    elif op not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        f["value"] = _pick_value(rng, name, universe)
    return f


def _tree(rng: random.Random, universe: list[dict[str, Any]]) -> dict[str, Any]:
    # Small pages keep the run short: what is checked is which ids come back, in what order,
    # and the total; rendering many records per page adds time and no coverage.
    body: dict[str, Any] = {
        "properties": ["d_secret", "d_num"] if rng.random() < 0.3 else ["d_num"],
    }
    groups = rng.choice([0, 1, 1, 2, 3])
    body["filterGroups"] = [
        {"filters": [_filter(rng, universe) for _ in range(rng.randint(1, 3))]}
        for _ in range(groups)
    ]
    if rng.random() < 0.15:
        body["filters"] = [_filter(rng, universe)]
    if rng.random() < 0.4:
        name = rng.choice([*PROPS, *BUILTIN, *VIRTUAL])
        filtered = [f["propertyName"] for g in body["filterGroups"] for f in g["filters"]]
        if filtered and rng.random() < 0.5:
            # Sorting by a filtered property: a range or equality on it bounds the sort.
            name = rng.choice(filtered)
        body["sorts"] = [
            {"propertyName": name, "direction": rng.choice(["ASCENDING", "DESCENDING"])}
        ]
    if rng.random() < 0.15 or not (groups or body.get("filters")):
        record = rng.choice(universe)
        word = rng.choice(sorted(terms("text", record["firstname"])))
        query = word[: rng.randint(1, len(word))]
        if record.get("lastname") and rng.random() < 0.4:
            # Several words are one condition each (PostgreSQL: an INTERSECT of their ranges).
            second = rng.choice(sorted(terms("text", record["lastname"])))
            query += " " + second[: rng.randint(1, len(second))]
        body["query"] = query
    return body


CHUNKS = 8
MAX_PAGES = 5


def _page_size(rng: random.Random, hits: int) -> int:
    """A page size that pages through every hit in at most MAX_PAGES requests.

    Every page of every tree is checked; large result sets take larger pages so that the test
    stays within CI's time, while small ones still page in steps of a few records.
    """
    size = rng.choice([3, 10, 25, 50, 100, 200])
    return min(200, max(size, -(-hits // MAX_PAGES)))


# Four chunks of trees: each stays well within the suite's per-test timeout on a busy machine.
@pytest.mark.timeout(600)
@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_trees_match_the_contract(dataset: Any, chunk: int) -> None:
    client, universe = dataset
    rng = random.Random(SEED + 1 + chunk)
    checked = 0
    trees = TREES // CHUNKS
    by_id = {r["hs_object_id"]: r for r in universe}
    for n in range(trees):
        body = _tree(rng, universe)
        want = expected(body, universe)
        body["limit"] = _page_size(rng, len(want))
        limit, after = body["limit"], 0
        while True:
            page_body = {**body, **({"after": str(after)} if after else {})}
            response = client.post("/crm/v3/objects/contacts/search", json=page_body)
            context = f"seed={SEED} chunk={chunk} tree={n} body={page_body}"
            assert response.status_code == 200, f"{context}: {response.text}"
            got = response.json()
            assert got["total"] == len(want), context
            assert [r["id"] for r in got["results"]] == want[after : after + limit], context
            for result in got["results"]:
                stored = by_id[result["id"]]
                returned = {name: result["properties"].get(name) for name in body["properties"]}
                assert returned == {name: stored.get(name) for name in body["properties"]}, context
            more = after + limit < len(want)
            assert ("paging" in got) == more, context
            if not more:
                break
            after = int(got["paging"]["next"]["after"])
        checked += 1
    assert checked == trees
