"""The ticket desk's content: table rows, a ticket's detail (evidence, deadline clock, audit
timeline) and the operators' actions, each through the one ticket desk (`dispatch.desk.Desk`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

from dash import html
from sqlalchemy import select

from config.i18n import t
from config.schema import AppConfig
from dispatch.desk import MAX_EXTENSION_H, Desk
from dispatch.desk_query import TicketFilter
from dispatch.errors import DeskError
from dispatch.lifecycle import running_deadline
from dispatch.states import TicketState
from dispatch.store import MediaRow, TicketRow
from streams.records import without_nul

S = TicketState
CLOSE_REASONS = ("duplicate", "not_responsible", "no_action_needed", "false_positive")
# Action -> the states it applies to.
ACTIONS: dict[str, tuple[str, ...]] = {
    "confirm": (S.NEW,),
    "reject": (S.NEW,),
    "dispatch": (S.DISPATCHED, S.ACCEPTED, S.RETURNED, S.REOPENED, S.ESCALATED),
    "priority": (S.NEW, S.DISPATCHED, S.ACCEPTED, S.ON_SITE, S.RETURNED, S.REOPENED, S.ESCALATED),
    "extend": (S.NEW, S.DISPATCHED, S.ACCEPTED, S.ON_SITE, S.RETURNED, S.REOPENED, S.ESCALATED),
    "escalate": (S.NEW, S.DISPATCHED, S.ACCEPTED, S.ON_SITE, S.RETURNED, S.REOPENED),
    "verify_ok": (S.RESOLVED,),
    "verify_fail": (S.RESOLVED,),
    "close": (S.NEW, S.DISPATCHED, S.ACCEPTED, S.ON_SITE, S.RETURNED, S.REOPENED, S.ESCALATED),
    "merge": (S.NEW, S.DISPATCHED, S.ACCEPTED, S.ON_SITE, S.RETURNED, S.REOPENED, S.ESCALATED),
    "reopen": (S.CLOSED,),
}


@dataclass(frozen=True)
class Filters:
    """The desk's filter controls' values as the browser sends them."""

    states: list | None
    category: str | None
    grid: str | None
    unit: str | None
    source: str | None
    overdue: list | None
    start: str | None
    end: str | None
    search: str | None

    def query(self, zone) -> TicketFilter:
        """The database filter: dates are whole days in the district's time zone."""

        def day(value: str | None, extra: int = 0) -> dt.datetime | None:
            if not value:
                return None
            date = dt.date.fromisoformat(value[:10]) + dt.timedelta(days=extra)
            return dt.datetime.combine(date, dt.time(), tzinfo=zone)

        return TicketFilter(
            states=tuple(self.states or ()),
            category=self.category,
            grid=self.grid,
            unit=self.unit,
            source=self.source,
            overdue=bool(self.overdue),
            since=day(self.start),
            until=day(self.end, 1),
            search=(self.search or "")[:100],
        )


def local(moment: dt.datetime | None, zone, fmt: str = "%m-%d %H:%M") -> str:
    """A time as the district's wall clock shows it."""
    return moment.astimezone(zone).strftime(fmt) if moment else "—"


def row(cfg: AppConfig, ticket: TicketRow, lang: str, now: dt.datetime) -> dict:
    """One table row."""
    zone = cfg.district.zone
    names = {c.id: getattr(c.names, lang) for c in cfg.categories}
    due = running_deadline(ticket)
    late = due is not None and due[1] < now
    return {
        "id": ticket.id,
        "short": ticket.id[:8],
        "status": t(f"status.{ticket.status}", lang),
        "service_code": names.get(ticket.service_code, ticket.service_code),
        "priority": ticket.priority,
        "grid_id": ticket.grid_id or "—",
        "unit_id": ticket.unit_id or "—",
        "source": t(f"source.{ticket.source}", lang),
        "requested_at": local(ticket.requested_at, zone),
        "resolve_due": local(due[1], zone) if due else "—",
        "late": t("desk.late", lang) if late else "",
        "address": ticket.address or ticket.description[:40],
    }


