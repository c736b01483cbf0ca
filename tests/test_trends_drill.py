"""Every trends chart leads to the desk filtered to its tickets: the links, and how the desk
reads them back (malformed parts are dropped, never trusted)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from cockpit.desk_view import from_address, narrowed
from cockpit.pages.trends import drill_target
from dispatch.desk_query import TicketFilter

STORED = {"start": "2026-10-01", "end": "2026-10-31", "grid": "G03", "step": "week"}
HEX = "89309a55317ffff"


def _query(link: str) -> dict:
    parts = urlsplit(link)
    assert parts.path == "/desk"
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


@pytest.mark.parametrize(
    ("source", "click", "expected"),
    [
        ("series", {"points": [{"customdata": "2026-10-26"}]},
         {"from": "2026-10-26", "to": "2026-10-31"}),
        ("top", {"points": [{"customdata": "event/0505"}]}, {"standard": "event/0505"}),
        ("heat", {"points": [{"customdata": 3, "x": 14}]}, {"dow": "3", "hour": "14"}),
        ("hexes", {"points": [{"location": HEX}]}, {"hex": HEX}),
    ],
)  # fmt: skip
def test_each_chart_links_to_its_tickets(source, click, expected):
    query = _query(drill_target(STORED, source, click, None, None))
    assert query["grid"] == "G03"  # the page's own filter stays
    for key, value in {"from": "2026-10-01", "to": "2026-10-31", **expected}.items():
        assert query[key] == value


def test_a_ranking_row_links_to_its_unit():
    rows = [{"key": "san-01"}, {"key": "san-02"}]
    stored = {**STORED, "ranking_by": "unit"}
    query = _query(drill_target(stored, "ranking", None, {"row": 1}, rows))
    assert query["unit"] == "san-02"


def test_the_desk_reads_the_link_back(demo_cfg):
    values, drill = from_address(
        demo_cfg,
        {"from": "2026-10-01", "to": "2026-10-31", "grid": "G03", "standard": "event/0505",
         "dow": "3", "hour": "14", "hex": HEX, "unit": "san-01", "department": "dept-sanitation"},
    )  # fmt: skip
    assert values["start"] == "2026-10-01" and values["grid"] == "G03"
    assert values["unit"] == "san-01"
    flt = narrowed(TicketFilter(grid="G03"), drill)
    assert flt.categories == ("illegal_parking",) and flt.hex_cell == HEX
    assert (flt.local_dow, flt.local_hour, flt.department) == (3, 14, "dept-sanitation")


def test_malformed_links_are_dropped(demo_cfg):
    values, drill = from_address(
        demo_cfg,
        {"from": "yesterday", "unit": "nobody", "hex": "not-a-cell", "dow": "9", "hour": "x",
         "department": "'; drop table tickets; --", "category": "nope"},
    )  # fmt: skip
    assert values["start"] is None and values["unit"] is None and values["category"] is None
    assert drill == {}


def test_a_forged_drill_is_dropped_not_queried():
    """The drill comes back from the browser: wrong kinds never reach the database."""
    forged = {"local_dow": "1; drop", "local_hour": 99, "categories": [1, 2], "states": ["x"],
              "department": ["a"], "hex_cell": "89309a55317ffff"}  # fmt: skip
    flt = narrowed(TicketFilter(grid="G03"), forged)
    assert flt == TicketFilter(grid="G03", hex_cell="89309a55317ffff")
    assert narrowed(TicketFilter(), "nonsense") == TicketFilter()


def test_forged_trend_filters_are_no_cuts():
    from cockpit.pages.trends import _filter_of

    flt = _filter_of({"start": "2026-10-01", "end": "2026-10-31", "grid": ["G01", "G02"],
                      "unit": {"x": 1}, "source": "camera"})  # fmt: skip
    assert (flt.grid, flt.unit, flt.source) == (None, None, "camera")
