"""Accounts from the command line, as an administrator sets up a real installation: the cockpit
refuses to start without an admin of its own, `user` and `display-token` manage the rest."""

from __future__ import annotations

import os
import subprocess
import sys

from config.paths import PROJECT_ROOT
from dispatch import accounts, tokens
from dispatch.store import Store, default_database_url
from streams.embedded import free_port

RUN = [sys.executable, str(PROJECT_ROOT / "run.py")]


def _run(data_dir, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SC_DEMO")}
    env.update(SC_DATA_DIR=str(data_dir), COCKPIT_PORT=str(free_port()))
    return subprocess.run(
        [*RUN, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=120,
    )


def test_cockpit_needs_its_own_admin_and_user_commands_manage_accounts(tmp_path):
    refused = _run(tmp_path, "cockpit")
    assert refused.returncode == 2
    assert "no enabled admin user" in refused.stderr and "user add NAME --role admin" in (
        refused.stderr
    )
    short = _run(
        tmp_path, "user", "add", "chief", "--role", "admin", "--password-stdin", stdin="x\n"
    )
    assert short.returncode == 2 and "at least 10 characters" in short.stderr
    added = _run(
        tmp_path,
        "user",
        "add",
        "chief",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long enough passphrase\n",
    )
    assert added.returncode == 0, added.stderr
    store = Store(default_database_url(tmp_path))
    try:
        assert accounts.authenticate(store, "chief", "a long enough passphrase").role == "admin"
        # An admin on a password the demo wrote to a file does not count.
        accounts.add_user(store, "demo-admin", "admin", "written to a file", demo=True)
        assert "still has the demo's password" in accounts.admin_problem(store)
        changed = _run(
            tmp_path, "user", "passwd", "demo-admin", "--password-stdin", stdin="now my own one\n"
        )
        assert changed.returncode == 0, changed.stderr
        assert accounts.admin_problem(store) is None
        assert accounts.authenticate(store, "demo-admin", "written to a file") is None
        disabled = _run(tmp_path, "user", "disable", "chief")
        assert (
            disabled.returncode == 0
            and accounts.authenticate(store, "chief", "a long enough passphrase") is None
        )
        unknown = _run(tmp_path, "user", "disable", "nobody")
        assert unknown.returncode == 2 and "no user 'nobody'" in unknown.stderr
    finally:
        store.dispose()


def test_display_tokens_are_created_with_a_kiosk_url_and_revoked(tmp_path):
    created = _run(tmp_path, "display-token", "create", "hall-left")
    assert created.returncode == 0, created.stderr
    secret, url_line = created.stdout.strip().splitlines()
    assert url_line.endswith(f"/kiosk?token={secret}")
    store = Store(default_database_url(tmp_path))
    try:
        assert accounts.display_login(store, secret).name == "hall-left"
        # A unit's token of the same name is not a display's and stays live.
        unit_secret = tokens.issue(store, "unit", "hall-left")
        revoked = _run(tmp_path, "display-token", "revoke", "hall-left")
        assert revoked.returncode == 0 and "revoked 1 display token" in revoked.stdout
        assert accounts.display_login(store, secret) is None
        assert tokens.lookup(store, unit_secret) is not None
    finally:
        store.dispose()


def test_run_py_offers_the_roles_the_accounts_know():
    import run

    assert run.ROLES == accounts.ROLES
    assert accounts.DISPLAY in tokens.ROLES
