"""planedition; an edition on measure, initiative, initiativesection, actionitem, kpitarget, planimport

An FY2027 plan reusing 1-1 would have rewritten FY2026's initiative: ids are now unique within an edition,
measure and initiative get surrogate keys (measure.id, initiative.pk), and the rows of an initiative point at
it by (edition_id, initiative_id). The plan already loaded becomes edition 1 (its years from its action items
and KPI targets). SQLite rebuilds the tables (models.migrate turns foreign keys off around it and checks them
before committing); PostgreSQL alters them in place. Downgrade keeps edition 1 and refuses when there are more.

Revision ID: d4e6b8a0c2f1
Revises: f4b1c7e9a2d6
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = 'd4e6b8a0c2f1'
down_revision: str | None = 'f4b1c7e9a2d6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AWARE = models.types.AwareDateTime(timezone=True)
CHILDREN = ('initiativesection', 'actionitem', 'kpitarget')

# SQLite: each table as it becomes (edition columns first after the key) and as it was.
NEW = {
    'measure': """CREATE TABLE _new_measure (
        id INTEGER NOT NULL, edition_id INTEGER NOT NULL, no INTEGER NOT NULL, title VARCHAR NOT NULL,
        PRIMARY KEY (id), UNIQUE (edition_id, no), FOREIGN KEY(edition_id) REFERENCES planedition (id))""",
    'initiative': """CREATE TABLE _new_initiative (
        pk INTEGER NOT NULL, edition_id INTEGER NOT NULL, id VARCHAR(16) NOT NULL, measure_no INTEGER NOT NULL,
        position INTEGER NOT NULL, title VARCHAR NOT NULL, summary VARCHAR NOT NULL, departments JSON NOT NULL,
        PRIMARY KEY (pk), UNIQUE (edition_id, id),
        FOREIGN KEY(edition_id, measure_no) REFERENCES measure (edition_id, no),
        FOREIGN KEY(edition_id) REFERENCES planedition (id))""",
    'initiativesection': """CREATE TABLE _new_initiativesection (
        id INTEGER NOT NULL, edition_id INTEGER NOT NULL, initiative_id VARCHAR NOT NULL, position INTEGER NOT NULL,
        label VARCHAR NOT NULL, section_id INTEGER, group_kind VARCHAR, group_department VARCHAR,
        is_lead BOOLEAN NOT NULL, PRIMARY KEY (id), UNIQUE (edition_id, initiative_id, position),
        FOREIGN KEY(edition_id, initiative_id) REFERENCES initiative (edition_id, id),
        FOREIGN KEY(edition_id) REFERENCES planedition (id), FOREIGN KEY(section_id) REFERENCES section (id))""",
    'actionitem': """CREATE TABLE _new_actionitem (
        id INTEGER NOT NULL, edition_id INTEGER NOT NULL, initiative_id VARCHAR NOT NULL,
        fiscal_year INTEGER NOT NULL, position INTEGER NOT NULL, text VARCHAR NOT NULL, status VARCHAR NOT NULL,
        status_changed_at DATETIME, removed_at DATETIME, PRIMARY KEY (id),
        FOREIGN KEY(edition_id, initiative_id) REFERENCES initiative (edition_id, id),
        FOREIGN KEY(edition_id) REFERENCES planedition (id))""",
    'kpitarget': """CREATE TABLE _new_kpitarget (
        id INTEGER NOT NULL, edition_id INTEGER NOT NULL, series_id VARCHAR(24) NOT NULL,
        initiative_id VARCHAR NOT NULL, fiscal_year INTEGER NOT NULL, position INTEGER NOT NULL,
        name VARCHAR NOT NULL, target VARCHAR(40) NOT NULL, unit VARCHAR NOT NULL, period VARCHAR,
        kind VARCHAR NOT NULL, better VARCHAR NOT NULL, note VARCHAR, raw VARCHAR NOT NULL, removed_at DATETIME,
        updated_at DATETIME NOT NULL, PRIMARY KEY (id), UNIQUE (edition_id, series_id, fiscal_year),
        FOREIGN KEY(edition_id, initiative_id) REFERENCES initiative (edition_id, id),
        FOREIGN KEY(edition_id) REFERENCES planedition (id))""",
}
OLD = {
    'measure': """CREATE TABLE _new_measure (no INTEGER NOT NULL, title VARCHAR NOT NULL, PRIMARY KEY (no))""",
    'initiative': """CREATE TABLE _new_initiative (
        id VARCHAR(16) NOT NULL, measure_no INTEGER NOT NULL, position INTEGER NOT NULL, title VARCHAR NOT NULL,
        summary VARCHAR NOT NULL, departments JSON NOT NULL, PRIMARY KEY (id),
        FOREIGN KEY(measure_no) REFERENCES measure (no))""",
    'initiativesection': """CREATE TABLE _new_initiativesection (
        id INTEGER NOT NULL, initiative_id VARCHAR NOT NULL, position INTEGER NOT NULL, label VARCHAR NOT NULL,
        section_id INTEGER, group_kind VARCHAR, group_department VARCHAR, is_lead BOOLEAN NOT NULL,
        PRIMARY KEY (id), FOREIGN KEY(initiative_id) REFERENCES initiative (id),
        FOREIGN KEY(section_id) REFERENCES section (id), UNIQUE (initiative_id, position))""",
    'actionitem': """CREATE TABLE _new_actionitem (
        id INTEGER NOT NULL, initiative_id VARCHAR NOT NULL, fiscal_year INTEGER NOT NULL,
        position INTEGER NOT NULL, text VARCHAR NOT NULL, status VARCHAR NOT NULL, status_changed_at DATETIME,
        removed_at DATETIME, PRIMARY KEY (id), FOREIGN KEY(initiative_id) REFERENCES initiative (id))""",
    'kpitarget': """CREATE TABLE _new_kpitarget (
        id INTEGER NOT NULL, series_id VARCHAR(24) NOT NULL, initiative_id VARCHAR NOT NULL,
        fiscal_year INTEGER NOT NULL, position INTEGER NOT NULL, name VARCHAR NOT NULL, target VARCHAR(40) NOT NULL,
        unit VARCHAR NOT NULL, period VARCHAR, kind VARCHAR NOT NULL, better VARCHAR NOT NULL, note VARCHAR,
        raw VARCHAR NOT NULL, removed_at DATETIME, updated_at DATETIME NOT NULL, PRIMARY KEY (id),
        FOREIGN KEY(initiative_id) REFERENCES initiative (id), UNIQUE (series_id, fiscal_year))""",
}
OLD_INDEXES = {
    'measure': [],
    'initiative': [('ix_initiative_measure_no', 'measure_no')],
    'initiativesection': [('ix_initiativesection_initiative_id', 'initiative_id'),
                          ('ix_initiativesection_section_id', 'section_id')],
    'actionitem': [('ix_actionitem_fiscal_year', 'fiscal_year'),
                   ('ix_actionitem_initiative_year', 'initiative_id, fiscal_year')],
    'kpitarget': [('ix_kpitarget_fiscal_year', 'fiscal_year'), ('ix_kpitarget_initiative_id', 'initiative_id'),
                  ('ix_kpitarget_series_id', 'series_id')],
}
NEW_INDEXES = {
    'measure': [('ix_measure_edition_id', 'edition_id')],
    'initiative': [('ix_initiative_edition_id', 'edition_id'), ('ix_initiative_id', 'id'),
                   ('ix_initiative_measure_no', 'measure_no')],
    'initiativesection': [('ix_initiativesection_edition_id', 'edition_id'), *OLD_INDEXES['initiativesection']],
    'actionitem': [('ix_actionitem_edition_id', 'edition_id'), *OLD_INDEXES['actionitem']],
    'kpitarget': [('ix_kpitarget_edition_id', 'edition_id'), *OLD_INDEXES['kpitarget']],
}
OLD_COLUMNS = {
    'measure': 'no, title',
    'initiative': 'id, measure_no, position, title, summary, departments',
    'initiativesection': 'id, initiative_id, position, label, section_id, group_kind, group_department, is_lead',
    'actionitem': 'id, initiative_id, fiscal_year, position, text, status, status_changed_at, removed_at',
    'kpitarget': 'id, series_id, initiative_id, fiscal_year, position, name, target, unit, period, kind, better, '
                 'note, raw, removed_at, updated_at',
}
ORDER = ('measure', 'initiative', 'initiativesection', 'actionitem', 'kpitarget')


def _rebuild(conn, name: str, ddl: str, columns: str, select: str, indexes) -> None:
    """SQLite: create the table anew, copy the rows, swap it in (foreign keys are off meanwhile)."""
    conn.exec_driver_sql(ddl)
    conn.exec_driver_sql(f'INSERT INTO _new_{name} ({columns}) SELECT {select} FROM {name}')
    conn.exec_driver_sql(f'DROP TABLE {name}')
    conn.exec_driver_sql(f'ALTER TABLE _new_{name} RENAME TO {name}')
    for index, cols in indexes:
        conn.exec_driver_sql(f'CREATE INDEX {index} ON {name} ({cols})')


def _first_edition(conn) -> bool:
    """Make the plan already loaded edition 1; False when the database has no plan yet."""
    if conn.exec_driver_sql('SELECT count(*) FROM measure').scalar_one() == 0:
        return False
    low, high = conn.exec_driver_sql(
        'SELECT min(fy), max(fy) FROM (SELECT fiscal_year AS fy FROM actionitem '
        'UNION SELECT fiscal_year AS fy FROM kpitarget) AS years'
    ).one()
    imports = sa.table('planimport', sa.column('source'), sa.column('imported_at', AWARE))
    first = conn.execute(sa.select(sa.func.min(imports.c.imported_at), sa.func.min(imports.c.source))).one()
    edition = sa.table('planedition', sa.column('id'), sa.column('title'), sa.column('first_year'),
                       sa.column('last_year'), sa.column('source'), sa.column('imported_at', AWARE))
    conn.execute(edition.insert().values(
        id=1, title='実行計画', first_year=low, last_year=high, source=first[1] or 'plan.yaml',
        imported_at=first[0] or sa.func.now(),
    ))
    if conn.dialect.name == 'postgresql':
        conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('planedition', 'id'), 1)")
    return True


def upgrade() -> None:
    op.create_table('planedition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('first_year', sa.Integer(), nullable=False),
    sa.Column('last_year', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('imported_at', AWARE, nullable=False),
    sa.Column('imported_by', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_planedition_first_year', 'planedition', ['first_year'], unique=False)
    conn = op.get_bind()
    _first_edition(conn)
    if conn.dialect.name == 'sqlite':
        for name in ORDER:
            columns = OLD_COLUMNS[name]
            _rebuild(conn, name, NEW[name], f'edition_id, {columns}', f'1, {columns}', NEW_INDEXES[name])
    else:
        _upgrade_postgresql()
    with op.batch_alter_table('planimport', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edition_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_planimport_edition_id', 'planedition', ['edition_id'], ['id'])
    op.execute('UPDATE planimport SET edition_id = 1 WHERE EXISTS (SELECT 1 FROM planedition WHERE id = 1)')


def _upgrade_postgresql() -> None:
    for name in CHILDREN:
        op.drop_constraint(f'{name}_initiative_id_fkey', name, type_='foreignkey')
    op.drop_constraint('initiative_measure_no_fkey', 'initiative', type_='foreignkey')
    for name in ORDER:
        op.add_column(name, sa.Column('edition_id', sa.Integer(), nullable=True))
        op.execute(f'UPDATE {name} SET edition_id = 1')
        op.alter_column(name, 'edition_id', nullable=False)
        op.create_foreign_key(f'{name}_edition_id_fkey', name, 'planedition', ['edition_id'], ['id'])
        op.create_index(f'ix_{name}_edition_id', name, ['edition_id'], unique=False)
    op.execute('ALTER TABLE measure ADD COLUMN id SERIAL NOT NULL')
    op.drop_constraint('measure_pkey', 'measure', type_='primary')
    op.create_primary_key('measure_pkey', 'measure', ['id'])
    op.create_unique_constraint('measure_edition_id_no_key', 'measure', ['edition_id', 'no'])
    op.execute('ALTER TABLE initiative ADD COLUMN pk SERIAL NOT NULL')
    op.drop_constraint('initiative_pkey', 'initiative', type_='primary')
    op.create_primary_key('initiative_pkey', 'initiative', ['pk'])
    op.create_unique_constraint('initiative_edition_id_id_key', 'initiative', ['edition_id', 'id'])
    op.create_index('ix_initiative_id', 'initiative', ['id'], unique=False)
    op.create_foreign_key('initiative_edition_id_measure_no_fkey', 'initiative', 'measure',
                          ['edition_id', 'measure_no'], ['edition_id', 'no'])
    op.drop_constraint('initiativesection_initiative_id_position_key', 'initiativesection', type_='unique')
    op.create_unique_constraint('initiativesection_edition_id_initiative_id_position_key', 'initiativesection',
                                ['edition_id', 'initiative_id', 'position'])
    op.drop_constraint('kpitarget_series_id_fiscal_year_key', 'kpitarget', type_='unique')
    op.create_unique_constraint('kpitarget_edition_id_series_id_fiscal_year_key', 'kpitarget',
                                ['edition_id', 'series_id', 'fiscal_year'])
    for name in CHILDREN:
        op.create_foreign_key(f'{name}_edition_id_initiative_id_fkey', name, 'initiative',
                              ['edition_id', 'initiative_id'], ['edition_id', 'id'])


def downgrade() -> None:
    conn = op.get_bind()
    if conn.exec_driver_sql('SELECT count(*) FROM planedition WHERE id <> 1').scalar_one():
        raise RuntimeError('more than one plan edition: the schema before editions can hold only one')
    with op.batch_alter_table('planimport', schema=None) as batch_op:
        batch_op.drop_constraint('fk_planimport_edition_id', type_='foreignkey')
        batch_op.drop_column('edition_id')
    if conn.dialect.name == 'sqlite':
        for name in ORDER:
            columns = OLD_COLUMNS[name]
            _rebuild(conn, name, OLD[name], columns, columns, OLD_INDEXES[name])
    else:
        for name in CHILDREN:
            op.drop_constraint(f'{name}_edition_id_initiative_id_fkey', name, type_='foreignkey')
        op.drop_constraint('kpitarget_edition_id_series_id_fiscal_year_key', 'kpitarget', type_='unique')
        op.create_unique_constraint('kpitarget_series_id_fiscal_year_key', 'kpitarget', ['series_id', 'fiscal_year'])
        op.drop_constraint('initiativesection_edition_id_initiative_id_position_key', 'initiativesection',
                           type_='unique')
        op.create_unique_constraint('initiativesection_initiative_id_position_key', 'initiativesection',
                                    ['initiative_id', 'position'])
        op.drop_constraint('initiative_edition_id_measure_no_fkey', 'initiative', type_='foreignkey')
        op.drop_index('ix_initiative_id', table_name='initiative')
        op.drop_constraint('initiative_edition_id_id_key', 'initiative', type_='unique')
        op.drop_constraint('initiative_pkey', 'initiative', type_='primary')
        op.create_primary_key('initiative_pkey', 'initiative', ['id'])
        op.drop_column('initiative', 'pk')
        op.drop_constraint('measure_edition_id_no_key', 'measure', type_='unique')
        op.drop_constraint('measure_pkey', 'measure', type_='primary')
        op.create_primary_key('measure_pkey', 'measure', ['no'])
        op.drop_column('measure', 'id')
        for name in ORDER:
            op.drop_index(f'ix_{name}_edition_id', table_name=name)
            op.drop_constraint(f'{name}_edition_id_fkey', name, type_='foreignkey')
            op.drop_column(name, 'edition_id')
        op.create_foreign_key('initiative_measure_no_fkey', 'initiative', 'measure', ['measure_no'], ['no'])
        for name in CHILDREN:
            op.create_foreign_key(f'{name}_initiative_id_fkey', name, 'initiative', ['initiative_id'], ['id'])
    op.drop_index('ix_planedition_first_year', table_name='planedition')
    op.drop_table('planedition')
