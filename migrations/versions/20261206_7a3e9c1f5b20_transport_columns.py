"""transport: which chat platform (LINE or LINE WORKS) a member, group, event, outbox row or transcript is for

Issue 27: the bot speaks LINE WORKS beside LINE. Every existing row is LINE's (server default `line`). A
member's platform id (`line_user_id`, name kept: a contract) and a group binding's chat id are unique per
(transport, id) instead of alone: the same id on the two platforms is two different people (or rooms).

Revision ID: 7a3e9c1f5b20
Revises: 2234fddc25f4
Create Date: 2026-12-06 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '7a3e9c1f5b20'
down_revision: str | None = '2234fddc25f4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('member', 'groupbinding', 'inboxevent', 'outboxmessage', 'transcriptentry')


def _transport() -> sa.Column:
    return sa.Column(
        'transport', sqlmodel.sql.sqltypes.AutoString(length=16), server_default='line', nullable=False
    )


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(_transport())
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_line_user_id'))
        batch_op.create_index(batch_op.f('ix_member_line_user_id'), ['line_user_id'], unique=False)
        batch_op.create_index('ux_member_transport_user', ['transport', 'line_user_id'], unique=True)
    with op.batch_alter_table('groupbinding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_groupbinding_group_id'))
        batch_op.create_index(batch_op.f('ix_groupbinding_group_id'), ['group_id'], unique=False)
        batch_op.create_index('ux_groupbinding_transport_group', ['transport', 'group_id'], unique=True)


def downgrade() -> None:
    # LINE WORKS' rows cannot stay: their ids may repeat LINE's, which are unique alone again.
    bind = op.get_bind()
    for table in ('outboxmessage', 'transcriptentry', 'inboxevent', 'groupbinding'):
        bind.execute(sa.text(f"DELETE FROM {table} WHERE transport <> 'line'"))
    with op.batch_alter_table('groupbinding', schema=None) as batch_op:
        batch_op.drop_index('ux_groupbinding_transport_group')
        batch_op.drop_index(batch_op.f('ix_groupbinding_group_id'))
        batch_op.create_index(batch_op.f('ix_groupbinding_group_id'), ['group_id'], unique=True)
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index('ux_member_transport_user')
        batch_op.drop_index(batch_op.f('ix_member_line_user_id'))
        batch_op.create_index(batch_op.f('ix_member_line_user_id'), ['line_user_id'], unique=True)
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('transport')
