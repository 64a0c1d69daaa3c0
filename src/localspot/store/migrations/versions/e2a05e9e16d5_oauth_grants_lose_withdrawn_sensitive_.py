"""oauth grants lose withdrawn sensitive scopes

Until this revision a sensitive scope whose review was denied, or that its app no longer
listed, stayed in installs' grants, tokens and codes and was only hidden when read, so an
approval or a re-listing gave it back without a new consent. Each app's grants now lose every
sensitive scope the app does not both list and hold an approved review for, as
domain/oauth_grants.py withdraws them from now on. The scope rules are spelled out as they
stand at this revision (``.v2`` is an alias; a sensitive scope names ``.sensitive`` or
``.highly_sensitive``).

Revision ID: e2a05e9e16d5
Revises: 5b2e8c41d7f0
Create Date: 2026-12-04 16:40:36.136374
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "e2a05e9e16d5"
down_revision: str | None = "5b2e8c41d7f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

public_apps = sa.table(
    "public_apps",
    sa.column("id", sa.BigInteger),
    sa.column("required_scopes", sa.JSON),
    sa.column("optional_scopes", sa.JSON),
)
scope_reviews = sa.table(
    "scope_reviews", sa.column("app_id", sa.BigInteger), sa.column("scope"), sa.column("state")
)
app_installs = sa.table(
    "app_installs",
    sa.column("id", sa.BigInteger),
    sa.column("app_id", sa.BigInteger),
    sa.column("scopes", sa.JSON),
)
oauth_access_tokens = sa.table(
    "oauth_access_tokens",
    sa.column("id", sa.BigInteger),
    sa.column("install_id", sa.BigInteger),
    sa.column("scopes", sa.JSON),
)
oauth_codes = sa.table(
    "oauth_codes",
    sa.column("id", sa.BigInteger),
    sa.column("app_id", sa.BigInteger),
    sa.column("scopes", sa.JSON),
)


def _canonical(scope: str) -> str:
    scope = scope.strip()
    return scope[: -len(".v2")] if scope.endswith(".v2") else scope


def _sensitive(scope: str) -> bool:
    name = _canonical(scope)
    return ".sensitive" in name or ".highly_sensitive" in name


def _strip(conn: Any, table: Any, query: Any, standing: set[str]) -> None:
    for row_id, granted in conn.execute(query).all():
        kept = [s for s in granted if not _sensitive(s) or _canonical(s) in standing]
        if kept != list(granted):
            conn.execute(sa.update(table).where(table.c.id == row_id).values(scopes=kept))


def upgrade() -> None:
    conn = op.get_bind()
    apps = conn.execute(
        sa.select(public_apps.c.id, public_apps.c.required_scopes, public_apps.c.optional_scopes)
    ).all()
    for app_id, required, optional in apps:
        approved = set(
            conn.scalars(
                sa.select(scope_reviews.c.scope).where(
                    scope_reviews.c.app_id == app_id, scope_reviews.c.state == "approved"
                )
            )
        )
        standing = {_canonical(s) for s in [*required, *optional]} & approved
        installs = app_installs.c
        _strip(
            conn,
            app_installs,
            sa.select(installs.id, installs.scopes).where(installs.app_id == app_id),
            standing,
        )
        tokens = oauth_access_tokens.c
        _strip(
            conn,
            oauth_access_tokens,
            sa.select(tokens.id, tokens.scopes)
            .join(app_installs, installs.id == tokens.install_id)
            .where(installs.app_id == app_id),
            standing,
        )
        codes = oauth_codes.c
        _strip(
            conn,
            oauth_codes,
            sa.select(codes.id, codes.scopes).where(codes.app_id == app_id),
            standing,
        )


def downgrade() -> None:
    # What was withdrawn was hidden at every read before this revision too.
    pass
