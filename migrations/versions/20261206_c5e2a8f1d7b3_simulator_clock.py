"""simulatorclock: the simulator's clock, shared with `dxbot say` in another process

A dashboard link asked for with `dxbot say` while the simulator stood at 20 January 2027 was made on the
real clock and was already expired when the simulator's dashboard opened it. The simulator now keeps its
clock in this one-row table, and `dxbot say` (without DXBOT_NOW) speaks at that time.

Revision ID: c5e2a8f1d7b3
Revises: c8e2f5a17b40
Create Date: 2026-12-06 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = 'c5e2a8f1d7b3'
down_revision: str | None = 'c8e2f5a17b40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('simulatorclock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('moment', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('set_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('runs', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('simulatorclock')
