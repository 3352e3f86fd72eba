"""The quarterly report writers: CSV and XLSX hold the same numbers as the report they render."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart
from openpyxl.worksheet.worksheet import Worksheet

from services.statistics.figures import Breakdown, Counts, GroupCounts, breakdown, summary
from services.statistics.report import (
    BREAKDOWN_HEADINGS,
    HEADER_ROW,
    SUMMARY_HEADINGS,
    QuarterlyReport,
    to_csv,
    to_xlsx,
)
from shared.domain.vocab import default_vocabulary

SHANGHAI = timezone(timedelta(hours=8))
SECTIONS = ["总体情况", "按辖区", "按类别", "按渠道", "逾期情况(按单位)", "同比", "考核指标",
            "重复信访(按月)"]
BREAKDOWN_SHEETS = {"按辖区": "by_jurisdiction", "按类别": "by_category", "按渠道": "by_channel"}


def make_report(**overrides: object) -> QuarterlyReport:
    vocab = default_vocabulary()
    fields: dict[str, object] = dict(
        year=2025,
        quarter=1,
        generated_at=datetime(2025, 4, 1, 9, 30, tzinfo=SHANGHAI),
        summary=summary(Counts(180, 23, 20, 15, 18, 10, 6, 2, 4)),
        yoy_summary=summary(Counts(150, 30, 30, 20, 25, 0, 0, 0, 2)),
        by_jurisdiction=breakdown(
            [GroupCounts("jizhou", 80, 8), GroupCounts("jian", 50, 10), GroupCounts("anfu", 50, 5)],
            "jurisdiction", vocab,
        ),
        by_category=breakdown(
            [GroupCounts("fees", 100, 13), GroupCounts("teacher_pay", 48, 6),
             GroupCounts("campus_safety", 32, 4)],
            "category", vocab,
        ),
        by_channel=breakdown([GroupCounts("hotline_12345", 180, 23)], "channel", vocab),
        overdue_by_unit=(("吉安县教育体育局", 1), ("=HYPERLINK(\"x\")", 1), ("市教育局", 2)),
    )
    fields.update(overrides)
    return QuarterlyReport(**fields)  # type: ignore[arg-type]


def expected_breakdown_rows(data: Breakdown) -> list[list[object]]:
    return [[r["label"], r["count"], r["percent"], r["closed"], r["closure_rate"]]
            for r in data["rows"]]


# -- CSV ----------------------------------------------------------------------------------------


def parse_csv(data: bytes) -> tuple[list[list[str]], dict[str, list[list[str]]]]:
    """The preamble rows and each section's rows (heading row first), split at blank lines."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    blocks: list[list[list[str]]] = [[]]
    for row in rows:
        if row:
            blocks[-1].append(row)
        else:
            blocks.append([])
    return blocks[0], {block[0][0]: block[1:] for block in blocks[1:]}


def test_csv_has_bom_and_sections_in_order() -> None:
    data = to_csv(make_report())
    assert data.startswith(b"\xef\xbb\xbf")
    preamble, sections = parse_csv(data)
    assert preamble == [
        ["2025年第1季度信访统计报表"],
        ["统计期间", "2025-01-01", "2025-03-31"],
        ["生成时间", "2025-04-01T09:30:00+08:00"],
    ]
    assert list(sections) == SECTIONS


def test_csv_summary_numbers() -> None:
    report = make_report()
    _, sections = parse_csv(to_csv(report))
    headings, values = sections["总体情况"]
    assert headings == list(SUMMARY_HEADINGS.values())
    parsed = dict(zip(SUMMARY_HEADINGS, values, strict=True))
    assert parsed["closure_rate"] == "12.78"
    assert parsed["satisfaction_rate"] == "80.00"  # two decimals, always
    for key, text in parsed.items():
        assert float(text) == report.summary[key]  # type: ignore[literal-required]


@pytest.mark.parametrize(("section", "attribute"), BREAKDOWN_SHEETS.items())
def test_csv_breakdowns(section: str, attribute: str) -> None:
    report = make_report()
    data: Breakdown = getattr(report, attribute)
    _, sections = parse_csv(to_csv(report))
    headings, *rows = sections[section]
    assert headings == list(BREAKDOWN_HEADINGS)
    *body, total = rows
    parsed = [[label, int(n), float(p), int(c), float(r)] for label, n, p, c, r in body]
    assert parsed == expected_breakdown_rows(data)
    assert total[:2] == ["合计", str(data["total"])]
    assert int(total[3]) == sum(r["closed"] for r in data["rows"])


def test_csv_overdue_ranked_and_defused() -> None:
    _, sections = parse_csv(to_csv(make_report()))
    assert sections["逾期情况(按单位)"] == [
        ["单位", "逾期件数"],
        ["市教育局", "2"],
        ["'=HYPERLINK(\"x\")", "1"],  # a leading quote stops Excel running it as a formula
        ["吉安县教育体育局", "1"],
        ["合计", "4"],
    ]


