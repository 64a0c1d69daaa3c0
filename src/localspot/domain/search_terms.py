"""The terms of a value: what CONTAINS_TOKEN and the free-text ``query`` match against.

A string value (lower-cased) yields: the whole value, each whitespace-separated word, each run
of letters and digits, and, for a word holding an ``@``, the part before and the part after the
last ``@``. So ``Ana.Ruiz@Example.org`` yields ``ana.ruiz@example.org``, ``ana``, ``ruiz``,
``example``, ``org``, ``ana.ruiz`` and ``example.org``: a token can be a name part, an email's
local part or its domain, and the wildcard ``*@example.org`` matches the whole address.

An enumeration value yields its selected options, exactly (enumerations are case-sensitive).
Numbers, dates and booleans have no terms. Sensitive values have none either: they are never
written in plaintext, and ``query`` never matches them.
"""

from __future__ import annotations

import re
from typing import Any

from localspot.domain.values import Stored

TERM_CHARS = 255
_WORD = re.compile(r"[^\W_]+")
TOKENIZED_TYPES = frozenset({"string", "phone_number"})


def string_terms(text: str) -> set[str]:
    lowered = text.lower()
    words = lowered.split()
    terms = {lowered, *words, *_WORD.findall(lowered)}
    for word in words:
        if "@" in word:
            local, _, domain = word.rpartition("@")
            terms.update((local, domain))
    return {t[:TERM_CHARS] for t in terms if t.strip()}


def option_terms(text: str, multiple: bool) -> set[str]:
    options = text.split(";") if multiple else [text]
    return {o[:TERM_CHARS] for o in options if o}


def terms_of(definition: Any, text: str) -> set[str]:
    """The terms of a plaintext value of ``definition`` (any sensitivity, for evaluation)."""
    if text == "":
        return set()
    if definition.type in TOKENIZED_TYPES:
        return string_terms(text)
    if definition.type == "enumeration":
        return option_terms(text, definition.field_type == "checkbox")
    return set()


def stored_terms(definition: Any, stored: Stored, protected: bool) -> set[str]:
    """The terms kept in the store for a written value; none for a sealed one."""
    if protected or stored.is_cleared:
        return set()
    return terms_of(definition, stored.text)


def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters (also none); every other character is literal."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)
