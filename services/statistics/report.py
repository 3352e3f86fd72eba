"""The quarterly statistical report a bureau sends upward (docs/domain.md §5, §6
``/v1/reports/quarterly``).

Pure: the service gathers the figures (``figures.summary`` / ``figures.breakdown`` over its
projection, as of the report time) into a ``QuarterlyReport``, and these writers turn it into
CSV or XLSX bytes. Both writers render the same list of sections, so the two formats cannot
drift apart in headings, order or numbers.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal, cast

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from services.statistics.figures import Breakdown, Summary, compare, percent, quarter_bounds

# docs/domain.md §6 summary keys → the headings Chinese statistical tables use.
SUMMARY_HEADINGS: dict[str, str] = {
    "received": "受理总数",
    "closed": "办结数",
    "in_progress": "在办数",
    "overdue": "逾期数",
    "closure_rate": "办结率(%)",
    "on_time_rate": "按期办结率(%)",
    "feedback_rate": "反馈率(%)",
    "satisfaction_rate": "满意率(%)",
    "people": "人次",
    "urges": "督办次数",
}
# The assessment indicators (docs/domain.md §5), a section of their own.
ASSESSMENT_HEADINGS: dict[str, str] = {
    "timely_acceptance_rate": "及时受理率(%)",
    "on_time_answer_rate": "按期答复率(%)",
    "participation_rate": "群众参评率(%)",
    "satisfaction_rate": "参评满意率(%)",
    "repeat_petitions": "重复信访件数",
    "key_case_resolution_rate": "包案化解率(%)",
}
_RATE_KEYS = frozenset(key for key, heading in (*SUMMARY_HEADINGS.items(),
                                                *ASSESSMENT_HEADINGS.items())
                       if heading.endswith("(%)"))
REPEAT_HEADINGS = ("月份", "重复信访件数")
BREAKDOWN_HEADINGS = ("名称", "件数", "占比(%)", "办结数", "办结率(%)")
OVERDUE_HEADINGS = ("单位", "逾期件数")
YOY_HEADINGS = ("指标", "本期", "去年同期", "增减", "增减幅度(%)")
TOTAL_LABEL = "合计"

# Excel runs a CSV cell starting with one of these as a formula (CSV injection); unit names come
# from configuration edited by people, so text cells are defused rather than trusted.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

Kind = Literal["text", "count", "rate"]
Cell = str | int | float | None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _figures(summary: Summary) -> Mapping[str, int | float]:
    # A TypedDict cannot be indexed by a variable key; every value is a number (checked below).
    return cast(Mapping[str, int | float], summary)


@dataclass(frozen=True)
class QuarterlyReport:
    """Everything one quarterly report shows; built by the service, rendered by the writers.

    ``yoy_summary`` is the summary of the same quarter a year earlier (同比 baseline); the
    writers derive the changes with ``figures.compare``. ``overdue_by_unit`` holds
    ``(unit label, overdue count)`` pairs in any order; the writers rank them.
    """

    year: int
    quarter: int
    generated_at: datetime
    summary: Summary
    yoy_summary: Summary
    by_jurisdiction: Breakdown
    by_category: Breakdown
    by_channel: Breakdown
    overdue_by_unit: tuple[tuple[str, int], ...] = ()
    repeats_by_month: tuple[tuple[str, int], ...] = ()  # (month label, repeat petitions)

    def __post_init__(self) -> None:
        quarter_bounds(self.year, self.quarter)  # raises ValueError for a bad year or quarter
        if self.generated_at.tzinfo is None:
            # docs/domain.md §6: times carry an offset; a naive time in an official report is
            # ambiguous.
            raise ValueError("generated_at must be timezone-aware")
        for name in ("summary", "yoy_summary"):
            figures = _figures(getattr(self, name))
            missing = [key for key in SUMMARY_HEADINGS if not _is_number(figures.get(key))]
            if missing:
                raise ValueError(f"{name} lacks numeric {', '.join(missing)}")

    @property
    def period(self) -> tuple[date, date]:
        return quarter_bounds(self.year, self.quarter)

    @property
    def title(self) -> str:
        return f"{self.year}年第{self.quarter}季度信访统计报表"

    @property
    def period_line(self) -> str:
        start, end = self.period
        return (
            f"统计期间：{start.isoformat()} 至 {end.isoformat()}；"
            f"生成时间：{self.generated_at.isoformat(timespec='seconds')}"
        )


@dataclass(frozen=True)
class Section:
    """One table of the report: a heading, column headings with their kinds, and rows."""

    title: str
    headings: tuple[str, ...]
    kinds: tuple[Kind, ...]
    rows: tuple[tuple[Cell, ...], ...]
    has_total: bool = False  # the last row is a 合计 row (left out of the chart)


def _summary_section(report: QuarterlyReport) -> Section:
    keys = tuple(SUMMARY_HEADINGS)
    return Section(
        title="总体情况",
        headings=tuple(SUMMARY_HEADINGS[key] for key in keys),
        kinds=tuple("rate" if key in _RATE_KEYS else "count" for key in keys),
        rows=(tuple(_figures(report.summary)[key] for key in keys),),
    )


def _breakdown_section(title: str, data: Breakdown) -> Section:
    rows: list[tuple[Cell, ...]] = [
        (row["label"], row["count"], row["percent"], row["closed"], row["closure_rate"])
        for row in data["rows"]
    ]
    closed = sum(row["closed"] for row in data["rows"])
    # The total row recomputes its rates from the counts instead of summing rounded shares.
    rows.append(
        (TOTAL_LABEL, data["total"], percent(data["total"], data["total"]), closed,
         percent(closed, data["total"]))
    )
    return Section(
        title=title,
        headings=BREAKDOWN_HEADINGS,
        kinds=("text", "count", "rate", "count", "rate"),
        rows=tuple(rows),
        has_total=True,
    )


def _overdue_section(report: QuarterlyReport) -> Section:
    # Largest first, as every ranking in the contract; ties by name so output is reproducible.
    ranked = sorted(report.overdue_by_unit, key=lambda pair: (-pair[1], pair[0]))
    rows: list[tuple[Cell, ...]] = [(unit, count) for unit, count in ranked]
    rows.append((TOTAL_LABEL, sum(count for _, count in ranked)))
    return Section(
        title="逾期情况(按单位)",
        headings=OVERDUE_HEADINGS,
        kinds=("text", "count"),
        rows=tuple(rows),
        has_total=True,
    )


def _yoy_section(report: QuarterlyReport) -> Section:
    changes = compare(report.summary, report.yoy_summary)
    rows: list[tuple[Cell, ...]] = [
        (SUMMARY_HEADINGS[key], c["current"], c["baseline"], c["change"], c["change_percent"])
        for key, c in changes.items()
        if key in SUMMARY_HEADINGS
    ]
    # The value columns hold counts on some rows and rates on others; _kind_of formats a float
    # cell in a "count" column as a rate, so 受理总数 shows 120 and 办结率 shows 12.50.
    return Section(
        title="同比",
        headings=YOY_HEADINGS,
        kinds=("text", "count", "count", "count", "rate"),
        rows=tuple(rows),
    )


def _assessment_section(report: QuarterlyReport) -> Section:
    figures = _figures(report.summary)
    keys = tuple(key for key in ASSESSMENT_HEADINGS if key in figures)
    return Section(
        title="考核指标",
        headings=tuple(ASSESSMENT_HEADINGS[key] for key in keys),
        kinds=tuple("rate" if key in _RATE_KEYS else "count" for key in keys),
        rows=(tuple(figures[key] for key in keys),),
    )


def _repeats_section(report: QuarterlyReport) -> Section:
    rows: list[tuple[Cell, ...]] = list(report.repeats_by_month)
    rows.append((TOTAL_LABEL, sum(n for _, n in report.repeats_by_month)))
    return Section(title="重复信访(按月)", headings=REPEAT_HEADINGS, kinds=("text", "count"),
                   rows=tuple(rows), has_total=True)


def sections(report: QuarterlyReport) -> tuple[Section, ...]:
    """The report's tables in the order they appear in both formats."""
    return (
        _summary_section(report),
        _breakdown_section("按辖区", report.by_jurisdiction),
        _breakdown_section("按类别", report.by_category),
        _breakdown_section("按渠道", report.by_channel),
        _overdue_section(report),
        _yoy_section(report),
        _assessment_section(report),
        _repeats_section(report),
    )


