"""The dispatcher's Prometheus metrics: reports filed (opened a ticket or merged) and how long from
detection to filing, counted as they happen; tickets per state and the events stream's backlog,
read when Prometheus scrapes."""

from __future__ import annotations

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from dispatch.states import MERGEABLE
from dispatch.store import Store, TicketRow
from streams import keys
from streams.bus import BUS_DOWN, Bus

FILED = Counter("sc_reports_filed", "Reports filed into tickets", ["category", "outcome"])
FILING_LATENCY = Histogram(
    "sc_filing_latency_seconds",
    "From a report's detection to its ticket being filed",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)


def count_filed(events, tickets, now: float) -> None:
    """Count each report and its latency once its ticket is committed."""
    for event, ticket in zip(events, tickets, strict=True):
        outcome = "opened" if ticket.event_id == event.event_id else "merged"
        FILED.labels(event.category, outcome).inc()
        FILING_LATENCY.observe(max(0.0, now - event.detected_at))


class DispatchCollector:
    """Tickets per open state (and resolved, awaiting the re-check) and the dispatcher group's
    pending entries and lag per input stream, read at scrape time."""

    def __init__(self, store: Store, bus: Bus, group: str):
        self.store, self.bus, self.group = store, bus, group

    def collect(self):
        """The families that can be read now: while the database or Redis is away, its
        families are left out of the scrape (their absence is the alert), the rest stays."""
        try:
            yield self._tickets()
        except OperationalError:
            pass
        try:
            yield from self._backlog()
        except BUS_DOWN:
            pass

    def _tickets(self) -> GaugeMetricFamily:
        tickets = GaugeMetricFamily("sc_tickets", "Open tickets per state", labels=["state"])
        with self.store.session() as session:
            rows = session.execute(
                select(TicketRow.status, func.count())
                .where(TicketRow.status.in_(MERGEABLE))
                .group_by(TicketRow.status)
            ).all()  # fmt: skip
        found = dict(rows)
        for state in MERGEABLE:
            tickets.add_metric([str(state)], found.get(state, 0))
        return tickets

    def _backlog(self):
        pending = GaugeMetricFamily("sc_bus_pending", "Entries read, not acknowledged",
                                    labels=["stream"])  # fmt: skip
        lag = GaugeMetricFamily("sc_bus_lag", "Entries not read yet", labels=["stream"])
        for stream in (keys.EVENTS, keys.UNIT_POSITIONS, keys.ZONE_CHECKS):
            backlog = self.bus.group_backlog(stream, self.group)
            if backlog is not None:
                pending.add_metric([stream], backlog[0])
                lag.add_metric([stream], backlog[1])
        return pending, lag
