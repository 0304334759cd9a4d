"""dashboardsession: server-side dashboard logins (token hashes only), revoked on 「ログアウト」

The signed cookie held the member id and the login link id: small integers anyone with the signing key
could forge, and a logged-out cookie still opened the dashboard for up to 8 hours. The cookie now carries
a random login id whose SHA-256 is kept here, with its real-time expiry and revocation.

Revision ID: b2d7f4e81c53
Revises: a6c1e93f0d24
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = 'b2d7f4e81c53'
down_revision: str | None = 'a6c1e93f0d24'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dashboardsession',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', models.types.AwareDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dashboardsession', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboardsession_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dashboardsession_token_hash'), ['token_hash'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('dashboardsession', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboardsession_token_hash'))
        batch_op.drop_index(batch_op.f('ix_dashboardsession_member_id'))

    op.drop_table('dashboardsession')
