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
    installs = conn.execute(
        select(app_installs.c.id, app_installs.c.scopes).where(app_installs.c.app_id == app_id)
    ).all()
    for install_id, granted in installs:
        kept = _kept(granted, standing)
        if kept != list(granted):
            conn.execute(
                update(app_installs).where(app_installs.c.id == install_id).values(scopes=kept)
            )

    t = oauth_access_tokens.c
    tokens = conn.execute(
        select(t.id, t.scopes)
        .join(app_installs, app_installs.c.id == t.install_id)
        .where(app_installs.c.app_id == app_id, t.expires_at > now)
    ).all()
    for token_id, granted in tokens:
        kept = _kept(granted, standing)
        if kept != list(granted):
            conn.execute(update(oauth_access_tokens).where(t.id == token_id).values(scopes=kept))

    c = oauth_codes.c
    codes = conn.execute(
        select(c.id, c.scopes).where(c.app_id == app_id, c.used_at.is_(None), c.expires_at > now)
    ).all()
    for code_id, granted in codes:
        kept = _kept(granted, standing)
        if kept != list(granted):
            conn.execute(update(oauth_codes).where(c.id == code_id).values(scopes=kept))
