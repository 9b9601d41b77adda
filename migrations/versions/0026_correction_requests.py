"""A citizen's request to correct their registry data, resolved by the office.

Revision ID: 0026_correction_requests
Revises: 0025_second_factor
Create Date: 2026-12-06 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0026_correction_requests"
down_revision = "0025_second_factor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "correction_request",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_ref", sa.String(length=12), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("previous", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("status", sa.Enum("open", "accepted", "rejected", name="correctionstatus", native_enum=False,
                                    length=12), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("province_2025", sa.String(length=8), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_unit_id"], ["org_unit.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_correction_request_person_id", "correction_request", ["person_id"])
    op.create_index("ix_correction_request_org_unit_id", "correction_request", ["org_unit_id"])
    op.create_index("ix_correction_request_status_unit", "correction_request", ["status", "org_unit_id"])


def downgrade() -> None:
    op.drop_index("ix_correction_request_status_unit", table_name="correction_request")
    op.drop_index("ix_correction_request_org_unit_id", table_name="correction_request")
    op.drop_index("ix_correction_request_person_id", table_name="correction_request")
    op.drop_table("correction_request")
