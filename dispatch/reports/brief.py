"""The weekly or monthly brief as a PDF: text (not pictures of text) in an embedded Chinese font,
vector charts, the headline indicators and their change, graded rankings, top problems,
hotspots and repeat places, supervised and long-overdue cases."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from config.i18n import t
from config.schema import AppConfig
from dispatch.reports.tables import Table as Sheet
from dispatch.reports.tables import shown
from dispatch.reports.trend_report import TrendReport

FONT = "SCBrief"
# CJK fonts with TrueType outlines (ReportLab embeds those); SC_PDF_FONT names another.
FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
ROWS = 12  # rows of each list in the brief (the exports have them all)


class BriefError(RuntimeError):
    """The brief cannot be written (the message names the fix)."""


def pdf_font() -> str:
    """The registered name of a CJK TrueType font to embed; BriefError when none is installed."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    candidates = [os.environ["SC_PDF_FONT"]] if os.environ.get("SC_PDF_FONT") else FONT_FILES
    for path in candidates:
        if Path(path).exists():
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
            return FONT
    raise BriefError(
        "no Chinese TrueType font for the PDF: install fonts-wqy-microhei "
        "(scripts/setup.sh does) or set SC_PDF_FONT to a .ttf/.ttc file"
    )


def styles(font: str) -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=18, leading=24, spaceAfter=4),
        "h": ParagraphStyle("h", fontName=font, fontSize=12.5, leading=18, spaceBefore=10),
        "p": ParagraphStyle("p", fontName=font, fontSize=9, leading=13),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=7.5, leading=9.5),
    }


def grid_table(
    sheet: Sheet, font: str, keys: tuple[str, ...] | None = None, limit: int | None = ROWS
) -> Table:
    """A table as a PDF grid with its header repeated on every page."""
    columns = [c for c in sheet.columns if keys is None or c.key in keys]
    data = [[c.heading for c in columns]]
    data += [[shown(row.get(c.key), c.kind) for c in columns] for row in sheet.rows[:limit]]
    table = Table(data, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 7.5),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE4EE")),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#9AA7B8")),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def _series_chart(report: TrendReport, font: str, lang: str) -> Drawing:
    drawing = Drawing(170 * mm, 55 * mm)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 8 * mm, 150 * mm, 42 * mm
    chart.data = [
        [c.filed for _, c in report.series] or [0],
        [c.concluded for _, c in report.series] or [0],
    ]
    chart.categoryAxis.categoryNames = [d.strftime("%m-%d") for d, _ in report.series] or [""]
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = chart.valueAxis.labels.fontSize = 6
    chart.lines[0].strokeColor, chart.lines[1].strokeColor = (
        colors.HexColor("#1f77b4"),
        colors.HexColor("#2ca02c"),
    )
    chart.valueAxis.valueMin = 0
    drawing.add(chart)
    return drawing


def _bar_chart(report: TrendReport, font: str, lang: str) -> Drawing:
    rows = report.tables["categories"].rows[:10]
    drawing = Drawing(170 * mm, 55 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 12 * mm, 150 * mm, 38 * mm
    chart.data = [[row["filed"] for row in rows] or [0]]
    chart.categoryAxis.categoryNames = [row["name"][:8] for row in rows] or [""]
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = chart.valueAxis.labels.fontSize = 6.5
    chart.bars[0].fillColor = colors.HexColor("#4f7cac")
    chart.valueAxis.valueMin = 0
    drawing.add(chart)
    return drawing


def title_of(cfg: AppConfig, report: TrendReport, kind: str, lang: str) -> str:
    """The brief's title: district, kind, period."""
    flt = report.flt
    return (
        f"{getattr(cfg.district.name, lang)} {t(f'brief.title.{kind}', lang)} "
        f"{flt.start.isoformat()} – {flt.end.isoformat()}"
    )


def write_brief(
    cfg: AppConfig, report: TrendReport, kind: str, lang: str, made: dt.datetime
) -> bytes:
    """The brief of `report` (a week or a month) as PDF bytes."""
    font = pdf_font()
    style = styles(font)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm,
        bottomMargin=14 * mm, title=title_of(cfg, report, kind, lang), author="Street Cockpit",
    )  # fmt: skip
    local = made.astimezone(cfg.district.zone).strftime("%Y-%m-%d %H:%M")
    story = [
        Paragraph(title_of(cfg, report, kind, lang), style["title"]),
        Paragraph(f"{t('brief.made', lang)}: {local}", style["p"]),
        Paragraph(t("brief.headline", lang), style["h"]),
        grid_table(report.tables["indicators"], font),
        Spacer(1, 3 * mm),
        Paragraph(t("brief.formulas", lang), style["p"]),
        _series_chart(report, font, lang),
        Paragraph(t("brief.rankings", lang), style["h"]),
    ]
    for by in ("department", "unit", "grid"):
        sheet = report.tables[f"ranking_{by}"]
        keep = ("rank", "name", "filed", "due", "closure_rate", "on_time_rate", "score", "grade")
        story += [
            Paragraph(sheet.title, style["p"]),
            grid_table(sheet, font, keep),
            Spacer(1, 2 * mm),
        ]
    story += [
        Paragraph(t("brief.top", lang), style["h"]),
        _bar_chart(report, font, lang),
        grid_table(report.tables["categories"], font),
        Paragraph(t("brief.hotspots", lang), style["h"]),
        grid_table(report.tables["hotspots"], font),
        Spacer(1, 2 * mm),
        Paragraph(report.tables["repeats"].title, style["p"]),
        grid_table(report.tables["repeats"], font),
        Paragraph(t("brief.supervised", lang), style["h"]),
        Paragraph(report.tables["supervised"].title, style["p"]),
        grid_table(report.tables["supervised"], font),
        Spacer(1, 2 * mm),
        Paragraph(report.tables["overdue"].title, style["p"]),
        grid_table(report.tables["overdue"], font),
    ]
    doc.build(story)
    return out.getvalue()
