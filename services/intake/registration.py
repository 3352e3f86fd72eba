"""Registering a validated case: numbers, pseudonyms, ciphertexts, the timeline's first step
and the ``case.registered`` event — decided here, written by :mod:`services.intake.store`."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from services.intake import representatives as reps
from services.intake.crypto import associated_data as associated
from services.intake.crypto import petitioner_key
from services.intake.keyring import KeyRing
from services.intake.validation import NewCase
from shared.domain.schemas import CaseRegistered
from shared.domain.scrub import Masked, mask_personal_data
from shared.domain.similarity import sketch
from shared.platform.clock import SHANGHAI, iso
from shared.platform.events import Envelope, envelope_for

SOURCE = "xinfang/intake"
PERSONAL_FIELDS = ("name", "id_number", "phone", "address")
# Column of each personal field's ciphertext in ``cases``.
REPRESENTATIVES = "representatives"  # the associated-data field of a group's representatives
FREE_TEXT = "free_text"  # the associated-data field of the encrypted original title and content
ENC_COLUMN = {"name": "petitioner_name_enc", "id_number": "petitioner_id_enc",
              "phone": "petitioner_phone_enc", "address": "petitioner_address_enc"}


@dataclass(frozen=True)
class Keys:
    cipher: KeyRing
    pseudonym_key: bytes


def masked_note(title: Masked, content: Masked) -> str | None:
    """The timeline's note of what was masked in the free text (counts, never values)."""
    ids, mobiles = title.resident_ids + content.resident_ids, title.mobiles + content.mobiles
    parts = []
    if ids:
        parts.append(f"身份证号 {ids} 处")
    if mobiles:
        parts.append(f"手机号 {mobiles} 处")
    if not parts:
        return None
    return (f"正文中的个人信息已隐去（{'，'.join(parts)}），原文加密保存，仅信访科可查看。"
            f" Personal data masked in the text: {ids} resident ID(s), {mobiles} mobile(s).")


def tracking_year(received_at: datetime) -> int:
    return received_at.astimezone(SHANGHAI).year


def tracking_no(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year}-{number:06d}"


# No 0/O, 1/I/L: a query code is read out over the phone and typed by hand.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_query_code() -> str:
    # 14 symbols of 31: about 69 random bits, unguessable by probing the tracking page.
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(14))


@dataclass(frozen=True)
class Registration:
    case_id: str
    tracking_no: str
    query_code: str
    row: dict[str, Any]
    event: Envelope

    def response(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "tracking_no": self.tracking_no,
                "query_code": self.query_code, "status": "registered",
                "received_at": iso(self.row["received_at"])}


def register(case: NewCase, *, tracking: str, now: datetime, keys: Keys,
             case_id: str | None = None) -> Registration:
    case_id = case_id or str(uuid.uuid4())
    code = new_query_code()
    p = case.petitioner
    enc = {
        ENC_COLUMN[f]: (
            keys.cipher.encrypt(value, associated=associated(case_id, f))
            if (value := getattr(p, f)) else None
        )
        for f in PERSONAL_FIELDS
    }
    pkey = None if p.anonymous else petitioner_key(keys.pseudonym_key, id_number=p.id_number,
                                                  phone=p.phone)
    reachable = bool(not p.anonymous and p.name and (p.phone or p.address))
    title, content = mask_personal_data(case.title), mask_personal_data(case.content)
    original = None
    if title.changed or content.changed:
        original = keys.cipher.encrypt(
            orjson.dumps({"title": case.title, "content": case.content}).decode(),
            associated=associated(case_id, FREE_TEXT))
    row: dict[str, Any] = {
        "case_id": uuid.UUID(case_id),
        "tracking_no": tracking,
        "query_code_enc": keys.cipher.encrypt(code, associated=associated(case_id, "query_code")),
        "channel": case.channel,
        "external_id": case.external_id,
        "jurisdiction": case.jurisdiction,
        "category": case.category,
        "title": title.text,
        "content": content.text,
        "received_at": case.received_at,
        "registered_at": now,
        "status": "registered",
        "signers": case.signers,
        "anonymous": p.anonymous,
        "reachable": reachable,
        "petitioner_key": pkey,
        **enc,
        "subject_unit": case.subject.unit,
        "subject_person": case.subject.person,
        "assigned_by": case.assigned_by,
        "last_action_at": case.received_at,
        "free_text_enc": original,
        "masked_note": masked_note(title, content),
        "assigned_ref": case.assigned_ref,
        "representatives_enc": keys.cipher.encrypt(
            orjson.dumps(reps.as_document(case.representatives)).decode(),
            associated=associated(case_id, REPRESENTATIVES)) if case.representatives else None,
        "representatives": len(case.representatives),
    }
    event = envelope_for(
        CaseRegistered(
            case_id=case_id, tracking_no=tracking, channel=case.channel,
            jurisdiction=case.jurisdiction, category=case.category,
            received_at=case.received_at, signers=case.signers, anonymous=p.anonymous,
            petitioner_key=pkey, reachable=reachable, subject_unit=case.subject.unit,
            subject_person=case.subject.person, assigned_by=case.assigned_by,
            assigned_ref=case.assigned_ref, representatives=len(case.representatives),
            # On the masked text: the same matter written with another phone number (or by
            # another signer giving their own ID) is still the same matter.
            content_signature=sketch(f"{title.text}\n{content.text}", keys.pseudonym_key),
        ),
        subject=case_id, source=SOURCE, time=now,
    )
    return Registration(case_id=case_id, tracking_no=tracking, query_code=code, row=row,
                        event=event)
