"""inboxevent.attempts / failed_at / error_class: an event that cannot be handled is set aside, not retried for ever

A signed event whose handling raised, and whose marking raised too, stayed unhandled and every sweep
took it again (36 retries in 35 minutes, an error push each time). Rows now count their attempts; after
three the row is marked failed (handled_at set too, so no sweep takes it) with the error's class.

Rows an earlier version marked outcome 'error' but left unhandled were never retried by the sweep; they
are set aside as failed here (their error class unknown, their body dropped: it may hold message text),
so the sweep of this version does not replay old events. `dxbot inbox failed` lists them.

Revision ID: a6c1e93f0d24
Revises: 7f3c9d2a5b18
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = 'a6c1e93f0d24'
down_revision: str | None = '7f3c9d2a5b18'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inboxevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('failed_at', models.types.AwareDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('error_class', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.create_index(
            'ix_inboxevent_failed',
            ['id'],
            unique=False,
            sqlite_where=sa.text('failed_at IS NOT NULL'),
            postgresql_where=sa.text('failed_at IS NOT NULL'),
        )
    op.execute(
        "UPDATE inboxevent SET failed_at = COALESCE(stored_at, received_at), "
        "handled_at = COALESCE(stored_at, received_at), outcome = 'failed', error_class = 'unknown', "
        "attempts = 1, body = NULL WHERE handled_at IS NULL AND outcome = 'error'"
    )


def downgrade() -> None:
    with op.batch_alter_table('inboxevent', schema=None) as batch_op:
        batch_op.drop_index('ix_inboxevent_failed')
        batch_op.drop_column('error_class')
        batch_op.drop_column('failed_at')
        batch_op.drop_column('attempts')
