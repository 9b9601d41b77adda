"""Lists that serve an office: indexes for the people list's counts and sorts (the records not merged away)

Revision ID: 0012_list_indexes
Revises: 0011_person_merge
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012_list_indexes'
down_revision = '0011_person_merge'
branch_labels = None
depends_on = None

LIVE = sa.text("merged_into_id IS NULL")
INDEXES = {
    "ix_person_live_org": ["org_unit_id"],  # counting a scope: an index-only scan
    "ix_person_live_name": ["name_search", "id"],  # the list as it opens, by name
    "ix_person_live_born": ["date_of_birth", "id"],  # sorted by date of birth
}


#: The name search ("nguyen van" anywhere in the name): trigrams on PostgreSQL (the extension in the public schema,
#: whatever the search path); on SQLite a plain index.
TRIGRAMS = "ix_person_name_trgm"


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "person", columns, postgresql_where=LIVE, sqlite_where=LIVE)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    op.create_index(TRIGRAMS, "person", ["name_search"], postgresql_using="gin",
                    postgresql_ops={"name_search": "public.gin_trgm_ops"})


def downgrade() -> None:
    op.drop_index(TRIGRAMS, table_name="person")
    for name in INDEXES:
        op.drop_index(name, table_name="person")
