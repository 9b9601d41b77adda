"""Collection trust: the owner and receiving account of a payment, a statement's total, billing-run leases and
exceptions (payers a run could not bill), a status word that fits ``completed_with_exceptions``

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_exception',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('payer_key', sa.String(length=32), nullable=False),
    sa.Column('payer_type', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('message', sa.String(length=400), nullable=False),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=True),
    sa.Column('province_2025', sa.String(length=8), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bill_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'],
                            name=op.f('fk_billing_exception_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['run_id'], ['billing_run.id'],
                            name=op.f('fk_billing_exception_run_id_billing_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_exception')),
    sa.UniqueConstraint('run_id', 'payer_key', name=op.f('uq_billing_exception_run_id_payer_key'))
    )
    with op.batch_alter_table('billing_exception', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_exception_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_exception_run_id'), ['run_id'], unique=False)

    with op.batch_alter_table('billing_run', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=12), type_=sa.String(length=32),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receiving_account', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('org_unit_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_payment_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_payment_org_unit_id_org_unit'), 'org_unit',
                                    ['org_unit_id'], ['id'])

    with op.batch_alter_table('statement_import', schema=None) as batch_op:
        batch_op.add_column(sa.Column('total', sa.BigInteger(), nullable=False, server_default=sa.text('0')))

    # Payments recorded before: a matched payment belongs to its payer's org unit (that of the payer's latest
    # bill, else the employer's); a payment in suspense stays national (its receiving account is unknown).
    op.execute("""
        UPDATE payment SET org_unit_id = coalesce(
            (SELECT b.org_unit_id FROM bill b WHERE b.payer_key = payment.payer_key
             ORDER BY b.period DESC, b.id DESC LIMIT 1),
            (SELECT e.org_unit_id FROM employer e
             WHERE 'E:' || CAST(e.id AS VARCHAR(20)) = payment.payer_key))
        WHERE payment.payer_key IS NOT NULL""")
    op.execute("""
        UPDATE statement_import SET total = coalesce(
            (SELECT sum(p.amount) FROM payment p WHERE p.statement_import_id = statement_import.id), 0)""")


def downgrade() -> None:
    with op.batch_alter_table('statement_import', schema=None) as batch_op:
        batch_op.drop_column('total')

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payment_org_unit_id_org_unit'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_payment_org_unit_id'))
        batch_op.drop_column('org_unit_id')
        batch_op.drop_column('receiving_account')

    op.execute("UPDATE billing_run SET status = 'completed' WHERE status = 'completed_with_exceptions'")
    with op.batch_alter_table('billing_run', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_owner')
        batch_op.alter_column('status', existing_type=sa.String(length=32), type_=sa.String(length=12),
                              existing_nullable=False)

    with op.batch_alter_table('billing_exception', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_exception_run_id'))
        batch_op.drop_index(batch_op.f('ix_billing_exception_org_unit_id'))

    op.drop_table('billing_exception')
