"""Benefit payments: beneficiaries' bank accounts, paying points, entitlements of monthly benefits, benefit
payments, payroll runs and chunks, payment files, bank result imports, overpayments.

Revision ID: 0023_benefit_payments
Revises: 0022_benefits
Create Date: 2026-12-06 01:22:13.772510
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0023_benefit_payments'
down_revision = '0022_benefits'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_result_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('imported_on', sa.Date(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('paid', sa.Integer(), nullable=False),
    sa.Column('returned', sa.Integer(), nullable=False),
    sa.Column('paid_total', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_result_import')),
    sa.UniqueConstraint('file_sha256', name=op.f('uq_bank_result_import_file_sha256'))
    )
    op.create_table('payroll_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('province', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('chunks_total', sa.Integer(), nullable=False),
    sa.Column('payments', sa.Integer(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('without_method', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('lease_owner', sa.String(length=32), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payroll_run')),
    sa.UniqueConstraint('month', 'province', name=op.f('uq_payroll_run_month_province'))
    )
    op.create_table('paying_point',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('province_2025', sa.String(length=8), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_paying_point_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paying_point')),
    sa.UniqueConstraint('code', name=op.f('uq_paying_point_code'))
    )
    with op.batch_alter_table('paying_point', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paying_point_province_2025'), ['province_2025'], unique=False)

    op.create_table('payroll_chunk',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('chunk', sa.Integer(), nullable=False),
    sa.Column('payments', sa.Integer(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['payroll_run.id'], name=op.f('fk_payroll_chunk_run_id_payroll_run')),
    sa.PrimaryKeyConstraint('run_id', 'chunk', name=op.f('pk_payroll_chunk'))
    )
    op.create_table('benefit_payment_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('bank_bin', sa.String(length=8), nullable=True),
    sa.Column('paying_point_id', sa.Integer(), nullable=True),
    sa.Column('province_2025', sa.String(length=8), nullable=True),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('payments', sa.Integer(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['paying_point_id'], ['paying_point.id'], name=op.f('fk_benefit_payment_file_paying_point_id_paying_point')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_payment_file'))
    )
    op.create_table('beneficiary_bank_account',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_ref', sa.String(length=12), nullable=True),
    sa.Column('bank_bin', sa.String(length=8), nullable=False),
    sa.Column('account_number', sa.String(length=34), nullable=False),
    sa.Column('holder_name', sa.String(length=120), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('verify_note', sa.String(length=200), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('closed_reason', sa.String(length=200), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_beneficiary_bank_account_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_beneficiary_bank_account_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beneficiary_bank_account')),
    sa.UniqueConstraint('person_id', 'bank_bin', 'account_number', name=op.f('uq_beneficiary_bank_account_person_id_bank_bin_account_number'))
    )
    with op.batch_alter_table('beneficiary_bank_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_beneficiary_bank_account_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_beneficiary_bank_account_person_id'), ['person_id'], unique=False)

    op.create_table('benefit_entitlement',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('claim_type', sa.String(length=16), nullable=False),
    sa.Column('fund', sa.String(length=20), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payee_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('monthly_amount', sa.BigInteger(), nullable=False),
    sa.Column('first_month', sa.Date(), nullable=False),
    sa.Column('last_month', sa.Date(), nullable=True),
    sa.Column('method', sa.String(length=8), nullable=True),
    sa.Column('bank_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('paying_point_id', sa.Integer(), nullable=True),
    sa.Column('stopped_on', sa.Date(), nullable=True),
    sa.Column('stop_reason', sa.String(length=200), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('province_2025', sa.String(length=8), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bank_account_id'], ['beneficiary_bank_account.id'], name=op.f('fk_benefit_entitlement_bank_account_id_beneficiary_bank_account')),
    sa.ForeignKeyConstraint(['claim_id'], ['benefit_claim.id'], name=op.f('fk_benefit_entitlement_claim_id_benefit_claim')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_benefit_entitlement_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['payee_person_id'], ['person.id'], name=op.f('fk_benefit_entitlement_payee_person_id_person')),
    sa.ForeignKeyConstraint(['paying_point_id'], ['paying_point.id'], name=op.f('fk_benefit_entitlement_paying_point_id_paying_point')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_benefit_entitlement_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_entitlement')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_benefit_entitlement_claim_id'))
    )
    with op.batch_alter_table('benefit_entitlement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benefit_entitlement_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_benefit_entitlement_payee_person_id'), ['payee_person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_benefit_entitlement_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_entitlement_province', ['province_2025', 'first_month'], unique=False)

    op.create_table('benefit_overpayment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entitlement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('fund', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('recovered', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('payment_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('detected_on', sa.Date(), nullable=False),
    sa.Column('txn', sa.String(length=40), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('province_2025', sa.String(length=8), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entitlement_id'], ['benefit_entitlement.id'], name=op.f('fk_benefit_overpayment_entitlement_id_benefit_entitlement')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_benefit_overpayment_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_benefit_overpayment_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_overpayment'))
    )
    with op.batch_alter_table('benefit_overpayment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benefit_overpayment_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_benefit_overpayment_person_id'), ['person_id'], unique=False)

    op.create_table('benefit_payment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('idem_key', sa.String(length=40), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('entitlement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('month', sa.Date(), nullable=True),
    sa.Column('payee_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('fund', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('bank_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('paying_point_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('payroll_run_id', sa.Integer(), nullable=True),
    sa.Column('chunk', sa.Integer(), nullable=True),
    sa.Column('payment_file_id', sa.Integer(), nullable=True),
    sa.Column('result_import_id', sa.Integer(), nullable=True),
    sa.Column('reissue_of_id', sa.BigInteger(), nullable=True),
    sa.Column('order_txn', sa.String(length=40), nullable=True),
    sa.Column('paid_txn', sa.String(length=40), nullable=True),
    sa.Column('ordered_on', sa.Date(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('failed_on', sa.Date(), nullable=True),
    sa.Column('failure_reason', sa.String(length=200), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('province_2025', sa.String(length=8), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_payment')),
    sa.UniqueConstraint('idem_key', name=op.f('uq_benefit_payment_idem_key'))
    )
    with op.batch_alter_table('benefit_payment', schema=None) as batch_op:
        batch_op.create_index('ix_benefit_payment_claim', ['claim_id'], unique=False,
                              postgresql_where=sa.text('claim_id IS NOT NULL'),
                              sqlite_where=sa.text('claim_id IS NOT NULL'))
        batch_op.create_index('ix_benefit_payment_file', ['payment_file_id'], unique=False,
                              postgresql_where=sa.text('payment_file_id IS NOT NULL'),
                              sqlite_where=sa.text('payment_file_id IS NOT NULL'))
        batch_op.create_index(batch_op.f('ix_benefit_payment_payee_person_id'), ['payee_person_id'], unique=False)
        batch_op.create_index('ix_benefit_payment_run_chunk', ['payroll_run_id', 'chunk'], unique=False)
        batch_op.create_index('uq_benefit_payment_reissue_of_id', ['reissue_of_id'], unique=True,
                              postgresql_where=sa.text('reissue_of_id IS NOT NULL'),
                              sqlite_where=sa.text('reissue_of_id IS NOT NULL'))
        batch_op.create_index(batch_op.f('ix_benefit_payment_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('benefit_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benefit_payment_status'))
        batch_op.drop_index('uq_benefit_payment_reissue_of_id')
        batch_op.drop_index('ix_benefit_payment_run_chunk')
        batch_op.drop_index('ix_benefit_payment_file')
        batch_op.drop_index(batch_op.f('ix_benefit_payment_payee_person_id'))
        batch_op.drop_index('ix_benefit_payment_claim')

    op.drop_table('benefit_payment')
    with op.batch_alter_table('benefit_overpayment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benefit_overpayment_person_id'))
        batch_op.drop_index(batch_op.f('ix_benefit_overpayment_org_unit_id'))

    op.drop_table('benefit_overpayment')
    with op.batch_alter_table('benefit_entitlement', schema=None) as batch_op:
        batch_op.drop_index('ix_entitlement_province')
        batch_op.drop_index(batch_op.f('ix_benefit_entitlement_person_id'))
        batch_op.drop_index(batch_op.f('ix_benefit_entitlement_payee_person_id'))
        batch_op.drop_index(batch_op.f('ix_benefit_entitlement_org_unit_id'))

    op.drop_table('benefit_entitlement')
    with op.batch_alter_table('beneficiary_bank_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_beneficiary_bank_account_person_id'))
        batch_op.drop_index(batch_op.f('ix_beneficiary_bank_account_org_unit_id'))

    op.drop_table('beneficiary_bank_account')
    op.drop_table('benefit_payment_file')
    op.drop_table('payroll_chunk')
    with op.batch_alter_table('paying_point', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paying_point_province_2025'))

    op.drop_table('paying_point')
    op.drop_table('payroll_run')
    op.drop_table('bank_result_import')
