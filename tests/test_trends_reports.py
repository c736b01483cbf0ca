"""Exports and the brief hold what the trends page shows: XLSX re-read with openpyxl, CSV with
the csv module, the PDF's text extracted with pypdf, on a fixture week."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pypdf
import pytest

from dispatch.reports.brief import write_brief
from dispatch.reports.tables import shown, to_csv, to_xlsx
from dispatch.reports.trend_report import build
from dispatch.trends import TrendFilter, Trends
from stack.context import ServiceError
from stack.reports import period_of
from tests.support.rows import at
from tests.test_trends import WEEK, fixture_week

NOW = at(30, 12)


@pytest.fixture
def report(store, demo_cfg):
    with store.session() as session, session.begin():
        session.add_all(fixture_week())
    return build(demo_cfg, Trends(demo_cfg, store), WEEK, NOW, "zh")


def test_xlsx_rereads_to_the_values_the_page_shows(report):
    tables = [report.tables[name] for name in ("indicators", "ranking_grid", "supervised")]
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(tables)))
    for table in tables:
        sheet = book[table.name]
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == [c.heading for c in table.columns]
        assert len(rows) == len(table.rows) + 1
        for expected, got in zip(table.rows, rows[1:], strict=True):
            for column, value in zip(table.columns, got, strict=True):
                # The page shows shown(value); the sheet keeps the number, formatted alike.
                assert shown(value, column.kind) == shown(expected.get(column.key), column.kind)
    grids = {row[1]: row for row in list(book["ranking_grid"].iter_rows(values_only=True))[1:]}
    assert grids["G02"][3] == 2  # filed: b and g
    cell = book["ranking_grid"].cell(row=2, column=8)
    assert cell.number_format == "0.00%" and isinstance(cell.value, float)
    when = book["supervised"].cell(row=2, column=5)
    assert when.value == dt.datetime(2026, 11, 2, 14) and when.number_format == "yyyy-mm-dd hh:mm"


def test_csv_has_a_header_and_the_raw_values(report):
    text = to_csv(report.tables["indicators"]).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["指标", "本期"]
    values = {row[0]: row[1] for row in rows[1:]}
    assert values["立案数"] == "8" and values["结案率 (%)"] == "83.33"


def test_the_brief_pdf_reads_back_as_text(report, demo_cfg):
    pdf = write_brief(demo_cfg, report, "week", "zh", NOW)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "清河街道 城市管理运行周报 2026-11-02 – 2026-11-08" in text
    lines = text.splitlines()
    # The headline table: each indicator followed by this period's value.
    assert lines[lines.index("立案数") + 1] == "8"
    assert lines[lines.index("结案率 (%)") + 1] == "83.33"
    assert lines[lines.index("按期结案率 (%)") + 1] == "50"
    assert "督办案件" in text and "h" in lines  # the supervised case, by ticket id
    hexagon = report.hexagons[0]  # the week's one hotspot (every fixture ticket shares a cell)
    assert lines[lines.index(hexagon[0]) + 1] == str(hexagon[1]) == "8"
    assert b"/FontFile2" in pdf  # the Chinese font travels inside the file (a subset)


def test_brief_periods():
    assert period_of("2026-W48", None) == ("week", dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    assert period_of(None, "2026-02") == ("month", dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    for week, month in (("2026-48", None), ("2026-W54", None), (None, "2026-13"), (None, "nov")):
        with pytest.raises(ServiceError, match="--week|--month"):
            period_of(week, month)


def test_an_empty_period_still_makes_a_brief(store, demo_cfg):
    empty = TrendFilter(dt.date(2020, 1, 6), dt.date(2020, 1, 12))
    report = build(demo_cfg, Trends(demo_cfg, store), empty, NOW, "en")
    text = pypdf.PdfReader(io.BytesIO(write_brief(demo_cfg, report, "week", "en", NOW))).pages[0]
    assert "weekly brief" in text.extract_text()
