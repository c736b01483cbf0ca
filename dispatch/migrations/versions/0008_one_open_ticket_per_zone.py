"""one open ticket per camera zone and category, enforced by a partial unique index

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The ticket states a new report merges into (dispatch.states.MERGEABLE when this was written).
MERGEABLE = ("new", "dispatched", "accepted", "on_site", "returned", "reopened", "escalated",
             "resolved")  # fmt: skip
WHERE = (
    f"status IN ({', '.join(repr(s) for s in MERGEABLE)}) "
    "AND camera_id IS NOT NULL AND zone_id IS NOT NULL"
)


def upgrade() -> None:
    """Apply this revision; refuse (naming the tickets) where duplicates already exist."""
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT camera_id, zone_id, service_code, count(*) FROM tickets "
                f"WHERE {WHERE} GROUP BY camera_id, zone_id, service_code HAVING count(*) > 1"
            )
        )
        .all()
    )
    if duplicates:
        found = "; ".join(f"{c}/{z} {s}: {n} tickets" for c, z, s, n in duplicates[:10])
        raise RuntimeError(
            "cannot add the one-open-ticket-per-zone guarantee: these camera zones have more "
            f"than one open ticket ({found}). Close all but the oldest of each as 'duplicate' "
            "on the desk, then start again."
        )
    with op.batch_alter_table("tickets") as batch:
        batch.create_index(
            "uq_tickets_open_zone",
            ["camera_id", "zone_id", "service_code"],
            unique=True,
            postgresql_where=sa.text(WHERE),
            sqlite_where=sa.text(WHERE),
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("uq_tickets_open_zone")
