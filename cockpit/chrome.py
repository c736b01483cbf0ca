"""What every page shares: the bar with the district, the live link, the district's clock, the
pages the signed-in person may open, the language switch and signing out (none of it on a kiosk
wall)."""

from __future__ import annotations

from dash import dcc, html
from flask import g, session

from cockpit import ids
from config.i18n import t
from config.schema import AppConfig


def _nav(lang: str, active: str, role: str) -> list:
    """Links to the pages this role may open (each page module's PATH, NAV and ROLES)."""
    from cockpit.pages import PAGES  # the pages use this module

    return [
        html.A(
            t(page.NAV, lang),
            href=f"{page.PATH}?lang={lang}",
            className="nav active" if active == page.PATH else "nav",
        )
        for page in PAGES
        if page.NAV and role in page.ROLES
    ]


def _account(lang: str, active: str) -> list:
    """Who is signed in, the pages they may open, the language switch and signing out."""
    principal = getattr(g, "principal", None)
    other = "en" if lang == "zh" else "zh"
    if principal is None or principal.is_display:
        return []
    who = t("login.signed_in", lang).format(
        name=principal.name, role=t(f"role.{principal.role}", lang)
    )
    return [
        *_nav(lang, active, principal.role),
        html.A(t("switch_lang", lang), href=f"?lang={other}", className="lang"),
        html.Span(who, className="who"),
        html.Form(
            method="post",
            action=f"/logout?lang={lang}",
            className="logout",
            children=[
                dcc.Input(type="hidden", name="csrf_token", value=session.get("csrf", "")),
                html.Button(t("login.logout", lang), type="submit"),
            ],
        ),
    ]


def header(
    cfg: AppConfig, lang: str, active: str, live: bool = True, extra: tuple = ()
) -> html.Header:
    """District name, link state (pages fed by pushes), `extra`, the district's clock, and
    the signed-in person's controls."""
    return html.Header(
        className="bar",
        children=[
            html.H1(  # on a narrow bar the product name gives way, never the district's
                [
                    html.Span(getattr(cfg.district.name, lang), className="district"),
                    html.Span(f" · {t('title', lang)}", className="product"),
                ]
            ),
            html.Div(
                className="bar-right",
                children=[
                    html.Span(
                        t("live.disconnected", lang),
                        id=ids.LINK_STATE,
                        className="link down",
                        hidden=not live,
                        **{
                            "data-up": t("live.connected", lang),
                            "data-down": t("live.disconnected", lang),
                            "data-feed-down": t("live.feed_down", lang),
                        },
                    ),
                    *extra,
                    html.Span(
                        id=ids.CLOCK,
                        className="clock",
                        **{"data-tz": cfg.district.timezone},  # district time
                    ),
                    *_account(lang, active),
                ],
            ),
        ],
    )


def denied(lang: str) -> html.Div:
    """What a page shows a principal whose role may not see it."""
    return html.Div(t("access.denied", lang), className="denied", id="access-denied")
