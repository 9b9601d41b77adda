"""Medical claims: the files received, the episodes (claims) with their versions, their lines and other tables as
received; the facilities' price lists; the appraisal's runs and findings

Revision ID: 0015_claims
Revises: 0014_facility_classification
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015_claims'
down_revision = '0014_facility_classification'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('appraisal_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_by', sa.String(length=64), nullable=False),
    sa.Column('facility_code', sa.String(length=5), nullable=True),
    sa.Column('settlement_year', sa.Integer(), nullable=True),
    sa.Column('settlement_month', sa.Integer(), nullable=True),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.Column('findings', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_run'))
    )
    op.create_table('claim_file',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('facility_code', sa.String(length=5), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('layout', sa.String(length=8), nullable=True),
    sa.Column('created_on', sa.Date(), nullable=True),
    sa.Column('declared_count', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('problem_count', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_claim_file_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_file')),
    sa.UniqueConstraint('facility_code', 'sha256', name=op.f('uq_claim_file_facility_code_sha256'))
    )
    with op.batch_alter_table('claim_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_file_facility_code'), ['facility_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_file_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('price_list',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('facility_code', sa.String(length=5), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_price_list_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_list'))
    )
    with op.batch_alter_table('price_list', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_list_facility_code'), ['facility_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_price_list_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('claim',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('file_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('facility_code', sa.String(length=5), nullable=False),
    sa.Column('episode_key', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('patient_ref', sa.String(length=100), nullable=True),
    sa.Column('full_name', sa.String(length=255), nullable=False),
    sa.Column('citizen_id', sa.String(length=12), nullable=True),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('sex', sa.SmallInteger(), nullable=True),
    sa.Column('card_code', sa.String(length=200), nullable=True),
    sa.Column('registered_facility', sa.String(length=5), nullable=True),
    sa.Column('card_valid_from', sa.Date(), nullable=True),
    sa.Column('card_valid_to', sa.Date(), nullable=True),
    sa.Column('main_icd', sa.String(length=10), nullable=True),
    sa.Column('other_icd', sa.String(length=200), nullable=True),
    sa.Column('visit_category', sa.String(length=8), nullable=True),
    sa.Column('care_type', sa.String(length=2), nullable=True),
    sa.Column('referred_from', sa.String(length=5), nullable=True),
    sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('admitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('discharged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('treatment_days', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.SmallInteger(), nullable=True),
    sa.Column('discharge_type', sa.SmallInteger(), nullable=True),
    sa.Column('total_hospital', sa.BigInteger(), nullable=False),
    sa.Column('total_insured', sa.BigInteger(), nullable=False),
    sa.Column('patient_copay', sa.BigInteger(), nullable=False),
    sa.Column('patient_pays', sa.BigInteger(), nullable=False),
    sa.Column('fund_claimed', sa.BigInteger(), nullable=False),
    sa.Column('other_sources', sa.BigInteger(), nullable=False),
    sa.Column('settlement_year', sa.SmallInteger(), nullable=False),
    sa.Column('settlement_month', sa.SmallInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('outcome_status', sa.String(length=16), nullable=True),
    sa.Column('disallowed', sa.BigInteger(), nullable=False),
    sa.Column('appraised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settlement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('province_2025', sa.String(length=8), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['claim_file.id'], name=op.f('fk_claim_file_id_claim_file')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_claim_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim')),
    sa.UniqueConstraint('facility_code', 'episode_key', 'version', name=op.f('uq_claim_facility_code_episode_key_version'))
    )
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.create_index('ix_claim_current', ['facility_code', 'episode_key', 'superseded_at'], unique=False)
        batch_op.create_index('ix_claim_facility_month', ['facility_code', 'settlement_year', 'settlement_month'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_file_id'), ['file_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index('ix_claim_person_arrived', ['person_id', 'arrived_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_person_id'), ['person_id'], unique=False)

    op.create_table('price_item',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('list_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('facility_code', sa.String(length=5), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=1024), nullable=False),
    sa.Column('unit', sa.String(length=50), nullable=True),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('tender', sa.String(length=100), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('superseded_from', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['price_list.id'], name=op.f('fk_price_item_list_id_price_list')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_item'))
    )
    with op.batch_alter_table('price_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_item_list_id'), ['list_id'], unique=False)
        batch_op.create_index('ix_price_item_lookup', ['facility_code', 'kind', 'code', 'valid_from'], unique=False)

    op.create_table('appraisal_finding',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overridden_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overridden_by', sa.String(length=64), nullable=True),
    sa.Column('override_reason', sa.String(length=500), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], name=op.f('fk_appraisal_finding_claim_id_claim')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_appraisal_finding_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['run_id'], ['appraisal_run.id'], name=op.f('fk_appraisal_finding_run_id_appraisal_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_finding'))
    )
    with op.batch_alter_table('appraisal_finding', schema=None) as batch_op:
        batch_op.create_index('ix_appraisal_finding_claim', ['claim_id', 'superseded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_appraisal_finding_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index('ix_appraisal_finding_rule', ['rule', 'superseded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_appraisal_finding_run_id'), ['run_id'], unique=False)

    op.create_table('claim_attachment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_table', sa.String(length=6), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], name=op.f('fk_claim_attachment_claim_id_claim')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_attachment')),
    sa.UniqueConstraint('claim_id', 'source_table', name=op.f('uq_claim_attachment_claim_id_source_table'))
    )
    with op.batch_alter_table('claim_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_attachment_claim_id'), ['claim_id'], unique=False)

    op.create_table('claim_line',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_table', sa.String(length=4), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('cost_group', sa.String(length=4), nullable=True),
    sa.Column('name', sa.String(length=1024), nullable=True),
    sa.Column('unit', sa.String(length=50), nullable=True),
    sa.Column('scope', sa.SmallInteger(), nullable=True),
    sa.Column('quantity_milli', sa.BigInteger(), nullable=False),
    sa.Column('unit_price_milli', sa.BigInteger(), nullable=False),
    sa.Column('payment_rate', sa.SmallInteger(), nullable=True),
    sa.Column('benefit_pct', sa.SmallInteger(), nullable=True),
    sa.Column('hospital_amount', sa.BigInteger(), nullable=False),
    sa.Column('insured_amount', sa.BigInteger(), nullable=False),
    sa.Column('fund_amount', sa.BigInteger(), nullable=False),
    sa.Column('patient_copay', sa.BigInteger(), nullable=False),
    sa.Column('patient_pays', sa.BigInteger(), nullable=False),
    sa.Column('tender', sa.String(length=100), nullable=True),
    sa.Column('bed_code', sa.String(length=10), nullable=True),
    sa.Column('department', sa.String(length=50), nullable=True),
    sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('performed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disallowed', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], name=op.f('fk_claim_line_claim_id_claim')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_line')),
    sa.UniqueConstraint('claim_id', 'source_table', 'row_no', name=op.f('uq_claim_line_claim_id_source_table_row_no'))
    )
    with op.batch_alter_table('claim_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_line_claim_id'), ['claim_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('claim_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_line_claim_id'))

    op.drop_table('claim_line')
    with op.batch_alter_table('claim_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_attachment_claim_id'))

    op.drop_table('claim_attachment')
    with op.batch_alter_table('appraisal_finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appraisal_finding_run_id'))
        batch_op.drop_index('ix_appraisal_finding_rule')
        batch_op.drop_index(batch_op.f('ix_appraisal_finding_org_unit_id'))
        batch_op.drop_index('ix_appraisal_finding_claim')

    op.drop_table('appraisal_finding')
    with op.batch_alter_table('price_item', schema=None) as batch_op:
        batch_op.drop_index('ix_price_item_lookup')
        batch_op.drop_index(batch_op.f('ix_price_item_list_id'))

    op.drop_table('price_item')
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_person_id'))
        batch_op.drop_index('ix_claim_person_arrived')
        batch_op.drop_index(batch_op.f('ix_claim_org_unit_id'))
        batch_op.drop_index(batch_op.f('ix_claim_file_id'))
        batch_op.drop_index('ix_claim_facility_month')
        batch_op.drop_index('ix_claim_current')

    op.drop_table('claim')
    with op.batch_alter_table('price_list', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_list_org_unit_id'))
        batch_op.drop_index(batch_op.f('ix_price_list_facility_code'))

    op.drop_table('price_list')
    with op.batch_alter_table('claim_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_file_org_unit_id'))
        batch_op.drop_index(batch_op.f('ix_claim_file_facility_code'))

    op.drop_table('claim_file')
    op.drop_table('appraisal_run')
