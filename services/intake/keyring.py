"""Several PII keys at once, so the encryption key can rotate while the service runs.

A ciphertext written now names its key: ``XK1 || len(kid) || kid || nonce || ct || tag`` (the
PiiCipher layout behind a small header). One key writes (``XF_PII_KEY``, id
``XF_PII_KEY_ID``); older keys (``XF_PII_OLD_KEYS``, ``kid:base64,…``) still read. A
ciphertext from before key ids is tried under each configured key (the GCM tag tells which one
fits). ``xf keys rotate`` re-encrypts everything under the writing key, in batches; then an
old key can be removed. A ciphertext whose key is not configured raises :class:`MissingKey`,
which names the key id.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from services.intake.crypto import DecryptionFailed, InvalidKeyError, PiiCipher

MAGIC = b"XK1"
KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


class MissingKey(DecryptionFailed):
    def __init__(self, kid: str) -> None:
        super().__init__(f"this ciphertext needs PII key {kid!r}, which is not configured: "
                         f"add it to XF_PII_OLD_KEYS (or make it XF_PII_KEY)")
        self.kid = kid


@dataclass(frozen=True)
class KeyRing:
    current_id: str
    keys: dict[str, PiiCipher]

    def __post_init__(self) -> None:
        if self.current_id not in self.keys:
            raise InvalidKeyError(f"the writing key {self.current_id!r} is not in the ring")
        for kid in self.keys:
            if not KEY_ID.match(kid):
                raise InvalidKeyError(f"PII key id {kid!r}: 1–32 letters, digits, '.', '_', '-'")

    def __repr__(self) -> str:
        return f"KeyRing(current={self.current_id!r}, ids={sorted(self.keys)!r})"

    @property
    def header(self) -> bytes:
        kid = self.current_id.encode()
        return MAGIC + bytes([len(kid)]) + kid

    def encrypt(self, plaintext: str, *, associated: bytes) -> bytes:
        return self.header + self.keys[self.current_id].encrypt(plaintext, associated=associated)

    def key_id_of(self, blob: bytes) -> str | None:
        """The key id a ciphertext names, or None for one from before key ids."""
        if blob[:3] != MAGIC or len(blob) < 4:
            return None
        n = blob[3]
        kid = blob[4:4 + n]
        try:
            text = kid.decode("ascii")
        except UnicodeDecodeError:
            return None
        return text if len(kid) == n and KEY_ID.match(text) else None

    def decrypt(self, blob: bytes, *, associated: bytes) -> str:
        kid = self.key_id_of(blob)
        if kid is not None:
            cipher = self.keys.get(kid)
            if cipher is not None:
                return cipher.decrypt(blob[4 + len(kid):], associated=associated)
            # A legacy blob may start with these bytes by chance: try it as one before giving up.
            try:
                return self._legacy(blob, associated)
            except DecryptionFailed:
                raise MissingKey(kid) from None
        return self._legacy(blob, associated)

    def _legacy(self, blob: bytes, associated: bytes) -> str:
        for cipher in self.keys.values():
            try:
                return cipher.decrypt(blob, associated=associated)
            except DecryptionFailed:
                continue
        raise DecryptionFailed("no configured PII key opens this ciphertext")

    def is_current(self, blob: bytes) -> bool:
        return blob.startswith(self.header)


def parse_old_keys(value: str) -> dict[str, bytes]:
    """``kid:base64,kid:base64`` → raw keys (each checked by PiiCipher for its size)."""
    out: dict[str, bytes] = {}
    for item in (p.strip() for p in value.split(",") if p.strip()):
        kid, sep, b64 = item.partition(":")
        if not sep:
            raise InvalidKeyError("XF_PII_OLD_KEYS entries must be 'kid:base64'")
        try:
            out[kid] = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise InvalidKeyError(f"XF_PII_OLD_KEYS key {kid!r} is not base64") from exc
    return out


def key_ring(current_id: str, current: bytes, old: dict[str, bytes]) -> KeyRing:
    if current_id in old and old[current_id] != current:
        raise InvalidKeyError(f"PII key id {current_id!r} is given two different keys")
    return KeyRing(current_id, {**{k: PiiCipher(v) for k, v in old.items()},
                                current_id: PiiCipher(current)})
