"""Camera re-checks of resolved tickets: ask the camera to look again, and act on its answer.

A resolved ticket whose problem came from a camera zone is put on the re-check list (owned by
`streams.rechecks`); the camera's `ZoneCheck` answers reopen the ticket if the problem is still
there, or verify and close it once the zone has stayed clear long enough.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select

from config.schema import AppConfig
from dispatch.calendar import district_calendar, stage_deadlines
from dispatch.lifecycle import reopen, verify_and_close
from dispatch.media import add_media
from dispatch.publish import ticket_change, utc
from dispatch.states import TicketState
from dispatch.store import Store, TicketRow
from streams.bus import Bus
from streams.rechecks import Rechecks
from streams.records import ZoneCheck


class Verifier:
    """Keeps the re-check list in step with tickets and files the cameras' answers."""

    def __init__(
        self,
        cfg: AppConfig,
        store: Store,
        bus: Bus | None,
        clock: Callable[[], float] = time.time,
    ):
        self.cfg, self.store, self.bus, self.clock = cfg, store, bus, clock
        self.calendar = district_calendar(cfg)
        self.rechecks = Rechecks(bus) if bus else None

    def request(self, ticket: TicketRow) -> None:
        """Ask the ticket's camera to re-check its zone (tickets from people have none)."""
        if self.rechecks and ticket.camera_id and ticket.zone_id:
            self.rechecks.mark(ticket.camera_id, ticket.zone_id, ticket.id)

    def withdraw(self, ticket: TicketRow) -> None:
        """No camera needs to re-check this ticket's zone any more."""
        if self.rechecks and ticket.camera_id and ticket.zone_id:
            self.rechecks.clear(ticket.camera_id, ticket.zone_id)

    def on_zone_check(self, check: ZoneCheck) -> TicketRow | None:
        """A camera re-checked a zone: reopen if the problem is back, verify once long clear."""
        settle = self.cfg.dispatch.verify_settle_s
        with self.store.session() as session:
            query = select(TicketRow).where(
                TicketRow.status == TicketState.RESOLVED,
                TicketRow.camera_id == check.camera_id,
                TicketRow.zone_id == check.zone_id,
            )
            ticket = session.scalars(query.with_for_update()).first()
            if ticket is None or check.observed_at < ticket.resolved_at.timestamp() + settle:
                return None
            at = utc(check.observed_at)
            actor = f"camera:{check.camera_id}"
            if check.present:
                if check.snapshot:
                    add_media(session, ticket.id, "snapshot", check.snapshot, actor, at)
                note = f"camera {check.camera_id} still sees the problem in zone {check.zone_id}"
                fresh = stage_deadlines(self.cfg, self.calendar, ticket.service_code, at)
                reopen(session, ticket, actor, at, note, fresh)
            elif ticket.clear_since is None:
                ticket.clear_since = at
            elif (at - ticket.clear_since).total_seconds() >= self.cfg.dispatch.verify_clear_s:
                clear_s = (at - ticket.clear_since).total_seconds()
                verify_and_close(session, ticket, actor, at, f"zone clear for {clear_s:.0f} s")
            session.commit()
        if ticket.status != TicketState.RESOLVED:
            self.withdraw(ticket)
            if self.bus:
                self.bus.publish(ticket_change(ticket))
        return ticket
