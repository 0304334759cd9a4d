"""actionsectionstatus, actionstatuschange.section_id: a shared action item has one status per section

One status per item meant 財政課's 「5 完了」 closed 5-1's 「Q & Aの追加登録」 for all 41 sections. Each change
now names its section and each (item, section) keeps its own current status. Backfill: an old change goes to
the item's sections its member belonged to at changed_at (from membersection's since/until), else — no
member, or none of their sections then — to every section the item resolves to (全所属 and the
department groups expanded as models/sections.covers does). A change that goes to several sections is
copied once per section; previous_status is recomputed along each section's own history.

Revision ID: e1a7c3d9b5f2
Revises: b2d7f4e81c53
Create Date: 2026-12-06 09:00:00
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = 'e1a7c3d9b5f2'
down_revision: str | None = 'b2d7f4e81c53'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_STARTED, LATE, IN_PROGRESS = '未着手', '遅延', '進行中'
AWARE = models.types.AwareDateTime(timezone=True)

section = sa.table('section', sa.column('id'), sa.column('name'), sa.column('department'), sa.column('short_name'))
link = sa.table(
    'initiativesection', sa.column('initiative_id'), sa.column('position'), sa.column('section_id'),
    sa.column('group_kind'), sa.column('group_department'), sa.column('is_lead'),
)
item = sa.table('actionitem', sa.column('id'), sa.column('initiative_id'), sa.column('status'),
                sa.column('status_changed_at', AWARE))
membership = sa.table('membersection', sa.column('member_id'), sa.column('section_id'),
                      sa.column('since', AWARE), sa.column('until', AWARE))
change = sa.table(
    'actionstatuschange', sa.column('id'), sa.column('action_item_id'), sa.column('previous_status'),
    sa.column('status'), sa.column('changed_by_member_id'), sa.column('source_message_id'), sa.column('note'),
    sa.column('changed_at', AWARE), sa.column('section_id'),
)
section_status = sa.table('actionsectionstatus', sa.column('action_item_id'), sa.column('section_id'),
                          sa.column('status'), sa.column('status_changed_at', AWARE))


def upgrade() -> None:
    op.create_table('actionsectionstatus',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_item_id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status_changed_at', models.types.AwareDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_item_id'], ['actionitem.id'], ),
    sa.ForeignKeyConstraint(['section_id'], ['section.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('action_item_id', 'section_id')
    )
    with op.batch_alter_table('actionsectionstatus', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actionsectionstatus_section_id'), ['section_id'], unique=False)

    with op.batch_alter_table('actionstatuschange', schema=None) as batch_op:
        batch_op.add_column(sa.Column('section_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_actionstatuschange_section_id'), ['section_id'], unique=False)
        batch_op.create_foreign_key('fk_actionstatuschange_section_id', 'section', ['section_id'], ['id'])

    backfill(op.get_bind())


def covers(row, candidate, sections_by_id) -> bool:
    """models.sections.covers on plain rows (a migration keeps its own copy of the rule it applied)."""
    if row.section_id is not None:
        if row.section_id == candidate.id:
            return True
        linked = sections_by_id.get(row.section_id)
        return bool(linked and linked.short_name == candidate.name)
    if row.group_kind == 'all':
        return True
    if row.group_kind == 'department':
        return candidate.department == row.group_department
    return False


def resolved_sections(conn) -> tuple[dict[str, list[int]], dict[str, int]]:
    """Each initiative's section ids (groups expanded) and its lead section id."""
    sections = conn.execute(sa.select(section).order_by(section.c.name)).all()
    by_id = {s.id: s for s in sections}
    found: dict[str, list[int]] = defaultdict(list)
    leads: dict[str, int] = {}
    for row in conn.execute(sa.select(link).order_by(link.c.position)).all():
        if row.is_lead and row.section_id is not None:
            leads[row.initiative_id] = row.section_id
        for candidate in sections:
            if candidate.id not in found[row.initiative_id] and covers(row, candidate, by_id):
                found[row.initiative_id].append(candidate.id)
    return found, leads


