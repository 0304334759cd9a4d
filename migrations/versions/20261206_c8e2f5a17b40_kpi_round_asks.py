"""kpiroundask: who each KPI request round asked, by member id, written when the request is sent

Participation (sections and people answered ÷ asked) needs the asked list as it was: the outbox's recipient
lists are LINE ids, stripped by a purge and useless after a move, so they are not a reliable source. Rounds
sent before this revision get no rows (nothing is backfilled); their participation shows as 「記録なし」.

Revision ID: c8e2f5a17b40
Revises: e1a7c3d9b5f2
Create Date: 2026-12-06 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = 'c8e2f5a17b40'
down_revision: str | None = 'e1a7c3d9b5f2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('kpiroundask',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('asked_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['kpirequestround.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'member_id')
    )
    with op.batch_alter_table('kpiroundask', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kpiroundask_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kpiroundask_round_id'), ['round_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kpiroundask', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kpiroundask_round_id'))
        batch_op.drop_index(batch_op.f('ix_kpiroundask_member_id'))
    op.drop_table('kpiroundask')
