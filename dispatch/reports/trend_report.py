"""Everything the trends page, its exports and the brief show for one filter, gathered once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from config.i18n import t
from config.schema import AppConfig
from dispatch.indicators import RATES, Counts, Durations
from dispatch.reports.tables import Column, Table
from dispatch.trends import RepeatPlace, TrendFilter, Trends, by_standard_class, ranking

HEADLINE_COUNTS = ("filed", "due", "concluded", "on_time", "overdue", "rework", "supervised",
                   "repeats")  # fmt: skip
RANKED = ("unit", "grid", "department")


@dataclass
class TrendReport:
    """The figures of one filter, and the tables made of them."""

    flt: TrendFilter
    step: str
    headline: dict[str, Counts]
    durations: list[Durations]
    series: list[tuple[dt.date, Counts]]
    categories: list[tuple[str, Counts]]
    heat: list[list[int]]
    hexagons: list[tuple[str, int]]
    tables: dict[str, Table]


def _names(cfg: AppConfig, lang: str) -> dict[str, dict[str, str]]:
    """Display names of each dimension's keys."""
    return {
        "unit": {u.id: getattr(u.name, lang) for u in cfg.units},
        "department": {d.id: getattr(d.names, lang) for d in cfg.departments},
        "category": {c.id: getattr(c.names, lang) for c in cfg.categories},
        "grid": {},
    }


def _change(now: float | None, before: float | None) -> float | None:
    """Relative change of a count, in per cent; None without a base."""
    if now is None or not before:
        return None
    return round(100 * (now - before) / before, 2)


def indicator_table(cfg: AppConfig, report_headline: dict[str, Counts], lang: str) -> Table:
    """Each indicator this period, a year before, the period before, and the changes."""
    table = Table(
        "indicators",
        t("trends.title", lang),
        [
            Column("name", t("trends.indicator", lang)),
            Column("now", t("trends.this_period", lang), "num"),
            Column("year_before", t("trends.year_before", lang), "num"),
            Column("period_before", t("trends.period_before", lang), "num"),
            Column("yoy", t("trends.yoy_unit", lang), "num"),
            Column("mom", t("trends.mom_unit", lang), "num"),
        ],
    )
    for key in (*HEADLINE_COUNTS, *RATES):
        values = {when: getattr(c, key) for when, c in report_headline.items()}
        rate = key in RATES
        name = t(f"trends.{key}", lang) + (" (%)" if rate else "")
        row = {"key": key, "name": name, **values}
        if rate:  # rates in per cent; their changes in percentage points
            for when in ("now", "year_before", "period_before"):
                row[when] = None if values[when] is None else round(values[when] * 100, 2)
            row["yoy"] = _points(values["now"], values["year_before"])
            row["mom"] = _points(values["now"], values["period_before"])
        else:
            row["yoy"] = _change(values["now"], values["year_before"])
            row["mom"] = _change(values["now"], values["period_before"])
        table.rows.append(row)
    return table


def _points(now: float | None, before: float | None) -> float | None:
    """Change of a rate, in percentage points."""
    return None if now is None or before is None else round(100 * (now - before), 2)


def ranking_table(cfg: AppConfig, by: str, cut: list[tuple[str, Counts]], lang: str) -> Table:
    """A graded ranking of units, grids or departments."""
    names = _names(cfg, lang).get(by, {})
    table = Table(
        f"ranking_{by}",
        f"{t('trends.ranking', lang)} · {t(f'trends.by.{by}', lang)}",
        [
            Column("rank", t("trends.rank", lang), "int"),
            Column("key", t(f"trends.{by}", lang)),
            Column("name", t("trends.name", lang)),
            Column("filed", t("trends.filed", lang), "int"),
            Column("due", t("trends.due", lang), "int"),
            Column("concluded", t("trends.concluded", lang), "int"),
            Column("on_time", t("trends.on_time", lang), "int"),
            Column("closure_rate", t("trends.closure_rate", lang), "pct"),
            Column("on_time_rate", t("trends.on_time_rate", lang), "pct"),
            Column("rework_rate", t("trends.rework_rate", lang), "pct"),
            Column("precise_rate", t("trends.precise_rate", lang), "pct"),
            Column("score", t("trends.score", lang), "score"),
            Column("grade", t("trends.grade", lang)),
        ],
    )
    for rank, row in enumerate(ranking(cfg, cut), start=1):
        table.rows.append(
            {
                "rank": rank if row.score is not None else None,
                "key": row.key,
                "name": names.get(row.key, row.key),
                **{k: getattr(row.counts, k) for k in ("filed", "due", "concluded", "on_time")},
                **{k: getattr(row.counts, k) for k in RATES[:4]},
                "score": row.score,
                "grade": t(f"trends.grade.{row.grade}", lang) if row.grade else None,
            }
        )
    return table


