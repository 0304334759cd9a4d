"""kpirequestround.closed_at: a merged section's unanswered round is closed, not late forever

`dxbot section merge` leaves the merged section with nobody to answer its open round; from the merge on
the round is closed (its successor is asked next round), so no view lists it as late or owing.

Revision ID: f4b1c7e9a2d6
Revises: d3f8b6a2c914
Create Date: 2026-12-06 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = 'f4b1c7e9a2d6'
down_revision: str | None = 'd3f8b6a2c914'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('kpirequestround', sa.Column('closed_at', models.types.AwareDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('kpirequestround', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
