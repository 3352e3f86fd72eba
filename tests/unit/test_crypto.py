"""PII encryption and the pseudonymous petitioner key (services/intake/crypto.py)."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.intake.crypto import (
    DecryptionFailed,
    InvalidKeyError,
    PiiCipher,
    associated_data,
    petitioner_key,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
HMAC_KEY = b"\x42" * 32
AD = associated_data("case-1", "petitioner.phone")


def test_round_trip_of_chinese_text() -> None:
    cipher = PiiCipher(KEY)
    blob = cipher.encrypt("张三，吉州区人民路1号", associated=AD)
    assert cipher.decrypt(blob, associated=AD) == "张三，吉州区人民路1号"


def test_layout_is_nonce_then_ciphertext_and_tag() -> None:
    plain = "13812345678"
    blob = PiiCipher(KEY).encrypt(plain, associated=AD)
    assert len(blob) == 12 + len(plain.encode()) + 16
    # Readable with nothing but the documented layout: the format is the contract.
    assert AESGCM(KEY).decrypt(blob[:12], blob[12:], AD) == plain.encode()


def test_each_encryption_uses_a_fresh_nonce() -> None:
    cipher = PiiCipher(KEY)
    blobs = {cipher.encrypt("same", associated=AD) for _ in range(50)}
    assert len(blobs) == 50
    assert len({b[:12] for b in blobs}) == 50


@pytest.mark.parametrize(
    ("associated", "why"),
    [
        (associated_data("case-2", "petitioner.phone"), "copied to another case"),
        (associated_data("case-1", "petitioner.name"), "copied to another field"),
        (b"", "no associated data"),
    ],
)
def test_ciphertext_is_bound_to_its_case_and_field(associated: bytes, why: str) -> None:
    cipher = PiiCipher(KEY)
    blob = cipher.encrypt("13812345678", associated=AD)
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(blob, associated=associated)


def test_tampering_and_wrong_key_are_detected() -> None:
    blob = PiiCipher(KEY).encrypt("13812345678", associated=AD)
    for i in (0, 12, len(blob) - 1):  # nonce, ciphertext, tag
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        with pytest.raises(DecryptionFailed):
            PiiCipher(KEY).decrypt(bytes(tampered), associated=AD)
    with pytest.raises(DecryptionFailed):
        PiiCipher(OTHER_KEY).decrypt(blob, associated=AD)
    with pytest.raises(DecryptionFailed, match="too short"):
        PiiCipher(KEY).decrypt(blob[:27], associated=AD)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (b"\x00" * 16, "PII encryption key must be exactly 32 bytes, got 16"),
        (b"\x00" * 31, "PII encryption key must be exactly 32 bytes, got 31"),
        (b"\x00" * 33, "PII encryption key must be exactly 32 bytes, got 33"),
        (b"", "PII encryption key must be exactly 32 bytes, got 0"),
        ("0" * 32, "PII encryption key must be bytes, not str"),
    ],
)
def test_cipher_key_is_validated(key: object, message: str) -> None:
    with pytest.raises(InvalidKeyError) as info:
        PiiCipher(key)  # type: ignore[arg-type]
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (b"\x00" * 20, "petitioner HMAC key must be exactly 32 bytes, got 20"),
        (None, "petitioner HMAC key must be bytes, not NoneType"),
    ],
)
def test_hmac_key_is_validated(key: object, message: str) -> None:
    with pytest.raises(InvalidKeyError) as info:
        petitioner_key(key, id_number="x", phone=None)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_repr_hides_the_key() -> None:
    assert repr(PiiCipher(KEY)) == "PiiCipher(<key hidden>)"


def test_associated_data_is_unambiguous() -> None:
    assert associated_data("a", "bc") != associated_data("ab", "c")
    for case_id, field in (("", "phone"), ("case", ""), ("ca\x00se", "phone")):
        with pytest.raises(ValueError):
            associated_data(case_id, field)


def _expected(domain: bytes, value: str) -> str:
    return "pk_" + hmac.new(HMAC_KEY, domain + value.encode(), hashlib.sha256).hexdigest()


ID = "11010519491231002X"  # the worked example printed in GB 11643-1999, not a person


@pytest.mark.parametrize(
    ("id_number", "phone", "expected"),
    [
        (ID, None, _expected(b"xinfang/petitioner/v1/id\x00", ID)),
        (ID.lower(), "13812345678", _expected(b"xinfang/petitioner/v1/id\x00", ID)),
        (" 110105 19491231 002x ", None, _expected(b"xinfang/petitioner/v1/id\x00", ID)),
        (None, "13812345678", _expected(b"xinfang/petitioner/v1/phone\x00", "13812345678")),
        (None, "+86 138-1234-5678", _expected(b"xinfang/petitioner/v1/phone\x00", "13812345678")),
        ("", "8613812345678", _expected(b"xinfang/petitioner/v1/phone\x00", "13812345678")),
        (None, "0796-8123456", _expected(b"xinfang/petitioner/v1/phone\x00", "07968123456")),
        (None, None, None),
        ("", "", None),
        ("  ", " - ", None),
    ],
)
def test_petitioner_key(id_number: str | None, phone: str | None, expected: str | None) -> None:
    assert petitioner_key(HMAC_KEY, id_number=id_number, phone=phone) == expected


def test_petitioner_key_reveals_neither_source_nor_value() -> None:
    by_id = petitioner_key(HMAC_KEY, id_number=ID, phone=None)
    by_phone = petitioner_key(HMAC_KEY, id_number=None, phone="13812345678")
    assert by_id is not None and by_phone is not None
    for key in (by_id, by_phone):
        assert re.fullmatch(r"pk_[0-9a-f]{64}", key)
    assert by_id != by_phone
    assert petitioner_key(b"\x43" * 32, id_number=ID, phone=None) != by_id


def test_same_digits_as_id_or_phone_do_not_collide() -> None:
    digits = "13812345678"
    assert petitioner_key(HMAC_KEY, id_number=digits, phone=None) != petitioner_key(
        HMAC_KEY, id_number=None, phone=digits
    )
