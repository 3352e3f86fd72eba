"""Reading import files: bounded lines, undecodable lines as rows' errors, resumable offsets,
ids derived from the file for rows without one."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest

from services.intake import import_rows as rows
from services.intake.validation import SubmissionInvalid
from shared.domain.vocab import default_vocabulary
from shared.platform.auth import Principal
from shared.platform.boundary import EARLIEST_DAY

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
ADMIN = Principal(role="admin")
VOCAB = default_vocabulary()
GOOD = (b'{"channel": "letter", "jurisdiction": "jizhou", "category": "fees", "title": "t", '
        b'"content": "c", "petitioner": {"anonymous": true}}')


class ReadCounter(io.BytesIO):
    """A file that remembers the largest read asked of it."""

    largest = 0

    def readline(self, size: int | None = -1, /) -> bytes:
        assert size is not None and size > 0, "an unbounded read"
        self.largest = max(self.largest, size)
        return super().readline(size)


def _parse(raw: rows.RawRow, content_hash: str = "h", earliest: date = EARLIEST_DAY
           ) -> object:
    return rows.parse_row("jsonl" if isinstance(raw.content, str) or raw.content is None
                          else "csv", raw, content_hash=content_hash, who=ADMIN, now=NOW,
                          vocab=VOCAB, earliest=earliest)


def test_a_long_json_line_is_never_read_whole_and_is_that_lines_error() -> None:
    f = ReadCounter(GOOD + b"\n" + b'{"title": "' + b"x" * 5_000_000 + b'"}\n' + GOOD + b"\n")
    found = list(rows.jsonl_rows(f, 1000))
    assert f.largest <= 64 * 1024
    assert [(r.line, r.problem.field if r.problem else None) for r in found] == [
        (1, None), (2, "body"), (3, None)]
    assert "1000 bytes" in found[1].problem.message  # type: ignore[union-attr]


def test_a_line_of_exactly_the_limit_is_read() -> None:
    line = b'"' + b"y" * 98 + b'"'
    [row] = rows.jsonl_rows(io.BytesIO(line + b"\n"), 100)
    assert row.problem is None and row.content == (line + b"\n").decode()


def test_bad_utf8_and_bad_json_are_errors_of_their_lines_without_exception_text() -> None:
    f = io.BytesIO(GOOD + b"\n\xff\xfe\n{\"a\": \n" + GOOD)
    found = list(rows.jsonl_rows(f, 10_000))
    assert [r.line for r in found] == [1, 2, 3, 4]
    with pytest.raises(SubmissionInvalid) as utf8:
        _parse(found[1])
    with pytest.raises(SubmissionInvalid) as json:
        _parse(found[2])
    assert utf8.value.errors[0].field == json.value.errors[0].field == "body"
    assert utf8.value.errors[0].message.startswith("line is not valid UTF-8 text")
    assert json.value.errors[0].message.startswith("line is not valid JSON (at character")
    for e in (utf8.value, json.value):
        assert "codec" not in str(e) and "unexpected" not in str(e)


def test_rows_without_an_external_id_are_named_after_the_file_and_line() -> None:
    [first, second] = rows.jsonl_rows(io.BytesIO(GOOD + b"\n\n" + GOOD + b"\n"), 10_000)
    assert _parse(first, "abc").external_id == "file:abc:1"  # type: ignore[attr-defined]
    assert _parse(second, "abc").external_id == "file:abc:3"  # type: ignore[attr-defined]


def test_a_bom_is_dropped_and_offsets_resume_exactly() -> None:
    data = b"\xef\xbb\xbf" + GOOD + b"\n" + GOOD + b"\r\n" + GOOD
    found = list(rows.jsonl_rows(io.BytesIO(data), 10_000))
    assert [r.end for r in found] == [len(GOOD) + 4, 2 * len(GOOD) + 6, len(data)]
    resumed = list(rows.jsonl_rows(io.BytesIO(data), 10_000, rows.Position(found[0].end, 2)))
    assert resumed == found[1:]


CSV = ("\ufeffchannel,title,content\n"
       'letter,"two\nlines",c\n'
       "\n"
       "letter,ok,c\n").encode()


def test_csv_records_spanning_lines_report_their_first_line_and_resume_after_the_header(
) -> None:
    f = io.BytesIO(CSV)
    header, head = rows.csv_header(f, 1000)
    assert header == ["channel", "title", "content"]
    found = list(rows.csv_rows(f, header, 1000, rows.Position(head.end, head.last_line + 1)))
    assert [(r.line, r.last_line) for r in found] == [(2, 3), (5, 5)]
    assert found[0].content == {"channel": "letter", "title": "two\nlines", "content": "c"}
    again = list(rows.csv_rows(io.BytesIO(CSV), header, 1000,
                               rows.Position(found[0].end, found[0].last_line + 1)))
    assert again == found[1:]


def test_a_bad_csv_line_keeps_the_records_after_it() -> None:
    data = ("channel,title\n"
            'letter,"quoted \xff\n'  # not UTF-8, and opens a quoted cell …
            'still the same cell"\n'  # … which this line closes
            "letter,next\n").encode().replace("\xff".encode(), b"\xff")
    f = io.BytesIO(data)
    header, head = rows.csv_header(f, 1000)
    assert header is not None
    found = list(rows.csv_rows(f, header, 1000, rows.Position(head.end, 2)))
    assert [(r.line, r.problem.field if r.problem else None) for r in found] == [
        (2, "row"), (4, None)]
    assert found[1].content == {"channel": "letter", "title": "next"}


def test_csv_cells_beyond_or_short_of_the_header_are_marked_as_dict_reader_does() -> None:
    f = io.BytesIO(b"channel,title\nletter,a,extra\nletter\n")
    header, head = rows.csv_header(f, 1000)
    assert header is not None
    found = [r.content for r in rows.csv_rows(f, header, 1000, rows.Position(head.end, 2))]
    assert found == [{"channel": "letter", "title": "a", None: ["extra"]},
                     {"channel": "letter", "title": None}]


def test_an_unreadable_csv_header_is_one_error_on_line_one() -> None:
    header, head = rows.csv_header(io.BytesIO(b"chan\xffnel,title\nletter,a\n"), 1000)
    assert header is None and head.line == 1
    assert head.problem is not None and head.problem.field == "header"


def test_a_hostile_field_name_is_shown_escaped_so_the_error_can_be_stored() -> None:
    [raw] = rows.jsonl_rows(io.BytesIO(GOOD[:-1] + b', "\\u0000": 1, "": 2}'), 10_000)
    with pytest.raises(SubmissionInvalid) as bad:
        _parse(raw)
    assert [e.field for e in bad.value.errors] == ["'\\x00'", "''"]
    assert not any("\x00" in e.field + e.message for e in bad.value.errors)


def test_a_trailing_blank_header_column_is_ignored_a_filled_one_is_an_error() -> None:
    f = io.BytesIO(b"channel,jurisdiction,category,title,content,anonymous,\n"
                   b"letter,jizhou,fees,t,c,true,\nletter,jizhou,fees,t,c,true,x\n")
    header, head = rows.csv_header(f, 1000)
    assert header is not None
    first, second = rows.csv_rows(f, header, 1000, rows.Position(head.end, 2))
    assert _parse(first).channel == "letter"  # type: ignore[attr-defined]
    with pytest.raises(SubmissionInvalid) as bad:
        _parse(second)
    assert [e.field for e in bad.value.errors] == ["''"]


@pytest.mark.parametrize("received_at", ["0001-01-01T00:00:00+00:01", "1899-12-31T23:59:59Z"])
def test_a_case_received_before_the_earliest_day_is_refused_not_a_crash(received_at: str) -> None:
    line = GOOD[:-1] + f', "received_at": "{received_at}"}}'.encode()
    [raw] = rows.jsonl_rows(io.BytesIO(line), 10_000)
    with pytest.raises(SubmissionInvalid) as bad:
        _parse(raw)
    assert [(e.field, e.message) for e in bad.value.errors] == [
        ("received_at", "received_at must not be before 1990-01-01")]


def test_the_earliest_day_a_row_may_be_received_is_the_one_given() -> None:
    line = GOOD[:-1] + b', "received_at": "1500-03-02T09:30:00+08:00"}'
    [raw] = rows.jsonl_rows(io.BytesIO(line), 10_000)
    assert _parse(raw, earliest=date(1000, 1, 1)).received_at.year == 1500  # type: ignore[attr-defined]
    with pytest.raises(SubmissionInvalid):
        _parse(raw, earliest=date(1600, 1, 1))