def test_csv_year_on_year() -> None:
    _, sections = parse_csv(to_csv(make_report()))
    headings, *rows = sections["同比"]
    assert headings == ["指标", "本期", "去年同期", "增减", "增减幅度(%)"]
    by_name = {row[0]: row[1:] for row in rows}
    assert list(by_name) == list(SUMMARY_HEADINGS.values())
    assert by_name["受理总数"] == ["180", "150", "30", "20.00"]
    assert by_name["办结率(%)"] == ["12.78", "20.00", "-7.22", "-36.10"]
    assert by_name["满意率(%)"] == ["80.00", "0.00", "80.00", ""]  # no relative change from 0


# -- XLSX ---------------------------------------------------------------------------------------


def table(ws: Worksheet) -> list[list[object]]:
    """The sheet's table below the title rows, heading row first."""
    return [list(row) for row in ws.iter_rows(min_row=HEADER_ROW, values_only=True)]


def open_xlsx(report: QuarterlyReport) -> dict[str, Worksheet]:
    workbook = load_workbook(io.BytesIO(to_xlsx(report)))
    return {ws.title: ws for ws in workbook.worksheets}


def test_xlsx_sheets_and_titles() -> None:
    sheets = open_xlsx(make_report())
    assert list(sheets) == SECTIONS
    ws = sheets["总体情况"]
    assert ws["A1"].value == "2025年第1季度信访统计报表 — 总体情况"
    assert "2025-01-01 至 2025-03-31" in ws["A2"].value


def test_xlsx_summary_numbers_are_numbers() -> None:
    report = make_report()
    headings, values = table(open_xlsx(report)["总体情况"])
    assert headings == list(SUMMARY_HEADINGS.values())
    assert values == [report.summary[key] for key in SUMMARY_HEADINGS]  # type: ignore[literal-required]
    assert all(isinstance(v, int | float) for v in values)


@pytest.mark.parametrize(("section", "attribute"), BREAKDOWN_SHEETS.items())
def test_xlsx_breakdowns(section: str, attribute: str) -> None:
    report = make_report()
    data: Breakdown = getattr(report, attribute)
    ws = open_xlsx(report)[section]
    headings, *body, total = table(ws)
    assert headings == list(BREAKDOWN_HEADINGS)
    assert body == expected_breakdown_rows(data)
    assert total[:2] == ["合计", data["total"]]
    first = ws.cell(row=HEADER_ROW + 1, column=3)
    assert first.data_type == "n" and first.number_format == "0.00"
    assert ws.freeze_panes == f"A{HEADER_ROW + 1}"


def test_xlsx_column_widths_are_set() -> None:
    ws = open_xlsx(make_report())["按辖区"]
    for letter in "ABCDE":
        assert ws.column_dimensions[letter].width >= 10


def test_xlsx_category_chart() -> None:
    sheets = open_xlsx(make_report())
    charts = sheets["按类别"]._charts
    assert len(charts) == 1
    chart = charts[0]
    assert isinstance(chart, BarChart)
    (series,) = chart.series
    # the three category rows, without the 合计 row
    assert series.val.numRef.f == f"'按类别'!$B${HEADER_ROW + 1}:$B${HEADER_ROW + 3}"
    assert series.cat.strRef.f == f"'按类别'!$A${HEADER_ROW + 1}:$A${HEADER_ROW + 3}"
    assert all(not ws._charts for title, ws in sheets.items() if title != "按类别")


def test_xlsx_empty_categories_have_no_chart_but_a_zero_total() -> None:
    empty = breakdown([], "category", default_vocabulary())
    ws = open_xlsx(make_report(by_category=empty))["按类别"]
    assert not ws._charts
    assert table(ws)[1][:2] == ["合计", 0]


def test_xlsx_overdue_and_formula_text_stays_text() -> None:
    ws = open_xlsx(make_report())["逾期情况(按单位)"]
    assert table(ws) == [
        ["单位", "逾期件数"],
        ["市教育局", 2],
        ["=HYPERLINK(\"x\")", 1],
        ["吉安县教育体育局", 1],
        ["合计", 4],
    ]
    assert ws.cell(row=HEADER_ROW + 2, column=1).data_type == "s"


def test_xlsx_year_on_year() -> None:
    rows = table(open_xlsx(make_report())["同比"])[1:]
    by_name = {row[0]: row[1:] for row in rows}
    assert by_name["受理总数"] == [180, 150, 30, 20]
    assert by_name["办结率(%)"] == [12.78, 20, -7.22, -36.1]
    assert by_name["满意率(%)"] == [80, 0, 80, None]


# -- validation ---------------------------------------------------------------------------------


def test_report_validation() -> None:
    report = make_report()
    with pytest.raises(ValueError, match="quarter"):
        replace(report, quarter=5)
    with pytest.raises(ValueError, match="timezone"):
        replace(report, generated_at=datetime(2025, 4, 1, 9, 30))
    incomplete = {k: v for k, v in report.summary.items() if k != "overdue"}
    with pytest.raises(ValueError, match="overdue"):
        replace(report, yoy_summary=incomplete)  # type: ignore[arg-type]