def category_table(cfg: AppConfig, classes: list[tuple[str, Counts]], lang: str) -> Table:
    """The top 10 problems by standard class."""
    table = Table(
        "categories",
        t("trends.top", lang),
        [
            Column("code", t("trends.code", lang)),
            Column("group", t("trends.group", lang)),
            Column("name", t("trends.name", lang)),
            Column("filed", t("trends.filed", lang), "int"),
            Column("share", t("trends.share", lang), "pct"),
            Column("closure_rate", t("trends.closure_rate", lang), "pct"),
        ],
    )
    total = sum(c.filed for _, c in classes) or 1
    table_cls = cfg.classification
    for code, counts in classes[:10]:
        found = table_cls.find(code) if table_cls else None
        table.rows.append(
            {
                "code": code,
                "group": getattr(found.group, lang) if found else "",
                "name": getattr(found.names, lang) if found else code,
                "filed": counts.filed,
                "share": round(counts.filed / total, 4),
                "closure_rate": counts.closure_rate,
            }
        )
    return table


def case_table(cfg: AppConfig, name: str, tickets: list, lang: str, zone) -> Table:
    """Supervised or long-overdue cases: ticket, category, grid, unit, when, state, place."""
    categories = _names(cfg, lang)["category"]
    when = "supervised_at" if name == "supervised" else "resolve_due"
    table = Table(
        name,
        t(f"trends.{name}_list", lang),
        [
            Column("id", t("trends.ticket", lang)),
            Column("category", t("trends.category", lang)),
            Column("grid", t("trends.grid", lang)),
            Column("unit", t("trends.unit", lang)),
            Column(
                "when",
                t(f"trends.{'when_supervised' if name == 'supervised' else 'resolve_due'}", lang),
                "datetime",
            ),
            Column("state", t("trends.state", lang)),
            Column("address", t("trends.place", lang)),
        ],
    )
    for ticket in tickets:
        moment = getattr(ticket, when)
        table.rows.append(
            {
                "id": ticket.id,
                "category": categories.get(ticket.service_code, ticket.service_code),
                "grid": ticket.grid_id,
                "unit": ticket.unit_id,
                "when": moment.astimezone(zone).replace(tzinfo=None) if moment else None,
                "state": t(f"status.{ticket.status}", lang),
                "address": ticket.address or "",
            }
        )
    return table


def repeat_table(cfg: AppConfig, places: list[RepeatPlace], lang: str, zone) -> Table:
    """Spots reported again within the repeat window."""
    categories = _names(cfg, lang)["category"]
    table = Table(
        "repeats",
        t("trends.repeats_list", lang),
        [
            Column("address", t("trends.place", lang)),
            Column("hex_cell", "H3"),
            Column("category", t("trends.category", lang)),
            Column("repeats", t("trends.repeats", lang), "int"),
            Column("last", t("trends.last", lang), "datetime"),
        ],
    )
    for place in places:
        last = place.last.astimezone(zone).replace(tzinfo=None) if place.last else None
        table.rows.append(
            {
                "address": place.address,
                "hex_cell": place.hex_cell,
                "category": categories.get(place.category, place.category),
                "repeats": place.repeats,
                "last": last,
            }
        )
    return table


def hotspot_table(hexagons: list[tuple[str, int]], lang: str) -> Table:
    """The ten hexagons with most cases (H3 cells; the trends page maps them)."""
    table = Table(
        "hotspots",
        t("trends.hexes", lang),
        [
            Column("rank", t("trends.rank", lang), "int"),
            Column("hex_cell", "H3"),
            Column("filed", t("trends.filed", lang), "int"),
            Column("share", t("trends.share", lang), "pct"),
        ],
    )
    total = sum(n for _, n in hexagons) or 1
    for rank, (cell, n) in enumerate(hexagons[:10], start=1):
        table.rows.append(
            {"rank": rank, "hex_cell": cell, "filed": n, "share": round(n / total, 4)}
        )
    return table


def series_table(series: list[tuple[dt.date, Counts]], lang: str) -> Table:
    """The cases per period."""
    table = Table(
        "series",
        t("trends.series", lang),
        [
            Column("period", t("trends.period", lang), "date"),
            *(
                Column(k, t(f"trends.{k}", lang), "int")
                for k in ("filed", "due", "concluded", "on_time")
            ),
            Column("closure_rate", t("trends.closure_rate", lang), "pct"),
            Column("on_time_rate", t("trends.on_time_rate", lang), "pct"),
        ],
    )
    for start, counts in series:
        table.rows.append({"period": start, **counts.as_dict()})
    return table


def build(
    cfg: AppConfig, trends: Trends, flt: TrendFilter, now: dt.datetime, lang: str, step: str = "day"
) -> TrendReport:
    """Every figure and table of one filter."""
    zone = cfg.district.zone
    headline = trends.headline(flt, now)
    series = trends.series(flt, step, now)
    hexagons = trends.hexagons(flt)
    classes = by_standard_class(cfg, trends.cut(flt, "category", now))
    tables = {
        "indicators": indicator_table(cfg, headline, lang),
        **{
            f"ranking_{by}": ranking_table(cfg, by, trends.cut(flt, by, now), lang) for by in RANKED
        },
        "categories": category_table(cfg, classes, lang),
        "supervised": case_table(cfg, "supervised", trends.supervised(flt), lang, zone),
        "overdue": case_table(cfg, "overdue", trends.long_overdue(flt, now), lang, zone),
        "repeats": repeat_table(cfg, trends.repeat_places(flt), lang, zone),
        "series": series_table(series, lang),
        "hotspots": hotspot_table(hexagons, lang),
    }
    return TrendReport(
        flt,
        step,
        headline,
        trends.durations(flt),
        series,
        classes,
        trends.hour_by_weekday(flt),
        hexagons,
        tables,
    )
