"""The phone numbers stored campaigns answer, indexed (each number one organisation's), and the
dialling queue's campaigns keyed by organisation and name.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# Frozen copy of storage.dialling_tables.DIAL_CAMPAIGN_KEY at this revision.
_DIAL_CAMPAIGN_KEY = [sa.text("coalesce(organisation_id, '')"), sa.text("name")]


def upgrade() -> None:
    op.create_table(
        "phone_numbers",
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_phone_numbers")),
        sa.UniqueConstraint("number", "organisation_id",
                            name=op.f("uq_phone_numbers_number_organisation")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"], ondelete="CASCADE",
                                name=op.f("fk_phone_numbers_organisation_id_organisations")),
    )
    op.create_table(
        "campaign_numbers",
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("campaign_id", sa.String(36), nullable=False),
        sa.Column("organisation_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("number", "campaign_id", name=op.f("pk_campaign_numbers")),
        sa.ForeignKeyConstraint(["number", "organisation_id"],
                                ["phone_numbers.number", "phone_numbers.organisation_id"],
                                name=op.f("fk_campaign_numbers_number_phone_numbers")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE",
                                name=op.f("fk_campaign_numbers_campaign_id_campaigns")),
    )
    op.create_index("ix_campaign_numbers_campaign_id", "campaign_numbers", ["campaign_id"])
    _index_stored_numbers()
    with op.batch_alter_table("dial_campaigns") as batch:
        batch.drop_constraint("uq_dial_campaigns_name", type_="unique")
    op.create_index("uq_dial_campaigns_organisation_name", "dial_campaigns", _DIAL_CAMPAIGN_KEY,
                    unique=True)


def _index_stored_numbers() -> None:
    """Index the numbers every stored campaign lists. A number two organisations list (only a
    race could have let that happen) stays with the older campaign's, which answered it."""
    campaigns = sa.table("campaigns", sa.column("id", sa.String()),
                         sa.column("organisation_id", sa.String()),
                         sa.column("document", sa.JSON()), sa.column("created_at"))
    connection = op.get_bind()
    owners: dict[str, str] = {}
    listed: list[dict[str, str]] = []
    for campaign_id, organisation_id, document in connection.execute(sa.select(
            campaigns.c.id, campaigns.c.organisation_id, campaigns.c.document,
    ).order_by(campaigns.c.created_at, campaigns.c.id)):
        for number in sorted(set((document or {}).get("phone_numbers", []))):
            if owners.setdefault(number, organisation_id) == organisation_id:
                listed.append({"number": number, "campaign_id": campaign_id,
                               "organisation_id": organisation_id})
    if owners:
        op.bulk_insert(sa.table("phone_numbers", sa.column("number"),
                                sa.column("organisation_id")),
                       [{"number": n, "organisation_id": o} for n, o in owners.items()])
        op.bulk_insert(sa.table("campaign_numbers", sa.column("number"),
                                sa.column("campaign_id"), sa.column("organisation_id")),
                       listed)


def downgrade() -> None:
    op.drop_index("uq_dial_campaigns_organisation_name", table_name="dial_campaigns")
    with op.batch_alter_table("dial_campaigns") as batch:
        batch.create_unique_constraint("uq_dial_campaigns_name", ["name"])
    op.drop_table("campaign_numbers")
    op.drop_table("phone_numbers")
