"""Medical claims: the monthly settlement per facility (a settled month is closed), the advances paid to facilities
and the parts of them each settlement offset. A claim is settled when its facility's month is (one row, not a
column written on every claim): ``claim.settlement_id`` goes.

Revision ID: 0018_claim_settlement
Revises: 0017_claim_current_episode
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018_claim_settlement'
down_revision = '0017_claim_current_episode'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('claim_settlement',
    sa.Column('id', ID, nullable=False),
    sa.Column('facility_code', sa.String(length=5), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('province_2025', sa.String(length=8), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('month', sa.SmallInteger(), nullable=False),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.Column('claimed', sa.BigInteger(), nullable=False),
    sa.Column('disallowed', sa.BigInteger(), nullable=False),
    sa.Column('accepted', sa.BigInteger(), nullable=False),
    sa.Column('advances', sa.BigInteger(), nullable=False),
    sa.Column('due', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('settled_on', sa.Date(), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_by', sa.String(length=64), nullable=False),
    sa.Column('ledger_txn', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_claim_settlement_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_settlement')),
    sa.UniqueConstraint('facility_code', 'year', 'month', name=op.f('uq_claim_settlement_facility_code_year_month'))
    )
    with op.batch_alter_table('claim_settlement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_settlement_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('claim_advance',
    sa.Column('id', ID, nullable=False),
    sa.Column('facility_code', sa.String(length=5), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('province_2025', sa.String(length=8), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('offset_amount', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('ledger_txn', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_claim_advance_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_advance')),
    sa.UniqueConstraint('facility_code', 'reference', name=op.f('uq_claim_advance_facility_code_reference'))
    )
    with op.batch_alter_table('claim_advance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_advance_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('claim_advance_offset',
    sa.Column('id', ID, nullable=False),
    sa.Column('advance_id', ID, nullable=False),
    sa.Column('settlement_id', ID, nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['advance_id'], ['claim_advance.id'],
                            name=op.f('fk_claim_advance_offset_advance_id_claim_advance')),
    sa.ForeignKeyConstraint(['settlement_id'], ['claim_settlement.id'],
                            name=op.f('fk_claim_advance_offset_settlement_id_claim_settlement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_advance_offset'))
    )
    with op.batch_alter_table('claim_advance_offset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_advance_offset_advance_id'), ['advance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_advance_offset_settlement_id'), ['settlement_id'], unique=False)

    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_column('settlement_id')


def downgrade() -> None:
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settlement_id', ID, nullable=True))
    op.drop_table('claim_advance_offset')
    op.drop_table('claim_advance')
    op.drop_table('claim_settlement')
