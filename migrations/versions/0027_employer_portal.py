"""The employer's electronic transactions: registrations, the date of the one in force on the employer, the duty
of each user of an employer.

Revision ID: 0027_employer_portal
Revises: 0026_correction_requests
Create Date: 2026-12-06 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0027_employer_portal"
down_revision = "0026_correction_requests"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("employer") as batch:
        batch.add_column(sa.Column("e_transactions_since", sa.Date(), nullable=True))
    op.create_table(
        "employer_e_registration",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("employer_id", BIG_ID, nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("contact_name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("ended_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["employer_id"], ["employer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_employer_e_registration_employer", "employer_e_registration", ["employer_id", "ended_on"])
    op.create_table(
        "employer_user_duty",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("employer_id", BIG_ID, nullable=False),
        sa.Column("duty", sa.Enum("administrator", "declarations", "accounting", name="duty", native_enum=False, length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["employer_id"], ["employer.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index("ix_employer_user_duty_employer_id", "employer_user_duty", ["employer_id"])


def downgrade() -> None:
    op.drop_index("ix_employer_user_duty_employer_id", table_name="employer_user_duty")
    op.drop_table("employer_user_duty")
    op.drop_index("ix_employer_e_registration_employer", table_name="employer_e_registration")
    op.drop_table("employer_e_registration")
    with op.batch_alter_table("employer") as batch:
        batch.drop_column("e_transactions_since")
