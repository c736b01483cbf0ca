"""The situation report of an incident as a PDF: text in an embedded Chinese font, the map as
vector drawing (streets, rings, closures, shelters, the site), the affected tables and the
whole timeline."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from config.i18n import t
from config.schema import AppConfig
from dispatch.incidents import Step, step_words
from dispatch.reports.brief import grid_table, pdf_font, styles
from dispatch.reports.tables import Column, Table
from dispatch.store import IncidentRow
from geo.emergency import Analysis, EmergencyMap

SIZE_MM = 170


class _Canvas:
    """A drawing of the outer ring's square around the site, to scale, in metres."""

    def __init__(self, emap: EmergencyMap, analysis: Analysis):
        self.emap, self.side = emap, SIZE_MM * mm
        self.drawing = Drawing(self.side, self.side)
        self.outer = analysis.rings[-1].radius_m * 1.15
        self.cx, self.cy = emap.projector.to_metric(analysis.lon, analysis.lat)
        self.scale = self.side / (2 * self.outer)

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.cx + self.outer) * self.scale, (y - self.cy + self.outer) * self.scale

    def metric_line(self, coords, color, width: float) -> None:
        points = [c for x, y in coords for c in self.xy(x, y)]
        self.drawing.add(PolyLine(points, strokeColor=color, strokeWidth=width))

    def lon_lat_line(self, points, color, width: float) -> None:
        xs, ys = self.emap.projector.to_metric(*np.asarray(points).T)
        self.metric_line(zip(xs, ys, strict=True), color, width)

    def streets(self) -> None:
        if self.emap.streets is None:
            return
        o = self.outer
        window = self.emap.streets.cx[self.cx - o : self.cx + o, self.cy - o : self.cy + o]
        for geometry in window.geometry:
            for part in getattr(geometry, "geoms", [geometry]):
                self.metric_line(np.asarray(part.coords), colors.HexColor("#9aa7b8"), 0.6)


def _map(emap: EmergencyMap, analysis: Analysis, font: str) -> Drawing:
    """Streets, closed stretches, detours, the walks to the nearest shelters and the rings."""
    canvas = _Canvas(emap, analysis)
    canvas.streets()
    for closure in analysis.closures:
        for stretch in closure.closed:
            canvas.lon_lat_line(stretch, colors.HexColor("#e53935"), 3)
        if closure.route:
            canvas.lon_lat_line(closure.route, colors.HexColor("#fb8c00"), 1.2)
    for shelter in analysis.shelters[:2]:
        if shelter.route:
            canvas.lon_lat_line(shelter.route, colors.HexColor("#2e7d32"), 1.5)
    middle = canvas.side / 2
    for ring in analysis.rings:
        radius = ring.radius_m * canvas.scale
        canvas.drawing.add(Circle(middle, middle, radius, fillColor=None, strokeWidth=0.8,
                                  strokeColor=colors.HexColor("#c62828")))  # fmt: skip
        label = String(middle + radius * 0.71, middle + radius * 0.71, f"{ring.radius_m:g} m",
                       fontName=font, fontSize=7)  # fmt: skip
        canvas.drawing.add(label)
    canvas.drawing.add(Line(middle - 6, middle, middle + 6, middle, strokeWidth=2))
    canvas.drawing.add(Line(middle, middle - 6, middle, middle + 6, strokeWidth=2))
    return canvas.drawing


def _table(name: str, lang: str, columns: tuple[tuple[str, str], ...], rows: list[dict]) -> Table:
    """A text table titled `incident.NAME`, columns as (key, catalogue key)."""
    return Table(
        name, t(f"incident.{name}", lang), [Column(k, t(h, lang)) for k, h in columns], rows
    )


def _tables(analysis: Analysis, steps: list[Step], zone, lang: str) -> list[Table]:
    def places(ring) -> str:
        return "、".join(f"{p.name}({p.distance_m:.0f}m)" for p in ring.places)[:120]

    return [
        _table("rings", lang, (("band", "incident.ring"), ("buildings", "incident.buildings"),
                               ("residents", "incident.residents"), ("places", "incident.places")),
               [{"band": f"{r.inner_m:g}-{r.radius_m:g} m", "buildings": r.buildings,
                 "residents": r.residents, "places": places(r)} for r in analysis.rings]),
        _table("shelters", lang, (("name", "incident.name"), ("room", "incident.room"),
                                  ("walk", "incident.walk")),
               [{"name": s.name, "room": f"{s.remaining}/{s.capacity}",
                 "walk": f"{s.distance_m:.0f} m · {s.minutes:g} min"} for s in analysis.shelters]),
        _table("units", lang, (("id", "incident.unit"), ("travel", "incident.travel")),
               [{"id": u.id, "travel": f"{u.distance_m:.0f} m · {u.minutes:g} min"}
                for u in analysis.units[:10]]),
        _table("closures", lang, (("name", "incident.street"), ("length", "incident.closed_m"),
                                  ("detour", "incident.detour")),
               [{"name": c.name, "length": f"{c.length_m:.0f} m",
                 "detour": f"{c.detour_m:.0f} m" if c.detour_m else "—"}
                for c in analysis.closures]),
        _table("grids", lang, (("name", "incident.grid"), ("who", "incident.responsible"),
                               ("phone", "incident.phone")),
               [{"name": g.name, "who": g.responsible, "phone": g.phone} for g in analysis.grids]),
        _table("timeline", lang, (("at", "incident.at"), ("actor", "incident.actor"),
                                  ("what", "incident.what")),
               [{"at": s.at.astimezone(zone).strftime("%m-%d %H:%M:%S"), "actor": s.actor,
                 "what": f"{step_words(s.action, lang)} {s.detail}"[:90]} for s in steps]),
    ]  # fmt: skip


def write_sitrep(
    cfg: AppConfig,
    emap: EmergencyMap,
    incident: IncidentRow,
    analysis: Analysis,
    steps: list[Step],
    lang: str,
    made: dt.datetime,
) -> bytes:
    """The situation report as PDF bytes."""
    font = pdf_font()
    style = styles(font)
    zone = cfg.district.zone
    kind = cfg.emergency.type(incident.type_id)
    name = getattr(kind.names, lang) if kind else incident.type_id
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        author="Street Cockpit",
        title=f"{t('incident.sitrep', lang)} {incident.title}",
    )
    story = [
        Paragraph(f"{t('incident.sitrep', lang)}：{incident.title}", style["title"]),
        Paragraph(
            f"{name} · {t(f'incident.level.{incident.level}', lang)} · "
            f"{t(f'incident.state.{incident.status}', lang)} · {t('incident.owner', lang)}: "
            f"{incident.owner}",
            style["p"],
        ),
        Paragraph(
            f"{t('brief.made', lang)}: {made.astimezone(zone):%Y-%m-%d %H:%M} · "
            f"{incident.lon:.6f}, {incident.lat:.6f} · {t('incident.residents', lang)}: "
            f"{analysis.residents}",
            style["p"],
        ),
        Spacer(1, 3 * mm),
        _map(emap, analysis, font),
    ]
    if incident.summary:
        story.append(Paragraph(f"{t('incident.summary', lang)}: {incident.summary}", style["p"]))
    for table in _tables(analysis, steps, zone, lang):
        story += [Paragraph(table.title, style["h"]), grid_table(table, font, limit=None)]
    doc.build(story)
    return out.getvalue()
