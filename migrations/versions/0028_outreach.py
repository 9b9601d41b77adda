"""Outreach: sponsors and their sponsorships (donated cards), collection agents and the payments they took.

Revision ID: 0028_outreach
Revises: 0027_employer_portal
Create Date: 2026-12-06 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0028_outreach"
down_revision = "0027_employer_portal"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sponsor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("province_2025", sa.String(length=8), nullable=False),
        sa.Column("tax_code", sa.String(length=14), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("province_2025", "name"),
    )
    op.create_index("ix_sponsor_org_unit_id", "sponsor", ["org_unit_id"])
    op.create_table(
        "sponsorship",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sponsor_id", sa.Integer(), nullable=False),
        sa.Column("person_id", BIG, nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("from_month", sa.Date(), nullable=False),
        sa.Column("to_month", sa.Date(), nullable=False),
        sa.Column("coverage_period_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.ForeignKeyConstraint(["sponsor_id"], ["sponsor.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sponsorship_sponsor_id", "sponsorship", ["sponsor_id"])
    op.create_index("ix_sponsorship_person_id", "sponsorship", ["person_id"])
    op.create_table(
        "collection_agent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("province_2025", sa.String(length=8), nullable=False),
        sa.Column("commune_code", sa.String(length=8), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_unit.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_collection_agent_org_unit_id", "collection_agent", ["org_unit_id"])
    op.create_table(
        "agent_collection",
        sa.Column("id", BIG, nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", BIG, nullable=False),
        sa.Column("bill_id", BIG, nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("receipt", sa.String(length=40), nullable=False),
        sa.Column("collected_on", sa.Date(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["collection_agent.id"]),
        sa.ForeignKeyConstraint(["bill_id"], ["bill.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payment_id"),
    )
    op.create_index("ix_agent_collection_month", "agent_collection", ["agent_id", "month"])


def downgrade() -> None:
    op.drop_index("ix_agent_collection_month", table_name="agent_collection")
    op.drop_table("agent_collection")
    op.drop_index("ix_collection_agent_org_unit_id", table_name="collection_agent")
    op.drop_table("collection_agent")
    op.drop_index("ix_sponsorship_person_id", table_name="sponsorship")
    op.drop_index("ix_sponsorship_sponsor_id", table_name="sponsorship")
    op.drop_table("sponsorship")
    op.drop_index("ix_sponsor_org_unit_id", table_name="sponsor")
    op.drop_table("sponsor")