def _clock(ticket: TicketRow, lang: str, now: dt.datetime) -> html.Div:
    due = running_deadline(ticket)
    if due is None:
        return html.Div(t(f"status.{ticket.status}", lang), className="due")
    minutes = int((due[1] - now).total_seconds() // 60)
    stage = t(f"desk.stage.{due[0]}", lang)
    if minutes < 0:
        text = t("desk.late_by", lang).format(m=-minutes, stage=stage)
        return html.Div(text, className="due late", id="desk-due")
    return html.Div(
        t("desk.due_in", lang).format(m=minutes, stage=stage), className="due", id="desk-due"
    )


def _evidence(media: list[MediaRow], lang: str) -> list:
    shown = []
    for item in media:
        if item.kind == "link":
            shown.append(html.A(t("desk.reporter_photo", lang), href=item.path, target="_blank"))
        elif item.kind == "snapshot" and item.path.startswith("snapshots/"):
            shown.append(html.Img(src=f"/{item.path}", className="evidence", title=item.added_by))
        else:
            shown.append(
                html.Img(src=f"/media/{item.id}", className="evidence", title=item.added_by)
            )
    return shown or [html.Div(t("desk.no_evidence", lang), className="muted")]


def detail(cfg: AppConfig, desk: Desk, ticket_id: str, lang: str, now: dt.datetime) -> list:
    """A ticket's header, deadline clock, evidence and audit timeline."""
    ticket = desk.get(ticket_id)
    zone = cfg.district.zone
    names = {c.id: getattr(c.names, lang) for c in cfg.categories}
    media = desk.media([ticket.id])[ticket.id]
    timeline = [
        html.Li(
            [
                html.Span(local(a.at, zone, "%m-%d %H:%M:%S"), className="when"),
                html.Span(a.actor, className="who"),
                html.Span(t(f"status.{a.to_status}", lang), className="what"),
                html.Span(a.note, className="note"),
            ]
        )
        for a in desk.audit(ticket.id)
    ]
    return [
        html.H2(f"{names.get(ticket.service_code, ticket.service_code)} · {ticket.id[:8]}"),
        html.Div(
            [
                html.Span(t(f"status.{ticket.status}", lang), className=f"pill {ticket.status}"),
                html.Span(f"P{ticket.priority}", className="pill"),
                html.Span(ticket.unit_id or t("feed.unassigned", lang), className="pill"),
                html.Span(ticket.grid_id or "", className="pill"),
            ],
            className="pills",
        ),
        _clock(ticket, lang, now),
        html.P(ticket.description or ticket.address or "", className="desc"),
        html.A(
            t("desk.open_incident", lang),
            href=f"/incident?ticket={ticket.id}&lang={lang}",
            className="desk-incident",
            id="desk-open-incident",
        ),  # fmt: skip
        html.H3(t("desk.evidence", lang)),
        html.Div(_evidence(media, lang), className="evidence-row"),
        html.H3(t("desk.timeline", lang)),
        html.Ol(timeline, className="timeline", id="desk-timeline"),
    ]


def action_options(status: str, lang: str) -> list[dict]:
    """The actions a ticket in `status` offers."""
    return [
        {"label": t(f"desk.action.{name}", lang), "value": name}
        for name, states in ACTIONS.items()
        if status in states
    ]


def _one_ticket(desk: Desk, prefix: str | None) -> str:
    """The one ticket whose id starts with `prefix` (as the table shows ids: 8 characters)."""
    prefix = (prefix or "").strip().lower()
    if len(prefix) < 4:
        raise DeskError("type at least 4 characters of the ticket to merge into", 422)
    query = select(TicketRow.id).where(TicketRow.id.startswith(prefix, autoescape=True)).limit(2)
    with desk.store.session() as session:
        found = list(session.scalars(query))
    if len(found) != 1:
        raise DeskError(f"{len(found) or 'no'} tickets start with {prefix[:32]!r}", 422)
    return found[0]


def act(desk: Desk, ticket_id: str, action: str, actor: str, choice: dict) -> TicketRow:
    """Carry out one action; DeskError (with the reason to show) when it cannot be done."""
    note = without_nul(choice.get("note") or "").strip()[:500]
    unit, reason, priority = choice.get("unit"), choice.get("reason"), choice.get("priority")
    if action == "confirm":
        return desk.confirm(ticket_id, actor, unit)
    if action == "reject":
        return desk.close(ticket_id, "false_positive", actor, note or "rejected at the desk")
    if action == "dispatch":
        if not unit:
            raise DeskError("pick the unit to send it to", 422)
        return desk.dispatch(ticket_id, unit, actor, note or "re-assigned at the desk")
    if action == "priority":
        return desk.set_priority(ticket_id, int(priority or 0), actor, note)
    if action == "extend":
        hours = _int_in(choice.get("hours"), 1, MAX_EXTENSION_H) or 0  # forged values: refused
        return desk.extend(ticket_id, hours, actor, note)
    if action in ("escalate", "close", "reopen") and not note:
        raise DeskError("say why (note)", 422)
    if action == "escalate":
        return desk.escalate(ticket_id, actor, note)
    if action == "close":
        if reason not in CLOSE_REASONS:
            raise DeskError("pick why it is closed", 422)
        return desk.close(ticket_id, reason, actor, note)
    if action == "reopen":
        return desk.reopen(ticket_id, actor, note)
    if action == "merge":
        return desk.merge(ticket_id, _one_ticket(desk, choice.get("target")), actor, note)
    if action in ("verify_ok", "verify_fail"):
        return desk.verify(ticket_id, action == "verify_ok", actor, note)
    raise DeskError(f"unknown action {action!r}", 422)


DRILL = ("department", "community", "standard", "hex", "dow", "hour")


def _int_in(value, low: int, high: int) -> int | None:
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if low <= number <= high else None


def _day(value) -> str | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        return None


def ticket_in_address(query: dict) -> str | None:
    """The ticket a link asks the desk to open (`/desk?ticket=ID`), if it looks like an id."""
    value = query.get("ticket")
    if isinstance(value, str) and re.fullmatch(r"[0-9A-Za-z-]{4,64}", value):
        return value
    return None


def from_address(cfg, query: dict) -> tuple[dict, dict]:
    """The desk's filter values and the trends page's narrower filters from the page address
    (`/desk?grid=G03&from=2026-11-01&hex=...`); anything unknown or malformed is dropped."""
    import h3

    text = {k: str(v)[:100] for k, v in query.items() if isinstance(v, str)}
    categories = {c.id for c in cfg.categories}
    units = {u.id for u in cfg.units}
    values = {
        "category": text.get("category") if text.get("category") in categories else None,
        "grid": text.get("grid") or None,
        "unit": text.get("unit") if text.get("unit") in units else None,
        "source": text.get("source") or None,
        "start": _day(text["from"]) if "from" in text else None,
        "end": _day(text["to"]) if "to" in text else None,
        "search": text.get("search") or None,
    }
    drill: dict = {}
    if text.get("department") in {d.id for d in cfg.departments}:
        drill["department"] = text["department"]
    if text.get("community"):
        drill["community"] = text["community"][:64]
    if text.get("standard"):
        drill["categories"] = [c.id for c in cfg.categories if c.standard == text["standard"]] or [
            text["standard"]
        ]
    if text.get("hex") and h3.is_valid_cell(text["hex"]):
        drill["hex_cell"] = text["hex"]
    if _int_in(text.get("dow", ""), 1, 7) is not None:
        drill["local_dow"] = _int_in(text["dow"], 1, 7)
    if _int_in(text.get("hour", ""), 0, 23) is not None:
        drill["local_hour"] = _int_in(text["hour"], 0, 23)
    return values, drill


def narrowed(flt: TicketFilter, drill: dict | None) -> TicketFilter:
    """The desk's filter narrowed by what the trends page drilled into (the browser sends the
    drill back with every page: anything of the wrong kind is dropped, never queried)."""
    if not isinstance(drill, dict):
        return flt
    known: dict = {}
    for name in ("department", "community", "hex_cell"):
        if isinstance(drill.get(name), str):
            known[name] = drill[name][:64]
    for name, high in (("local_dow", 7), ("local_hour", 23)):
        value = drill.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= high:
            known[name] = value
    categories = drill.get("categories")
    if isinstance(categories, list) and all(isinstance(c, str) for c in categories):
        known["categories"] = tuple(c[:64] for c in categories[:20])
    return dataclasses.replace(flt, **known)
