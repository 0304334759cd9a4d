"""drop ix_kpireport_target_section: a prefix of ix_kpireport_latest, and PostgreSQL's wrong choice

With many reports for one (KPI target, section) pair and statistics taken while the table was small,
PostgreSQL read the pair's reports through this index and sorted them (31 ms with 16,000 reports)
instead of reading ix_kpireport_latest backwards (0.5 ms). ix_kpireport_latest starts with the same two
columns, so every query this index served is served as well without it.

Revision ID: 9c3f1a7e2d64
Revises: 5d2e8c41a7b9
Create Date: 2026-12-05 08:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '9c3f1a7e2d64'
down_revision: str | None = '5d2e8c41a7b9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('kpireport', schema=None) as batch_op:
        batch_op.drop_index('ix_kpireport_target_section')


def downgrade() -> None:
    with op.batch_alter_table('kpireport', schema=None) as batch_op:
        batch_op.create_index('ix_kpireport_target_section', ['kpi_target_id', 'section_id'], unique=False)
