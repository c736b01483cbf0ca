"""trend facts on tickets: local day and hour, hexagon, repeat, supervision, working minutes

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _columns() -> tuple[sa.Column, ...]:
    return (
        sa.Column("local_day", sa.Date(), nullable=True),
        sa.Column("local_hour", sa.SmallInteger(), nullable=True),
        sa.Column("local_dow", sa.SmallInteger(), nullable=True),
        sa.Column("hex_cell", sa.String(length=16), nullable=True),
        sa.Column("repeat_of", sa.String(length=32), nullable=True),
        sa.Column("supervised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accept_work_min", sa.Float(), nullable=True),
        sa.Column("arrive_work_min", sa.Float(), nullable=True),
        sa.Column("resolve_work_min", sa.Float(), nullable=True),
        sa.Column("facts_due", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def upgrade() -> None:
    """Apply this revision: every existing ticket's facts are filled in by the dispatcher."""
    with op.batch_alter_table("tickets") as batch:
        for column in _columns():
            batch.add_column(column)
        batch.create_index("ix_tickets_local_day", ["local_day"])
        batch.create_index("ix_tickets_facts_due", ["facts_due"])
        batch.create_index("ix_tickets_supervised_at", ["supervised_at"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("tickets") as batch:
        for name in ("ix_tickets_supervised_at", "ix_tickets_facts_due", "ix_tickets_local_day"):
            batch.drop_index(name)
        for column in reversed(_columns()):
            batch.drop_column(column.name)
