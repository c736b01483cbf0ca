"""The cockpit service: the Dash app and Socket.IO pushes, fed from the bus and the ticket store."""

from __future__ import annotations

import logging
import os
import socket
import threading

from config.schema import AppConfig
from stack.context import Context, ServiceError

log = logging.getLogger(__name__)


def serve_cockpit(cfg: AppConfig) -> None:
    """Serve the cockpit (Dash + Socket.IO) until stopped. Outside the demo (env SC_DEMO) it
    refuses to start without an admin whose password is their own."""
    from werkzeug.serving import run_simple

    from cockpit.access import QuietHandler, cut_off
    from cockpit.app import create_app
    from cockpit.feed import BusFeed
    from cockpit.payload import WallView
    from cockpit.push import Pusher
    from cockpit.state import LiveState
    from dispatch.accounts import admin_problem
    from dispatch.publish import ticket_change
    from dispatch.warnings import Warnings
    from geo.layers import load_layers

    ctx = Context(cfg)
    problem = None if os.environ.get("SC_DEMO") else admin_problem(ctx.store)
    if problem:
        raise ServiceError(f"the cockpit will not start: {problem}")
    from dispatch.desk import Desk
    from dispatch.routing import Router

    desk = Desk(cfg, ctx.store, ctx.bus, Router(cfg, ctx.index))
    from streams.frames import FrameCache

    layers = load_layers(cfg)
    app, socketio, gate = create_app(cfg, layers, ctx.store, desk, FrameCache(ctx.bus))
    state = LiveState(cfg)
    feed = BusFeed(ctx.bus, state)
    feed.load_history(
        [ticket_change(row) for row in ctx.store.open_tickets()],
        Warnings(cfg, ctx.store, None).alert_records(),
    )
    from cockpit.emergency_watch import EmergencyWatch
    from geo.emergency import EmergencyMap

    watch = EmergencyWatch(cfg, ctx.store, EmergencyMap(layers, cfg.district.crs))
    pusher = Pusher(socketio, feed, WallView(cfg, state, emergency=watch))
    threading.Thread(target=pusher.run, name="cockpit-pusher", daemon=True).start()
    from stack.health import database_state, keep_beating, serve_metrics

    serve_metrics()

    keep_beating(ctx.bus, "cockpit", pusher.stop, f"cockpit-{socket.gethostname()}-"
                 f"{cfg.services.cockpit_port}", lambda: database_state(ctx.store))  # fmt: skip
    threading.Thread(
        target=cut_off, args=(socketio, gate, pusher.stop), name="cockpit-access", daemon=True
    ).start()
    host, port = cfg.services.cockpit_host, cfg.services.cockpit_port
    log.info("cockpit on http://%s:%d", host, port)
    # The threading-mode server Flask-SocketIO itself runs, minus Flask's console banner.
    run_simple(
        host, port, app.server, threaded=True, use_reloader=False, request_handler=QuietHandler
    )
