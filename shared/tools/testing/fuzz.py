"""Fuzzing every service through its OpenAPI document with schemathesis, as staff, as a unit
and anonymously, positive and negative data; the run passes with no server error and every
response matching its documented status, content type, headers and schema.

``make fuzz`` runs the long form (``python -m shared.tools.testing.fuzz``); the test suite a
short one (tests/integration/test_fuzz.py). Each run writes schemathesis's JSON report under
``var/fuzz/`` and prints how many requests it made.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from shared.tools.stack.layout import Layout
from shared.tools.testing.tokens import STAFF, unit_token

SERVICES = ("intake", "routing", "deadlines", "statistics")
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance")
# Admin is left out on purpose: with it, generated data would replace the routing rules and
# the calendar of the shared local stack. Staff and unit credentials reach every read and
# every refusal; a channel token's writes are covered by the integration tests.
CREDENTIALS: dict[str, str | None] = {"staff": STAFF, "unit": unit_token("jizhou_bureau"),
                                      "anonymous": None}


@dataclass(frozen=True)
class Outcome:
    service: str
    credential: str
    requests: int
    failures: int
    errors: int
    exit_code: int
    log: Path

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.failures and not self.errors


def run_one(layout: Layout, service: str, credential: str, *, max_examples: int,
            phases: str, seed: int | None, out: Path) -> Outcome:
    here = out / f"{service}-{credential}"
    here.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{layout.service_port(service)}/openapi.json"
    cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", url,
           "--checks", ",".join(CHECKS), "--mode", "all", "--phases", phases,
           "--max-examples", str(max_examples), "--workers", "1",
           "--report", "json", "--report-dir", str(here), "--warnings", "off"]
    token = CREDENTIALS[credential]
    if token:
        cmd += ["--header", f"Authorization: Bearer {token}"]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    log = here / "run.log"
    with log.open("w") as sink:
        done = subprocess.run(cmd, stdout=sink, stderr=subprocess.STDOUT, check=False)
    reports = sorted(here.glob("*.json"))
    report = json.loads(reports[-1].read_text()) if reports else {}
    cases = report.get("test_cases", {})
    return Outcome(service, credential, int(cases.get("generated", 0)),
                   len(report.get("failures", [])), len(report.get("errors", [])),
                   done.returncode, log)


def run_all(layout: Layout, *, max_examples: int, phases: str = "examples,coverage,fuzzing",
            seed: int | None = None) -> list[Outcome]:
    out = layout.root / "var" / "fuzz"
    return [run_one(layout, s, c, max_examples=max_examples, phases=phases, seed=seed, out=out)
            for s in SERVICES for c in CREDENTIALS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=200)
    parser.add_argument("--phases", default="examples,coverage,fuzzing")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    outcomes = run_all(Layout(), max_examples=args.max_examples, phases=args.phases,
                       seed=args.seed)
    for o in outcomes:
        print(f"{o.service:<11} {o.credential:<10} {o.requests:>6} requests  "
              f"{o.failures} failures  {o.errors} errors  {'ok' if o.passed else o.log}")
    total = sum(o.requests for o in outcomes)
    print(f"total: {total} requests, {sum(o.failures for o in outcomes)} failures")
    sys.exit(0 if all(o.passed for o in outcomes) else 1)


if __name__ == "__main__":
    main()
