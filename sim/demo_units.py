"""The demo district's field units: who they are, in both languages, and where they start."""

from __future__ import annotations

import random

from sim.district import WIDTH_M, X_STOPS, Y_STOPS, to_lon_lat


def _names(zh: str, en: str) -> dict:
    return {"zh": zh, "en": en}


SUPERVISORS = [
    ("sup-san", "环卫所值班长·周", "Sanitation duty supervisor · Zhou", "dept-sanitation"),
    ("sup-cmg", "城管中队值班长·吴", "City management duty supervisor · Wu", "dept-citymgmt"),
    ("sup-grid", "网格站值班长·郑", "Grid office duty supervisor · Zheng", "dept-grid-west"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林"
SURNAMES_EN = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
               "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin"]  # fmt: skip


def demo_units(rng: random.Random) -> list[dict]:
    """Six sanitation crews, six city-management teams, six grid workers and three duty
    supervisors, named in both languages, each with a home on a street crossing."""
    plan = [
        ("san", "sanitation", "dept-sanitation", "环卫", "Sanitation crew"),
        ("cmg", "citymgmt", "dept-citymgmt", "城管", "City management team"),
    ]
    units, n = [], 0
    for prefix, unit_type, dept, label, label_en in plan:
        for i in range(6):
            n += 1
            who, who_en = SURNAMES[n % len(SURNAMES)], SURNAMES_EN[n % len(SURNAMES)]
            name = _names(f"{label}{i + 1}组·{who}", f"{label_en} {i + 1} · {who_en}")
            units.append(_unit(rng, f"{prefix}-{i + 1:02d}", name, unit_type, dept))
    for i in range(6):
        n += 1
        dept = "dept-grid-west" if i < 3 else "dept-grid-east"
        who, who_en = SURNAMES[n % len(SURNAMES)], SURNAMES_EN[n % len(SURNAMES)]
        name = _names(f"网格员·{who}", f"Grid worker · {who_en}")
        units.append(
            _unit(
                rng,
                f"grd-{i + 1:02d}",
                name,
                "gridworker",
                dept,
                x_range=(0, 1200) if i < 3 else (1200, 2400),
            )
        )
    for uid, zh, en, dept in SUPERVISORS:
        units.append(_unit(rng, uid, _names(zh, en), "supervisor", dept))
    return units


def _unit(rng, uid, name, unit_type, dept, x_range=(0, WIDTH_M)) -> dict:
    xs = [x for x in X_STOPS if x_range[0] <= x <= x_range[1]]
    return {
        "id": uid,
        "name": name,
        "type": unit_type,
        "department": dept,
        "home": to_lon_lat(rng.choice(xs), rng.choice(Y_STOPS)),
    }
