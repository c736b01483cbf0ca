"""One-shot commands: API tokens, detector training and evaluation, rendering the demo clips."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from config.schema import AppConfig
from stack.context import Context, ServiceError


def _weights_file(path: Path | None, flag: str) -> Path | None:
    """A weights file given on the command line, which must exist (Ultralytics would try to
    download a missing name)."""
    if path is not None and not path.is_file():
        raise ServiceError(f"{flag}: weights file not found: {path} (give an existing .pt file)")
    return path


def train_model(
    cfg: AppConfig,
    epochs: int | None,
    out: Path | None,
    hours: float | None = None,
    start: Path | None = None,
) -> None:
    """`run.py train`: render the dataset if needed, train, write the weights."""
    from dataclasses import replace

    from vision.train import BUNDLED, TrainSpec, train

    spec = replace(TrainSpec(), hours=hours, start=_weights_file(start, "--from"))
    if epochs is not None:
        spec = replace(spec, epochs=epochs)
    path = train(cfg.services.data_dir, spec, out or BUNDLED)
    print(f"weights written to {path}")


def evaluate_model(cfg: AppConfig, weights: Path | None, split: str = "test") -> None:
    """`run.py eval`: precision, recall, mAP50 and mAP50-95 per class on a held-out split."""
    from vision.train import BUNDLED, DEFAULT_SET, evaluate, format_metrics

    weights = _weights_file(weights, "--weights") or BUNDLED
    result = evaluate(cfg.services.data_dir, weights, cfg.vision.imgsz, DEFAULT_SET, split)
    print(format_metrics(result))


def quantize_model(cfg: AppConfig, weights: Path | None) -> None:
    """`run.py quantize`: INT8 for OpenVINO, written to vision.quantized if it keeps accuracy."""
    from config.paths import project_path
    from vision.detector import ModelError
    from vision.quantize import quantize

    weights = _weights_file(weights, "--weights") or project_path(cfg.vision.weights)
    if cfg.vision.quantized is None:
        raise ServiceError("vision.quantized is none: set the folder the INT8 model goes to")
    try:
        record = quantize(
            weights, cfg.services.data_dir, project_path(cfg.vision.quantized), cfg.vision.imgsz
        )
    except ModelError as exc:
        raise ServiceError(str(exc)) from exc
    print(
        f"INT8 model written to {cfg.vision.quantized}: mAP50 {record['map50_float']:.3f} "
        f"(float) -> {record['map50_int8']:.3f} (INT8)"
    )


def render_demo_clips(
    cfg: AppConfig, force: bool = False, processes: int = 2, stop: threading.Event | None = None
) -> list[Path]:
    """Render the synthetic clips the config's cameras play (those missing, or all with force)."""
    from vision.synth.clips import render_missing

    return render_missing(cfg, force=force, processes=processes, stop=stop)


def manage_token(cfg: AppConfig, role: str, subject: str, revoke: bool) -> int:
    """`python run.py token ROLE SUBJECT`: print a new secret (or revoke SUBJECT's tokens)."""
    from dispatch import tokens

    store = Context(cfg).store
    if revoke:
        print(f"revoked {tokens.revoke(store, subject)} token(s) of {subject}")
        return 0
    if role in ("unit", "device") and cfg.unit(subject) is None:
        known = ", ".join(u.id for u in cfg.units)
        print(f"token: unknown unit {subject!r}; units: {known}", file=sys.stderr)
        return 2
    print(tokens.issue(store, role, subject))
    if role == "device":
        hint = ("enter it in Traccar Client as the Device identifier (Server URL: the API's "
                "address); revoke it with --revoke when the phone is lost")  # fmt: skip
        print(hint, file=sys.stderr)
    return 0


def _read_password(from_stdin: bool) -> str:
    import getpass

    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ServiceError("the two passwords differ; nothing was changed")
    return first


def manage_user(cfg: AppConfig, action: str, name: str, role: str, from_stdin: bool) -> int:
    """`python run.py user add|passwd|disable NAME`: change a cockpit account."""
    from dispatch import accounts

    store = Context(cfg).store
    try:
        if action == "disable":
            accounts.disable(store, name)
            print(f"user {name} disabled; their sessions end within seconds")
        elif action == "add":
            accounts.add_user(store, name, role, _read_password(from_stdin))
            print(f"user {name} added as {role}")
        else:
            accounts.set_password(store, name, _read_password(from_stdin))
            print(f"password of {name} changed; their other sessions end")
    except accounts.AccountError as exc:
        print(f"user {action}: {exc}", file=sys.stderr)
        return 2
    return 0


def manage_display_token(cfg: AppConfig, action: str, name: str) -> int:
    """`python run.py display-token create|revoke NAME`: a wall screen's kiosk URL."""
    from dispatch import tokens
    from dispatch.accounts import DISPLAY

    store = Context(cfg).store
    if action == "revoke":
        count = tokens.revoke(store, name, role=DISPLAY)
        print(f"revoked {count} display token(s) of {name}; its wall goes dark within seconds")
        return 0
    secret = tokens.issue(store, DISPLAY, name)
    host, port = cfg.services.cockpit_host, cfg.services.cockpit_port
    print(f"{secret}\nkiosk URL: http://{host}:{port}/kiosk?token={secret}")
    return 0


def demo_users(cfg: AppConfig) -> Path:
    """One demo account per role with a random password, written to the data dir (mode 600);
    kept across runs while they still sign in."""
    import secrets

    from dispatch import accounts

    path = cfg.services.data_dir.resolve() / "demo-users.txt"
    store = Context(cfg).store
    if path.exists():
        lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
        if lines and all(len(p) == 3 and accounts.authenticate(store, p[1], p[2]) for p in lines):
            return path
    text = ""
    for role in accounts.ROLES:
        name, password = f"demo-{role}", secrets.token_urlsafe(12)
        try:
            accounts.add_user(store, name, role, password, demo=True)
        except accounts.AccountError:  # from an earlier run whose file was lost
            accounts.set_password(store, name, password)
            accounts.mark_demo(store, name)
        text += f"{role} {name} {password}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(text)
    store.dispose()
    return path


def demo_tokens(cfg: AppConfig) -> Path:
    """Tokens for every demo unit, an operator and a hotline, kept in the data dir (mode 600)."""
    from dispatch import tokens

    path = cfg.services.data_dir.resolve() / "demo-tokens.txt"
    store = Context(cfg).store
    if path.exists():
        lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
        if lines and all(len(p) == 3 and tokens.lookup(store, p[2]) for p in lines):
            return path
    subjects = [("unit", u.id) for u in cfg.units]
    subjects += [("operator", "demo"), ("hotline", "demo"), ("display", "demo-wall")]
    text = "".join(
        f"{role} {subject} {tokens.issue(store, role, subject)}\n" for role, subject in subjects
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(text)
    store.dispose()
    return path
