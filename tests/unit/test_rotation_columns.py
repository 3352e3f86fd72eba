"""``xf keys rotate`` covers every ciphertext intake stores (services/intake/rotation.py): each
one a registration writes is a rotation column whose associated-data field is the one it was
written with, every ``*_enc`` column intake's migrations create is rotated, and a batch moves
all of a case's ciphertexts — a group visit's representatives and the original text included
— under the writing key, still readable."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

from services.intake import rotation
from services.intake.crypto import associated_data as associated
from services.intake.keyring import key_ring
from services.intake.registration import Keys, register
from services.intake.validation import validate_submission
from shared.domain.vocab import default_vocabulary
from tests.unit.test_intake_validation import NOW, VALID_ID

OLD, NEW = bytes(range(32)), bytes(range(32, 64))
KEYS = Keys(cipher=key_ring("k1", OLD, {}), pseudonym_key=bytes(32))
MIGRATIONS = Path(__file__).parents[2] / "services" / "intake" / "migrations" / "versions"


def _everything() -> Any:
    """A case with every ciphertext filled: the whole identity, a mobile typed into the text
    (so the original is kept), and a group visit's representatives."""
    case = validate_submission({
        "channel": "visit", "jurisdiction": "jizhou", "category": "fees", "title": "集体访",
        "content": "家长代表电话13912345678", "signers": 30,
        "petitioner": {"name": "李四", "id_number": VALID_ID, "phone": "13800138000",
                       "address": "吉州区某路1号"},
        "representatives": [{"name": "王五", "id_number": VALID_ID, "phone": "13900139000"}],
    }, now=NOW, vocab=default_vocabulary())
    return register(case, tracking="XF-2024-000001", now=NOW, keys=KEYS)


def test_every_ciphertext_a_registration_writes_is_rotated_under_its_own_field() -> None:
    reg = _everything()
    written = {c for c, v in reg.row.items() if isinstance(v, bytes)}
    assert written == set(rotation.COLUMNS)
    for column, field in rotation.COLUMNS.items():
        KEYS.cipher.decrypt(reg.row[column], associated=associated(reg.case_id, field))


def test_every_encrypted_column_of_intakes_tables_is_rotated() -> None:
    sources = "\n".join(p.read_text() for p in sorted(MIGRATIONS.glob("*.py")))
    created = set(re.findall(r"\b(\w+_enc)\s+bytea\b", sources))
    assert created == set(rotation.COLUMNS)
    # Only ``cases`` holds ciphertext: a new table with some would need rotating too.
    tables = set(re.findall(r"ALTER TABLE (\w+) ADD COLUMN \w+_enc\b", sources))
    assert tables <= {"cases"}


class _Conn:
    """Just enough of a connection for one batch: the row read, the UPDATE recorded."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.updates: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return [self.row]

    async def execute(self, sql: str, *args: Any) -> str:
        self.updates.append((sql, args))
        return "UPDATE 1"


def test_a_batch_moves_every_ciphertext_of_a_case_under_the_writing_key() -> None:
    reg = _everything()
    row = {"case_id": uuid.UUID(reg.case_id), **{c: reg.row[c] for c in rotation.COLUMNS}}
    conn = _Conn(row)
    ring = key_ring("k2", NEW, {"k1": OLD})
    _, done = asyncio.run(rotation.rotate_batch(conn, ring, None, 500))  # type: ignore[arg-type]
    assert (done.cases, done.rewritten) == (1, 1)
    [(sql, args)] = conn.updates
    columns = re.findall(r"(\w+_enc) = \$\d+", sql.split(" WHERE ")[0])
    assert set(columns) == set(rotation.COLUMNS)
    new = dict(zip(columns, args[1:1 + len(columns)], strict=True))
    for column, field in rotation.COLUMNS.items():
        assert ring.is_current(new[column])
        ad = associated(reg.case_id, field)
        assert ring.decrypt(new[column], associated=ad) == KEYS.cipher.decrypt(
            reg.row[column], associated=ad)
