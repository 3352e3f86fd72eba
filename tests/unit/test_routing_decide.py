"""Routing decisions over the demo configuration: units, 回避, objections, key cases, leaders,
reassignment by staff. (Links to earlier cases: test_routing_links.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.routing.decide import CaseFacts, ReassignmentRefused, reassign, route
from services.routing.rules import RuleSet, load_rule_set
from shared.domain.vocab import Terms, Vocabulary, default_vocabulary

DEMO_FILE = Path(__file__).parents[2] / "deploy" / "config" / "routing-rules.yaml"
VOCAB = default_vocabulary()


@pytest.fixture(scope="module")
def demo() -> RuleSet:
    return load_rule_set(DEMO_FILE.read_text(encoding="utf-8"))


# -- every case lands on a unit ----------------------------------------------------------------


@pytest.mark.parametrize("jurisdiction", VOCAB.jurisdictions.codes)
@pytest.mark.parametrize("category", VOCAB.categories.codes)
def test_every_jurisdiction_and_category_routes_to_a_unit(
    demo: RuleSet, jurisdiction: str, category: str
) -> None:
    decision = route(CaseFacts(jurisdiction, category), demo)
    assert decision.unit in demo.units
    assert decision.transfer_out is None
    assert decision.rule_version == 1
    assert decision.reasons == (f"rule:{decision.rule_id}",)
    assert not decision.key_case and decision.leader is None


def test_labels_are_accepted_like_codes(demo: RuleSet) -> None:
    assert route(CaseFacts("吉安县", "教育收费"), demo).unit == "jian_bureau"
    with pytest.raises(ValueError, match="unknown jurisdiction"):
        route(CaseFacts("南昌市", "fees"), demo)


# -- 回避 at every level of the hierarchy ------------------------------------------------------

RECUSAL = [
    # (id, jurisdiction, category, subject unit, subject person, unit, extra reasons)
    ("school: stays with its county bureau", "jian", "fees", "jian_no1_middle", None,
     "jian_bureau", ()),
    ("school by name", "jian", "fees", "吉安县第一中学", None, "jian_bureau", ()),
    ("school principal", "jian", "teacher_ethics", None, "张国庆", "jian_bureau", ()),
    ("county bureau → city bureau", "jian", "fees", "jian_bureau", None, "city_bureau",
     ("recusal:unit:jian_bureau", "recusal:subject_unit:jian_bureau")),
    ("county bureau by name", "jian", "fees", "吉安县教育局", None, "city_bureau",
     ("recusal:unit:jian_bureau", "recusal:subject_unit:jian_bureau")),
    ("county bureau head → city bureau", "jian", "staffing", None, "刘卫东", "city_bureau",
     ("recusal:unit:jian_bureau", "recusal:subject_person:jian_head")),
    ("other county's bureau: no effect", "taihe", "fees", "jian_bureau", None, "taihe_bureau",
     ()),
    ("section → bureau", "city", "fees", "finance", None, "city_bureau",
     ("recusal:unit:finance", "recusal:subject_unit:finance")),
    ("section chief → bureau", "city", "fees", None, "陈红", "city_bureau",
     ("recusal:unit:finance", "recusal:subject_person:finance_chief")),
    ("city school under a section: the section handles it", "city", "school_management",
     "city_no1_middle", None, "basic_education", ()),
    ("city school's section → bureau", "city", "school_management", "基础教育科", None,
     "city_bureau", ("recusal:unit:basic_education", "recusal:subject_unit:basic_education")),
    ("discipline office → city bureau", "jian", "integrity", "discipline", None,
     "city_bureau", ("recusal:unit:discipline", "recusal:subject_unit:discipline")),
    ("discipline head → city bureau", "city", "integrity", None, "赵敏", "city_bureau",
     ("recusal:unit:discipline", "recusal:subject_person:discipline_head")),
    ("integrity report about a county bureau stays with the discipline office", "jian",
     "integrity", "jian_bureau", None, "discipline", ()),
    ("integrity report about the city bureau: the discipline office supervises it", "city",
     "integrity", "city_bureau", None, "discipline", ()),
    ("unknown subject unit excludes nothing", "jian", "illegal_tutoring", "某某培训机构", None,
     "jian_bureau", ("subject_unit:unknown",)),
    ("unknown subject person excludes nothing", "jian", "fees", None, "无名氏", "jian_bureau",
     ("subject_person:unknown",)),
]


@pytest.mark.parametrize(("jurisdiction", "category", "subject_unit", "subject_person", "unit",
                          "extra"), [r[1:] for r in RECUSAL], ids=[r[0] for r in RECUSAL])
def test_recusal(demo: RuleSet, jurisdiction: str, category: str, subject_unit: str | None,
                 subject_person: str | None, unit: str, extra: tuple[str, ...]) -> None:
    case = CaseFacts(jurisdiction, category, subject_unit=subject_unit,
                     subject_person=subject_person)
    decision = route(case, demo)
    assert decision.unit == unit
    assert decision.reasons == (f"rule:{decision.rule_id}", *extra)


@pytest.mark.parametrize(
    ("subject_unit", "subject_person", "cause"),
    [
        ("city_bureau", None, "recusal:subject_unit:city_bureau"),
        (None, "李明华", "recusal:subject_person:city_director"),  # the director
    ],
)
def test_report_about_the_city_bureau_goes_to_the_body_above(
    demo: RuleSet, subject_unit: str | None, subject_person: str | None, cause: str
) -> None:
    case = CaseFacts("city", "fees", subject_unit=subject_unit, subject_person=subject_person)
    decision = route(case, demo)
    assert (decision.unit, decision.transfer_out) == (None, "吉安市人民政府")
    assert decision.reasons == ("rule:city-fees", "recusal:unit:finance", cause,
                                "recusal:unit:city_bureau", "recusal:top")


# A hierarchy in which a rule routes to a school, so that the climb is visible at each level.
TINY = Vocabulary(
    channels=Terms("channel", {"letter": "来信"}),
    categories=Terms("category", {"fees": "教育收费", "other": "其他"}),
    jurisdictions=Terms("jurisdiction", {"north": "北县"}),
)
TINY_RULES = """\
version: 7
superior_body: 省教育厅
units:
  - {code: top, name: 市局, parent: null, kind: bureau}
  - {code: county, name: 县局, parent: top, kind: county_bureau}
  - {code: school, name: 学校, parent: county, kind: school}
