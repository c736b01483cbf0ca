"""The UI string catalogue: Chinese (default) and English. Every visible string comes from here."""

from __future__ import annotations

DEFAULT_LANG = "zh"
LANGS = ("zh", "en")

CATALOGUE: dict[str, dict[str, str]] = {
    "title": {"zh": "街道数字驾驶舱", "en": "Street Digital Cockpit"},
    "switch_lang": {"zh": "English", "en": "中文"},
    "kpi.open_tickets": {"zh": "在办工单", "en": "Open tickets"},
    "kpi.events_hour": {"zh": "近1小时事件", "en": "Events, last hour"},
    "kpi.units_online": {"zh": "在线人员", "en": "Units online"},
    "kpi.cameras_online": {"zh": "在线摄像头", "en": "Cameras online"},
    "feed.title": {"zh": "最新工单", "en": "Latest tickets"},
    "feed.empty": {"zh": "暂无工单", "en": "No tickets yet"},
    "feed.reports": {"zh": "{n}次上报", "en": "{n} reports"},
    "feed.unassigned": {"zh": "未指派人员", "en": "no unit yet"},
    "feed.snapshot": {"zh": "摄像头取证截图", "en": "Camera evidence snapshot"},
    "alert.title": {"zh": "超时告警", "en": "Overdue warnings"},
    "alert.none": {"zh": "无超时工单", "en": "Nothing overdue"},
    "alert.more": {"zh": "另有{n}条", "en": "{n} more"},
    "alert.overdue": {"zh": "超时", "en": "Overdue"},
    "alert.escalated": {"zh": "已升级", "en": "Escalated"},
    "alert.late": {"zh": "超时{m}分钟", "en": "{m} min late"},
    "alert.handled": {"zh": "{who} 已处理", "en": "seen by {who}"},
    "alert.stage.accept": {"zh": "未按时接单", "en": "not accepted in time"},
    "alert.stage.arrive": {"zh": "未按时到场", "en": "not on site in time"},
    "alert.stage.resolve": {"zh": "未按时处置", "en": "not fixed in time"},
    "alert.stage.verify": {"zh": "待人工核验", "en": "waiting for a person to verify"},
    "legend.cameras": {"zh": "摄像头", "en": "Cameras"},
    "legend.tickets": {"zh": "工单", "en": "Tickets"},
    "legend.events": {"zh": "新事件", "en": "New events"},
    "status.new": {"zh": "待派单", "en": "New"},
    "status.dispatched": {"zh": "已派单", "en": "Dispatched"},
    "status.accepted": {"zh": "已接单", "en": "Accepted"},
    "status.on_site": {"zh": "已到场", "en": "On site"},
    "status.resolved": {"zh": "已处置", "en": "Resolved"},
    "status.verified": {"zh": "已核验", "en": "Verified"},
    "status.closed": {"zh": "已办结", "en": "Closed"},
    "status.returned": {"zh": "已退回", "en": "Returned"},
    "status.reopened": {"zh": "已重开", "en": "Reopened"},
    "status.escalated": {"zh": "已升级", "en": "Escalated"},
    "health.online": {"zh": "在线", "en": "online"},
    "health.offline": {"zh": "离线", "en": "offline"},
    "health.unknown": {"zh": "未知", "en": "unknown"},
    "hover.unit": {"zh": "人员", "en": "Unit"},
    "hover.grid": {"zh": "网格", "en": "Grid"},
    "hover.status": {"zh": "状态", "en": "Status"},
    "hover.camera": {"zh": "摄像头", "en": "Camera"},
    "live.connected": {"zh": "实时连接", "en": "Live"},
    "live.disconnected": {"zh": "连接中断，正在重连", "en": "Disconnected, reconnecting"},
    # Signing in to the cockpit (cockpit/access.py).
    "login.title": {"zh": "登录驾驶舱", "en": "Sign in to the cockpit"},
    "login.name": {"zh": "用户名", "en": "User name"},
    "login.password": {"zh": "密码", "en": "Password"},
    "login.submit": {"zh": "登录", "en": "Sign in"},
    "login.failed": {
        "zh": "用户名或密码错误，或账号已停用",
        "en": "Wrong name or password, or the account is disabled",
    },
    "login.too_many": {
        "zh": "尝试次数过多，请一分钟后再试",
        "en": "Too many attempts; try again in a minute",
    },
    "login.expired": {
        "zh": "表单已过期，请重新登录",
        "en": "The form expired; please sign in again",
    },
    "login.logout": {"zh": "退出登录", "en": "Sign out"},
    "login.signed_in": {"zh": "{name}（{role}）", "en": "{name} ({role})"},
    "access.denied": {
        "zh": "您的角色无权查看此页面",
        "en": "Your role may not open this page",
    },
    "access.home": {"zh": "返回首页", "en": "Back to the start page"},
    "access.bad_display": {
        "zh": "大屏令牌无效或已吊销，请联系管理员重新生成",
        "en": "This wall's display token is unknown or revoked; ask an admin for a new one",
    },
    "role.admin": {"zh": "管理员", "en": "admin"},
    "role.operator": {"zh": "值班员", "en": "operator"},
    "role.coordinator": {"zh": "应急指挥", "en": "emergency coordinator"},
    "role.leader": {"zh": "街道领导", "en": "street leader"},
    "role.viewer": {"zh": "访客", "en": "viewer"},
    "role.display": {"zh": "大屏", "en": "wall screen"},
    # The field page (dispatch/api/field.py): a phone-sized page for one unit.
    "field.title": {"zh": "外勤工单", "en": "Field tickets"},
    "field.login_prompt": {
        "zh": "请输入指挥中心发给本组的令牌",
        "en": "Enter the token the command centre gave your unit",
    },
    "field.token": {"zh": "令牌", "en": "Token"},
    "field.login": {"zh": "登录", "en": "Sign in"},
    "field.logout": {"zh": "退出", "en": "Sign out"},
    "field.bad_token": {
        "zh": "令牌无效或已停用，请联系指挥中心",
        "en": "Unknown or revoked token; ask the command centre",
    },
    "field.none": {"zh": "暂无待办工单", "en": "Nothing to do right now"},
    "field.refresh": {"zh": "刷新", "en": "Refresh"},
    "field.accept": {"zh": "接单", "en": "Accept"},
    "field.arrive": {"zh": "到场", "en": "I'm on site"},
    "field.resolve": {"zh": "处置完成", "en": "Resolved"},
    "field.photo": {"zh": "现场照片", "en": "Photo of the fix"},
    "field.note": {"zh": "备注", "en": "Note"},
    "field.give_back": {"zh": "不属本组，退回", "en": "Not ours: give back"},
    "field.reason": {"zh": "退回原因", "en": "Why it is not ours"},
    "field.map": {"zh": "地图导航", "en": "Open in maps"},
    "field.due": {"zh": "时限", "en": "Due"},
    "field.reports": {"zh": "{n}次上报", "en": "{n} reports"},
    "field.waiting": {"zh": "等待核验", "en": "Waiting for verification"},
    "field.done": {"zh": "已提交", "en": "Sent"},
    "field.failed": {"zh": "未能提交", "en": "Not sent"},
    "field.updated": {"zh": "工单有变化，点此刷新", "en": "Your tickets changed: tap to refresh"},
    "field.evidence": {"zh": "证据", "en": "Evidence"},
    "field.priority.1": {"zh": "紧急", "en": "Urgent"},
    "field.rework": {
        "zh": "复查发现问题仍在，请返工处置",
        "en": "The re-check found the problem still there: please fix it again",
    },
}


def pick_lang(requested: str | None) -> str:
    """A supported language code; anything else falls back to Chinese."""
    return requested if requested in LANGS else DEFAULT_LANG


def t(key: str, lang: str = DEFAULT_LANG) -> str:
    """The string for key in lang; a missing key raises so no untranslated text ships."""
    return CATALOGUE[key][pick_lang(lang)]
