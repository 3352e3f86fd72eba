"""A bounded property-based fuzz of the importer's reading and validation (hypothesis).

Whatever the file holds — broken UTF-8, stray quotes, odd line endings, JSON of any shape,
hostile text — reading it row by row and checking each row ends in a case or in that row's
errors (naming its line and field), never in another exception; a case that passes can be
registered; and reading resumed from any row's end offset gives exactly the rows after it.

The normal suite runs a short form (a few seconds); ``make fuzz-imports`` runs the long one
(``XF_FUZZ_IMPORTS_EXAMPLES`` examples per property, default 20,000).
"""

from __future__ import annotations

import base64
import io
import json
import os
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake import import_rows as rows
from services.intake.keyring import key_ring
from services.intake.registration import Keys, register, tracking_year
from services.intake.representatives import CSV_COLUMNS
from services.intake.validation import ROW_COLUMNS, TOP_FIELDS, NewCase, SubmissionInvalid
from shared.domain.vocab import default_vocabulary
from shared.platform.auth import Principal
from shared.platform.boundary import EARLIEST_DAY

EXAMPLES = int(os.environ.get("XF_FUZZ_IMPORTS_EXAMPLES", "0")) or None
settings.register_profile("imports-short", max_examples=150, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("imports-long", max_examples=EXAMPLES or 20_000, deadline=None,
                          database=None, suppress_health_check=list(HealthCheck))
PROFILE = settings.get_profile("imports-long" if EXAMPLES else "imports-short")

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
VOCAB = default_vocabulary()
WHO = Principal(role="admin")
KEYS = Keys(cipher=key_ring("k1", b"k" * 32, {}), pseudonym_key=b"p" * 32)
MAX_LINE = 600

# Text a careless or hostile client sends: every plane, control characters, full-width digits.
_text = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from([
    "", " ", "\x00", "\u3000", "３６０８０２１９８００１０１１２３Ｘ", "１３８００１３８０００",
    "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-23:59", "2026-03-02T09:30:00+08:00",
    "1900-03-01T09:05:43+08:00", "2026-02-30T09:00:00+08:00", "吉州区", "letter", "fees",
    "true", "否", "-1", "99999999999999999999", '"', '""', "\r", "\n", "a,b",
])
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12)
_fields = st.sampled_from(sorted(TOP_FIELDS)) | _text
_petitioner = st.dictionaries(st.sampled_from(["name", "id_number", "phone", "address",
                                               "anonymous"]) | _text, _json, max_size=5)
_body = st.dictionaries(_fields, _json | _petitioner, max_size=10)
_garbage = st.binary(max_size=80) | st.sampled_from([b"\xff\xfe", b"\xc3\x28", b"{", b"[1,",
                                                      b'"\xe4\xb8', b"x" * (MAX_LINE + 5)])
_endings = st.sampled_from([b"\n", b"\r\n", b"\r", b""])


_VALID = {"channel": "letter", "jurisdiction": "jizhou", "category": "fees", "title": "标题",
          "content": "内容", "received_at": "2026-03-02T09:30:00+08:00",
          "petitioner": {"name": "张三", "id_number": "360802198001011232",
                         "phone": "13800138000", "address": "吉州区某路1号"}}
# A valid case with a few fields replaced: reaches the rules that random objects never do.
_near_valid = st.dictionaries(st.sampled_from(sorted(TOP_FIELDS)), _json | _petitioner,
                              max_size=3).map(lambda over: {**_VALID, **over})
# Both \\u escapes and raw UTF-8; the standard library also writes integers beyond 64 bits,
# which orjson refuses.
_json_lines = st.tuples(_body | _near_valid, st.booleans()).map(
    lambda t: json.dumps(t[0], ensure_ascii=t[1]).encode())


@st.composite
def jsonl_files(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.one_of(_json_lines, _garbage), max_size=8))
    ending = draw(_endings) or b"\n"
    bom = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    return bom + ending.join(lines) + draw(st.sampled_from([b"", ending]))