def rollup(statuses: dict[int, str], sections: list[int], lead: int | None) -> str:
    """models.actions.rollup_status: the lead's, else the common one, else 遅延 if any, else 進行中."""
    if not sections:
        return NOT_STARTED
    if lead in sections:
        return statuses.get(lead, NOT_STARTED)
    values = {statuses.get(s, NOT_STARTED) for s in sections}
    if len(values) == 1:
        return values.pop()
    return LATE if LATE in values else IN_PROGRESS


def backfill(conn) -> None:
    """Give every old change its section(s) and each (item, section) its status from them."""
    resolved, leads = resolved_sections(conn)
    initiative_of = {r.id: r.initiative_id for r in conn.execute(sa.select(item.c.id, item.c.initiative_id))}
    spans = defaultdict(list)
    for m in conn.execute(sa.select(membership)).all():
        spans[m.member_id].append(m)
    current: dict[int, dict[int, tuple[str, object]]] = defaultdict(dict)  # item → section → (status, at)
    rows = conn.execute(sa.select(change).order_by(change.c.changed_at, change.c.id)).all()
    for row in rows:
        item_sections = resolved.get(initiative_of.get(row.action_item_id), [])
        at = row.changed_at
        members_then = {
            m.section_id for m in spans.get(row.changed_by_member_id, ())
            if m.since <= at and (m.until is None or at < m.until)
        }
        targets = [s for s in item_sections if s in members_then] or item_sections
        for n, section_id in enumerate(targets):
            previous = current[row.action_item_id].get(section_id, (NOT_STARTED, None))[0]
            current[row.action_item_id][section_id] = (row.status, at)
            if n == 0:
                conn.execute(
                    change.update().where(change.c.id == row.id).values(section_id=section_id, previous_status=previous)
                )
            else:
                conn.execute(change.insert().values(
                    action_item_id=row.action_item_id, previous_status=previous, status=row.status,
                    changed_by_member_id=row.changed_by_member_id, source_message_id=row.source_message_id,
                    note=row.note, changed_at=at, section_id=section_id,
                ))
    # an item moved without a history row (none is known to exist) keeps its status in every section
    for old in conn.execute(sa.select(item).where(item.c.status != NOT_STARTED)).all():
        if old.id not in current:
            for section_id in resolved.get(old.initiative_id, []):
                current[old.id][section_id] = (old.status, old.status_changed_at)
    for item_id, by_section in current.items():
        for section_id, (status, at) in by_section.items():
            if at is None:
                continue
            conn.execute(section_status.insert().values(
                action_item_id=item_id, section_id=section_id, status=status, status_changed_at=at
            ))
        initiative_id = initiative_of.get(item_id)
        sections = resolved.get(initiative_id, [])
        if sections:
            statuses = {s: v[0] for s, v in by_section.items()}
            conn.execute(item.update().where(item.c.id == item_id).values(
                status=rollup(statuses, sections, leads.get(initiative_id))
            ))


def downgrade() -> None:
    conn = op.get_bind()
    # a change copied per section becomes one row again (the first copy kept)
    seen = set()
    for row in conn.execute(sa.select(change).order_by(change.c.id)).all():
        key = (row.action_item_id, row.status, row.changed_by_member_id, row.source_message_id, row.note,
               row.changed_at)
        if key in seen:
            conn.execute(change.delete().where(change.c.id == row.id))
        seen.add(key)
    with op.batch_alter_table('actionstatuschange', schema=None) as batch_op:
        batch_op.drop_constraint('fk_actionstatuschange_section_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_actionstatuschange_section_id'))
        batch_op.drop_column('section_id')

    with op.batch_alter_table('actionsectionstatus', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actionsectionstatus_section_id'))

    op.drop_table('actionsectionstatus')
