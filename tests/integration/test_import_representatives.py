"""A group visit handed over in bulk keeps its representatives (集体访代表, Art. 20): a CSV with
the numbered columns and a JSON Lines file with the API's array register cases that staff read
back exactly as the same case submitted through ``POST /v1/cases``; a bad entry rejects only its
row, naming the line and the field; uploading the file again changes nothing; the people are
never in events, logs or metrics."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from shared.domain.schemas import CaseRegistered  # also registers the event types to decode
from shared.platform.topics import CASE_EVENTS
from shared.tools.testing.helpers import connect, end_offsets, read_topic
from shared.tools.testing.tokens import STAFF, bearer, channel_token
from tests.integration.import_support import finished, start_import
from tests.integration.intake_support import case_count, resident_id, submission

PURPOSE = {"purpose": "核实集体访代表身份"}
# Compared between an imported case and its twin from the API (ids and times differ).
SAME = ("channel", "jurisdiction", "category", "title", "content", "received_at", "signers",
        "representatives", "assigned_by", "assigned_ref", "petitioner")


def _people(run: str) -> list[dict[str, str]]:
    """Three representatives whose names are this run's own (to look for them in logs)."""
    return [{"name": f"代表甲{run}", "id_number": resident_id(birth="19750304", seq="417"),
             "phone": "13900139001"},
            {"name": f"代表乙{run}", "phone": "0796-8221234"},
            {"name": f"代表丙{run}"}]


def _body(channel: str, run: str, i: int, **over: Any) -> dict[str, Any]:
    """A group visit of thirty handed over with its three representatives."""
    return submission(channel, **{
        "external_id": f"{run}-{i}", "received_at": "2026-03-02T09:30:00+08:00", "signers": 30,
        "assigned_by": "江西省信访局", "representatives": _people(run), **over})


def _names(run: str) -> list[bytes]:
    """How the people could show up in bytes: UTF-8, JSON-escaped, the numbers."""
    people = _people(run)
    names = [p["name"] for p in people]
    return [*(n.encode() for n in names),
            *(n.encode("ascii", "backslashreplace") for n in names),  # as JSON escapes them
            people[0]["id_number"].encode(), people[0]["phone"].encode()]


# Only the columns used: a template need not list the fifteen representative columns.
CSV_COLUMNS = ["channel", "external_id", "received_at", "jurisdiction", "category", "title",
               "content", "petitioner_name", "petitioner_id_number", "petitioner_phone",
               "petitioner_address", "signers", "assigned_by",
               "representative_1_name", "representative_1_id_number", "representative_1_phone",
               "representative_2_name", "representative_2_phone", "representative_3_name"]


def _csv_row(body: dict[str, Any]) -> list[str]:
    cells = {c: str(body.get(c, "")) for c in CSV_COLUMNS if not c.startswith("representative_")}
    cells.update({f"petitioner_{f}": v for f, v in body["petitioner"].items()})
    for n, person in enumerate(body.get("representatives", []), start=1):
        cells.update({f"representative_{n}_{f}": v for f, v in person.items()})
    return [cells.get(c, "") for c in CSV_COLUMNS]  # no representative: blank cells


