"""Cards trust: alerts on card lookups (many unrelated people, many failed identity checks) and the index that
answers "has this facility looked this person up" (FHIR Coverage reads)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('card_lookup_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('looker', sa.String(length=40), nullable=False),
    sa.Column('facility_code', sa.String(length=10), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('province_2025', sa.String(length=8), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_lookup_alert')),
    sa.UniqueConstraint('looker', 'kind', 'hour', name='uq_card_lookup_alert_looker_kind_hour'),
    )
    op.create_index('ix_card_lookup_alert_province', 'card_lookup_alert', ['province_2025', 'raised_at'],
                    unique=False)
    op.create_index('ix_card_lookup_facility_person', 'card_lookup', ['facility_code', 'person_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_card_lookup_facility_person', table_name='card_lookup')
    op.drop_index('ix_card_lookup_alert_province', table_name='card_lookup_alert')
    op.drop_table('card_lookup_alert')
