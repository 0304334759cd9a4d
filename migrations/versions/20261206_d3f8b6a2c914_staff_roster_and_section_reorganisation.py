"""staff roster and section reorganisation: 職員番号, roster invites, former section names

人事異動 in April moves dozens of people at once from the personnel system's CSV (`dxbot member import`):
members get a staff number (a table of its own, so purging deletes it and member is not rebuilt), and a
new person's invite carries their staff number and roster name. 課の統廃合 (`dxbot section rename/merge`)
keeps each section's former names and what it was merged into, so reports stay with their section.

Revision ID: d3f8b6a2c914
Revises: c5e2a8f1d7b3
Create Date: 2026-12-06 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = 'd3f8b6a2c914'
down_revision: str | None = 'c5e2a8f1d7b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sectionformername',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('until', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['merged_into_id'], ['section.id'], ),
    sa.ForeignKeyConstraint(['section_id'], ['section.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sectionformername', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sectionformername_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_sectionformername_section_id'), ['section_id'], unique=False)

    op.create_table('staffnumber',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('member_id')
    )
    with op.batch_alter_table('staffnumber', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staffnumber_number'), ['number'], unique=True)

    with op.batch_alter_table('invitecode', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.create_index(batch_op.f('ix_invitecode_staff_number'), ['staff_number'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('invitecode', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitecode_staff_number'))
        batch_op.drop_column('display_name')
        batch_op.drop_column('staff_number')

    with op.batch_alter_table('staffnumber', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staffnumber_number'))

    op.drop_table('staffnumber')
    with op.batch_alter_table('sectionformername', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sectionformername_section_id'))
        batch_op.drop_index(batch_op.f('ix_sectionformername_name'))

    op.drop_table('sectionformername')
