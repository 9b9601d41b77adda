"""Targets: plan versions per province and year with their targets (an indicator's value for the year or a quarter,
for the province or a local office), the reports issued for a period with their figures frozen, and the monthly
snapshots of the indicators (for trends).

Revision ID: 0021_targets
Revises: 0020_claims_fillfactor
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021_targets'
down_revision = '0020_claims_fillfactor'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('plan_version',
    sa.Column('id', ID, nullable=False),
    sa.Column('province', sa.String(length=8), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_version')),
    sa.UniqueConstraint('province', 'year', 'version', name=op.f('uq_plan_version_province_year_version'))
    )
    op.create_table('issued_report',
    sa.Column('id', ID, nullable=False),
    sa.Column('province', sa.String(length=8), nullable=False),
    sa.Column('period', sa.String(length=12), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('plan_version_id', ID, nullable=True),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_issued_report_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['plan_version_id'], ['plan_version.id'], name=op.f('fk_issued_report_plan_version_id_plan_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_report')),
    sa.UniqueConstraint('province', 'period', 'version', name=op.f('uq_issued_report_province_period_version'))
    )
    with op.batch_alter_table('issued_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_report_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('plan_target',
    sa.Column('id', ID, nullable=False),
    sa.Column('plan_version_id', ID, nullable=False),
    sa.Column('indicator', sa.String(length=64), nullable=False),
    sa.Column('office_code', sa.String(length=20), nullable=True),
    sa.Column('quarter', sa.SmallInteger(), nullable=True),
    sa.Column('value', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['plan_version_id'], ['plan_version.id'], name=op.f('fk_plan_target_plan_version_id_plan_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_target')),
    sa.UniqueConstraint('plan_version_id', 'indicator', 'office_code', 'quarter', name=op.f('uq_plan_target_plan_version_id_indicator_office_code_quarter'))
    )
    with op.batch_alter_table('plan_target', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_target_plan_version_id'), ['plan_version_id'], unique=False)



    op.create_table('indicator_value',
    sa.Column('id', ID, nullable=False),
    sa.Column('indicator', sa.String(length=64), nullable=False),
    sa.Column('province', sa.String(length=8), nullable=False),
    sa.Column('period', sa.String(length=12), nullable=False),
    sa.Column('numerator', sa.BigInteger(), nullable=False),
    sa.Column('denominator', sa.BigInteger(), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_value')),
    sa.UniqueConstraint('period', 'indicator', 'province', name=op.f('uq_indicator_value_period_indicator_province'))
    )


def downgrade() -> None:
    op.drop_table('indicator_value')
    with op.batch_alter_table('plan_target', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_target_plan_version_id'))

    op.drop_table('plan_target')
    with op.batch_alter_table('issued_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issued_report_org_unit_id'))

    op.drop_table('issued_report')
    op.drop_table('plan_version')
