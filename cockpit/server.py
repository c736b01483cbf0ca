"""The cockpit service: the Dash app and Socket.IO pushes, fed from the bus and the ticket store."""

from __future__ import annotations

import logging
import threading

from config.schema import AppConfig
from stack.context import Context

log = logging.getLogger(__name__)


def serve_cockpit(cfg: AppConfig) -> None:
    """Serve the cockpit (Dash + Socket.IO) until stopped."""
    from werkzeug.serving import run_simple

    from cockpit.app import create_app
    from cockpit.feed import BusFeed
    from cockpit.payload import WallView
    from cockpit.push import Pusher
    from cockpit.state import LiveState
    from dispatch.publish import ticket_change
    from dispatch.warnings import Warnings
    from geo.layers import load_layers

    ctx = Context(cfg)
    app, socketio = create_app(cfg, load_layers(cfg))
    state = LiveState(cfg)
    feed = BusFeed(ctx.bus, state)
    feed.load_history(
        [ticket_change(row) for row in ctx.store.open_tickets()],
        Warnings(cfg, ctx.store, None).alert_records(),
    )
    pusher = Pusher(socketio, feed, WallView(cfg, state))
    threading.Thread(target=pusher.run, name="cockpit-pusher", daemon=True).start()
    host, port = cfg.services.cockpit_host, cfg.services.cockpit_port
    log.info("cockpit on http://%s:%d", host, port)
    # The threading-mode server Flask-SocketIO itself runs, minus Flask's console banner.
    run_simple(host, port, app.server, threaded=True, use_reloader=False)
