"""inboxevent.stored_at: when a row was written by the real clock (the event worker's sweep)

received_at follows the app's clock, which DXBOT_NOW freezes (simulations, benchmarks): rows a stopped
web worker left behind never grew old by it. Existing rows take their received_at.

Revision ID: e4b7a2c91f03
Revises: 9c3f1a7e2d64
Create Date: 2026-12-05 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = 'e4b7a2c91f03'
down_revision: str | None = '9c3f1a7e2d64'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inboxevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stored_at', models.types.AwareDateTime(timezone=True), nullable=True))
    op.execute('UPDATE inboxevent SET stored_at = received_at')


def downgrade() -> None:
    with op.batch_alter_table('inboxevent', schema=None) as batch_op:
        batch_op.drop_column('stored_at')
