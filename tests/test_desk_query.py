"""The desk's ticket table query, in the test process on rows written straight to the store: each
filter narrows by exactly its own field, the overdue filter by each stage's deadline, searches
take the text as typed, sorts break ties newest first, and a page is never empty or unbounded."""

from __future__ import annotations

import datetime as dt

import pytest

from dispatch.desk_query import MAX_PAGE, SORTABLE, TicketFilter, ticket_page
from dispatch.store import TicketRow
from tests.support.rows import add_rows, ticket_row

T0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(hours=10)


def _row(tid: str, minute: int, **fields) -> TicketRow:
    return ticket_row(tid, T0 + dt.timedelta(minutes=minute), **fields)


def _ids(store, flt: TicketFilter, **page) -> list[str]:
    return [row.id for row in ticket_page(store, flt, NOW, **page)[0]]


FIELDS = [
    ("category", "service_code", "bin_overflow"),
    ("grid", "grid_id", "G05"),
    ("unit", "unit_id", "san-02"),
    ("source", "source", "camera"),
    ("department", "department_id", "dept-citymgmt"),
    ("community", "community_id", "zhonghe"),
    ("hex_cell", "hex_cell", "8931aa0b2c3ffff"),
    ("local_dow", "local_dow", 3),
    ("local_hour", "local_hour", 0),
]


@pytest.mark.parametrize(("option", "column", "value"), FIELDS)
def test_each_filter_keeps_only_its_own_value(store, option, column, value):
    other = "x" if isinstance(value, str) else value + 1
    add_rows(store, _row("aa01", 1, **{column: value}), _row("aa02", 2, **{column: other}))
    add_rows(store, _row("aa03", 3))  # the field left empty
    assert _ids(store, TicketFilter(**{option: value})) == ["aa01"]
    assert ticket_page(store, TicketFilter(**{option: value}), NOW)[1] == 1
    unfiltered = TicketFilter(**{option: None if option != "source" else ""})
    assert _ids(store, unfiltered) == ["aa03", "aa02", "aa01"]


def test_categories_and_states_narrow_to_any_of_theirs(store):
    add_rows(store, _row("ab01", 1, service_code="bin_overflow", status="closed"))
    add_rows(store, _row("ab02", 2, service_code="dirty_road", status="new"))
    add_rows(store, _row("ab03", 3, service_code="street_vending", status="accepted"))
    both = TicketFilter(categories=("bin_overflow", "street_vending"))
    assert _ids(store, both) == ["ab03", "ab01"]
    assert _ids(store, TicketFilter(states=("new", "accepted"))) == ["ab03", "ab02"]
    assert _ids(store, TicketFilter(states=("closed",), categories=("dirty_road",))) == []


def test_the_window_includes_its_start_and_excludes_its_end(store):
    add_rows(store, *(_row(f"ac0{m}", m) for m in range(1, 6)))
    window = TicketFilter(since=T0 + dt.timedelta(minutes=2), until=T0 + dt.timedelta(minutes=4))
    assert _ids(store, window) == ["ac03", "ac02"]
    assert _ids(store, TicketFilter(since=T0 + dt.timedelta(minutes=4))) == ["ac05", "ac04"]
    assert _ids(store, TicketFilter(until=T0 + dt.timedelta(minutes=2))) == ["ac01"]


def test_overdue_means_open_and_past_any_running_stages_deadline(store):
    past, later = NOW - dt.timedelta(seconds=1), NOW + dt.timedelta(hours=1)
    add_rows(
        store,
        _row("ad01", 1, resolve_due=past),
        _row("ad02", 2, accept_due=past, resolve_due=later),
        _row("ad03", 3, accept_due=past, accepted_at=T0, resolve_due=later),  # accepted in time
        _row("ad04", 4, arrive_due=past, resolve_due=later),
        _row("ad05", 5, arrive_due=past, arrived_at=T0, resolve_due=later),  # on site
        _row("ad06", 6, resolve_due=past, status="closed"),  # late, but done
        _row("ad07", 7, resolve_due=NOW),  # due this very moment: not yet late
        _row("ad08", 8, resolve_due=later),
        _row("ad09", 9, accept_due=NOW, arrive_due=NOW, resolve_due=later),  # due this moment
    )
    assert _ids(store, TicketFilter(overdue=True)) == ["ad04", "ad02", "ad01"]
    assert ticket_page(store, TicketFilter(overdue=True), NOW)[1] == 3
    assert len(_ids(store, TicketFilter())) == 9


