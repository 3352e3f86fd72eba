"""Reading an import file row by row, safely (pure: a binary file in, rows out).

Hostile or broken files are expected: every problem with one row — a line over the length
limit, bytes that are not UTF-8, text that is not JSON, a malformed CSV record, a rule the case
breaks — is that row's error with its line and field, never an exception that stops the
import, and never the text of a library's exception (it could quote the row's content).

Lines are read with a bound: a line longer than the limit is skipped in bounded chunks, never
held whole. Each row carries the byte offset just past it, so an interrupted import resumes by
seeking there instead of reading the file again from the start.

A CSV record may span lines (a quoted cell with a newline). When one of its lines is too long
or not UTF-8, the record is reported as that row's error; the CSV parser is fed a stand-in for
the line that keeps its quoting state (the parity of its quote characters), so the records
after it are still read as they were written.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import BinaryIO, Literal

import orjson

from services.intake.fields import FieldError
from services.intake.validation import (
    NewCase,
    SubmissionInvalid,
    validate_row,
    validate_submission,
)
from shared.domain.vocab import Vocabulary
from shared.platform.auth import Principal

Format = Literal["csv", "jsonl"]
_BOM = b"\xef\xbb\xbf"
_SKIP_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    data: bytes | None  # with its line ending; None: longer than the limit (skipped)
    quotes: int  # how many '"' it held (also when skipped)
    end: int  # byte offset just past it


@dataclass(frozen=True, slots=True)
class RawRow:
    """One record of the file: its first line, where it ends, and its content or problem."""

    line: int
    last_line: int
    end: int
    content: str | Mapping[str | None, str | list[str] | None] | None
    problem: FieldError | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """Where reading starts: the byte offset and the number of the line found there."""

    offset: int = 0
    line: int = 1


def lines(f: BinaryIO, max_line_bytes: int, start: Position = Position()) -> Iterator[Line]:
    """The file's lines from ``start`` with their endings, none read whole beyond
    ``max_line_bytes``; a BOM at the start of the file is dropped."""
    f.seek(start.offset)
    offset, number = start.offset, start.line
    while chunk := f.readline(max_line_bytes + 1):
        offset += len(chunk)
        whole = chunk.endswith(b"\n") or len(chunk) <= max_line_bytes
        if number == 1 and chunk.startswith(_BOM):
            chunk = chunk[len(_BOM):]
        if whole:
            yield Line(number, chunk, chunk.count(b'"'), offset)
        else:
            quotes = chunk.count(b'"')
            while not chunk.endswith(b"\n") and (chunk := f.readline(_SKIP_CHUNK)):
                quotes += chunk.count(b'"')
                offset += len(chunk)
            yield Line(number, None, quotes, offset)
        number += 1


def _too_long(max_line_bytes: int) -> str:
    return f"line is longer than {max_line_bytes} bytes (the import's line limit)"


def _not_utf8(error: UnicodeDecodeError) -> str:
    return (f"line is not valid UTF-8 text (byte {error.start + 1} of the line is not part of "
            "a character)")


def jsonl_rows(f: BinaryIO, max_line_bytes: int, start: Position = Position()
               ) -> Iterator[RawRow]:
    """Each non-blank line: its text, or why it cannot be read."""
    for ln in lines(f, max_line_bytes, start):
        if ln.data is None:
            yield RawRow(ln.number, ln.number, ln.end, None,
                         FieldError("body", _too_long(max_line_bytes)))
            continue
        if not ln.data.strip():
            continue
        try:
            text = ln.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield RawRow(ln.number, ln.number, ln.end, None, FieldError("body", _not_utf8(exc)))
            continue
        yield RawRow(ln.number, ln.number, ln.end, text)


class _CsvFeed:
    """Feeds the CSV parser decoded lines, and remembers what went wrong in the record being
    read (a line too long or not UTF-8, or the record as a whole too long)."""

    def __init__(self, source: Iterator[Line], max_line_bytes: int) -> None:
        self._source = source
        self._max = max_line_bytes
        self.problem: FieldError | None = None
        self.record_bytes = 0
        self.last_line = 0
        self.end = 0

    def next_record(self) -> None:
        self.problem, self.record_bytes = None, 0

    def __iter__(self) -> Iterator[str]:
        for ln in self._source:
            self.last_line, self.end = ln.number, ln.end
            text = None
            if ln.data is None or self.record_bytes + len(ln.data) > self._max:
                self.problem = self.problem or FieldError("row", _too_long(self._max))
            elif self.problem is None:
                self.record_bytes += len(ln.data)
                try:
                    text = ln.data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    self.problem = FieldError("row", _not_utf8(exc))
            # A stand-in keeps the record's quoting state and drops the content.
            yield text if text is not None else '"' * (ln.quotes % 2) + "\n"


def _records(feed: _CsvFeed, first_line: int) -> Iterator[tuple[int, list[str] | None]]:
    """(first line, cells or None) of each record; problems are left on ``feed``."""
    reader = csv.reader(feed, strict=False)
    start = first_line
    while True:
        try:
            cells: list[str] | None = next(reader)
        except StopIteration:
            return
        except csv.Error:
            feed.problem = feed.problem or FieldError(
                "row", "row is not well-formed CSV (a cell too long, or a stray quote)")
            cells = None
        if cells != [] or feed.problem is not None:  # a blank line is no record
            yield start, cells
        start = feed.last_line + 1
        feed.next_record()


def csv_header(f: BinaryIO, max_line_bytes: int) -> tuple[list[str] | None, RawRow]:
    """The column names (None if the header cannot be read) and where the header ends."""
    feed = _CsvFeed(lines(f, max_line_bytes), max_line_bytes)
    for line, cells in _records(feed, 1):
        problem = feed.problem
        header = cells if problem is None else None
        return header, RawRow(line, feed.last_line, feed.end, None,
                              problem and replace(problem, field="header"))
    return None, RawRow(1, 0, 0, None, FieldError("header", "the file is empty"))


def csv_rows(f: BinaryIO, header: list[str], max_line_bytes: int, start: Position
             ) -> Iterator[RawRow]:
    """The records after the header as column → cell (``None`` key: cells beyond the
    header's columns; a missing cell is ``None``), as ``csv.DictReader`` gives them."""
    feed = _CsvFeed(lines(f, max_line_bytes, start), max_line_bytes)
    width = len(header)
    for line, cells in _records(feed, start.line):
        if feed.problem is not None or cells is None:
            yield RawRow(line, feed.last_line, feed.end, None, feed.problem)
            continue
        row: dict[str | None, str | list[str] | None] = dict(zip(header, cells, strict=False))
        if len(cells) > width:
            row[None] = cells[width:]
        for column in header[len(cells):]:
            row[column] = None
        yield RawRow(line, feed.last_line, feed.end, row)


def derived_external_id(content_hash: str, line: int) -> str:
    """The id of a row that came without one: the same file always gives the same ids, so
    uploading it again registers nothing twice."""
    return f"file:{content_hash}:{line}"


def parse_row(fmt: Format, raw: RawRow, *, content_hash: str, who: Principal, now: datetime,
              vocab: Vocabulary, earliest: date) -> NewCase:
    """The case of one row, or :class:`SubmissionInvalid` with every error found in it.
    ``earliest``: the first day a case may be received (the setting: old records come in
    through imports more than anywhere)."""
    if raw.problem is not None or raw.content is None:
        raise SubmissionInvalid([raw.problem or FieldError("row", "row could not be read")])
    if isinstance(raw.content, str):
        try:
            body = orjson.loads(raw.content)
        except orjson.JSONDecodeError as exc:
            raise SubmissionInvalid([FieldError(
                "body", f"line is not valid JSON (at character {exc.pos + 1})")]) from None
        case = validate_submission(body, now=now, vocab=vocab, earliest=earliest)
    else:
        case = validate_row(raw.content, now=now, vocab=vocab,  # type: ignore[arg-type]
                            earliest=earliest)
    if not who.may_submit_on(case.channel):
        raise SubmissionInvalid([FieldError(
            "channel", f"this token may not submit cases on channel {case.channel!r}")])
    if case.external_id is None:
        case = replace(case, external_id=derived_external_id(content_hash, raw.line))
    return case
