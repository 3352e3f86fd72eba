"""Rule sets in the routing database: every version kept, exactly one active.

Each routing transaction reads the active version number inside its own transaction, so a new
version activated by ``PUT /v1/rules`` on any instance takes effect for every instance at the
next batch, and no batch routes half with one version and half with another. Parsed rule sets
are cached per version: a stored version never changes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from services.routing.rules import RuleError, RuleSet, RuleSetInvalid, load_rule_set
from shared.domain.vocab import Vocabulary
from shared.platform import audit
from shared.platform.auth import Actor
from shared.platform.logging import get_logger

log = get_logger(__name__)

# Advisory lock (class, id) serialising rule-set writes across instances.
_LOCK = (0x5852, 1)  # "XR"
_VERSION_LINE = re.compile(r"^version\s*:", re.MULTILINE)


@dataclass(frozen=True)
class StoredRuleSet:
    rules: RuleSet
    digest: str
    active: bool
    stored_by: str
    stored_at: datetime
    activated_at: datetime | None

    def describe(self) -> dict[str, object]:
        return {**self.rules.to_dict(), "digest": self.digest, "active": self.active,
                "stored_by": self.stored_by, "stored_at": self.stored_at.isoformat(),
                "activated_at": self.activated_at.isoformat() if self.activated_at else None}


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _version_line(text: str) -> int:
    match = _VERSION_LINE.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 1


class RuleStore:
    def __init__(self, bootstrap_file: Path, vocabulary: Vocabulary | None = None) -> None:
        self._bootstrap_file = bootstrap_file
        self._vocabulary = vocabulary
        self._parsed: dict[int, RuleSet] = {}

    def parse(self, text: str) -> RuleSet:
        return load_rule_set(text, self._vocabulary)

    async def active(self, conn: asyncpg.Connection) -> RuleSet:
        """The active rule set as this transaction sees it; loads the bootstrap file into an
        empty table first (the service's first start)."""
        version = await conn.fetchval("SELECT version FROM rule_sets WHERE active")
        if version is None:
            version = await self._bootstrap(conn)
        return await self.version(conn, version)

    async def version(self, conn: asyncpg.Connection, version: int) -> RuleSet:
        if version not in self._parsed:
            source = await conn.fetchval("SELECT source FROM rule_sets WHERE version = $1",
                                         version)
            if source is None:
                raise LookupError(f"no rule set version {version}")
            self._parsed[version] = self.parse(source)
        return self._parsed[version]

    async def stored(self, conn: asyncpg.Connection, version: int | None = None
                     ) -> StoredRuleSet | None:
        """A stored version with its metadata; the active one when ``version`` is None."""
        if version is None:
            await self.active(conn)  # bootstraps an empty table
            row = await conn.fetchrow("SELECT * FROM rule_sets WHERE active")
        else:
            row = await conn.fetchrow("SELECT * FROM rule_sets WHERE version = $1", version)
        if row is None:
            return None
        return StoredRuleSet(await self.version(conn, row["version"]), row["digest"],
                             row["active"], row["stored_by"], row["stored_at"],
                             row["activated_at"])

    async def activate(self, pool: asyncpg.Pool, text: str, actor: Actor, at: datetime,
                       client_addr: str | None = None) -> tuple[StoredRuleSet, bool]:
        """Validate ``text`` and make it the active version in one transaction.

        RuleSetInvalid (with lines) when it is refused. Returns the stored set and whether
        anything changed: the active version submitted again, unchanged, is a no-op.
        """
        rules = self.parse(text)  # raises RuleSetInvalid before anything is touched
        digest = digest_of(text)
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *_LOCK)
            existing = await conn.fetchrow(
                "SELECT digest, active FROM rule_sets WHERE version = $1", rules.version)
            if existing is not None and existing["digest"] == digest and existing["active"]:
                stored = await self.stored(conn, rules.version)
                assert stored is not None
                return stored, False
            highest = await conn.fetchval("SELECT max(version) FROM rule_sets") or 0
            if rules.version <= highest:
                raise RuleSetInvalid([RuleError(
                    _version_line(text),
                    f"version {rules.version} is not new: version {highest} is already stored; "
                    f"a changed rule set needs version {highest + 1} or higher")])
            await self._insert(conn, rules.version, text, digest, actor.signature)
            await audit.append(conn, audit.Entry(
                actor, "rules.activate", detail={"version": rules.version, "digest": digest},
                client_addr=client_addr), at)
            stored = await self.stored(conn, rules.version)
            assert stored is not None
        log.info("rule_set_activated", version=rules.version, actor=actor.id)
        return stored, True

    async def _bootstrap(self, conn: asyncpg.Connection) -> int:
        """Store and activate the bootstrap file unless another instance just did."""
        async with conn.transaction():  # a savepoint inside the caller's transaction
            await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *_LOCK)
            version = await conn.fetchval("SELECT version FROM rule_sets WHERE active")
            if version is not None:
                return int(version)
            text = self._bootstrap_file.read_text(encoding="utf-8")
            rules = self.parse(text)  # a broken bootstrap file must stop the service loudly
            highest = await conn.fetchval("SELECT max(version) FROM rule_sets") or 0
            if rules.version <= highest:
                raise RuntimeError(f"{self._bootstrap_file}: version {rules.version} is not "
                                   f"above the stored {highest} and none is active")
            await self._insert(conn, rules.version, text, digest_of(text),
                               f"bootstrap:{self._bootstrap_file.name}")
            log.info("rule_set_bootstrapped", version=rules.version,
                     file=str(self._bootstrap_file))
            return rules.version

    @staticmethod
    async def _insert(conn: asyncpg.Connection, version: int, text: str, digest: str,
                      actor: str) -> None:
        await conn.execute("UPDATE rule_sets SET active = false WHERE active")
        await conn.execute(
            """INSERT INTO rule_sets (version, source, digest, active, stored_by, activated_at)
               VALUES ($1, $2, $3, true, $4, now())""",
            version, text, digest, actor)
