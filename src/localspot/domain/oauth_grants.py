"""How a sensitive scope leaves a public app's installs, for good.

An install's grant is what a Super admin last consented to. A sensitive scope may stay in it
only while the app lists the scope and its review stands approved. When either stops, the
scope is taken out of the stored grant itself, and out of what was minted from it (live access
tokens, codes not yet exchanged): approving the review again, or listing the scope again, then
gives nothing back, and only a new consent through the authorization page does (SPEC §8.2:
sensitive scopes need explicit re-authorization).

Every caller holds the app's row lock (``public_apps.hold_app``), as the consent page and the
token endpoint do: on PostgreSQL a grant being minted and a scope being withdrawn cannot then
interleave so that the minted grant keeps the withdrawn scope.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from localspot import scopes as sc
from localspot.store.schema import app_installs, oauth_access_tokens, oauth_codes


def standing_scopes(listed: list[str], approved: set[str]) -> frozenset[str]:
    """The sensitive scopes (canonical) that installs of an app listing ``listed`` may hold."""
    return frozenset(
        s for s in sc.canonical_set(listed) if sc.is_sensitive_scope(s) and s in approved
    )


def _kept(granted: list[str], standing: frozenset[str]) -> list[str]:
    return [s for s in granted if not sc.is_sensitive_scope(s) or sc.canonical(s) in standing]


def withdraw(conn: Connection, app_id: int, standing: frozenset[str], now: datetime) -> None:
    """Takes every sensitive scope outside ``standing`` out of the app's grants."""
    i = app_installs.c
    installs = select(i.id, i.scopes).where(i.app_id == app_id)
    t = oauth_access_tokens.c
    tokens = (
        select(t.id, t.scopes)
        .join(app_installs, i.id == t.install_id)
        .where(i.app_id == app_id, t.expires_at > now)
    )
    c = oauth_codes.c
    codes = select(c.id, c.scopes).where(
        c.app_id == app_id, c.used_at.is_(None), c.expires_at > now
    )
    for table, granted in (
        (app_installs, installs),
        (oauth_access_tokens, tokens),
        (oauth_codes, codes),
    ):
        for row_id, scopes in conn.execute(granted).all():
            kept = _kept(scopes, standing)
            if kept != list(scopes):
                conn.execute(update(table).where(table.c.id == row_id).values(scopes=kept))
