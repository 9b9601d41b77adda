"""Medical claims: at most one current version (not superseded) of an episode (facility, MA_LK), whatever two
intakes of the same episode do at the same time. This partial unique index also finds the current version, and the
unique constraint (facility, MA_LK, version) finds every version: ix_claim_current is dropped (one index less to keep
up on every claim written).

Revision ID: 0017_claim_current_episode
Revises: 0016_claims_budgets
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017_claim_current_episode'
down_revision = '0016_claims_budgets'
branch_labels = None
depends_on = None

CURRENT = sa.text("superseded_at IS NULL")


def upgrade() -> None:
    op.create_index('uq_claim_current_episode', 'claim', ['facility_code', 'episode_key'], unique=True,
                    postgresql_where=CURRENT, sqlite_where=CURRENT)
    op.drop_index('ix_claim_current', table_name='claim')


def downgrade() -> None:
    op.create_index('ix_claim_current', 'claim', ['facility_code', 'episode_key', 'superseded_at'], unique=False)
    op.drop_index('uq_claim_current_episode', 'claim', postgresql_where=CURRENT, sqlite_where=CURRENT)
