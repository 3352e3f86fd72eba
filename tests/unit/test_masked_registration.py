"""Registration masks IDs and mobiles typed into the free text: the row units read, the
timeline note, the event's content signature; the original stays encrypted for staff."""

from __future__ import annotations

import orjson

from services.intake.crypto import associated_data as associated
from services.intake.keyring import key_ring
from services.intake.registration import FREE_TEXT, Keys, register
from services.intake.validation import validate_submission
from shared.domain.scrub import MOBILE_MARK, RESIDENT_ID_MARK
from shared.domain.similarity import sketch
from shared.domain.vocab import default_vocabulary
from shared.platform.events import encode
from tests.unit.test_intake_validation import NOW, body

KEYS = Keys(cipher=key_ring("k1", bytes(range(32)), {}), pseudonym_key=bytes(32))
ID_TEXT, PHONE_TEXT = "36080219800101123X", "13912345678"


def _register(title: str, content: str):  # type: ignore[no-untyped-def]
    case = validate_submission(body(title=title, content=content), now=NOW,
                               vocab=default_vocabulary())
    return register(case, tracking="XF-2024-000001", now=NOW, keys=KEYS)


def test_ids_and_mobiles_in_the_text_are_masked_and_kept_encrypted() -> None:
    title, content = f"请联系{PHONE_TEXT}", f"本人身份证{ID_TEXT}，电话{PHONE_TEXT}。"
    reg = _register(title, content)
    row = reg.row
    assert row["title"] == f"请联系{MOBILE_MARK}"
    assert row["content"] == f"本人身份证{RESIDENT_ID_MARK}，电话{MOBILE_MARK}。"
    original = orjson.loads(KEYS.cipher.decrypt(
        row["free_text_enc"], associated=associated(reg.case_id, FREE_TEXT)))
    assert original == {"title": title, "content": content}
    assert "身份证号 1 处" in row["masked_note"] and "手机号 2 处" in row["masked_note"]
    assert ID_TEXT not in row["masked_note"] and PHONE_TEXT not in row["masked_note"]
    signature = reg.event.data.content_signature  # type: ignore[attr-defined]
    assert signature == sketch(f"{row['title']}\n{row['content']}", KEYS.pseudonym_key)
    assert ID_TEXT.encode() not in encode(reg.event) and PHONE_TEXT.encode() not in encode(
        reg.event)


def test_text_without_personal_data_is_stored_as_written_with_no_note() -> None:
    reg = _register("学校收费", "某小学以资料费名义收费。")
    assert (reg.row["title"], reg.row["content"]) == ("学校收费", "某小学以资料费名义收费。")
    assert reg.row["free_text_enc"] is None and reg.row["masked_note"] is None
