"""Protection of the petitioner's identity (docs/domain.md §3 保密).

Personal fields are stored encrypted with AES-256-GCM. The associated data names the case
and the field (``associated_data``): a ciphertext copied into another row or column fails to
decrypt instead of silently showing one petitioner's phone as another's.

Events carry ``petitioner_key`` instead of identity: an HMAC-SHA256 under a separate key, so
routing can spot repeat petitioners without ever seeing who they are. A plain hash would not
do: resident IDs and phone numbers are few enough to enumerate.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.intake.normalise import fold_digits

KEY_BYTES = 32  # AES-256; also the HMAC key size (SHA-256's output size)
NONCE_BYTES = 12  # 96 bits: GCM's native nonce size
TAG_BYTES = 16
KEY_PREFIX = "pk_"
# Domain separation: the same digits typed as an ID or as a phone never collide, and keys of
# a future scheme ("v2") never equal this one's.
_ID_DOMAIN = b"xinfang/petitioner/v1/id\x00"
_PHONE_DOMAIN = b"xinfang/petitioner/v1/phone\x00"


class InvalidKeyError(ValueError):
    """A key of the wrong type or length: a configuration error, caught at start-up."""


class DecryptionFailed(Exception):
    """The blob is not ours under this key and associated data (tampered, swapped, or the
    wrong key). Deliberately says no more: the reason is not the caller's to act on."""


def _check_key(key: object, what: str) -> bytes:
    if not isinstance(key, bytes | bytearray):
        raise InvalidKeyError(f"{what} must be bytes, not {type(key).__name__}")
    if len(key) != KEY_BYTES:
        raise InvalidKeyError(f"{what} must be exactly {KEY_BYTES} bytes, got {len(key)}")
    return bytes(key)


def associated_data(case_id: str, field: str) -> bytes:
    """The associated data binding a ciphertext to one case and one field."""
    if not case_id or not field or "\x00" in case_id + field:
        raise ValueError("case_id and field must be non-empty and contain no NUL")
    # NUL-separated: neither part can contain it, so ("a", "bc") and ("ab", "c") differ.
    return b"xinfang/pii/v1\x00" + case_id.encode() + b"\x00" + field.encode()


class PiiCipher:
    """AES-256-GCM for personal fields; output is ``nonce (12 bytes) || ciphertext || tag``."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(_check_key(key, "PII encryption key"))

    def __repr__(self) -> str:  # never show key material, even by accident
        return "PiiCipher(<key hidden>)"

    def encrypt(self, plaintext: str, *, associated: bytes) -> bytes:
        # A random nonce per message: with 96 bits, collisions stay negligible far beyond the
        # number of fields a bureau will ever write under one key.
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), associated)

    def decrypt(self, blob: bytes, *, associated: bytes) -> str:
        if len(blob) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionFailed("ciphertext is too short")
        try:
            plain = self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated)
        except InvalidTag:
            raise DecryptionFailed(
                "ciphertext does not authenticate under this key and associated data"
            ) from None
        return plain.decode("utf-8")


def normalise_id_for_key(id_number: str) -> str:
    return re.sub(r"\s+", "", fold_digits(id_number)).upper()


def normalise_phone_for_key(phone: str) -> str:
    """Digits only, without the country code, so "+86 138-1234-5678" and "13812345678" (and a
    landline with or without dashes) give one key."""
    digits = re.sub(r"\D", "", fold_digits(phone), flags=re.ASCII)
    if len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    return digits


def petitioner_key(hmac_key: bytes, *, id_number: str | None, phone: str | None) -> str | None:
    """A pseudonymous key for the petitioner: by resident ID, else by phone, else None.

    The prefix is the same for both sources so the key does not reveal which one it came
    from. Pass values already checked by ``validation`` (whose normalised forms agree with
    the normalisation here).
    """
    key = _check_key(hmac_key, "petitioner HMAC key")
    ident = normalise_id_for_key(id_number) if id_number else ""
    if ident:
        message = _ID_DOMAIN + ident.encode()
    else:
        digits = normalise_phone_for_key(phone) if phone else ""
        if not digits:
            return None
        message = _PHONE_DOMAIN + digits.encode()
    return KEY_PREFIX + hmac.new(key, message, hashlib.sha256).hexdigest()
