"""a partial index on the inbox's unhandled rows (the event worker's sweep and the backlog gauge)

Revision ID: 5d2e8c41a7b9
Revises: b81ba8447ac6
Create Date: 2026-12-03 12:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5d2e8c41a7b9'
down_revision: str | None = 'b81ba8447ac6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inboxevent', schema=None) as batch_op:
        batch_op.create_index(
            'ix_inboxevent_unhandled',
            ['id'],
            unique=False,
            sqlite_where=sa.text('handled_at IS NULL'),
            postgresql_where=sa.text('handled_at IS NULL'),
        )


def downgrade() -> None:
    with op.batch_alter_table('inboxevent', schema=None) as batch_op:
        batch_op.drop_index('ix_inboxevent_unhandled')