def _csv(bodies: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # as a spreadsheet writes it
    writer.writerow(CSV_COLUMNS)
    for body in bodies:
        writer.writerow(_csv_row(body))
    return out.getvalue().encode()


async def _case_ids(stack: Any, run: str) -> dict[str, str]:
    conn = await connect(stack.dsns["intake"])
    try:
        rows = await conn.fetch("SELECT external_id, case_id, representatives_enc FROM cases "
                                "WHERE external_id LIKE $1", f"{run}-%")
    finally:
        await conn.close()
    for r in rows:  # stored encrypted: no name readable in the column
        blob = bytes(r["representatives_enc"] or b"")
        assert run.encode() not in blob and "代表".encode() not in blob
    return {r["external_id"]: str(r["case_id"]) for r in rows}


async def _record(http: aiohttp.ClientSession, stack: Any, case_id: str) -> dict[str, Any]:
    async with http.get(stack.url("intake", f"/v1/cases/{case_id}"), params=PURPOSE,
                        headers=bearer(STAFF)) as r:
        assert r.status == 200, await r.text()
        return dict(await r.json())


async def _twin(http: aiohttp.ClientSession, stack: Any, body: dict[str, Any]
                ) -> dict[str, Any]:
    """The same case submitted through the API, as staff read it."""
    api_body = {**body, "external_id": f"{body['external_id']}-api"}
    async with http.post(stack.url("intake", "/v1/cases"), json=api_body,
                         headers=bearer(channel_token(body["channel"]))) as r:
        assert r.status == 201, await r.text()
        return await _record(http, stack, (await r.json())["case_id"])


def _log_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _not_in_logs_or_metrics(path: Path, start: int, metrics: str, run: str) -> None:
    with open(path, "rb") as f:
        f.seek(start)
        logged = f.read()
    assert b"import_done" in logged, "the imports' log lines are not where the test looks"
    for text in (logged, metrics.encode()):
        assert not [n for n in _names(run) if n in text]


async def _import_twice(http: aiohttp.ClientSession, stack: Any, token: str, data: bytes,
                        content_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    base = stack.url("intake", "")
    first = await finished(http, base, token,
                           await start_import(http, base, token, data, content_type))
    again = await finished(http, base, token,
                           await start_import(http, base, token, data, content_type))
    return first, again


async def _check_events(stack: Any, since: dict[int, int], expected: dict[str, int],
                        run: str) -> None:
    """``case.registered`` of each case counts its representatives and names nobody."""
    def registered(msgs: list[tuple[Any, Any]]) -> dict[str, int]:
        return {e.subject: e.data.representatives for _, e in msgs
                if e is not None and isinstance(e.data, CaseRegistered)
                and e.subject in expected}

    msgs = await read_topic(stack.bootstrap, CASE_EVENTS.name(), since=since,
                            until=lambda m: registered(m).keys() == expected.keys())
    assert registered(msgs) == expected
    assert not [n for raw, _ in msgs for n in _names(run) if n in raw.value]


async def test_csv_rows_carry_representatives_like_the_api(stack) -> None:
    run = f"rep-{uuid.uuid4().hex[:8]}"
    channel = "provincial_transfer"
    token = channel_token(channel)
    group = _body(channel, run, 0)
    bad = _body(channel, run, 1)
    bad["representatives"] = [dict(p) for p in bad["representatives"]]
    bad["representatives"][1]["phone"] = "99999"
    plain = _body(channel, run, 2, signers=1)
    del plain["representatives"]  # an ordinary transfer in the same file
    log = stack.layout.log_file("intake")
    log_start = _log_size(log)
    since = await end_offsets(stack.bootstrap, CASE_EVENTS.name())
    async with aiohttp.ClientSession() as http:
        first, again = await _import_twice(http, stack, token, _csv([group, bad, plain]),
                                           "text/csv")
        assert (first["status"], first["accepted"], first["rejected"]) == ("done", 2, 1), first
        [error] = first["errors"]
        assert (error["line"], error["field"]) == (3, "representative_2_phone"), error
        assert "99999" not in error["message"] and run not in error["message"]
        # Uploaded again: the same rows, nothing new; the same row error.
        assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 2, 1), again
        assert again["errors"] == first["errors"]
        ids = await _case_ids(stack, run)
        assert set(ids) == {f"{run}-0", f"{run}-2"}
        imported = await _record(http, stack, ids[f"{run}-0"])
        twin = await _twin(http, stack, group)
        without = await _record(http, stack, ids[f"{run}-2"])
        async with http.get(stack.metrics_url("intake")) as r:
            metrics = await r.text()
    assert imported["representatives"] == 3
    assert [p["name"] for p in imported["petitioner"]["representatives"]] == [
        p["name"] for p in group["representatives"]]
    assert imported["petitioner"]["representatives"][0]["id_number"] == (
        group["representatives"][0]["id_number"])
    assert {k: imported[k] for k in SAME} == {k: twin[k] for k in SAME}
    assert without["representatives"] == 0 and "representatives" not in without["petitioner"]
    assert await case_count(stack.dsns["intake"], "external_id LIKE $1", f"{run}-_") == 2
    await _check_events(stack, since, {ids[f"{run}-0"]: 3, ids[f"{run}-2"]: 0}, run)
    _not_in_logs_or_metrics(log, log_start, metrics, run)


async def test_json_lines_carry_the_apis_representatives(stack) -> None:
    run = f"rep-{uuid.uuid4().hex[:8]}"
    channel = "city_transfer"
    token = channel_token(channel)
    group = _body(channel, run, 0, assigned_by="吉安市信访局")
    bad = _body(channel, run, 1)
    bad["representatives"] = [*bad["representatives"], *_people(run)]  # six: Art. 20
    bad_phone = _body(channel, run, 2)
    bad_phone["representatives"] = [dict(p) for p in bad_phone["representatives"]]
    bad_phone["representatives"][0]["phone"] = "99999"
    data = b"\n".join(orjson.dumps(b) for b in (group, bad, bad_phone)) + b"\n"
    since = await end_offsets(stack.bootstrap, CASE_EVENTS.name())
    async with aiohttp.ClientSession() as http:
        first, again = await _import_twice(http, stack, token, data, "application/x-ndjson")
        assert (first["status"], first["accepted"], first["rejected"]) == ("done", 1, 2), first
        assert [(e["line"], e["field"]) for e in first["errors"]] == [
            (2, "representatives"), (3, "representatives.0.phone")]
        assert not any("99999" in e["message"] or run in e["message"] for e in first["errors"])
        assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 1, 2), again
        ids = await _case_ids(stack, run)
        assert set(ids) == {f"{run}-0"}
        imported = await _record(http, stack, ids[f"{run}-0"])
        twin = await _twin(http, stack, group)
    assert imported["representatives"] == 3
    assert [p["name"] for p in imported["petitioner"]["representatives"]] == [
        p["name"] for p in group["representatives"]]
    assert {k: imported[k] for k in SAME} == {k: twin[k] for k in SAME}
    await _check_events(stack, since, {ids[f"{run}-0"]: 3}, run)
