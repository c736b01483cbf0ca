"""An incident as a CAP 1.2 alert (OASIS Common Alerting Protocol): the message public-warning
systems, sirens and broadcasters take. One `info` in Chinese and one in English; the area is
the outer ring as a CAP circle (and the site's outline when it is an area)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from config.schema import AppConfig
from dispatch.incidents import ENDED
from dispatch.store import IncidentRow
from geo.emergency import Analysis

NS = "urn:oasis:names:tc:emergency:cap:1.2"
SEVERITY = {1: "Extreme", 2: "Severe", 3: "Moderate", 4: "Minor"}  # levels I-IV
CATEGORY = {"road_collapse": "Infra", "gas_leak": "Safety", "fire": "Fire", "flood": "Met"}
LANGUAGES = (("zh", "zh-CN"), ("en", "en-US"))
TEXT = {
    "zh": ("{name}：{title}。{r} 米范围内约 {people} 名居民，{places} 处敏感场所。",
           "请离开 {r} 米范围，前往 {shelter}（步行约 {minutes} 分钟）。按现场人员指引行动。"),
    "en": ("{name}: {title}. About {people} residents and {places} sensitive places within "
           "{r} m.", "Leave the {r} m area for {shelter} (about {minutes} min on foot). Follow "
           "the instructions of staff on site."),
}  # fmt: skip


def _cap_time(moment: dt.datetime, zone) -> str:
    """CAP's dateTime: local time with its offset, no fractions (2026-12-01T09:30:00+08:00)."""
    return moment.astimezone(zone).replace(microsecond=0).isoformat()


def _add(parent: ET.Element, tag: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, f"{{{NS}}}{tag}")
    child.text = text
    return child


def _info(cfg: AppConfig, incident: IncidentRow, analysis: Analysis, lang: str, code: str):
    info = ET.Element(f"{{{NS}}}info")
    kind = cfg.emergency.type(incident.type_id)
    name = getattr(kind.names, lang) if kind else incident.type_id
    _add(info, "language", code)
    _add(info, "category", CATEGORY.get(incident.type_id, "Other"))
    _add(info, "event", name)
    _add(info, "urgency", "Immediate")
    _add(info, "severity", SEVERITY[incident.level])
    _add(info, "certainty", "Observed")
    _add(info, "senderName", getattr(cfg.district.name, lang))
    _add(info, "headline", incident.title[:160])
    outer = analysis.rings[-1].radius_m
    inner = analysis.rings[0].radius_m
    shelter = analysis.shelters[0] if analysis.shelters else None
    values = {
        "name": name,
        "title": incident.title,
        "r": f"{outer:g}",
        "people": analysis.residents,
        "places": sum(len(r.places) for r in analysis.rings),
        "shelter": shelter.name if shelter else "—",
        "minutes": f"{shelter.minutes:g}" if shelter else "—",
    }
    description, instruction = TEXT[lang]
    _add(info, "description", description.format(**values))
    _add(info, "instruction", instruction.format(**{**values, "r": f"{inner:g}"}))
    area = ET.SubElement(info, f"{{{NS}}}area")
    _add(area, "areaDesc", f"{incident.title} · {outer:g} m")
    if incident.site.get("type") == "Polygon":
        ring = incident.site["coordinates"][0]
        _add(area, "polygon", " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in ring))
    _add(area, "circle", f"{incident.lat:.6f},{incident.lon:.6f} {outer / 1000:g}")
    return info


def cap_alert(cfg: AppConfig, incident: IncidentRow, analysis: Analysis, now: dt.datetime,
              exercise: bool = False) -> bytes:  # fmt: skip
    """The incident as CAP 1.2 XML (UTF-8): an Alert while open, a Cancel once closed."""
    ET.register_namespace("", NS)
    alert = ET.Element(f"{{{NS}}}alert")
    zone = cfg.district.zone
    _add(alert, "identifier", f"street-cockpit-{incident.id}-v{incident.version}")
    _add(alert, "sender", f"{cfg.api.jurisdiction_id}@street-cockpit")
    _add(alert, "sent", _cap_time(now, zone))
    _add(alert, "status", "Exercise" if exercise else "Actual")
    _add(alert, "msgType", "Cancel" if incident.status == ENDED else "Alert")
    _add(alert, "scope", "Public")
    if exercise:
        _add(alert, "note", "drill / 演练")
    if incident.status == ENDED:  # what it cancels: the first alert of the incident
        first = f"street-cockpit-{incident.id}-v1"
        _add(alert, "references", f"{cfg.api.jurisdiction_id}@street-cockpit,{first},"
                                  f"{_cap_time(incident.opened_at, zone)}")  # fmt: skip
    for lang, code in LANGUAGES:
        alert.append(_info(cfg, incident, analysis, lang, code))
    return ET.tostring(alert, encoding="utf-8", xml_declaration=True)