_CSV_VALID = {"channel": "letter", "jurisdiction": "吉州区", "category": "fees", "title": "标题",
              "content": "内容", "received_at": "2026-03-02T09:30:00+08:00",
              "petitioner_name": "张三", "petitioner_id_number": "360802198001011232",
              "petitioner_phone": "13800138000", "anonymous": "否", "signers": "1"}

# A group visit handed over, with its representatives' columns: reaches their rules.
_CSV_GROUP = {**_CSV_VALID, "channel": "visit", "signers": "30",
              "representative_1_name": "代表甲", "representative_1_id_number": "360802198001011232",
              "representative_1_phone": "13900139000", "representative_2_name": "代表乙"}


def _cell(draw: st.DrawFn, value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if draw(st.booleans()) else value


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):  # the usual columns, rows valid but for a few cells
        valid = draw(st.sampled_from([_CSV_VALID, _CSV_GROUP]))
        header = list(valid)
        rows_ = [[draw(_text) if draw(st.integers(0, 5)) == 0 else valid[c]
                  for c in header] for _ in range(draw(st.integers(0, 6)))]
    else:
        header = draw(st.lists(st.sampled_from(sorted(ROW_COLUMNS) + list(CSV_COLUMNS))
                               | _text, min_size=1, max_size=8))
        rows_ = draw(st.lists(st.lists(_text, max_size=len(header) + 2), max_size=6))
    records = []
    for cells in rows_:
        record = ",".join(_cell(draw, c) for c in cells).encode()
        records.append(draw(st.sampled_from([record, record + draw(_garbage)])))
    ending = draw(_endings) or b"\n"
    return ending.join([",".join(_cell(draw, h) for h in header).encode(), *records])


def _read(data: bytes, fmt: rows.Format, start: rows.Position | None = None
          ) -> list[rows.RawRow]:
    f = io.BytesIO(data)
    if fmt == "jsonl":
        return list(rows.jsonl_rows(f, MAX_LINE, start or rows.Position()))
    header, head = rows.csv_header(f, MAX_LINE)
    if header is None:
        return [head]
    return list(rows.csv_rows(f, header, MAX_LINE,
                              start or rows.Position(head.end, head.last_line + 1)))


def _check(data: bytes, fmt: rows.Format) -> None:
    found = _read(data, fmt)
    last_line = data.count(b"\n") + 1
    previous_end = 0
    for raw in found:
        assert 1 <= raw.line <= max(raw.last_line, 1) <= last_line
        assert previous_end <= raw.end <= len(data)
        previous_end = raw.end
        try:
            case = rows.parse_row(fmt, raw, content_hash="h", who=WHO, now=NOW, vocab=VOCAB,
                                  earliest=EARLIEST_DAY)
        except SubmissionInvalid as exc:
            assert exc.errors
            for e in exc.errors:
                assert isinstance(e.field, str) and e.field and "\x00" not in e.field
                assert isinstance(e.message, str) and e.message and "\x00" not in e.message
                assert "Traceback" not in e.message and "codec" not in e.message
            continue
        _registrable(case)
    for i, raw in enumerate(found):
        if raw.problem is None or raw.problem.field != "header":
            resumed = _read(data, fmt, rows.Position(raw.end, raw.last_line + 1))
            assert resumed == found[i + 1:]


def _registrable(case: NewCase) -> None:
    assert case.external_id
    reg = register(case, tracking="XF-2026-000001", now=NOW, keys=KEYS)
    tracking_year(case.received_at)
    assert reg.event.data.case_id == reg.case_id  # type: ignore[attr-defined]
    orjson.dumps(_as_json(reg.row))


def _as_json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (base64.b64encode(v).decode() if isinstance(v, bytes) else str(v))
            for k, v in row.items()}


@PROFILE
@given(jsonl_files())
def test_any_json_lines_file_gives_cases_or_row_errors(data: bytes) -> None:
    _check(data, "jsonl")


@PROFILE
@given(csv_files())
def test_any_csv_file_gives_cases_or_row_errors(data: bytes) -> None:
    _check(data, "csv")
