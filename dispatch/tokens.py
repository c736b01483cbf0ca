"""Credentials: one secret per field unit, operator, Open311 client or wall screen (display);
only hashes are kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.store import Store, TokenRow

# `device`: a phone's GPS key, sent as the OsmAnd protocol's device identifier (Traccar Client).
ROLES = ("unit", "operator", "hotline", "citizen", "display", "device")
OPEN311_ROLES = ("hotline", "citizen")  # Open311 api_key holders; the role is the event source


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(store: Store, role: str, subject: str) -> str:
    """A new secret for `subject` in `role`; shown once, stored only as its SHA-256."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    secret = f"sc_{role[0]}_{secrets.token_urlsafe(24)}"
    with store.session() as session:
        session.add(
            TokenRow(
                token_hash=_hash(secret),
                role=role,
                subject=subject,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        session.commit()
    return secret


def lookup(store: Store, secret: str | None) -> TokenRow | None:
    """The live token row for a presented secret, or None."""
    if not secret or len(secret) > 200:
        return None
    with store.session() as session:
        row = session.get(TokenRow, _hash(secret))
    return row if row and row.revoked_at is None else None


def row(session: Session, token_hash: str) -> TokenRow | None:
    """The token row with this hash (live or revoked), or None."""
    return session.get(TokenRow, token_hash[:64]) if token_hash else None


def revoke(store: Store, subject: str, role: str | None = None) -> int:
    """Revoke every live token of `subject` (only those of `role` if given); return how many."""
    with store.session() as session:
        query = select(TokenRow).where(TokenRow.subject == subject, TokenRow.revoked_at.is_(None))
        if role is not None:
            query = query.where(TokenRow.role == role)
        rows = list(session.scalars(query))
        for row in rows:
            row.revoked_at = dt.datetime.now(dt.UTC)
        session.commit()
    return len(rows)