leaders:
  - {jurisdiction: "*", name: 李四, unit: top}
rules:
  - {id: abroad, category: other, transfer_out: 市场监督管理局}
  - {id: school, unit: school}
"""


@pytest.mark.parametrize(
    ("subject", "unit", "transfer_out", "skipped"),
    [
        (None, "school", None, ()),
        ("school", "county", None, ("school",)),
        ("county", "top", None, ("school", "county")),  # below the subject is excluded too
        ("top", None, "省教育厅", ("school", "county", "top")),
    ],
)
def test_climb_from_every_level(subject: str | None, unit: str | None,
                                transfer_out: str | None, skipped: tuple[str, ...]) -> None:
    decision = route(CaseFacts("north", "fees", subject_unit=subject),
                     load_rule_set(TINY_RULES, TINY))
    assert (decision.unit, decision.transfer_out) == (unit, transfer_out)
    assert [r for r in decision.reasons if r.startswith("recusal:unit:")] == [
        f"recusal:unit:{u}" for u in skipped
    ]
    assert decision.rule_version == 7


def test_transfer_out_rule() -> None:
    decision = route(CaseFacts("north", "other", signers=9), load_rule_set(TINY_RULES, TINY))
    assert (decision.unit, decision.transfer_out) == (None, "市场监督管理局")
    assert decision.rule_id == "abroad"
    assert decision.key_case and decision.leader is None  # not the bureau's to lead


# -- key cases and their leader ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "key_reasons", "leader", "leader_reason"),
    [
        (CaseFacts("jian", "fees", signers=4), (), None, None),
        (CaseFacts("jian", "fees", signers=5), ("collective",), "刘卫东", "leader:jian"),
        (CaseFacts("city", "fees", signers=30), ("collective",), "周建平", "leader:default"),
        (CaseFacts("taihe", "fees", flagged_key=("repeat",)), ("repeat",), "康德明",
         "leader:taihe"),
        (CaseFacts("jian", "fees", signers=6, flagged_key=("repeat",)), ("repeat", "collective"),
         "刘卫东", "leader:jian"),
        # the county head is the subject: he steps aside, the city default leads
        (CaseFacts("jian", "fees", signers=5, subject_person="刘卫东"), ("collective",), "周建平",
         "leader:recusal:jian"),
        # the county bureau is the subject: the case went up, beyond the county head's remit
        (CaseFacts("jian", "fees", signers=5, subject_unit="jian_bureau"), ("collective",),
         "周建平", "leader:default"),
        # the default leader is the subject too: nobody is left
        (CaseFacts("city", "integrity", signers=5, subject_person="周建平"), ("collective",), None,
         "leader:none"),
    ],
)
def test_key_cases_get_a_leader(demo: RuleSet, case: CaseFacts, key_reasons: tuple[str, ...],
                                leader: str | None, leader_reason: str | None) -> None:
    decision = route(case, demo)
    assert decision.key_case is bool(key_reasons)
    assert decision.key_reasons == key_reasons
    assert (decision.leader.name if decision.leader else None) == leader
    if leader_reason:
        assert leader_reason in decision.reasons


# -- objections (Art. 23): never again to a unit that objected ---------------------------------

OBJECTIONS = [
    # (id, jurisdiction, category, objected, subject unit, unit, transfer_out, reasons after rule)
    ("county bureau objects → city bureau", "jian", "fees", ("jian_bureau",), None,
     "city_bureau", None, ("objection:jian_bureau",)),
    ("section objects → bureau", "city", "fees", ("finance",), None, "city_bureau", None,
     ("objection:finance",)),
    ("by name", "city", "fees", ("财务科",), None, "city_bureau", None, ("objection:finance",)),
    ("second objection, by the bureau → the body above", "city", "fees",
     ("finance", "city_bureau"), None, None, "吉安市人民政府",
     ("objection:finance", "objection:city_bureau", "recusal:top")),
    ("discipline office objects → city bureau", "jian",
     "integrity", ("discipline",), None, "city_bureau", None, ("objection:discipline",)),
    ("objection and 回避 together", "jian", "fees", ("city_bureau",), "jian_bureau", None,
     "吉安市人民政府", ("recusal:unit:jian_bureau", "recusal:subject_unit:jian_bureau",
                       "objection:city_bureau", "recusal:top")),
    ("an objection by a unit not on the path changes nothing", "jian", "fees", ("taihe_bureau",),
     None, "jian_bureau", None, ()),
]


@pytest.mark.parametrize(("jurisdiction", "category", "objected", "subject_unit", "unit",
                          "transfer_out", "extra"), [r[1:] for r in OBJECTIONS],
                         ids=[r[0] for r in OBJECTIONS])
def test_objection(demo: RuleSet, jurisdiction: str, category: str, objected: tuple[str, ...],
                   subject_unit: str | None, unit: str | None, transfer_out: str | None,
                   extra: tuple[str, ...]) -> None:
    decision = route(CaseFacts(jurisdiction, category, subject_unit=subject_unit,
                               objected_units=objected), demo)
    assert (decision.unit, decision.transfer_out) == (unit, transfer_out)
    assert decision.reasons == (f"rule:{decision.rule_id}", *extra)


def test_objecting_unit_leader_steps_aside(demo: RuleSet) -> None:
    decision = route(CaseFacts("jian", "fees", signers=8, objected_units=("jian_bureau",)), demo)
    assert decision.unit == "city_bureau"
    assert decision.leader is not None and decision.leader.name == "周建平"
    assert "leader:recusal:jian" in decision.reasons


# -- reassignment by staff ---------------------------------------------------------------------


def test_reassign_to_another_unit(demo: RuleSet) -> None:
    decision = reassign(CaseFacts("jian", "fees"), "吉安县第一中学", demo)
    assert (decision.unit, decision.rule_id, decision.reasons) == (
        "jian_no1_middle", "manual", ("manual",))
    assert decision.rule_version == demo.version and not decision.key_case


def test_reassign_keeps_key_status_and_finds_the_leader(demo: RuleSet) -> None:
    decision = reassign(CaseFacts("jian", "fees", signers=6, flagged_key=("flagged",)),
                        "city_bureau", demo)
    assert decision.key_reasons == ("flagged", "collective")
    assert decision.leader is not None and decision.leader.name == "周建平"  # county head: no remit


@pytest.mark.parametrize(
    ("case", "unit", "reason"),
    [
        (CaseFacts("jian", "fees", subject_unit="jian_bureau"), "jian_bureau",
         "recusal:subject_unit:jian_bureau"),
        (CaseFacts("jian", "fees", subject_unit="jian_bureau"), "jian_no1_middle",
         "recusal:subject_unit:jian_bureau"),  # below the subject
        (CaseFacts("jian", "fees", subject_person="刘卫东"), "jian_bureau",
         "recusal:subject_person:jian_head"),
        (CaseFacts("jian", "fees", objected_units=("jian_bureau",)), "jian_bureau",
         "objection:jian_bureau"),
        (CaseFacts("jian", "fees"), "no_such_unit", "unknown_unit"),
    ],
)
def test_reassign_refused(demo: RuleSet, case: CaseFacts, unit: str, reason: str) -> None:
    with pytest.raises(ReassignmentRefused) as refused:
        reassign(case, unit, demo)
    assert refused.value.reason == reason


def test_reassign_below_an_objecting_unit_is_allowed(demo: RuleSet) -> None:
    case = CaseFacts("jian", "fees", objected_units=("jian_bureau",))
    assert reassign(case, "jian_no1_middle", demo).unit == "jian_no1_middle"
