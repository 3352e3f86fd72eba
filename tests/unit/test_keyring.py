"""PII key rotation: ciphertexts name their key, old keys still read, a missing key is named."""

from __future__ import annotations

import pytest

from services.intake.crypto import DecryptionFailed, InvalidKeyError, PiiCipher, associated_data
from services.intake.keyring import MissingKey, key_ring, parse_old_keys

K1, K2 = bytes(range(32)), bytes(range(1, 33))
AD = associated_data("case-1", "phone")


def test_a_new_ciphertext_names_its_key_and_an_old_key_still_reads_it() -> None:
    blob = key_ring("k1", K1, {}).encrypt("13800138000", associated=AD)
    rotated = key_ring("k2", K2, {"k1": K1})
    assert rotated.key_id_of(blob) == "k1" and not rotated.is_current(blob)
    assert rotated.decrypt(blob, associated=AD) == "13800138000"
    again = rotated.encrypt("13800138000", associated=AD)
    assert rotated.key_id_of(again) == "k2" and rotated.is_current(again)


def test_a_ciphertext_from_before_key_ids_is_read_under_whichever_key_fits() -> None:
    legacy = PiiCipher(K1).encrypt("张三", associated=AD)
    assert key_ring("k2", K2, {"k0": K1}).decrypt(legacy, associated=AD) == "张三"
    with pytest.raises(DecryptionFailed):
        key_ring("k2", K2, {}).decrypt(legacy, associated=AD)


def test_a_missing_key_is_named() -> None:
    blob = key_ring("k1", K1, {}).encrypt("张三", associated=AD)
    with pytest.raises(MissingKey, match=r"needs PII key 'k1'.*XF_PII_OLD_KEYS") as caught:
        key_ring("k2", K2, {}).decrypt(blob, associated=AD)
    assert caught.value.kid == "k1"


def test_key_configuration_errors_are_clear() -> None:
    with pytest.raises(InvalidKeyError, match="two different keys"):
        key_ring("k1", K1, {"k1": K2})
    with pytest.raises(InvalidKeyError, match="key id"):
        key_ring("k 1", K1, {})
    with pytest.raises(InvalidKeyError, match="kid:base64"):
        parse_old_keys("AAAA")
    with pytest.raises(InvalidKeyError, match="not base64"):
        parse_old_keys("k0:!!")
    assert parse_old_keys(" k0:AAAA , k9:AQID") == {"k0": b"\0\0\0", "k9": b"\1\2\3"}
    assert "k1" in repr(key_ring("k1", K1, {})) and "\\x00" not in repr(key_ring("k1", K1, {}))
