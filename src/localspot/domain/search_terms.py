"""The terms of a value: what CONTAINS_TOKEN and the free-text ``query`` match against.

A string value (lower-cased) yields: the whole value, each whitespace-separated word, each run
of letters and digits, and, for a word holding an ``@``, the part before and the part after the
last ``@``. So ``Ana.Ruiz@Example.org`` yields ``ana.ruiz@example.org``, ``ana``, ``ruiz``,
``example``, ``org``, ``ana.ruiz`` and ``example.org``: a token can be a name part, an email's
local part or its domain, and the wildcard ``*@example.org`` matches the whole address. The
whole value's term is its stored ``value_norm`` (its first 255 characters, lower-cased), which
the store keeps in place of a term row (``store/schema.py``).

An enumeration value yields its selected options, exactly (enumerations are case-sensitive).
Numbers, dates and booleans have no terms. Sensitive values have none either: they are never
written in plaintext, and ``query`` never matches them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from localspot.domain.values import Stored
from localspot.store.schema import VALUE_NORM_CHARS, WHOLE_VALUE_TERM_TYPES

TERM_CHARS = 255
_WORD = re.compile(r"[^\W_]+")
TOKENIZED_TYPES = frozenset(WHOLE_VALUE_TERM_TYPES)


# Short values recur across records (cities, companies, job titles): their terms are worked
# out once. The bound keeps the cache to a few megabytes.
_CACHED_CHARS = 64


def string_terms(text: str) -> frozenset[str]:
    if len(text) <= _CACHED_CHARS:
        return _short_string_terms(text)
    return _string_terms(text)


@functools.lru_cache(maxsize=4096)
def _short_string_terms(text: str) -> frozenset[str]:
    return _string_terms(text)


def _string_terms(text: str) -> frozenset[str]:
    lowered = text.lower()
    words = lowered.split()
    parts = {*words, *_WORD.findall(lowered)}
    for word in words:
        if "@" in word:
            local, _, domain = word.rpartition("@")
            parts.update((local, domain))
    terms = {t[:TERM_CHARS] for t in parts if t.strip()}
    whole = lowered[:VALUE_NORM_CHARS]  # value_norm
    if whole.strip():
        terms.add(whole)
    return frozenset(terms)


def option_terms(text: str, multiple: bool) -> frozenset[str]:
    options = text.split(";") if multiple else [text]
    return frozenset(o[:TERM_CHARS] for o in options if o)


def terms_of(definition: Any, text: str) -> frozenset[str]:
    """The terms of a plaintext value of ``definition`` (any sensitivity, for evaluation)."""
    if text == "":
        return frozenset()
    return tokenizer(definition)(text)


def tokenizer(definition: Any) -> Callable[[str], frozenset[str]]:
    """What gives the terms of a non-empty value of ``definition``; worked out once per
    definition by a batch write rather than once per value."""
    if definition.type in TOKENIZED_TYPES:
        return string_terms
    if definition.type == "enumeration":
        return functools.partial(option_terms, multiple=definition.field_type == "checkbox")
    return _no_terms


def _no_terms(text: str) -> frozenset[str]:
    return frozenset()


def stored_tokenizer(definition: Any, protected: bool) -> Callable[[str], frozenset[str]] | None:
    """``tokenizer`` for the values the store keeps terms of; None for a definition whose
    values it keeps none of (sealed or not tokenized)."""
    if protected:
        return None
    found = tokenizer(definition)
    return None if found is _no_terms else found


def stored_terms(definition: Any, stored: Stored, protected: bool) -> frozenset[str]:
    """The terms of a written value that record_terms keeps; none for a sealed one, and not
    the whole-value term that its value_norm stands for."""
    if protected or stored.is_cleared:
        return frozenset()
    return terms_of(definition, stored.text) - norm_term(definition, stored.norm)


def norm_term(definition: Any, norm: str | None) -> frozenset[str]:
    """The term that a value's value_norm stands for in the store: its whole-value term."""
    if norm is None or definition.type not in TOKENIZED_TYPES:
        return frozenset()
    return frozenset((norm,))


def wildcard_match(pattern: str, term: str) -> bool:
    """Whether ``term`` matches ``pattern``, where ``*`` matches any run of characters (also
    none) and every other character is literal.

    With ``*`` the only wildcard, finding each literal part at its leftmost place after the
    previous one is exact, and linear in the term for each part. A regular expression
    (``.*a.*a.*b``) backtracks instead, exponentially in the parts: a caller's pattern once
    held the server for seconds on a 60-character value.
    """
    if "*" not in pattern:
        return term == pattern
    first, *middle, last = pattern.split("*")
    end = len(term) - len(last)
    if end < len(first) or not term.startswith(first) or not term.endswith(last):
        return False
    at = len(first)
    for part in middle:
        found = term.find(part, at, end)
        if found < 0:
            return False
        at = found + len(part)
    return True
