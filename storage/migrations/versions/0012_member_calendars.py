"""Calendar connections belong to an organisation's member; each member's active provider.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_CONNECTIONS = ("outlook_connections", "google_connections")
_SIGN_INS = ("outlook_sign_ins", "google_sign_ins")


def upgrade() -> None:
    for table in _CONNECTIONS:
        with op.batch_alter_table(table) as batch:
            # NULL for both: a server-wide connection made from the CLI (it keeps working).
            batch.add_column(sa.Column("organisation_id", sa.String(36), nullable=True))
            batch.add_column(sa.Column("operator_id", sa.String(36), nullable=True))
            batch.create_foreign_key(op.f(f"fk_{table}_organisation_id_organisations"),
                                     "organisations", ["organisation_id"], ["id"],
                                     ondelete="CASCADE")
            batch.create_foreign_key(op.f(f"fk_{table}_operator_id_operators"),
                                     "operators", ["operator_id"], ["id"], ondelete="CASCADE")
            batch.create_index(op.f(f"ix_{table}_operator_id"), ["operator_id"])
    for table in _SIGN_INS:
        with op.batch_alter_table(table) as batch:
            # The member a sign-in started from the API or the console connects for.
            batch.add_column(sa.Column("operator_id", sa.String(36), nullable=True))
    op.create_table(
        "member_calendars",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("active_provider", sa.String(16), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("operator_id", name=op.f("pk_member_calendars")),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"], ondelete="CASCADE",
                                name=op.f("fk_member_calendars_operator_id_operators")),
        sa.CheckConstraint("active_provider IN ('outlook', 'google')",
                           name=op.f("ck_member_calendars_active_provider")),
    )


def downgrade() -> None:
    op.drop_table("member_calendars")
    for table in _SIGN_INS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("operator_id")
    for table in _CONNECTIONS:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(op.f(f"ix_{table}_operator_id"))
            batch.drop_constraint(op.f(f"fk_{table}_operator_id_operators"), type_="foreignkey")
            batch.drop_constraint(op.f(f"fk_{table}_organisation_id_organisations"),
                                  type_="foreignkey")
            batch.drop_column("operator_id")
            batch.drop_column("organisation_id")
