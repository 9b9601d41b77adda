"""Medical facilities: the specialty (a code of cards/data/facility_specialties.yaml; "general" for every facility
registered before), which with the level makes a facility's peer group for cost monitoring.

Revision ID: 0019_facility_specialty
Revises: 0018_claim_settlement
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019_facility_specialty'
down_revision = '0018_claim_settlement'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('medical_facility') as batch:
        batch.add_column(sa.Column('specialty', sa.String(length=24), server_default='general', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('medical_facility') as batch:
        batch.drop_column('specialty')
