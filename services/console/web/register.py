"""登记 (clerk): a letter, visit, phone call, report-box item or e-mail, with the fields of
``POST /v1/cases``; the API's field errors at their fields; the printable receipt (回执)."""

from __future__ import annotations

import re
import secrets
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from services.console.web import labels, session
from services.console.web.backend import Backend
from services.console.web.session import Person
from shared.domain.vocab import Vocabulary

# The channels a clerk registers at the front desk (the others arrive by integration).
DESK_CHANNELS = ("letter", "visit", "phone", "report_box", "email", "self_initiated")
MAX_REPRESENTATIVES = 5  # a group visit sends at most five (Art. 20)
REPRESENTATIVE_FIELDS = ("name", "id_number", "phone")
REPRESENTATIVE = re.compile(r"^representatives\.(\d)(?:\.(name|id_number|phone))?$")


def submission(form: dict[str, str]) -> dict[str, Any]:
    """The API body of the form. Values are passed as typed, so that the API's validation
    (not the page's) decides and names the field."""
    anonymous = form.get("anonymous") == "on"
    petitioner: dict[str, Any] = {"anonymous": anonymous}
    if not anonymous:
        for key in ("name", "id_number", "phone", "address"):
            if form.get(key, "").strip():
                petitioner[key] = form[key].strip()
    body: dict[str, Any] = {
        "channel": form.get("channel", ""), "jurisdiction": form.get("jurisdiction", ""),
        "category": form.get("category", ""), "title": form.get("title", ""),
        "content": form.get("content", ""), "petitioner": petitioner,
        # The form's own id makes a double submit (or a reload) the same case, not two.
        "external_id": form.get("external_id", "").strip() or form.get("form_id", ""),
    }
    signers = form.get("signers", "").strip()
    if signers:
        body["signers"] = int(signers) if signers.isdigit() else signers
    if form.get("received_at"):
        # <input type=datetime-local> has no offset: the desk is in Beijing time.
        body["received_at"] = form["received_at"] + ":00+08:00"
    subject = {k: form[f"subject_{k}"].strip() for k in ("unit", "person")
               if form.get(f"subject_{k}", "").strip()}
    if subject:
        body["subject"] = subject
    if form.get("assigned_by", "").strip():
        body["assigned_by"] = form["assigned_by"].strip()
    representatives = [{k: form.get(f"rep{i}_{k}", "").strip() for k in REPRESENTATIVE_FIELDS
                        if form.get(f"rep{i}_{k}", "").strip()}
                       for i in representative_rows(form)]
    if representatives:
        body["representatives"] = representatives
    return body


def representative_rows(form: dict[str, str]) -> list[int]:
    """The form rows that name someone, in order: the API's list skips the empty ones, so its
    ``representatives.<i>`` is the i-th of these, not the i-th row of the form."""
    return [i for i in range(MAX_REPRESENTATIVES)
            if any(form.get(f"rep{i}_{k}", "").strip() for k in REPRESENTATIVE_FIELDS)]


def form_errors(errors: list[dict[str, str]], rows: list[int] | None = None
                ) -> dict[str, str]:
    """Field → Chinese message; the form's field names are the API's minus 'petitioner.'.
    ``rows`` maps the API's representative index to the form's row (representative_rows)."""
    out: dict[str, str] = {}
    for e in errors:
        field = str(e.get("field", "body"))
        name = field.removeprefix("petitioner.").replace("subject.", "subject_")
        if field == "petitioner":
            name = "name"
        rep = REPRESENTATIVE.match(field)
        if rep:  # representatives.2.phone → the third filled row's phone field
            index = int(rep[1])
            row = rows[index] if rows is not None and index < len(rows) else index
            name = f"rep{row}_{rep[2] or 'name'}"
            message = labels.field_message(f"petitioner.{rep[2]}" if rep[2] else field,
                                           str(e.get("message", "")))
            out.setdefault(name, f"代表{row + 1} {message}")
            continue
        out.setdefault(name, labels.field_message(field, str(e.get("message", ""))))
    return out


class RegisterPages:
    def __init__(self, backend: Backend, vocab: Vocabulary) -> None:
        self._backend = backend
        self._vocab = vocab

    def install(self, app: web.Application) -> None:
        app.router.add_get("/register", session.signed_in("clerk", "admin")(self.form))
        app.router.add_post("/register", session.signed_in("clerk", "admin")(self.submit))
        app.router.add_post("/register/similar",
                            session.signed_in("clerk", "admin")(self.similar))

    async def _similar(self, person: Person, form: dict[str, str]) -> dict[str, Any] | None:
        """The petitioner's open cases (intake finds them by the pseudonymous key), or None
        when there is nothing to look for or the lookup failed."""
        petitioner = {k: form[k].strip() for k in ("id_number", "phone")
                      if form.get(k, "").strip()}
        if not petitioner or form.get("anonymous") == "on":
            return None
        answer = await self._backend.call("intake", "POST", "/v1/cases/similar",
                                          person.token, json={"petitioner": petitioner})
        return answer.body if answer.ok and isinstance(answer.body, dict) else None

    async def similar(self, request: web.Request, person: Person) -> web.StreamResponse:
        """The fragment shown under the petitioner's fields while the clerk types (htmx)."""
        form = await session.check_csrf(request)
        return aiohttp_jinja2.render_template("register_similar.html", request,
                                              {"similar": await self._similar(person, form)})

    def _context(self, person: Person, form: dict[str, str],
                 errors: dict[str, str]) -> dict[str, Any]:
        channels = [c for c in DESK_CHANNELS
                    if person.role == "admin" or c in person.who.channels]
        reps_open = any(k.startswith("rep") for k in errors) or any(
            form.get(f"rep{i}_{k}") for i in range(MAX_REPRESENTATIVES)
            for k in REPRESENTATIVE_FIELDS)
        return {"form": form, "errors": errors, "channels": channels,
                "representatives": range(MAX_REPRESENTATIVES), "reps_open": reps_open}

    async def form(self, request: web.Request, person: Person) -> web.StreamResponse:
        form = {"form_id": f"console-{secrets.token_hex(8)}", "signers": "1"}
        return aiohttp_jinja2.render_template("register.html", request,
                                              self._context(person, form, {}))

    async def submit(self, request: web.Request, person: Person) -> web.StreamResponse:
        form = await session.check_csrf(request)
        answer = await self._backend.call("intake", "POST", "/v1/cases", person.token,
                                          json=submission(form))
        if answer.ok:
            receipt = dict(answer.body)
            receipt.update(channel=self._vocab.channels.label(form["channel"]),
                           title=form.get("title", ""))
            return aiohttp_jinja2.render_template("receipt.html", request,
                                                  {"receipt": receipt})
        errors = form_errors(answer.field_errors(), representative_rows(form))
        if not errors:
            errors = {"form": f"登记失败（{answer.status}）：{_message(answer.body)}"}
        context = self._context(person, form, errors)
        context["similar"] = await self._similar(person, form)
        return aiohttp_jinja2.render_template("register.html", request, context, status=422)


def _message(body: Any) -> str:
    return str(body.get("error", "")) if isinstance(body, dict) else ""