def test_search_finds_ids_addresses_and_descriptions_as_typed(store):
    add_rows(
        store,
        _row("0c1d2e3f", 1, address="北街 12号"),
        _row("aa55", 2, description="Bins OVERFLOWING by the gate"),
        _row("aa56", 3, address="50% off_sale", description=r"C:\path"),
        _row("aa57", 4, address="500 off sale", description="k" * 100),
    )
    assert _ids(store, TicketFilter(search="0C1D")) == ["0c1d2e3f"]  # ids are lower case
    assert _ids(store, TicketFilter(search="  北街  ")) == ["0c1d2e3f"]
    assert _ids(store, TicketFilter(search="overflowing")) == ["aa55"]
    assert _ids(store, TicketFilter(search="1d2e")) == []  # ids by their start only
    assert _ids(store, TicketFilter(search="0% off_")) == ["aa56"]  # % and _ are text
    assert _ids(store, TicketFilter(search="50%")) == ["aa56"]  # not "500 off sale"
    assert _ids(store, TicketFilter(search="off_s")) == ["aa56"]  # nor "off sale"
    assert _ids(store, TicketFilter(search="\\")) == ["aa56"]
    assert _ids(store, TicketFilter(search="   ")) == ["aa57", "aa56", "aa55", "0c1d2e3f"]
    # typed text is cut at 100 characters
    assert _ids(store, TicketFilter(search="k" * 100 + "zzz")) == ["aa57"]


@pytest.mark.parametrize("sort", SORTABLE)
def test_every_sortable_column_sorts_both_ways_ties_newest_first(store, sort):
    values = {
        "requested_at": None,
        "updated_at": [T0 + dt.timedelta(hours=h) for h in (3, 1, 2, 1)],
        "resolve_due": [T0 + dt.timedelta(hours=h) for h in (3, 1, 2, 1)],
        "priority": [3, 1, 2, 1],
        "status": ["new", "accepted", "dispatched", "accepted"],
        "service_code": ["dirty_road", "bike_parking", "bin_overflow", "bike_parking"],
        "grid_id": ["G09", "G01", "G05", "G01"],
        "unit_id": ["san-03", "san-01", "san-02", "san-01"],
        "source": ["patrol", "camera", "open311", "camera"],
    }[sort]
    rows = [_row(f"ae0{i}", i) for i in range(4)]
    for i, row in enumerate(rows):
        if values:
            setattr(row, sort, values[i])
    add_rows(store, *rows)
    if sort == "requested_at":
        assert _ids(store, TicketFilter(), sort=sort) == ["ae03", "ae02", "ae01", "ae00"]
        assert _ids(store, TicketFilter(), sort=sort, descending=False)[0] == "ae00"
        return
    # ae01 and ae03 tie on the column: the newer (ae03) first, whichever the direction
    assert _ids(store, TicketFilter(), sort=sort) == ["ae00", "ae02", "ae03", "ae01"]
    assert _ids(store, TicketFilter(), sort=sort, descending=False) == [
        "ae03",
        "ae01",
        "ae02",
        "ae00",
    ]


def test_same_requested_time_orders_by_id(store):
    add_rows(store, _row("af02", 1), _row("af01", 1), _row("af03", 1))
    assert _ids(store, TicketFilter()) == ["af01", "af02", "af03"]


def test_pages_are_at_least_one_row_and_at_most_the_maximum(store):
    add_rows(store, *(_row(f"p{i:04d}", i) for i in range(MAX_PAGE + 5)))
    assert MAX_PAGE == 200
    assert len(ticket_page(store, TicketFilter(), NOW)[0]) == 25  # the desk's default page
    rows, total = ticket_page(store, TicketFilter(), NOW, limit=10_000)
    assert (len(rows), total) == (MAX_PAGE, MAX_PAGE + 5)
    assert _ids(store, TicketFilter(), limit=0) == [f"p{MAX_PAGE + 4:04d}"]
    assert _ids(store, TicketFilter(), limit=-3) == [f"p{MAX_PAGE + 4:04d}"]
    assert _ids(store, TicketFilter(), offset=-10, limit=2) == [
        f"p{MAX_PAGE + 4:04d}",
        f"p{MAX_PAGE + 3:04d}",
    ]
    assert _ids(store, TicketFilter(), offset=MAX_PAGE + 4, limit=5) == ["p0000"]
    assert ticket_page(store, TicketFilter(), NOW, limit=MAX_PAGE)[0][-1].id == "p0005"


def test_an_unknown_sort_column_is_refused_naming_the_choices(store):
    with pytest.raises(ValueError) as refused:
        ticket_page(store, TicketFilter(), NOW, sort="password_hash")
    assert str(refused.value) == (
        "cannot sort by 'password_hash'; by one of requested_at, updated_at, resolve_due, "
        "priority, status, service_code, grid_id, unit_id, source"
    )
