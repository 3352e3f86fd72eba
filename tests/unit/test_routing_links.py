"""Links to earlier cases on content sketches: the labelled pairs that fix DUPLICATE_THRESHOLD,
normalisation (shared with intake's sketches), repeats, final repeats, duplicates and the third
petition within twelve months."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.routing.links import (
    DUPLICATE_THRESHOLD,
    EarlierCase,
    Link,
    PetitionFacts,
    classify_link,
    is_third_repeat_within_12_months,
)
from shared.domain.similarity import bigrams, estimated_jaccard, fold, jaccard, normalise, sketch

CST = ZoneInfo("Asia/Shanghai")
# Test keys: the production key is secret and changes which bigrams a sketch samples, so the
# threshold is measured over many keys, reproducibly.
KEYS = [hashlib.sha256(b"xinfang-routing-test-key-%d" % i).digest() for i in range(100)]
KEY = KEYS[0]


def sig(text: str, key: bytes = KEY) -> tuple[int, ...]:
    # What intake puts on the wire: sketch(f"{title}\n{content}", key); the newline folds away.
    return tuple(sketch(f"\n{text}", key))


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


# -- normalisation (shared with intake) --------------------------------------------------------


def test_fold_and_normalise() -> None:
    assert fold("ＡＢＣ，１２３ 元！\n（吉安）") == "abc123元吉安"
    assert fold(" \t。，、") == ""
    # stop-phrases are cut out; a space marks each cut so that no bigram bridges it
    assert normalise("请教育局查处乱收费问题。") == "乱收费"
    assert normalise("学校乱收费，请求查处！食堂太贵") == "学校乱收费 食堂太贵"
    assert bigrams("学校乱收费，请求查处！食堂太贵") == {
        "学校", "校乱", "乱收", "收费", "食堂", "堂太", "太贵"}


def test_similarity_basics() -> None:
    assert jaccard("学校乱收费", "学校乱收费！") == 1.0
    assert jaccard("", "学校乱收费") == 0.0
    assert jaccard("请求查处", "请求查处") == 0.0  # formulas alone are evidence of nothing
    assert estimated_jaccard(list(sig("请求查处")), list(sig("请求查处"))) == 0.0
    assert estimated_jaccard(list(sig("甲乙丙丁")), list(sig("戊己庚辛"))) == 0.0
    assert estimated_jaccard(list(sig("学校乱收费")), list(sig("学校　乱收费！"))) == 1.0


def test_short_texts_are_sketched_exactly() -> None:
    """Up to 64 distinct bigrams the sketch is the whole set: the estimate is the Jaccard."""
    _, a, b = DIFFERENT[11]
    assert len(bigrams(a)) <= 64 and len(bigrams(b)) <= 64
    for key in KEYS[:10]:
        assert estimated_jaccard(list(sig(a, key)), list(sig(b, key))) == jaccard(a, b)


def _estimates(pairs: list[tuple[str, str, str]]) -> list[list[float]]:
    return [[estimated_jaccard(list(sig(a, k)), list(sig(b, k))) for k in KEYS]
            for _, a, b in pairs]


def test_threshold_measured_on_sketches() -> None:
    """The figures documented next to DUPLICATE_THRESHOLD, so that they cannot drift."""
    same, different = _estimates(SAME), _estimates(DIFFERENT)
    # exact Jaccard of the texts: the gap the sketches have to keep
    assert round(max(jaccard(a, b) for _, a, b in DIFFERENT), 2) == 0.23
    assert round(min(jaccard(a, b) for _, a, b in SAME), 2) == 0.29
    # on sketches, 100 keys: no different matter is ever linked …
    assert max(max(p) for p in different) < DUPLICATE_THRESHOLD
    assert round(max(max(p) for p in different), 2) == 0.23
    # … and 2 of 1,000 same-matter comparisons are missed (long texts are sampled)
    assert sum(v < DUPLICATE_THRESHOLD for p in same for v in p) == 2
    assert round(min(min(p) for p in same), 2) == 0.23
    # the text-based threshold (0.26) would miss more on sketches
    assert sum(v < 0.26 for p in same for v in p) == 9


@pytest.mark.parametrize(("a", "b"), [p[1:] for p in SAME], ids=[p[0] for p in SAME])
def test_same_matter_reaches_the_threshold(a: str, b: str) -> None:
    assert estimated_jaccard(list(sig(a)), list(sig(b))) >= DUPLICATE_THRESHOLD


@pytest.mark.parametrize(("a", "b"), [p[1:] for p in DIFFERENT + SAME_MISSED],
                         ids=[p[0] for p in DIFFERENT + SAME_MISSED])
def test_below_the_threshold(a: str, b: str) -> None:
    assert estimated_jaccard(list(sig(a)), list(sig(b))) < DUPLICATE_THRESHOLD


# -- links to earlier cases --------------------------------------------------------------------

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=CST)
FEES = SAME[0][1]
FEES_AGAIN = SAME[0][2]
NEW = PetitionFacts("new", "key-a", "hotline_12345", "jian", "fees", sig(FEES_AGAIN),
                    T0 + timedelta(days=20))


def earlier(status: str, **changes: Any) -> EarlierCase:
    base = EarlierCase("old", "key-a", "letter", "jian", "fees", sig(FEES), T0, status,
                       handling_due=date(2025, 5, 2))
    return replace(base, **changes)


LINKS = [
    # Art. 19: accepted and within its time limit, same petitioner, category, jurisdiction
    ("repeat: accepted", NEW, [earlier("accepted")], "repeat", "Art. 19"),
    ("repeat: in progress, other text", replace(NEW, signature=sig("为什么还没有答复？")),
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
    ("final, different matter", replace(NEW, signature=sig(DIFFERENT[0][2])), [earlier("final")]),
    ("open, same channel", replace(NEW, channel="letter"), [earlier("assigned")]),
    ("open, different matter", replace(NEW, signature=sig(DIFFERENT[8][2])), [earlier("assigned")]),
    ("declined", NEW, [earlier("declined")]),
    ("itself", replace(NEW, case_id="old"), [earlier("accepted")]),
    ("only a duplicate", NEW, [earlier("registered", linked_as="duplicate")]),
    # a linked repeat keeps the status it was registered with: it is not a case of its own
    ("only a linked repeat", NEW, [earlier("registered", linked_as="repeat")]),
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
