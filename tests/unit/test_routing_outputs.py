"""Routing's events and the helpers of its consumer: deterministic ids, envelopes from
decisions, stream-order segments, packed signatures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.routing.decide import CaseFacts, route
from services.routing.handlers import segments
from services.routing.outputs import _NAMESPACE, Decided, Effects, derived_id, linked_envelope
from services.routing.router import petitioners_of
from services.routing.rules import load_rule_set
from services.routing.store import pack_signature, unpack_signature
from shared.domain.schemas import STEP_TYPES, CaseAssigned, CaseRegistered, CaseTransferDecided
from shared.platform.events import Envelope, decode, encode, envelope_for

RULES = load_rule_set(
    (Path(__file__).parents[2] / "deploy" / "config" / "routing-rules.yaml").read_text("utf-8"))
NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("what", ["decided", "linked", "escalate:abc"])
def test_derived_id_is_uuid5(what: str) -> None:
    for _ in range(200):
        event_id = str(uuid.uuid4())
        assert derived_id(event_id, what) == str(uuid.uuid5(_NAMESPACE, f"{event_id}:{what}"))
    assert derived_id("x", what) == derived_id("x", what) != derived_id("y", what)


def test_assignment_event_carries_unit_leader_rule_and_reasons() -> None:
    decision = route(CaseFacts("jian", "fees", signers=7), RULES)
    d = Decided("c1", 1, decision, "initial", NOW, derived_id("e1", "decided"))
    env = decode(encode(d.envelope()))
    assert (env.id, env.type, env.subject, env.source) == (
        d.event_id, "case.assigned", "c1", "xinfang/routing")
    data = env.data
    assert isinstance(data, CaseAssigned)
    assert (data.unit, data.leader, data.key_case, data.assignment_version) == (
        "jian_bureau", "刘卫东", True, 1)
    assert (data.rule_id, data.rule_version) == ("county-jian", 1)
    assert data.reasons == ["rule:county-jian", "leader:jian", "key:collective"]


def test_transfer_event_when_no_unit_is_left() -> None:
    decision = route(CaseFacts("city", "fees", subject_unit="city_bureau"), RULES)
    env = decode(encode(Decided("c2", 1, decision, "initial", NOW,
                                str(uuid.uuid4())).envelope()))
    assert isinstance(env.data, CaseTransferDecided)
    assert env.data.body == "吉安市人民政府"


def test_effects_collect_what_to_count() -> None:
    effects = Effects()
    effects.decided(Decided("c", 1, route(CaseFacts("jian", "fees", signers=5), RULES),
                            "initial", NOW, str(uuid.uuid4())), latency=0.5)
    effects.decided(Decided("c", 2, route(CaseFacts("city", "fees", subject_unit="city_bureau"),
                                          RULES), "objection", NOW, str(uuid.uuid4())))
    assert effects.assigned == [("jian_bureau", "initial")]
    assert effects.transferred == ["objection"]
    assert effects.key_cases == ["collective"] and effects.latencies == [0.5]
    assert len(effects.envelopes) == 2


def test_linked_event() -> None:
    env = decode(encode(linked_envelope("new", "old", "duplicate", NOW, str(uuid.uuid4()))))
    assert (env.type, env.data.linked_to, env.data.kind) == (  # type: ignore[attr-defined]
        "case.linked", "old", "duplicate")


def _registered(case_id: str, key: str | None = None, anonymous: bool = False) -> Envelope:
    return envelope_for(CaseRegistered(case_id=case_id, tracking_no="T", channel="letter",
                                       jurisdiction="jian", category="fees", received_at=NOW,
                                       petitioner_key=key, anonymous=anonymous),
                        subject=case_id, source="t", time=NOW)


def _step(case_id: str) -> Envelope:
    return envelope_for(STEP_TYPES["accept"](case_id=case_id, at=NOW, status="accepted",
                                             previous_status="assigned", sequence=3),
                        subject=case_id, source="t", time=NOW)


def test_segments_keep_stream_order() -> None:
    a, b, s, c, t, d = (_registered("a"), _registered("b"), _step("a"), _registered("c"),
                        _step("b"), _registered("d"))
    assert segments([a, b, s, c, t, d]) == [[a, b], [s], [c], [t], [d]]
    assert segments([s, t]) == [[s], [t]]
    assert segments([]) == []


def test_only_named_petitioners_are_locked() -> None:
    events = [_registered("a", "k1"), _registered("b", None), _registered("c", "k2", True),
              _step("a")]
    assert petitioners_of(events) == ["k1"]


def test_signature_round_trip() -> None:
    sig = (0, 1, 2**63 - 1, 123456789012345678)
    assert unpack_signature(pack_signature(sig)) == sig
    assert pack_signature(()) == b"" and unpack_signature(b"") == ()
