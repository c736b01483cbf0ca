"""The trends as tables: one model shared by the trends page, the CSV and XLSX exports and the
brief, so an export holds exactly what the page shows."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Literal

import xlsxwriter

Kind = Literal["text", "int", "num", "pct", "hours", "date", "datetime", "score"]


@dataclass(frozen=True)
class Column:
    """A column: its key in the rows, its heading, and how its values are written."""

    key: str
    heading: str
    kind: Kind = "text"


@dataclass
class Table:
    """A titled table; each row maps column keys to raw values (rates as fractions)."""

    name: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)


def shown(value, kind: Kind) -> str:
    """A value as the page and the brief show it."""
    if value is None or value == "":
        return "—"
    if kind == "pct":
        return f"{value * 100:.2f}%"
    if kind == "score":
        return f"{value:.1f}"
    if kind == "hours":
        return f"{value:.2f}"
    if kind == "num":
        return f"{value:g}" if isinstance(value, float) else str(value)
    if kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M")
    if kind == "date":
        return value.isoformat()
    return str(value)


def to_csv(table: Table) -> bytes:
    """UTF-8 CSV with a byte-order mark (spreadsheets then read Chinese right), header first;
    rates as fractions, times in ISO 8601."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.heading for c in table.columns])
    for row in table.rows:
        values = []
        for column in table.columns:
            value = row.get(column.key)
            if isinstance(value, dt.datetime | dt.date):
                value = value.isoformat()
            values.append("" if value is None else value)
        writer.writerow(values)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


FORMATS = {
    "int": {"num_format": "#,##0"},
    "num": {"num_format": "General"},
    "pct": {"num_format": "0.00%"},
    "hours": {"num_format": "0.00"},
    "score": {"num_format": "0.0"},
    "date": {"num_format": "yyyy-mm-dd"},
    "datetime": {"num_format": "yyyy-mm-dd hh:mm"},
    "text": {},
}


def to_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table: a bold frozen header, numbers as numbers with their formats,
    dates as dates (in the district's local time, as the page shows them)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "remove_timezone": True})
    header = book.add_format({"bold": True, "bg_color": "#DDE4EE", "border": 1})
    formats = {kind: book.add_format(spec) for kind, spec in FORMATS.items()}
    for table in tables:
        sheet = book.add_worksheet(table.name[:31])
        sheet.freeze_panes(1, 0)
        for col, column in enumerate(table.columns):
            sheet.write_string(0, col, column.heading, header)
            sheet.set_column(col, col, max(10, min(40, len(column.heading) * 2 + 2)))
        for number, row in enumerate(table.rows, start=1):
            for col, column in enumerate(table.columns):
                _cell(sheet, number, col, row.get(column.key), formats[column.kind])
    book.close()
    return out.getvalue()


def _cell(sheet, row: int, col: int, value, fmt) -> None:
    if value is None:
        sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, dt.datetime):
        sheet.write_datetime(row, col, value.replace(tzinfo=None), fmt)
    elif isinstance(value, dt.date):
        sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time()), fmt)
    elif isinstance(value, bool) or not isinstance(value, int | float):
        sheet.write_string(row, col, str(value), fmt)
    else:
        sheet.write_number(row, col, value, fmt)
