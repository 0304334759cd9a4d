"""inboxevent.swept_at / swept_by: which process's sweep took an unhandled row, and when

An idle web worker's sweep took rows still queued in a busy one, and both handled them at the same time
(one of the two handlings then rolled back). The mark lets the busy one skip them, and other sweeps
leave them alone until they are stale again.

Revision ID: 7f3c9d2a5b18
Revises: e4b7a2c91f03
Create Date: 2026-12-05 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = '7f3c9d2a5b18'
down_revision: str | None = 'e4b7a2c91f03'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inboxevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('swept_at', models.types.AwareDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('swept_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inboxevent', schema=None) as batch_op:
        batch_op.drop_column('swept_by')
        batch_op.drop_column('swept_at')
