"""Notices from the agency to a citizen or an employer.

Revision ID: 0024_notices
Revises: 0023_benefit_payments
Create Date: 2026-12-06 04:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0024_notices"
down_revision = "0023_benefit_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("person_ref", sa.String(length=12), nullable=True),
        sa.Column("employer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("link", sa.String(length=200), nullable=True),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(person_id IS NULL) <> (employer_id IS NULL)", name="ck_notice_one_addressee"),
        sa.ForeignKeyConstraint(["employer_id"], ["employer.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_notice_person", "notice", ["person_id", "sent_on"])
    op.create_index("ix_notice_employer", "notice", ["employer_id", "sent_on"])


def downgrade() -> None:
    op.drop_index("ix_notice_employer", table_name="notice")
    op.drop_index("ix_notice_person", table_name="notice")
    op.drop_table("notice")
