"""calculated property values are read only

HubSpot computes a calculation property's value and refuses writes to it; until this revision
LocalSpot created such definitions with ``read_only_value`` false, so records took writes to
them. Existing calculation definitions now say what new ones do.

Revision ID: 7c1d2e9a4b30
Revises: e4479c3f0449
Create Date: 2026-12-04 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1d2e9a4b30"
down_revision: str | None = "e4479c3f0449"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

definitions = sa.table(
    "property_definitions",
    sa.column("field_type", sa.String),
    sa.column("read_only_value", sa.Boolean),
)


def upgrade() -> None:
    op.execute(
        definitions.update()
        .where(definitions.c.field_type == "calculation_equation")
        .values(read_only_value=True)
    )


def downgrade() -> None:
    # The flag stays: before this revision no calculation definition should have taken writes.
    pass
