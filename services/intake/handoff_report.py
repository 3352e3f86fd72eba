"""``GET /v1/cases/{case_id}/handoff-report``: the closing report (办结报告) of a handed-off case
as a Word document, for the petition office to send to the body that assigned the case.

Rendered with python-docx. A .docx carries no font: the East Asian font is named (宋体, with a
fallback any Chinese Word or WPS install has) and the reader's machine supplies it. Every read
is audited like the other staff reads of a case. The document holds the same facts, judged the
same way, as the ``handoff.closed`` event (services/intake/handoff.py), plus the answer's text.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
from aiohttp import web
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt

from services.intake import store
from services.intake.handoff import Closing, closing_of
from shared.domain.limits import CountingMode, local_date
from shared.domain.timeliness import is_handoff
from shared.domain.vocab import Vocabulary
from shared.platform import audit
from shared.platform.calendar_versions import CalendarView
from shared.platform.clock import Clock
from shared.platform.web import error, principal

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TITLE = "交办信访事项办结报告"
FONT = "宋体"


@dataclass(frozen=True)
class ReportFacts:
    tracking_no: str
    assigned_by: str | None
    assigned_ref: str | None
    channel: str  # labels, as printed
    category: str
    jurisdiction: str
    title: str
    unit: str | None
    received_at: datetime
    closing: Closing
    issued_on: date


def _day(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    day = local_date(value) if isinstance(value, datetime) else value
    return f"{day.year}年{day.month}月{day.day}日（{day.isoformat()}）"


def rows_of(facts: ReportFacts) -> list[tuple[str, str]]:
    """The report's table, label and value, in the order printed."""
    c = facts.closing
    return [
        ("交办机关", facts.assigned_by or "—"),
        ("交办文号", facts.assigned_ref or "—"),
        ("信访件编号", facts.tracking_no),
        ("来源渠道", facts.channel),
        ("信访事项", facts.title),
        ("问题类别", facts.category),
        ("所属地区", facts.jurisdiction),
        ("承办单位", facts.unit or "—"),
        ("收到日期", _day(facts.received_at)),
        ("受理日期", _day(c.accepted_at)),
        ("延期", f"延期{c.extension_days}日" if c.extension_days else "未延期"),
        ("办理期限", _day(c.handling_due)),
        ("答复日期", _day(c.answered_at)),
        ("办结日期", _day(c.closed_at)),
        ("是否按期", "按期办结" if c.on_time else "逾期办结"),
        ("办理结果", "已办结，已书面答复信访人。" + (f"答复意见：{c.answer_text}"
                                                  if c.answer_text else "")),
    ]


def render(facts: ReportFacts) -> bytes:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(12)
    # Word takes CJK glyphs from the East Asian font slot, which python-docx does not set.
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    heading = doc.add_heading(TITLE, level=1)
    for run in heading.runs:
        run.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    doc.add_paragraph(f"{facts.assigned_by or '交办机关'}：")
    ref = f"（交办文号：{facts.assigned_ref}）" if facts.assigned_ref else ""
    doc.add_paragraph(f"贵单位交办的信访事项{ref}已办结，现将办理情况报告如下。")
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows_of(facts):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
    doc.add_paragraph(f"报告日期：{_day(facts.issued_on)}")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


class HandoffReportApi:
    def __init__(self, pool: asyncpg.Pool, clock: Clock, vocab: Vocabulary,
                 calendar: CalendarView, mode: CountingMode) -> None:
        self._pool = pool
        self._clock = clock
        self._vocab = vocab
        self._calendar = calendar
        self._mode = mode

    def install(self, app: web.Application) -> None:
        app.router.add_get("/v1/cases/{case_id}/handoff-report", self.report)

    async def report(self, request: web.Request) -> web.Response:
        who = principal(request)
        if not who.is_staff:
            raise error(403, "only staff and admin may read a hand-off report")
        async with self._pool.acquire() as conn:
            row = await store.get_case(conn, request.match_info["case_id"])
            if row is None:
                raise error(404, "no such case")
            if not is_handoff(row["channel"]):
                raise error(404, "this case was not handed over by an assigning body, so it "
                            "has no hand-off report")
            steps = list(await store.timeline(conn, row["case_id"]))
            closed = next((s for s in steps if s["action"] == "close"), None)
            if closed is None:
                raise error(409, "the case is not closed yet: its closing report exists once "
                            "it is", status=row["status"])
            now = self._clock.now()
            facts = self._facts(row, closing_of(row, steps, closed["at"], self._calendar.latest,
                                                self._mode), now)
            async with conn.transaction():
                await audit.append(conn, audit.Entry(
                    who.as_actor(), "handoff_report.read", str(row["case_id"]),
                    {"format": "docx", "role": who.person_role or who.role}, None,
                    audit.client_address(request.remote)), now)
        body = render(facts)
        name = f"handoff-report-{row['tracking_no']}.docx"
        return web.Response(body=body, headers={
            "Content-Type": DOCX, "Content-Disposition": f'attachment; filename="{name}"'})

    def _facts(self, row: asyncpg.Record, closing: Closing, now: datetime) -> ReportFacts:
        v = self._vocab
        return ReportFacts(
            tracking_no=row["tracking_no"], assigned_by=row["assigned_by"],
            assigned_ref=row["assigned_ref"], channel=v.channels.label(row["channel"]),
            category=v.categories.label(row["category"]),
            jurisdiction=v.jurisdictions.label(row["jurisdiction"]), title=row["title"],
            unit=row["assigned_unit"], received_at=row["received_at"], closing=closing,
            issued_on=local_date(now))
