"""Prometheus alert rules, config and dashboard queries, checked by promtool.

promtool is not a project dependency: these tests are skipped when it is not on PATH
(Debian/Ubuntu: ``apt-get install prometheus`` ships it; CI installs it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "xinfang.json"
PROMTOOL = shutil.which("promtool")

pytestmark = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not on PATH (apt-get install prometheus provides it; CI installs it)",
)


def promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> str:
    assert PROMTOOL is not None
    result = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True,
                            timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def test_alert_rules_are_valid() -> None:
    promtool("check", "rules", "alerts.yml")


def test_alert_rules_unit_tests_pass() -> None:
    promtool("test", "rules", "alerts_test.yml")


def test_prometheus_config_is_valid() -> None:
    # Also loads the rule files it lists (relative to prometheus.yml).
    promtool("check", "config", "prometheus.yml")


def test_every_alert_has_a_firing_and_a_quiet_test() -> None:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text(encoding="utf-8"))
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tests = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text(encoding="utf-8"))
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in tests["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alerts, "no alerts found"
    assert alerts <= firing, f"no firing test for {sorted(alerts - firing)}"
    assert alerts <= quiet, f"no not-firing test for {sorted(alerts - quiet)}"


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs
    # promtool parses PromQL only inside rule files: wrap each query in a recording rule.
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"xinfang_dashboard:query{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    promtool("check", "rules", str(path), cwd=tmp_path)


def test_local_prometheus_config_scrapes_every_metrics_listener_on_loopback(tmp_path: Path) -> None:
    from shared.tools.stack.layout import SERVICE_PORTS, Layout
    from shared.tools.stack.prometheus import local_config

    config = local_config(Layout())
    targets = {group["labels"]["service"]: group["targets"]
               for job in config["scrape_configs"] for group in job["static_configs"]}
    assert targets == {s: [f"127.0.0.1:{Layout().metrics_port(s)}"] for s in SERVICE_PORTS}
    assert [Path(f) for f in config["rule_files"]] == [PROMETHEUS_DIR.resolve() / "alerts.yml"]
    # The generated file is one Prometheus itself accepts (rules included).
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    promtool("check", "config", str(path), cwd=tmp_path)
