"""Routing decisions over the demo configuration: units, 回避, key cases, links to earlier cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.routing.decide import (
    DUPLICATE_THRESHOLD,
    CaseFacts,
    EarlierCase,
    Link,
    PetitionFacts,
    classify_link,
    is_third_repeat_within_12_months,
    normalise,
    route,
    similarity,
)
from services.routing.rules import RuleSet, load_rule_set
from shared.vocab import Terms, Vocabulary, default_vocabulary

DEMO_FILE = Path(__file__).parents[2] / "deploy" / "config" / "routing-rules.yaml"
VOCAB = default_vocabulary()
CST = ZoneInfo("Asia/Shanghai")


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


# -- same matter: labelled pairs that fix DUPLICATE_THRESHOLD ----------------------------------

# Same matter: copied to another channel, rephrased by an operator, shortened.
SAME = [
    ("copied with full-width digits",
     "我是吉安县城南实验小学三年级学生家长，学校今年秋季开学要求每个学生交300元的资料费和150元的"
     "校服费，没有开收据，也没有征求家长意见，请教育局查处乱收费问题。",
     "吉安县城南实验小学三年级学生家长反映：学校秋季开学要求每生交资料费３００元、校服费１５０元，"
     "未开收据，未征求家长意见，请求查处乱收费。"),
    ("hotline summary",
     "反映泰和县澄江中学初二（3）班数学老师刘某某长期在校外租房办补习班，每周六、日给本班学生上课，"
     "每人每月收费600元，还暗示不参加补课的学生上课不提问、考试打低分，家长们敢怒不敢言，希望教育局"
     "严肃查处在职教师有偿补课行为。",
     "来电人反映泰和县澄江中学初二数学老师刘某某校外办补习班有偿补课，每人每月收费600元，要求查处。"),
    ("rephrased, reordered",
     "永丰县沙溪镇中心小学下属的龙冈村教学点今年要被撤并，村里三十多个孩子要走十几里山路到镇上读书，"
     "路上不安全，恳请保留村教学点。",
     "龙冈村教学点被撤并后，村里30多名学生只能到沙溪镇中心小学上学，山路十几里，孩子上学路上很不安全，"
     "请求教育局保留这个教学点。"),
    ("shortened",
     "万安县乡村教师生活补助从去年9月起一直没有发放，我们韶口乡的老师多次向县教育局反映都没有结果，"
     "请求市教育局督促落实乡村教师生活补助政策。",
     "万安县韶口乡乡村教师生活补助去年9月起一直未发放，多次向县教育局反映无果。"),
    ("operator transcript",
     "吉州区白塘小学门口每天放学时大量电动车和小商贩堵在校门口，上周还有一个一年级学生被电动车撞伤，"
     "学校和交警都不管，请求尽快整治校门口交通秩序。",
     "市民来电：吉州区白塘小学校门口放学时段电动车、小摊贩拥堵，上周有一年级学生被电动车撞伤，"
     "要求整治校门口交通安全。"),
    ("rephrased",
     "我家孩子户籍和房产都在青原区河东街道，按划片应该就读河东小学，但学校说学位已满，把孩子调剂到"
     "五公里外的学校，而有些不在片区的孩子却被录取了，怀疑招生有暗箱操作。",
     "孩子户籍房产都在青原区河东街道划片范围内，河东小学称学位已满被调剂到5公里外学校，但片区外的"
     "孩子反而被录取，质疑河东小学招生暗箱操作。"),
    ("punctuation only",
     "新干县三湖中学食堂饭菜质量差，价格贵，学生反映多次吃出虫子！",
     "新干县三湖中学食堂饭菜质量差、价格贵，学生反映多次吃出虫子。"),
    ("shortened",
     "遂川县雩田中学班主任王某某经常体罚学生，上周用教鞭打伤我孩子的手，还辱骂学生是“猪脑子”，"
     "孩子现在不敢去上学，请求调查处理该教师。",
     "遂川县雩田中学班主任王某某体罚学生，用教鞭打伤孩子的手并辱骂学生，请求调查处理。"),
    ("rephrased by a second channel",
     "吉水县八都镇中心小学校舍是危房，墙体开裂，屋顶漏雨，一百多名学生还在里面上课，多次向镇里和县"
     "教育局反映没有维修，请求上级重视。",
     "八都镇中心小学（吉水县）教室墙体开裂、屋顶漏雨，属于危房，学生仍在上课，县教育局一直未维修，"
     "请求市教育局督办。"),
    ("rephrased, reordered",
     "青原区富田镇中心小学校长挪用营养餐补助资金，学生营养餐标准从每天5元降到3元，请纪检部门调查。",
     "反映富田镇中心小学（青原区）学生营养餐每天只有3元的标准，国家补助是5元，怀疑校长挪用营养餐补助，"
     "请求调查。"),
]
# Same matter, but below any threshold that keeps the negatives out (documented misses).
SAME_MISSED = [
    ("one-line 12345 summary of a long letter",
     SAME[1][1], "泰和县澄江中学刘某某老师校外办补习班收费，请查处。"),
    ("heavy abbreviation",
     "峡江县巴邱镇中学今年暑假开始拆除老教学楼，新楼到现在还没动工，开学后学生只能在临时板房上课，"
     "夏天板房里四十多度，请求加快新教学楼建设。",
     "峡江巴邱中学老教学楼拆了新楼未开工，学生在临时板房上课，板房太热，请求加快建设新教学楼。"),
]
# Different matter, same category: the same wording about another school, teacher or amount,
# and the hardest: the same school or person accused of something else.
DIFFERENT = [
    ("fees, another school", SAME[0][1],
     "吉安县永和镇中学要求住校生每学期交400元住宿管理费和200元空调费，空调一直没有安装，请教育局查处"
     "乱收费问题。"),
    ("tutoring, another school", SAME[1][1],
     "反映吉水县第二中学高三年级组织学生暑假在校集中补课，每人收费1200元，学生不参加就不能领新学期"
     "教材，希望教育局严肃查处学校违规补课行为。"),
    ("layout, another school", SAME[2][1],
     "安福县洲湖镇中学初中部撤并到县城后，学生全部要住校，家长负担重，请求恢复洲湖中学初中部。"),
    ("teacher pay, other teachers", SAME[3][1],
     "井冈山市代课教师工资每月只有1800元，低于当地最低工资标准，多年没有调整，也没有缴纳社保，请求"
     "解决代课教师待遇问题。"),
    ("safety, another hazard", SAME[4][1],
     "吉州区文山小学教学楼外墙瓷砖多处脱落，下面就是学生活动的操场，存在很大安全隐患，请求尽快维修。"),
    ("enrollment, another district line", SAME[5][1],
     "今年青原区初中招生划片调整，我们小区被划到离家很远的富田中学，附近的学校却不招我们小区的孩子，"
     "请求重新划片。"),
    ("conditions, another school", SAME[6][1],
     "新干县城北小学厕所年久失修，下雨天污水横流，学生上厕所要排很长的队，请求改善学校办学条件。"),
    ("ethics, another teacher", SAME[7][1],
     "遂川县泉江小学数学老师李某某收受家长红包和购物卡，对送了礼的学生安排前排座位，请求查处。"),
    ("fees, same school, another fee", SAME[0][1],
     "吉安县城南实验小学今年向学生收取每人200元的课后服务费，家长不自愿也被强制收取，请教育局查处。"),
    ("ethics, same teacher, another act", SAME[7][1],
     "遂川县雩田中学班主任王某某在课堂上推销教辅资料，要求学生每人购买，请求调查处理。"),
    ("pay, same township, another payment", SAME[3][1],
     "万安县韶口乡中心小学教师的绩效工资被乡里挪用，已经半年没有发放，请求市教育局调查。"),
    ("integrity, same principal, another act", SAME[9][1],
     "青原区富田镇中心小学校长在学校工程招标中收受承包商好处，请纪检部门调查。"),
    ("conditions, same school, another problem", SAME_MISSED[1][1],
     "峡江县巴邱镇中学学生宿舍十几个人住一间，没有热水洗澡，冬天学生只能用冷水，请求改善住宿条件。"),
]


def test_normalise() -> None:
    assert normalise("ＡＢＣ，１２３ 元！\n（吉安）") == "abc123元吉安"
    assert normalise(" \t。，、") == ""


def test_similarity_basics() -> None:
    assert similarity("学校乱收费", "学校乱收费！") == 1.0
    assert similarity("", "学校乱收费") == 0.0
    assert similarity("请求查处", "请求查处") == 0.0  # formulas alone are evidence of nothing
    assert similarity("甲乙丙丁", "戊己庚辛") == 0.0


@pytest.mark.parametrize(("a", "b"), [p[1:] for p in SAME], ids=[p[0] for p in SAME])
def test_same_matter_reaches_the_threshold(a: str, b: str) -> None:
    assert similarity(a, b) >= DUPLICATE_THRESHOLD


@pytest.mark.parametrize(("a", "b"), [p[1:] for p in DIFFERENT + SAME_MISSED],
                         ids=[p[0] for p in DIFFERENT + SAME_MISSED])
def test_below_the_threshold(a: str, b: str) -> None:
    assert similarity(a, b) < DUPLICATE_THRESHOLD


def test_threshold_sits_in_the_measured_gap() -> None:
    """The figures documented next to DUPLICATE_THRESHOLD, so they cannot silently drift."""
    same = [similarity(a, b) for _, a, b in SAME]
    different = [similarity(a, b) for _, a, b in DIFFERENT]
    missed = [similarity(a, b) for _, a, b in SAME_MISSED]
    assert round(max(different), 2) == 0.23
    assert round(min(same), 2) == 0.29
    assert [round(s, 2) for s in missed] == [0.16, 0.24]
    assert max(different) < DUPLICATE_THRESHOLD <= min(same)
    assert DUPLICATE_THRESHOLD == pytest.approx((max(different) + min(same)) / 2, abs=0.01)


# -- links to earlier cases --------------------------------------------------------------------

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=CST)
FEES = SAME[0][1]
FEES_AGAIN = SAME[0][2]
NEW = PetitionFacts("new", "key-a", "hotline_12345", "jian", "fees", FEES_AGAIN,
                    T0 + timedelta(days=20))


def earlier(status: str, **changes: Any) -> EarlierCase:
    base = EarlierCase("old", "key-a", "letter", "jian", "fees", FEES, T0, status,
                       handling_due=date(2025, 5, 2))
    return replace(base, **changes)


LINKS = [
    # Art. 19: accepted and within its time limit, same petitioner, category, jurisdiction
    ("repeat: accepted", NEW, [earlier("accepted")], "repeat", "Art. 19"),
    ("repeat: in progress, other text", replace(NEW, text="为什么还没有答复？"),
     [earlier("in_progress")], "repeat", "Art. 19"),
    ("repeat: extended, same channel", replace(NEW, channel="letter"), [earlier("extended")],
     "repeat", "Art. 19"),
    ("repeat: on the last day of the limit", replace(NEW, received_at=T0 + timedelta(days=60)),
     [earlier("accepted")], "repeat", "Art. 19"),
    # Art. 36: after re-review the same facts and reasons
    ("final_repeat", NEW, [earlier("final")], "final_repeat", "Art. 36"),
    ("final before repeat", NEW,
     [earlier("accepted", case_id="open"), earlier("final", case_id="old")], "final_repeat",
     "Art. 36"),
    # same matter through another channel while the first is open
    ("duplicate: not yet accepted", NEW, [earlier("registered")], "duplicate", None),
    ("duplicate: accepted but another category", replace(NEW, category="school_management"),
     [earlier("accepted")], "duplicate", None),
    ("duplicate: accepted but out of time", replace(NEW, received_at=T0 + timedelta(days=61)),
     [earlier("accepted")], "duplicate", None),
    ("duplicate: replied, not yet closed", NEW, [earlier("replied")], "duplicate", None),
]
NO_LINK = [
    ("anonymous", replace(NEW, petitioner_key=None), [earlier("accepted", petitioner_key=None)]),
    ("another petitioner", replace(NEW, petitioner_key="key-b"), [earlier("accepted")]),
    ("closed, not final", NEW, [earlier("closed")]),
    ("final, different matter", replace(NEW, text=DIFFERENT[0][2]), [earlier("final")]),
    ("open, same channel", replace(NEW, channel="letter"), [earlier("assigned")]),
    ("open, different matter", replace(NEW, text=DIFFERENT[8][2]), [earlier("assigned")]),
    ("declined", NEW, [earlier("declined")]),
    ("itself", replace(NEW, case_id="old"), [earlier("accepted")]),
    ("only a duplicate", NEW, [earlier("registered", linked_as="duplicate")]),
]


@pytest.mark.parametrize(("new", "cases", "kind", "article"), [x[1:] for x in LINKS],
                         ids=[x[0] for x in LINKS])
def test_links(new: PetitionFacts, cases: list[EarlierCase], kind: str,
               article: str | None) -> None:
    link = classify_link(new, cases, now=new.received_at)
    assert isinstance(link, Link)
    assert (link.kind, link.case_id, link.article) == (kind, "old", article)
    assert (link.similarity is None) == (kind == "repeat")


@pytest.mark.parametrize(("new", "cases"), [x[1:] for x in NO_LINK], ids=[x[0] for x in NO_LINK])
def test_no_link(new: PetitionFacts, cases: list[EarlierCase]) -> None:
    assert classify_link(new, cases, now=new.received_at) is None


def test_repeat_links_to_the_original_case() -> None:
    cases = [earlier("accepted", case_id="second", received_at=T0 + timedelta(days=5)),
             earlier("accepted", case_id="first")]
    link = classify_link(NEW, cases, now=NEW.received_at)
    assert link is not None and link.case_id == "first"


def test_times_need_an_offset() -> None:
    with pytest.raises(ValueError, match="offset"):
        classify_link(NEW, [earlier("accepted")], now=datetime(2025, 3, 23, 9, 0))


# -- third time within twelve months (key case) ------------------------------------------------


def test_third_petition_within_twelve_months() -> None:
    new = replace(NEW, received_at=datetime(2025, 3, 3, 9, 0, tzinfo=CST))
    one = earlier("closed", case_id="one", received_at=datetime(2024, 9, 1, tzinfo=CST))
    two = earlier("closed", case_id="two", received_at=datetime(2024, 3, 4, tzinfo=CST))
    too_old = replace(two, received_at=datetime(2024, 3, 3, 23, 0, tzinfo=CST))
    assert is_third_repeat_within_12_months(new, [one, two])
    assert not is_third_repeat_within_12_months(new, [one])
    assert not is_third_repeat_within_12_months(new, [one, too_old])  # 12 months end there
    # the same matter under another category still counts, by its text
    assert is_third_repeat_within_12_months(new, [one, replace(two, category="other")])
    # duplicates count once, as their case; other petitioners and anonymous never count
    assert not is_third_repeat_within_12_months(new, [one, replace(two, linked_as="duplicate")])
    assert not is_third_repeat_within_12_months(new, [one, replace(two, petitioner_key="b")])
    assert not is_third_repeat_within_12_months(replace(new, petitioner_key=None), [one, two])


def test_third_petition_window_on_29_february() -> None:
    new = replace(NEW, received_at=datetime(2024, 2, 29, 12, 0, tzinfo=CST))
    one = earlier("closed", case_id="one", received_at=datetime(2023, 12, 1, tzinfo=CST))
    march = earlier("closed", case_id="two", received_at=datetime(2023, 3, 1, tzinfo=CST))
    feb_28 = replace(march, received_at=datetime(2023, 2, 28, 12, 0, tzinfo=CST))
    assert is_third_repeat_within_12_months(new, [one, march])
    assert not is_third_repeat_within_12_months(new, [one, feb_28])
