"""What the pages say in Chinese: statuses, actions, deadline kinds, field names, the API's
field errors, and times in Asia/Shanghai. Channels, categories and jurisdictions come from the
vocabulary (shared/domain/vocab.yaml); these words are the console's own."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

STATUS = {
    "registered": "已登记", "assigned": "已交办", "transferred_out": "已转出",
    "accepted": "已受理", "declined": "不予受理", "extended": "已延期", "replied": "已答复",
    "closed": "已办结", "feedback_given": "已反馈", "rated": "已评价",
    "review_requested": "已申请复查", "reviewed": "已复查", "rereview_requested": "已申请复核",
    "final": "终结",
}
ACTION = {
    "register": "登记", "assign": "交办", "object": "提出异议", "accept": "受理",
    "decline": "不予受理", "extend": "申请延期", "reply": "书面答复", "close": "办结",
    "feedback": "反馈", "rate": "评价", "request_review": "申请复查",
    "review_decision": "复查意见", "request_rereview": "申请复核",
    "rereview_decision": "复核意见", "transfer_out": "转出",
    "approve_extension": "批准延期", "refuse_extension": "不予批准延期",
    "hearing_started": "开始听证", "hearing_ended": "结束听证", "urge": "督办",
    "flag_key": "列为重点", "instruct": "领导批示", "reassign": "改派", "link": "关联",
}
LINK = {"duplicate": "重复件（同一事项经其他渠道再次反映，已并入原件）",
        "repeat": "重复信访（原件正在办理期限内）", "final_repeat": "三级终结后重复信访"}
KEY_REASON = {"collective": "集体访/联名信", "third_repeat_12m": "12个月内第三次反映",
              "flagged": "信访科列为重点", "urged": "多次督办"}
CAUSE = {"initial": "按规则交办", "reassign": "信访科改派", "objection": "异议后重新交办",
         "escalation": "升级为重点件"}
DEADLINE_KIND = {
    "routing": "登记转交办", "acceptance": "告知受理", "objection": "异议", "handling": "办理答复",
    "review_request": "申请复查", "review_decision": "复查", "rereview_request": "申请复核",
    "rereview_decision": "复核",
}
TIMER = {"pending": "计时中", "warned": "临期", "overdue": "已超期", "met": "已按期",
         "cancelled": "已取消"}
ROLE = {"clerk": "登记员", "handler": "承办人", "unit_head": "单位负责人", "leader": "包案领导",
        "staff": "信访科", "admin": "管理员"}
FIELD = {
    "channel": "来源渠道", "jurisdiction": "属地", "category": "类别", "title": "标题",
    "content": "信访内容", "received_at": "收到时间", "signers": "联名人数",
    "petitioner": "信访人", "petitioner.name": "姓名", "petitioner.id_number": "身份证号",
    "petitioner.phone": "联系电话", "petitioner.address": "通讯地址",
    "petitioner.anonymous": "匿名", "subject.unit": "被反映单位", "subject.person": "被反映人",
    "subject": "被反映对象", "external_id": "来件编号", "assigned_by": "交办机关",
    "reason": "理由", "status": "状态", "unit": "承办单位", "q": "标题关键词", "sort": "排序",
    "cursor": "翻页位置", "limit": "每页条数", "days": "延期天数", "rating": "评价", "body": "表单",
    "respond_by": "限期答复日期", "representatives": "代表",
}
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"is required"), "必填"),
    (re.compile(r"must be at most (\d+) characters"), "最多 {0} 个字"),
    (re.compile(r"must not be in the future"), "不能晚于当前时间"),
    (re.compile(r"must be at least (\d+)"), "不能小于 {0}"),
    (re.compile(r"must be at most (\d+)"), "不能大于 {0}"),
    (re.compile(r"must be a whole number"), "须为整数"),
    (re.compile(r"is unknown"), "不在可选范围内"),
    # A group visit's representatives (Art. 20): the clerk is told what to change, not only
    # that something is wrong.
    (re.compile(r"apply only to a visit"), "仅用于来访（集体访），来源渠道请选“来访”"),
    (re.compile(r"must name at most (\d+) people"), "最多 {0} 人（《信访工作条例》第20条）"),
    (re.compile(r"more than the group's head count \(signers: (\d+)\)"),
     "人数不能多于联名人数（现为 {0} 人），请先在“联名人数”填写集体访的人数"),
    (re.compile(r"phone|mobile|landline", re.I), "格式不正确（手机号 11 位，或带区号的座机）"),
    (re.compile(r"resident|id number|check digit|18", re.I), "格式不正确（18 位居民身份证号）"),
)


def field_message(field: str, message: str) -> str:
    """The API's English field error, said in Chinese next to the field."""
    for pattern, zh in _RULES:
        found = pattern.search(message)
        if found:
            return f"{FIELD.get(field, field)}{zh.format(*found.groups())}"
    return f"{FIELD.get(field, field)}填写有误"


def local_time(value: str | None) -> str:
    """An RFC 3339 instant as the bureau reads it: Beijing time, to the minute."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


# The public face of a step's actor (a unit, a channel, a role): never a person.
FACE = {"routing": "系统交办", "clerk": "信访登记", "staff": "信访科", "admin": "管理员",
        "intake": "系统", "petitioner": "信访人", "leader": "包案领导", "unit_head": "单位负责人",
        "handler": "承办人"}


def actor(face: str | None, unit_name: Callable[[str | None], str],
          channel_name: Callable[[str], str]) -> str:
    """``channel_name``: a channel's Chinese name (a registration's face is its channel)."""
    if not face:
        return ""
    if face in FACE:
        return FACE[face]
    named = unit_name(face)
    return named if named != face else CHANNEL_FACE.get(face) or channel_name(face)


CHANNEL_FACE = {"letter": "来信登记", "visit": "来访登记", "phone": "电话登记"}


def filters() -> dict[str, object]:
    return {"status_zh": lambda s: STATUS.get(s, s), "action_zh": lambda a: ACTION.get(a, a),
            "kind_zh": lambda k: DEADLINE_KIND.get(k, k), "timer_zh": lambda t: TIMER.get(t, t),
            "role_zh": lambda r: ROLE.get(r, r), "local": local_time,
            "link_zh": lambda k: LINK.get(k, k), "key_reason_zh": lambda k: KEY_REASON.get(k, k),
            "cause_zh": lambda c: CAUSE.get(c, c or "")}
