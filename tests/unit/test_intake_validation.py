"""Validation of case submissions and import rows (services/intake/validation.py), and the
value rules it applies (services/intake/normalise.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from services.intake.fields import FieldError
from services.intake.normalise import (
    normalise_phone,
    normalise_resident_id,
    resident_id_check_digit,
)
from services.intake.validation import (
    NewCase,
    Petitioner,
    Subject,
    SubmissionInvalid,
    validate_row,
    validate_submission,
)
from shared.domain.vocab import default_vocabulary

CST = timezone(timedelta(hours=8))
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=CST)
VOCAB = default_vocabulary()


def make_id(region: str = "360802", born: str = "19850317", seq: str = "123") -> str:
    """A resident ID with a correct check digit, computed here independently of the module."""
    body = region + born + seq
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(body))
    return body + "10X98765432"[total % 11]


VALID_ID = make_id()


def test_id_helper_agrees_with_the_standards_worked_example() -> None:
    # GB 11643-1999 prints 11010519491231002X as its example; both implementations agree.
    assert make_id("110105", "19491231", "002") == "11010519491231002X"
    assert resident_id_check_digit("11010519491231002") == "X"


# One valid ID per possible check character, so every entry of the check table is exercised.
IDS_BY_CHECK = {i[-1]: i for i in (make_id(seq=f"{n:03d}") for n in range(200))}


def test_every_check_character_is_covered_and_accepted() -> None:
    assert sorted(IDS_BY_CHECK) == sorted("0123456789X")
    for check, ident in IDS_BY_CHECK.items():
        assert resident_id_check_digit(ident[:17]) == check
        assert normalise_resident_id(ident, today=date(2024, 6, 1)) == ident


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "channel": "letter",
        "jurisdiction": "jizhou",
        "category": "fees",
        "title": "学校乱收费",
        "content": "某中学收取补课费。",
        "petitioner": {"name": "李四", "id_number": VALID_ID, "phone": "13812345678"},
    }
    for key, value in changes.items():
        if "." in key:
            outer, inner = key.split(".")
            base[outer] = {**base.get(outer, {}), inner: value}
        else:
            base[key] = value
    return {k: v for k, v in base.items() if v is not DROP}


DROP = object()


def errors_of(raw: object) -> list[FieldError]:
    with pytest.raises(SubmissionInvalid) as info:
        validate_submission(raw, now=NOW, vocab=VOCAB)
    return info.value.errors


def test_full_valid_submission_is_normalised() -> None:
    raw = body(
        channel="来信", jurisdiction="吉州区", category="教育收费", title="  标题  ",
        external_id=" L-2024-001 ", received_at="2024-05-31T09:30:00+08:00", signers=6,
        subject={"unit": "吉安市第一中学", "person": "王五"}, assigned_by="省教育厅",
        petitioner={"name": " 李四 ", "id_number": VALID_ID[:17] + VALID_ID[17].lower(),
                    "phone": "+86 138-1234-5678", "address": "人民路1号", "anonymous": False},
    )
    assert validate_submission(raw, now=NOW, vocab=VOCAB) == NewCase(
        channel="letter", jurisdiction="jizhou", category="fees", title="标题",
        content="某中学收取补课费。", received_at=datetime(2024, 5, 31, 9, 30, tzinfo=CST),
        petitioner=Petitioner(name="李四", id_number=VALID_ID, phone="13812345678",
                              address="人民路1号", anonymous=False),
        external_id="L-2024-001", signers=6, subject=Subject("吉安市第一中学", "王五"),
        assigned_by="省教育厅",
    )


def test_defaults() -> None:
    case = validate_submission(
        body(petitioner={"anonymous": True}), now=NOW, vocab=VOCAB
    )
    assert case.received_at == NOW
    assert case.signers == 1
    assert case.subject == Subject(None, None)
    assert case.petitioner == Petitioner(anonymous=True)
    assert case.external_id is None and case.assigned_by is None


def test_repr_leaks_no_personal_data() -> None:
    text = repr(validate_submission(body(**{"petitioner.address": "人民路1号"}), now=NOW,
                                    vocab=VOCAB))
    for secret in ("李四", VALID_ID, "13812345678", "人民路1号", "补课费"):
        assert secret not in text


# (body changes, expected errors exactly as [(field, message)])
INVALID: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
    ({"channel": "fax"}, [("channel", "channel 'fax' is unknown; use one of letter, visit, "
      "phone, report_box, online, mayor_mailbox, hotline_12345, provincial_transfer, "
      "city_transfer, superior_assigned, self_initiated, email or its Chinese name")]),
    ({"channel": DROP}, [("channel", "channel is required and must not be blank")]),
    ({"category": 3}, [("category", "category must be a string, not a number")]),
    ({"jurisdiction": "南昌"}, [("jurisdiction", "jurisdiction '南昌' is unknown; use one of "
      "jizhou, qingyuan, jian, jishui, xiajiang, xingan, yongfeng, taihe, suichuan, wanan, "
      "anfu, yongxin, jinggangshan, city or its Chinese name")]),
    ({"title": "   "}, [("title", "title is required and must not be blank")]),
    ({"title": DROP}, [("title", "title is required and must not be blank")]),
    ({"title": 42}, [("title", "title must be a string, not a number")]),
    ({"title": ["a"]}, [("title", "title must be a string, not an array")]),
    ({"content": None}, [("content", "content is required and must not be blank")]),
    ({"content": True}, [("content", "content must be a string, not a boolean")]),
    ({"title": "x" * 201}, [("title", "title must be at most 200 characters, got 201")]),
    ({"content": "字" * 20_001},
     [("content", "content must be at most 20000 characters, got 20001")]),
    ({"external_id": "e" * 101},
     [("external_id", "external_id must be at most 100 characters, got 101")]),
    ({"petitioner.name": "名" * 101},
     [("petitioner.name", "petitioner.name must be at most 100 characters, got 101")]),
    ({"petitioner.address": "址" * 501},
     [("petitioner.address", "petitioner.address must be at most 500 characters, got 501")]),
    ({"title": "a\x00b"}, [("title", "title must not contain NUL characters")]),
    ({"signers": 0}, [("signers", "signers must be at least 1")]),
    ({"signers": -3}, [("signers", "signers must be at least 1")]),
    ({"signers": "5"}, [("signers", "signers must be a whole number, not a string")]),
    ({"signers": 2.5}, [("signers", "signers must be a whole number, not a decimal number")]),
    ({"signers": True}, [("signers", "signers must be a whole number, not a boolean")]),
    ({"signers": 100_001}, [("signers", "signers must be at most 100000")]),
    ({"petitioner": DROP},
     [("petitioner", 'petitioner is required (send {"anonymous": true} if anonymous)')]),
    ({"petitioner": "张三"}, [("petitioner", "petitioner must be an object, not a string")]),
    ({"petitioner": {"phone": "13812345678"}},
     [("petitioner.name", "petitioner.name is required unless petitioner.anonymous is true")]),
    ({"petitioner": {"name": "  ", "anonymous": False}},
     [("petitioner.name", "petitioner.name is required unless petitioner.anonymous is true")]),
    ({"petitioner.anonymous": "yes"},
     [("petitioner.anonymous", "petitioner.anonymous must be true or false, not a string")]),
    ({"petitioner.email": "a@b.c"}, [("petitioner.email", "petitioner.email is not a known "
      "field; allowed: address, anonymous, id_number, name, phone")]),
    ({"priority": "high"}, [("priority", "priority is not a known field; allowed: assigned_by, "
      "assigned_ref, category, channel, content, external_id, jurisdiction, petitioner, "
      "received_at, representatives, signers, subject, title")]),
    ({"subject": "学校"}, [("subject", "subject must be an object, not a string")]),
    ({"subject": {"school": "x"}},
     [("subject.school", "subject.school is not a known field; allowed: person, unit")]),
    ({"received_at": "2024-05-31T09:30:00"}, [("received_at", "received_at must include a "
      "UTC offset (Z or +08:00): a bare local time is ambiguous")]),
    ({"received_at": "31/05/2024 09:30"}, [("received_at", "received_at must be an RFC 3339 "
      "date-time such as 2024-03-01T09:30:00+08:00")]),
    ({"received_at": "2024-05-31"}, [("received_at", "received_at must be an RFC 3339 "
      "date-time such as 2024-03-01T09:30:00+08:00")]),
    ({"received_at": "2024-02-30T09:30:00+08:00"},
     [("received_at", "received_at is not a real date-time (day is out of range for month)")]),
    ({"received_at": 1717200000}, [("received_at", "received_at must be a string, not a number")]),
    ({"received_at": "2024-06-01T04:05:01Z"},
     [("received_at", "received_at must not be in the future")]),
]


@pytest.mark.parametrize(("changes", "expected"), INVALID)
def test_invalid_submissions(changes: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert [(e.field, e.message) for e in errors_of(body(**changes))] == expected


def test_every_error_is_reported_at_once() -> None:
    raw = body(channel="fax", title=7, content="", signers=0, extra=1,
               petitioner={"id_number": "123", "phone": "555", "anonymous": 1})
    assert [e.field for e in errors_of(raw)] == [
        "extra", "channel", "title", "content", "signers",
        "petitioner.id_number", "petitioner.phone", "petitioner.anonymous",
    ]


@pytest.mark.parametrize("raw", [None, [], "text", 3])
def test_body_must_be_an_object(raw: object) -> None:
    [error] = errors_of(raw)
    assert error.field == "body"
    assert error.message.startswith("the body must be a JSON object, not ")


def test_lengths_at_the_limit_are_accepted() -> None:
    case = validate_submission(
        body(title="x" * 200, content="字" * 20_000, external_id="e" * 100,
             petitioner={"name": "名" * 100, "address": "址" * 500}),
        now=NOW, vocab=VOCAB,
    )
    assert (len(case.title), len(case.content)) == (200, 20_000)


@pytest.mark.parametrize(
    ("received_at", "expected"),
    [
        ("2024-06-01T04:05:00Z", datetime(2024, 6, 1, 4, 5, tzinfo=UTC)),  # skew: 5 min ahead
        ("2024-05-31T01:00:00z", datetime(2024, 5, 31, 1, tzinfo=UTC)),
        ("2024-05-31 09:00:00.250+08:00", datetime(2024, 5, 31, 9, 0, 0, 250_000, tzinfo=CST)),
        ("2020-01-01T00:00:00-05:00", datetime(2020, 1, 1, 5, tzinfo=UTC)),
    ],
)
def test_received_at_accepted(received_at: str, expected: datetime) -> None:
    case = validate_submission(body(received_at=received_at), now=NOW, vocab=VOCAB)
    assert case.received_at == expected
    assert case.received_at.tzinfo is not None


@pytest.mark.parametrize(
    ("id_number", "message"),
    [
        (VALID_ID[:17] + ("0" if VALID_ID[17] != "0" else "1"),
         "has a wrong check digit (GB 11643-1999); look for a mistyped digit"),
        (make_id(born="19900230"),
         "has an impossible birth date in characters 7-14 (YYYYMMDD)"),
        (make_id(born="19901301"),
         "has an impossible birth date in characters 7-14 (YYYYMMDD)"),
        (make_id(born="20240602"), "has a birth date in the future"),
        (make_id(born="18991231"), "has a birth date before 1900"),
        (VALID_ID[:17], "must be 18 characters: 17 digits then a digit or X"),
        (VALID_ID + "1", "must be 18 characters: 17 digits then a digit or X"),
        ("X" + VALID_ID[1:], "must be 18 characters: 17 digits then a digit or X"),
        ("360802850317123", "must be 18 characters: 17 digits then a digit or X"),
    ],
)
def test_invalid_resident_ids(id_number: str, message: str) -> None:
    [error] = errors_of(body(**{"petitioner.id_number": id_number}))
    assert error.field == "petitioner.id_number"
    assert error.message == f"petitioner.id_number {message}"
    assert id_number not in error.message  # personal data is never echoed


@pytest.mark.parametrize(
    "id_number",
    [make_id(born="20240601"), make_id(born="19000101"), make_id(born="20000229"),
     make_id("110105", "19491231", "002").lower(), " " + VALID_ID + " "],
)
def test_valid_resident_ids(id_number: str) -> None:
    today = date(2024, 6, 1)
    assert normalise_resident_id(id_number, today=today) == id_number.strip().upper()


def test_birth_date_is_judged_in_shanghai() -> None:
    born_today_in_shanghai = make_id(born="20240602")
    late = datetime(2024, 6, 1, 16, 30, tzinfo=UTC)  # already 2 June in Asia/Shanghai
    case = validate_submission(body(**{"petitioner.id_number": born_today_in_shanghai}),
                               now=late, vocab=VOCAB)
    assert case.petitioner.id_number == born_today_in_shanghai


@pytest.mark.parametrize(
    ("phone", "normalised"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+8613912345678", "13912345678"),
        ("86 199 1234 5678", "19912345678"),
        ("0796-8123456", "07968123456"),
        ("07968123456", "07968123456"),
        ("010-12345678", "01012345678"),
        ("020-1234567", "0201234567"),
        ("(0796) 8123456", "07968123456"),
        ("0796-812-3456", "07968123456"),
        ("0796-8123456-801", "07968123456-801"),
        ("010-12345678转12", "01012345678-12"),
        ("010 1234 5678 ext. 9", "01012345678-9"),
    ],
)
def test_valid_phones(phone: str, normalised: str) -> None:
    assert normalise_phone(phone) == normalised
    case = validate_submission(body(**{"petitioner.phone": phone}), now=NOW, vocab=VOCAB)
    assert case.petitioner.phone == normalised


@pytest.mark.parametrize(
    "phone",
    ["12812345678", "1381234567", "138123456789", "+85213812345678", "12345", "110",
     "0012345678", "796-8123456", "0796-123456", "0796-123456789", "phone: 13812345678",
     "+86 0796 8123456", "011-12345678", "0796123456"],
)
def test_invalid_phones(phone: str) -> None:
    [error] = errors_of(body(**{"petitioner.phone": phone}))
    assert error.field == "petitioner.phone"
    assert error.message == (
        "petitioner.phone must be a mainland mobile number (11 digits starting 13-19, "
        "+86 optional) or a landline with its area code, e.g. 0796-8123456"
    )


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_submission(body(), now=datetime(2024, 6, 1), vocab=VOCAB)


# --- CSV rows -----------------------------------------------------------------------------

ROW = {
    "channel": "电话", "external_id": "", "received_at": "2024-05-31T09:30:00+08:00",
    "jurisdiction": "taihe", "category": "违规补课", "title": "周末补课", "content": "初三补课。",
    "petitioner_name": "李四", "petitioner_id_number": VALID_ID.lower(),
    "petitioner_phone": "0796-8123456", "petitioner_address": "", "anonymous": "否",
    "signers": "7", "subject_unit": "泰和中学", "subject_person": "",
}


def test_row_gives_the_same_case_as_the_json_body() -> None:
    from_row = validate_row(ROW, now=NOW, vocab=VOCAB)
    from_json = validate_submission(
        {"channel": "phone", "received_at": "2024-05-31T09:30:00+08:00",
         "jurisdiction": "taihe", "category": "illegal_tutoring", "title": "周末补课",
         "content": "初三补课。", "signers": 7, "subject": {"unit": "泰和中学"},
         "petitioner": {"name": "李四", "id_number": VALID_ID, "phone": "07968123456"}},
        now=NOW, vocab=VOCAB,
    )
    assert from_row == from_json
    assert from_row.signers == 7 and from_row.petitioner.anonymous is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("是", True), ("yes", True),
     ("false", False), ("0", False), ("否", False), ("", False)],
)
def test_row_anonymous_flag(value: str, expected: bool) -> None:
    case = validate_row({**ROW, "anonymous": value}, now=NOW, vocab=VOCAB)
    assert case.petitioner.anonymous is expected


ROW_INVALID: list[tuple[dict[Any, Any], list[tuple[str, str]]]] = [
    ({"anonymous": "maybe"},
     [("petitioner.anonymous", "petitioner.anonymous must be true or false (or 是/否)")]),
    ({"signers": "2.5"}, [("signers", "signers must be a whole number")]),
    ({"signers": "0"}, [("signers", "signers must be at least 1")]),
    ({"petitioner_name": " "},
     [("petitioner.name", "petitioner.name is required unless petitioner.anonymous is true")]),
    ({"title": ""}, [("title", "title is required and must not be blank")]),
    ({"petitioner_phone": "12345"}, [("petitioner.phone", "petitioner.phone must be a mainland "
      "mobile number (11 digits starting 13-19, +86 optional) or a landline with its area "
      "code, e.g. 0796-8123456")]),
    ({"received_at": "2024-05-31 09:30"}, [("received_at", "received_at must be an RFC 3339 "
      "date-time such as 2024-03-01T09:30:00+08:00")]),
    ({"priority": "high"}, [("priority", "unknown column 'priority'")]),
    ({None: ["spill"]}, [("row", "row has more values than the header has columns")]),
]


@pytest.mark.parametrize(("changes", "expected"), ROW_INVALID)
def test_invalid_rows(changes: dict[Any, Any], expected: list[tuple[str, str]]) -> None:
    with pytest.raises(SubmissionInvalid) as info:
        validate_row({**ROW, **changes}, now=NOW, vocab=VOCAB)
    assert [(e.field, e.message) for e in info.value.errors] == expected


def test_row_missing_cells_and_bom_header() -> None:
    row = {"\ufeffchannel": "letter", "jurisdiction": "city", "category": "other",
           "title": "t", "content": "c", "anonymous": "1", "petitioner_phone": None}
    case = validate_row(row, now=NOW, vocab=VOCAB)
    assert (case.channel, case.petitioner) == ("letter", Petitioner(anonymous=True))


def test_as_dict_matches_the_422_shape() -> None:
    assert FieldError("petitioner.id_number", "why").as_dict() == {
        "field": "petitioner.id_number", "message": "why"}
