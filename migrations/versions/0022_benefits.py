"""Benefits: the benefit claim (every type, with its type-specific part, legal clock, assessment and decision), its
timeline of transitions, the employers' lists of sickness and maternity cases (01B-HSB), and decision numbering.

Revision ID: 0022_benefits
Revises: 0021_targets
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0022_benefits'
down_revision = '0021_targets'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('benefit_decision_sequence',
    sa.Column('province', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('province', 'year', name=op.f('pk_benefit_decision_sequence'))
    )
    op.create_table('employer_benefit_batch',
    sa.Column('id', ID, nullable=False),
    sa.Column('employer_id', ID, nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('filed', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('outcomes', sa.JSON(), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('submitted_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['employer.id'], name=op.f('fk_employer_benefit_batch_employer_id_employer')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_employer_benefit_batch_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employer_benefit_batch')),
    sa.UniqueConstraint('employer_id', 'file_sha256', name=op.f('uq_employer_benefit_batch_employer_id_file_sha256'))
    )
    with op.batch_alter_table('employer_benefit_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employer_benefit_batch_employer_id'), ['employer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_employer_benefit_batch_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('benefit_claim',
    sa.Column('id', ID, nullable=False),
    sa.Column('claim_type', sa.Enum('lump_sum', 'pension', 'sickness', 'maternity', 'unemployment', 'funeral', 'survivor', name='claimtype', native_enum=False, length=16), nullable=False),
    sa.Column('person_id', ID, nullable=False),
    sa.Column('person_ref', sa.String(length=12), nullable=True),
    sa.Column('payee_person_id', ID, nullable=True),
    sa.Column('channel', sa.Enum('counter', 'post', 'employer', 'portal', name='channel', native_enum=False, length=12), nullable=False),
    sa.Column('status', sa.Enum('received', 'incomplete', 'accepted', 'assessed', 'granted', 'refused', 'payment_ordered', 'paid', 'failed', 'reconciled', 'withdrawn', name='claimstatus', native_enum=False, length=16), nullable=False),
    sa.Column('ground', sa.String(length=40), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('missing', sa.JSON(), nullable=True),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.Column('complete_on', sa.Date(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('assessment', sa.JSON(), nullable=True),
    sa.Column('eligible', sa.Boolean(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=True),
    sa.Column('monthly_amount', sa.BigInteger(), nullable=True),
    sa.Column('benefit_months', sa.Integer(), nullable=True),
    sa.Column('first_month', sa.Date(), nullable=True),
    sa.Column('assessed_on', sa.Date(), nullable=True),
    sa.Column('assessed_by', sa.String(length=64), nullable=True),
    sa.Column('decision_number', sa.String(length=40), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('refusal_reason', sa.String(length=1000), nullable=True),
    sa.Column('refusal_article', sa.String(length=120), nullable=True),
    sa.Column('appeal_count', sa.Integer(), nullable=False),
    sa.Column('excluded_officer', sa.String(length=64), nullable=True),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.Column('employer_id', ID, nullable=True),
    sa.Column('employer_batch_id', ID, nullable=True),
    sa.Column('batch_line', sa.Integer(), nullable=True),
    sa.Column('external_ref', sa.String(length=80), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('province_2025', sa.String(length=8), nullable=True),
    sa.Column('filed_by', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['employer_batch_id'], ['employer_benefit_batch.id'], name=op.f('fk_benefit_claim_employer_batch_id_employer_benefit_batch')),
    sa.ForeignKeyConstraint(['employer_id'], ['employer.id'], name=op.f('fk_benefit_claim_employer_id_employer')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_benefit_claim_org_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['payee_person_id'], ['person.id'], name=op.f('fk_benefit_claim_payee_person_id_person')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_benefit_claim_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_claim')),
    sa.UniqueConstraint('decision_number', name=op.f('uq_benefit_claim_decision_number')),
    sa.UniqueConstraint('external_ref', name=op.f('uq_benefit_claim_external_ref'))
    )
    with op.batch_alter_table('benefit_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benefit_claim_deadline'), ['deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_benefit_claim_employer_id'), ['employer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_benefit_claim_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_benefit_claim_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_benefit_claim_province_status', ['province_2025', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_benefit_claim_status'), ['status'], unique=False)
        batch_op.create_index('ix_benefit_claim_type_filed', ['claim_type', 'filed_on'], unique=False)

    op.create_table('benefit_claim_event',
    sa.Column('id', ID, nullable=False),
    sa.Column('claim_id', ID, nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['benefit_claim.id'], name=op.f('fk_benefit_claim_event_claim_id_benefit_claim')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_claim_event'))
    )
    with op.batch_alter_table('benefit_claim_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benefit_claim_event_claim_id'), ['claim_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('benefit_claim_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benefit_claim_event_claim_id'))

    op.drop_table('benefit_claim_event')
    with op.batch_alter_table('benefit_claim', schema=None) as batch_op:
        batch_op.drop_index('ix_benefit_claim_type_filed')
        batch_op.drop_index(batch_op.f('ix_benefit_claim_status'))
        batch_op.drop_index('ix_benefit_claim_province_status')
        batch_op.drop_index(batch_op.f('ix_benefit_claim_person_id'))
        batch_op.drop_index(batch_op.f('ix_benefit_claim_org_unit_id'))
        batch_op.drop_index(batch_op.f('ix_benefit_claim_employer_id'))
        batch_op.drop_index(batch_op.f('ix_benefit_claim_deadline'))

    op.drop_table('benefit_claim')
    with op.batch_alter_table('employer_benefit_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employer_benefit_batch_org_unit_id'))
        batch_op.drop_index(batch_op.f('ix_employer_benefit_batch_employer_id'))

    op.drop_table('employer_benefit_batch')
    op.drop_table('benefit_decision_sequence')