def _kind_of(section: Section, column: int, value: Cell) -> Kind:
    kind = section.kinds[column]
    # In the 同比 table a "count" column holds rates on the rate rows; a float is a rate.
    if kind == "count" and isinstance(value, float):
        return "rate"
    return kind


# -- CSV ----------------------------------------------------------------------------------------


def _csv_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


def _csv_cell(value: Cell, kind: Kind) -> str:
    if value is None:
        return ""  # e.g. a relative change against a zero baseline: no number exists
    if isinstance(value, str):
        return _csv_text(value)
    if kind == "rate":
        return f"{value:.2f}"  # docs/domain.md §6: percentages with two decimals
    return str(value)


def to_csv(report: QuarterlyReport) -> bytes:
    """The report as one CSV file, sections one after another, each under its Chinese heading.

    Encoded UTF-8 with a BOM: without it Excel on Chinese Windows decodes the file as GBK and
    shows mojibake. Line ends are CRLF (the csv module's default), which Excel expects.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([report.title])
    start, end = report.period
    writer.writerow(["统计期间", start.isoformat(), end.isoformat()])
    writer.writerow(["生成时间", report.generated_at.isoformat(timespec="seconds")])
    for section in sections(report):
        writer.writerow([])
        writer.writerow([section.title])
        writer.writerow(section.headings)
        for row in section.rows:
            writer.writerow(
                [_csv_cell(value, _kind_of(section, i, value)) for i, value in enumerate(row)]
            )
    return buffer.getvalue().encode("utf-8-sig")


# -- XLSX ---------------------------------------------------------------------------------------

HEADER_ROW = 4  # rows 1–2: title and period, row 3 blank, then the table
_NUMBER_FORMATS: dict[Kind, str] = {"text": "@", "count": "0", "rate": "0.00"}
_BOLD = Font(bold=True)


def _display_width(value: Cell) -> int:
    """Approximate column width in Excel units: CJK characters are two units wide."""
    text = f"{value:.2f}" if isinstance(value, float) else "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _write_table(ws: Worksheet, report: QuarterlyReport, section: Section) -> None:
    ws.cell(row=1, column=1, value=f"{report.title} — {section.title}").font = Font(
        bold=True, size=14
    )
    ws.cell(row=2, column=1, value=report.period_line)
    for col, heading in enumerate(section.headings, start=1):
        cell = ws.cell(row=HEADER_ROW, column=col, value=heading)
        cell.font = _BOLD
        cell.alignment = Alignment(horizontal="center")
    for offset, row in enumerate(section.rows, start=1):
        for col, value in enumerate(row, start=1):
            cell = ws.cell(row=HEADER_ROW + offset, column=col, value=value)
            if isinstance(value, str):
                # openpyxl stores any string starting with "=" as a formula; force plain text.
                cell.data_type = "s"
            elif value is not None:
                cell.number_format = _NUMBER_FORMATS[_kind_of(section, col - 1, value)]
        if section.has_total and offset == len(section.rows):
            for col in range(1, len(row) + 1):
                ws.cell(row=HEADER_ROW + offset, column=col).font = _BOLD
    # Widths from the table only: the title rows are allowed to run across columns.
    for col, heading in enumerate(section.headings, start=1):
        widest = max([_display_width(heading)] + [_display_width(r[col - 1]) for r in section.rows])
        ws.column_dimensions[ws.cell(row=HEADER_ROW, column=col).column_letter].width = max(
            10, widest + 2
        )
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)


def _add_category_chart(ws: Worksheet, section: Section) -> None:
    data_rows = len(section.rows) - (1 if section.has_total else 0)
    if data_rows == 0:
        return  # a chart over an empty range is an error in Excel; the table says "0" already
    first, last = HEADER_ROW + 1, HEADER_ROW + data_rows
    chart = BarChart()
    chart.type = "bar"  # horizontal bars: long Chinese category names stay readable
    chart.title = "按类别件数"
    counts = Reference(ws, min_col=2, min_row=HEADER_ROW, max_row=last)
    chart.add_data(counts, titles_from_data=True)
    # set_categories would write the names as a numeric reference; they are text, so say so.
    names = Reference(ws, min_col=1, min_row=first, max_row=last)
    chart.series[0].cat = AxDataSource(strRef=StrRef(f=str(names)))
    chart.legend = None  # one series; its name is the chart title
    chart.x_axis.scaling.orientation = "maxMin"  # keep the table's order: largest on top
    # openpyxl 3.1 writes axes as deleted unless told otherwise, leaving bars without labels.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.title = "件数"
    chart.height = max(7.5, 0.8 * data_rows + 2)  # cm: room for every category label
    chart.width = 16
    ws.add_chart(chart, f"{ws.cell(row=HEADER_ROW, column=len(section.headings) + 2).coordinate}")


def to_xlsx(report: QuarterlyReport) -> bytes:
    """The report as a workbook: one sheet per section, numbers stored as numbers."""
    workbook = Workbook()
    default = workbook.active
    if default is not None:
        workbook.remove(default)
    for section in sections(report):
        ws = workbook.create_sheet(title=section.title)
        _write_table(ws, report, section)
        if section.title == "按类别":
            _add_category_chart(ws, section)
    workbook.properties.title = report.title
    workbook.properties.creator = "Xinfang"
    # openpyxl wants a naive UTC time; reuse the report time so a regenerated report matches.
    workbook.properties.created = report.generated_at.astimezone(UTC).replace(tzinfo=None)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

