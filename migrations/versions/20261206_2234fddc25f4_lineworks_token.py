"""lineworkstoken: LINE WORKS' access token, shared by the web and clock processes

The LINE WORKS sender (issue 27) gets an access token by signing a JWT with the app's private key. The token
lives 24 hours and both processes send: it is kept here, one row per app, service account and scope, and
renewed a margin before it expires (a row lock on PostgreSQL keeps two processes from renewing at once).

Revision ID: 2234fddc25f4
Revises: d4e6b8a0c2f1
Create Date: 2026-12-06 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = '2234fddc25f4'
down_revision: str | None = 'd4e6b8a0c2f1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('lineworkstoken',
    sa.Column('access_token', sa.Text(), nullable=True),
    sa.Column('expires_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('refresh_after', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('fetched_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('lineworkstoken')
