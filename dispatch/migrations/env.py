"""Alembic environment: runs migrations on the connection Store hands over."""

from __future__ import annotations

from alembic import context

from dispatch.store import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection, target_metadata=Base.metadata, render_as_batch=True
)  # SQLite alters tables by copying them
with context.begin_transaction():
    context.run_migrations()
