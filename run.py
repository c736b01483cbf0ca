"""Street Cockpit command line: `python run.py` starts the demo; one subcommand per service."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

ROLES = ("admin", "operator", "coordinator", "leader", "viewer")  # dispatch.accounts.ROLES


def _account_commands(sub) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """`user add|passwd|disable NAME` and `display-token create|revoke NAME`."""
    user = sub.add_parser("user", help="cockpit accounts: add, passwd, disable")
    user.add_argument("action", choices=("add", "passwd", "disable"))
    user.add_argument("name", help="the user's sign-in name")
    user.add_argument("--role", choices=ROLES, default="viewer", help="for add (default viewer)")
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin, not a prompt"
    )
    display = sub.add_parser("display-token", help="wall-screen tokens: create or revoke")
    display.add_argument("action", choices=("create", "revoke"))
    display.add_argument("name", help="the wall screen, e.g. hall-left")
    return user, display


def _backup_commands(sub) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """`backup FOLDER` and `restore FOLDER [--replace]` (see docs/DEPLOY.md)."""
    backup = sub.add_parser("backup", help="the database and the data dir into a new folder")
    backup.add_argument("folder", type=Path)
    backup.add_argument("--dated", action="store_true", help="into a new FOLDER/YYYY-MM-DDTHHMMSS")
    restore = sub.add_parser("restore", help="a backup into an empty database and data dir")
    restore.add_argument("folder", type=Path)
    restore.add_argument("--replace", action="store_true", help="overwrite a database in use")
    return backup, restore


def _report_commands(sub) -> None:
    """`brief --week 2026-W48|--month 2026-11` and `history --tickets N --years Y`."""
    brief = sub.add_parser("brief", help="write the weekly or monthly brief as a PDF")
    which = brief.add_mutually_exclusive_group(required=True)
    which.add_argument("--week", help="ISO week, e.g. 2026-W48")
    which.add_argument("--month", help="month, e.g. 2026-11")
    brief.add_argument("--lang", choices=("zh", "en"), default="zh")
    brief.add_argument("--out", help="PDF path (default: data/brief-PERIOD.pdf)")
    brief.add_argument("--config", help="config YAML (default: the demo district)")
    history = sub.add_parser("history", help="generate a multi-year ticket history (trends)")
    history.add_argument("--tickets", type=int, default=100_000)
    history.add_argument("--years", type=float, default=3)
    history.add_argument("--seed", type=int, default=7)
    history.add_argument("--config", help="config YAML (default: the demo district)")
    drill = sub.add_parser("drill", help="play an emergency drill against the running stack")
    drill.add_argument("name", choices=("road-collapse",))
    drill.add_argument("--speed", type=float, default=1.0, help="time multiplier (1: real time)")
    drill.add_argument("--config", help="config YAML (default: the demo district)")
    osm = sub.add_parser("import-osm", help="an OpenStreetMap extract as district layers")
    osm.add_argument("file", help="an .osm.pbf extract")
    osm.add_argument("--bbox", help="WEST,SOUTH,EAST,NORTH in degrees (default: the whole file)")
    osm.add_argument("--out", default="data/osm-district", help="folder for the layer files")


def _vision_commands(sub) -> tuple:
    """`vision`, `train`, `eval`, `quantize` and `render-clips`."""
    vision = sub.add_parser("vision", help="analyse camera feeds (takes camera leases)")
    vision.add_argument("--name", help="worker id (default: vision-HOSTNAME-PID)")
    train = sub.add_parser("train", help="train the bundled detector on synthetic scenes (CPU)")
    train.add_argument("--epochs", type=int, help="training epochs (default: the model card's)")
    train.add_argument(
        "--hours", type=float, help="train for this long instead (the schedule fits the time)"
    )
    train.add_argument(
        "--from", dest="start", type=Path, help="go on from these weights (default: from scratch)"
    )
    train.add_argument("--out", type=Path, help="where to write the weights")
    evaluate = sub.add_parser("eval", help="precision, recall and mAP per class, held-out split")
    evaluate.add_argument("--weights", type=Path, help="weights to evaluate (default: bundled)")
    evaluate.add_argument(
        "--split",
        choices=("test", "composite"),
        default="test",
        help="rendered streets (test) or things on held-out photographs (composite)",
    )
    quantize = sub.add_parser(
        "quantize", help="INT8 for OpenVINO (needs nncf), kept if mAP50 drops <= 1 point"
    )
    quantize.add_argument("--weights", type=Path, help="weights to quantize (default: config's)")
    clips = sub.add_parser("render-clips", help="render the demo cameras' synthetic clips")
    clips.add_argument("--force", action="store_true", help="render again even if present")
    return vision, train, evaluate, quantize, clips


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run.py", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="start everything on one machine (the default)")
    demo.add_argument("--no-sim", action="store_true", help="do not start the scenario player")
    demo.add_argument("--no-vision", action="store_true", help="do not start vision workers")
    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("file", nargs="?", type=Path, help="config YAML (default: the demo)")
    dispatcher = sub.add_parser("dispatcher", help="turn bus events into routed tickets")
    dispatcher.add_argument("--name", help="consumer name (default: dispatcher-HOSTNAME)")
    dispatcher.add_argument(
        "--claim-idle-ms",
        type=int,
        default=30_000,
        help="take over work a dead dispatcher left for this long",
    )
    sub.add_parser("status", help="is the bus, the database and every service up? (exit 0/1)")
    sub.add_parser("cockpit", help="serve the cockpit web app")
    sub.add_parser("api", help="serve the JSON API, Open311 and the field page")
    token = sub.add_parser("token", help="issue (or revoke) an API token")
    token.add_argument("role", choices=("unit", "operator", "hotline", "citizen", "device"))
    token.add_argument(
        "subject", help="unit id (unit, device), operator name, or Open311 client name"
    )
    token.add_argument("--revoke", action="store_true", help="revoke the subject's tokens")
    user, display = _account_commands(sub)
    _report_commands(sub)
    backup, restore = _backup_commands(sub)
    sim = sub.add_parser("sim", help="play the scenario timeline into the bus")
    sim.add_argument("--speed", type=float, help="time multiplier (default from config)")
    sim.add_argument("--once", action="store_true", help="play the timeline once, do not loop")
    vision, train, evaluate, quantize, clips = _vision_commands(sub)
    for command in (
        demo,
        dispatcher,
        sub.choices["cockpit"],
        sub.choices["api"],
        sub.choices["status"],
        token,
        user,
        display,
        backup,
        restore,
        sim,
        vision,
        train,
        evaluate,
        quantize,
        clips,
    ):
        command.add_argument("--config", type=Path, help="config YAML (default: the demo)")
    return parser


def _serve(command: str, cfg, args) -> int:
    """Run a command that needs the district's config; return the exit status."""
    from stack import reports, services, tools

    if command == "dispatcher":
        services.serve_dispatcher(cfg, args.name, args.claim_idle_ms)
    elif command == "status":
        from stack.health import show_status

        return show_status(cfg)
    elif command == "cockpit":
        from cockpit.server import serve_cockpit

        serve_cockpit(cfg)
    elif command == "api":
        services.serve_api(cfg)
    elif command == "token":
        return tools.manage_token(cfg, args.role, args.subject, args.revoke)
    elif command == "user":
        return tools.manage_user(cfg, args.action, args.name, args.role, args.password_stdin)
    elif command in ("brief", "history", "drill"):
        return reports.run_report(cfg, command, args)
    elif command == "display-token":
        return tools.manage_display_token(cfg, args.action, args.name)
    elif command in ("backup", "restore"):
        from stack.backup import run_backup

        folder = args.folder
        if getattr(args, "dated", False):
            folder = folder / dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M%S")
        return run_backup(cfg, command, folder, getattr(args, "replace", False))
    elif command == "sim":
        services.serve_sim(cfg, args.speed, loop=False if args.once else None)
    elif command == "vision":
        services.serve_vision(cfg, args.name)
    elif command == "train":
        tools.train_model(cfg, args.epochs, args.out, args.hours, args.start)
    elif command == "eval":
        tools.evaluate_model(cfg, args.weights, args.split)
    elif command == "quantize":
        tools.quantize_model(cfg, args.weights)
    elif command == "render-clips":
        tools.render_demo_clips(cfg, force=args.force)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the chosen command; return the exit status."""
    args = _parser().parse_args(argv)
    command = args.command or "demo"
    from config.loader import ConfigError, load_config

    if command == "check-config":
        try:
            cfg = load_config(args.file)
        except ConfigError as exc:
            print(f"config error:\n{exc}", file=sys.stderr)
            return 2
        print(f"{cfg.source_path}: OK ({len(cfg.cameras)} cameras, {len(cfg.units)} units)")
        return 0

    from stack import demo, reports
    from stack.context import ServiceError, setup_logging

    setup_logging(command)
    config = getattr(args, "config", None)
    try:
        if command == "demo":
            return demo.run_demo(
                config,
                with_sim=not getattr(args, "no_sim", False),
                with_vision=not getattr(args, "no_vision", False),
            )
        if command == "import-osm":  # needs no district config: it makes a district's layers
            return reports.import_osm_layers(args.file, args.bbox, args.out)
        return _serve(command, load_config(config), args)
    except (ConfigError, ServiceError) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
