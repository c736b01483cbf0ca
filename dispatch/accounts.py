"""Cockpit accounts: people who sign in (Argon2-hashed passwords, a role each) and display
tokens for wall screens (revocable secrets, read-only, kept as hashes in `dispatch.tokens`).

A signed-in person or a wall is a `Principal`. A session remembers the principal's `key`; it
stays good only while the account is enabled and its password unchanged (or, for a wall, while
its token is not revoked), so disabling a user or revoking a token ends their sessions.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from dispatch import tokens
from dispatch.store import Store, UserRow

ROLES = ("admin", "operator", "coordinator", "leader", "viewer")
DISPLAY = "display"  # the role of a wall screen's token
MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
_HASHER = PasswordHasher()
# Checked when the name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY = _HASHER.hash("not a password of anyone")


class AccountError(ValueError):
    """A refused account change; the message says what to do instead."""


@dataclass(frozen=True)
class Principal:
    """Who is looking: a person (`kind` user) or a wall screen (`kind` display)."""

    kind: str
    name: str
    role: str
    key: str  # what a session keeps to find the principal again

    @property
    def is_display(self) -> bool:
        """A wall screen's token (read-only, no login)."""
        return self.kind == DISPLAY


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")


def add_user(store: Store, name: str, role: str, password: str, demo: bool = False) -> None:
    """Create an account; AccountError if the name is taken or anything is not acceptable."""
    if not _NAME.match(name or ""):
        raise AccountError("a user name is 2-64 letters, digits or . _ @ -")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    _check_password(password)
    with store.session() as session:
        if session.scalar(select(UserRow).where(UserRow.name == name)):
            raise AccountError(f"user {name!r} exists; change the password with `user passwd`")
        now = _now()
        session.add(
            UserRow(
                name=name,
                role=role,
                password_hash=_HASHER.hash(password),
                demo_password=demo,
                created_at=now,
                password_changed_at=now,
            )
        )
        session.commit()


def _user(session, name: str) -> UserRow:
    user = session.scalar(select(UserRow).where(UserRow.name == name))
    if user is None:
        raise AccountError(f"no user {name!r}; create one with `user add`")
    return user


def set_password(store: Store, name: str, password: str) -> None:
    """A new password (open sessions of the user end)."""
    _check_password(password)
    with store.session() as session:
        user = _user(session, name)
        user.password_hash = _HASHER.hash(password)
        user.password_changed_at = _now()
        user.demo_password = False
        session.commit()


def mark_demo(store: Store, name: str) -> None:
    """Flag the user's password as one the demo wrote to a file (not for real use)."""
    with store.session() as session:
        _user(session, name).demo_password = True
        session.commit()


def disable(store: Store, name: str) -> None:
    """The user can no longer sign in; their open sessions end."""
    with store.session() as session:
        user = _user(session, name)
        user.disabled_at = user.disabled_at or _now()
        session.commit()


def _user_principal(user: UserRow) -> Principal:
    stamp = user.password_changed_at.timestamp()
    return Principal("user", user.name, user.role, f"user:{user.id}:{stamp:.6f}")


def authenticate(store: Store, name: str, password: str) -> Principal | None:
    """The user, if the name and password match an enabled account."""
    with store.session() as session:
        user = session.scalar(select(UserRow).where(UserRow.name == (name or "")[:64]))
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled_at is not None:
        return None
    return _user_principal(user)


def display_login(store: Store, secret: str | None) -> Principal | None:
    """The wall screen a display token belongs to, if the token is live."""
    row = tokens.lookup(store, secret)
    if row is None or row.role != DISPLAY:
        return None
    return Principal(DISPLAY, row.subject, DISPLAY, f"display:{row.token_hash}")


def resolve(store: Store, key: str | None) -> Principal | None:
    """The principal a session's key still stands for (None once disabled, changed or revoked)."""
    kind, _, rest = (key or "").partition(":")
    with store.session() as session:
        if kind == "user":
            user_id, _, stamp = rest.partition(":")
            user = session.get(UserRow, int(user_id)) if user_id.isdigit() else None
            if user is None or user.disabled_at is not None:
                return None
            principal = _user_principal(user)
            return principal if principal.key == key else None
        if kind == DISPLAY:
            row = tokens.row(session, rest)
            if row is None or row.role != DISPLAY or row.revoked_at is not None:
                return None
            return Principal(DISPLAY, row.subject, DISPLAY, key)
    return None


def admin_problem(store: Store) -> str | None:
    """Why the cockpit must not start outside the demo: no enabled admin, or an admin still on
    a password the demo wrote to a file. None when it may start."""
    with store.session() as session:
        admins = list(
            session.scalars(
                select(UserRow).where(UserRow.role == "admin", UserRow.disabled_at.is_(None))
            )
        )
    if not admins:
        return "no enabled admin user; create one: python run.py user add NAME --role admin"
    demo = [a.name for a in admins if a.demo_password]
    if demo:
        return (
            f"admin {demo[0]!r} still has the demo's password; set one: "
            f"python run.py user passwd {demo[0]}"
        )
    return None
