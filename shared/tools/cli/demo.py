"""``xf demo``: feed the running stack a handful of demo cases through the intake API."""

from __future__ import annotations

import random
import time
import uuid

import typer

from shared.tools.cli.http import ApiError, call
from shared.tools.cli.local import local_url
from shared.tools.testing.tokens import ADMIN, STAFF, channel_token

# One account per role on the local stack (development passwords: the README lists them).
DEMO_PASSWORD = "xinfang-demo-2026"
DEMO_ACCOUNTS = [
    ("demo.clerk", "赵登记", "clerk", None,
     ["letter", "visit", "phone", "report_box", "email", "self_initiated"]),
    ("demo.handler", "李承办", "handler", "jizhou_bureau", None),
    ("demo.head", "陈主任", "unit_head", "jizhou_bureau", None),
    # A leader's key cases are those routing's rules name them for: 郭文斌 leads 吉州区's.
    ("demo.leader", "郭文斌", "leader", None, None),
    ("demo.staff", "王信访", "staff", None, None),
    ("demo.admin", "孙管理", "admin", None, None),
]

# Where each role starts in the web console (the README's tour, by role).
FIRST_PAGE = {"clerk": "登记 /register", "handler": "待办 /queue", "unit_head": "待办 /queue",
              "leader": "包案件 /leader, 大屏", "staff": "信访科查询 /search, 大屏",
              "admin": "管理 /admin"}


def demo_accounts(console: str) -> None:
    """Create the demo accounts (an existing one is left as it is)."""
    for username, name, role, unit, channels in DEMO_ACCOUNTS:
        body = {"username": username, "display_name": name, "role": role,
                "password": DEMO_PASSWORD, **({"unit": unit} if unit else {}),
                **({"channels": channels} if channels else {})}
        try:
            call("POST", f"{console}/v1/accounts", token=ADMIN, body=body)
        except ApiError as exc:
            if exc.status != 409:
                typer.secho(f"demo account {username} refused: {exc}", fg="red", err=True)
                raise typer.Exit(1) from None

DEMO = [
    ("letter", "jizhou", "fees", "学校收取资料费", "某小学以资料费名义每生收取200元。"),
    ("visit", "jian", "teacher_pay", "乡村教师补贴未发放", "本校教师乡村补贴已拖欠三个月。"),
    ("hotline_12345", "city", "enrollment_exams", "入学登记咨询", "外地务工子女入学需要哪些材料？"),
    ("online", "taihe", "campus_safety", "校门口交通隐患",
     "上下学时段校门口车辆拥堵，存在安全隐患。"),
    ("mayor_mailbox", "jishui", "illegal_tutoring", "在职教师有偿补课",
     "某中学教师周末在家组织有偿补课。"),
    ("report_box", "yongfeng", "integrity", "校长收受礼品", "反映某校长在招生中收受家长礼品。"),
    ("phone", "anfu", "school_conditions", "宿舍漏水", "学生宿舍屋顶漏水，请求维修。"),
    ("email", "suichuan", "teacher_ethics", "教师体罚学生", "某班主任多次体罚学生。"),
    ("provincial_transfer", "wanan", "school_layout", "撤并村小", "村小撤并后学生上学路途过远。"),
    ("city_transfer", "yongxin", "staffing", "招聘程序不公", "反映教师招聘面试程序不透明。"),
    ("superior_assigned", "jinggangshan", "school_management", "办学许可", "某培训机构无证办学。"),
    ("self_initiated", "qingyuan", "other", "其他事项", "关于校园开放日的建议。"),
]


def demo(count: int = typer.Option(len(DEMO), help="How many demo cases to submit."),
         url: str = typer.Option(local_url("intake"), envvar="XF_INTAKE_URL"),
         console: str = typer.Option(local_url("console"), envvar="XF_CONSOLE_URL")) -> None:
    """Create one account per role, submit demo cases through the intake API and show where
    routing sent them."""
    demo_accounts(console)
    run = uuid.uuid4().hex[:6]
    created = []
    for i in range(count):
        channel, jurisdiction, category, title, content = DEMO[i % len(DEMO)]
        body = {"channel": channel, "external_id": f"demo-{run}-{i}",
                "jurisdiction": jurisdiction, "category": category, "title": title,
                "content": content, "signers": random.choice([1, 1, 1, 6]),
                "petitioner": {"name": "演示用户", "phone": "13800000000"}}
        try:
            _, result = call("POST", f"{url}/v1/cases", token=channel_token(channel),
                             body=body)
        except ApiError as exc:
            typer.secho(f"demo case {i} refused: {exc}", fg="red", err=True)
            raise typer.Exit(1) from None
        created.append(result)
        typer.echo(f"{result['tracking_no']}  {channel:<20} {title}  "
                   f"(query code {result['query_code']})")
    deadline = time.monotonic() + 15
    pending = {c["case_id"] for c in created}
    while pending and time.monotonic() < deadline:
        for case_id in list(pending):
            _, record = call("GET", f"{url}/v1/cases/{case_id}", token=STAFF)
            if record["assigned_unit"]:
                pending.discard(case_id)
        time.sleep(0.5)
    typer.echo(f"{len(created)} demo cases submitted; {len(created) - len(pending)} already "
               "assigned by routing.")
    typer.echo(f"\nconsole: {console}/  (web pages: sign in there; public tracking at "
               f"{console}/track; the CLI signs in with `xf login USERNAME`)")
    typer.echo(f"demo accounts, password {DEMO_PASSWORD!r} (local stack only):")
    for username, name, role, unit, channels in DEMO_ACCOUNTS:
        scope = unit or (", ".join(channels) if channels else "")
        typer.echo(f"  {username:<13} {name}  {role:<9} {FIRST_PAGE[role]:<22} {scope}")
    typer.echo("try: echo xinfang-demo-2026 | xf login demo.staff && xf case show <case_id>")
