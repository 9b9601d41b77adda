"""The people list's name search and deep pages on PostgreSQL: word prefixes in a GIN index, sort indexes that cover
the scope

Revision ID: 0013_name_word_prefixes
Revises: 0012_list_indexes
Create Date: 2026-12-05

The name search finds "nguyen van" at the start of any word of a name. Trigrams (0012) find candidates sharing
"ngu", "guy", "van"…, about one person in six of a province, each then read and checked: a second per search.
Here every word-initial prefix of a name (up to 12 letters: "n", "ng", …, "nguyen van a", "v", "va", "van", …)
is an element of an array indexed by GIN, so a search reads the posting list of exactly the people it finds.

The sorts by name and by date of birth also carry the org unit, so that the rows skipped before a deep page
(page 2,000: 100,000 rows) are read from the index alone, without visiting the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013_name_word_prefixes'
down_revision = '0012_list_indexes'
branch_labels = None
depends_on = None

LIVE = sa.text("merged_into_id IS NULL")

#: Must equal ``ansinh.registry.service.NAME_PREFIX_LENGTH``: a longer search is looked up by its first 12 letters and
#: checked in full on the rows found.
FUNCTION = """
CREATE OR REPLACE FUNCTION name_word_prefixes(name text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT left(array_to_string(words[k:], ' '), n)), '{}')
  FROM string_to_array(name, ' ') AS words, generate_subscripts(words, 1) AS k, generate_series(1, 12) AS n
$$
"""
PREFIXES = "ix_person_name_prefixes"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(FUNCTION)
        op.execute(f"CREATE INDEX {PREFIXES} ON person USING gin (name_word_prefixes(name_search)) "
                   "WHERE merged_into_id IS NULL")
        op.drop_index("ix_person_name_trgm", table_name="person")
    else:  # SQLite searches with LIKE over the name index
        op.drop_index("ix_person_name_trgm", table_name="person")
    for name, columns in (("ix_person_live_name", ["name_search", "id"]),
                          ("ix_person_live_born", ["date_of_birth", "id"])):
        op.drop_index(name, table_name="person")
        op.create_index(name, "person", [*columns, "org_unit_id"], postgresql_where=LIVE, sqlite_where=LIVE)


def downgrade() -> None:
    for name, columns in (("ix_person_live_name", ["name_search", "id"]),
                          ("ix_person_live_born", ["date_of_birth", "id"])):
        op.drop_index(name, table_name="person")
        op.create_index(name, "person", columns, postgresql_where=LIVE, sqlite_where=LIVE)
    op.create_index("ix_person_name_trgm", "person", ["name_search"], postgresql_using="gin",
                    postgresql_ops={"name_search": "public.gin_trgm_ops"})
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(PREFIXES, table_name="person")
        op.execute("DROP FUNCTION IF EXISTS name_word_prefixes(text)")
