"""The yearly budgets of HI medical costs: a province's estimate and its facilities' indicative figures, in versions

Revision ID: 0016_claims_budgets
Revises: 0015_claims
Create Date: 2026-12-10

Decree 146/2018/NĐ-CP Art 36 (as amended by Decree 75/2023/NĐ-CP): each province's yearly budget of medical costs and
an indicative figure for each facility, adjusted on request. A figure is never overwritten: an adjustment is a new
version from its own day (``budget_key``: the facility's code, or "" for the province's own figure).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016_claims_budgets'
down_revision = '0015_claims'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hi_budget',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('province_2025', sa.String(length=8), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('facility_code', sa.String(length=5), nullable=True),
    sa.Column('budget_key', sa.String(length=5), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_hi_budget_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hi_budget')),
    sa.UniqueConstraint('province_2025', 'year', 'budget_key', 'version',
                        name=op.f('uq_hi_budget_province_2025_year_budget_key_version'))
    )
    with op.batch_alter_table('hi_budget', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hi_budget_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hi_budget_province_2025'), ['province_2025'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hi_budget', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hi_budget_province_2025'))
        batch_op.drop_index(batch_op.f('ix_hi_budget_org_unit_id'))

    op.drop_table('hi_budget')
