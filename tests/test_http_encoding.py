"""Responses the faces encode once and send again while the domain hands out the same value."""

from __future__ import annotations

import orjson

from localspot.faces.http import JSON, EncodedOnce


def _body(fragment: orjson.Fragment) -> bytes:
    return bytes(JSON({"results": fragment}).body)


def test_the_same_value_is_encoded_once_and_an_equal_new_one_again() -> None:
    encoded = EncodedOnce(most_bytes=10_000)
    listing = [{"name": "email"}, {"name": "firstname"}]
    first = encoded(listing)
    assert encoded(listing) is first
    assert orjson.loads(_body(first)) == {"results": listing}
    # A new listing (definitions changed) is a new value, whatever it holds.
    changed = [{"name": "email"}]
    assert orjson.loads(_body(encoded(changed))) == {"results": changed}
    assert encoded([{"name": "email"}]) is not encoded(changed)


def test_it_keeps_no_more_than_its_bytes() -> None:
    encoded = EncodedOnce(most_bytes=100)
    values = [[{"name": f"p{i}", "label": "x" * 30}] for i in range(5)]
    kept = [encoded(v) for v in values]
    assert encoded(values[-1]) is kept[-1]
    assert encoded(values[0]) is not kept[0]  # the oldest went first
