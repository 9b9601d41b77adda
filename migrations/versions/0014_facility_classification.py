"""Facilities carry their 2025 level as dated classifications: level (initial, basic, specialised), score,
provisional, health station (visit category 1.2), the classifying decision

Revision ID: 0014_facility_classification
Revises: 0013_name_word_prefixes
Create Date: 2026-12-08

Law 51/2024/QH15 (Art 1(17), replacing Art 22 of the HI Law from 2025-01-01) replaced the four levels of facilities
(central, provincial, district, commune) by three technical levels. ``medical_facility.level`` stays: it is the
level before 2025-01-01, which still decides some benefits. A reclassification is a new row from its date.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014_facility_classification'
down_revision = '0013_name_word_prefixes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('facility_classification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('level_2025', sa.Enum('initial', 'basic', 'specialised', name='facilitylevel2025', native_enum=False, length=12), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('health_station', sa.Boolean(), nullable=False),
    sa.Column('decision', sa.String(length=120), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score IS NULL OR (score >= 0 AND score <= 100)', name=op.f('ck_facility_classification_score_range')),
    sa.ForeignKeyConstraint(['facility_id'], ['medical_facility.id'], name=op.f('fk_facility_classification_facility_id_medical_facility')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], name=op.f('fk_facility_classification_org_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facility_classification')),
    sa.UniqueConstraint('facility_id', 'valid_from', name=op.f('uq_facility_classification_facility_id_valid_from'))
    )
    with op.batch_alter_table('facility_classification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_facility_classification_org_unit_id'), ['org_unit_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('facility_classification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_facility_classification_org_unit_id'))

    op.drop_table('facility_classification')
