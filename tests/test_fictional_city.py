"""Another city's plan runs a year end to end: a fictional city's FY2027–2029 plan (tests/data/fictional_city)
imported into a fresh database, its members registered, kickoff → KPI request → a reply → digest → export
through the real jobs, webhook and CLI, and nothing the bot says or writes names 京田辺 or FY2023–2026."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlmodel import Session, select

from messages.senders import RecordingSender
from models.db import session_factory
from models.plan_format import SECTIONS_YAML, parse_sections_yaml
from models.tables import Section
from scheduler import jobs
from tests.app_services import swap_services

TOKYO = ZoneInfo("Asia/Tokyo")
PLAN_DIR = Path(__file__).parent / "data" / "fictional_city"
SECTIONS = {"市民窓口課", "情報政策課", "生涯学習課"}

ADMIN = "U" + "e1" * 16  # 情報政策課, runs the plan
MANAGER = "U" + "e2" * 16  # 市民窓口課
STAFF = "U" + "e3" * 16  # 市民窓口課, registers with an invite code over LINE
LIBRARY = "U" + "e4" * 16  # 生涯学習課
STRANGER = "U" + "e5" * 16  # adds the bot as a friend without a code
EARLY = "2027-03-15 10:00"  # the plan is imported and people are registered before FY2027 starts

# Labels of the bundled plan's years (令和5–8年度, FY2023–2026) in any form the bot writes a year.
OLD_YEARS = re.compile(
    r"令和\s*[5-8](?![0-9])|(?<![A-Za-z0-9])(?:R[5-8](?![0-9])|FY\s*202[3-6])"
    r"|202[3-6]\s*年度|202[3-6]\s*(?:[–〜~]|-\s*20\d\d\b)"
)
NEW_YEARS = ("令和9年度", "R9年度")


def jst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


# The bundled city's sections and departments (data/plan/sections.yaml) less the fictional city's own (教育部):
# a message naming one sends another city's staff to a section they do not have.
BUNDLED = sorted(
    {name for row in parse_sections_yaml(SECTIONS_YAML.read_text(encoding="utf-8")) for name in row.values()}
    - {
        name
        for row in parse_sections_yaml((PLAN_DIR / "sections.yaml").read_text(encoding="utf-8"))
        for name in row.values()
    }
)


def traces(text: str, sections: bool = False) -> list[str]:
    """What in TEXT belongs to Kyotanabe's plan: the city's name or a label of its years (and its SECTIONS)."""
    text = re.sub(r"https?://[^\s\"]+", "", text)  # a login link's random token may hold R5 by chance
    found = re.findall("京田辺", text) + OLD_YEARS.findall(text)
    return found + [name for name in BUNDLED if name in text] if sections else found


def workbook_text(path: Path) -> str:
    """Every cell of every sheet, sheet names included."""
    book = openpyxl.load_workbook(path)
    cells = [book.sheetnames]
    for sheet in book.worksheets:
        cells += [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None]
    return "\n".join(map(str, cells))


class MovingClock:
    """One clock for the jobs, the webhook's app and the sender, moved from step to step."""

    tz = TOKYO

    def __init__(self):
        self.moment = jst("2027-03-15 10:00")

    def now(self) -> datetime:
        return self.moment


class World:
    """The fictional city's bot: the CLI, the jobs on the clock, the webhook, one recording sender."""

    def __init__(self, db, dxbot, line, app, clock: MovingClock):
        self.db, self.dxbot, self.line, self.app, self.clock = db, dxbot, line, app, clock
        self.factory = session_factory(db)
        self.sender = line.sender
        self.outputs: list[str] = []  # what the CLI printed

    def at(self, moment: str) -> MovingClock:
        self.clock.moment = jst(moment)
        return self.clock

    def cli(self, *args: str, when: str) -> str:
        result = self.dxbot(*args, env={"DXBOT_NOW": jst(when).isoformat()})
        assert result.exit_code == 0, result.output
        self.outputs.append(result.output)
        return result.output

    def job(self, name: str, when: str) -> None:
        """Run job NAME at WHEN, then deliver what it queued (as the every-minute deliver job would)."""
        jobs.JOBS[name](self.factory, self.at(when))
        jobs.deliver(self.factory, self.at(when[:-2] + "59"), sender=self.sender)

    def say(self, user: str, text: str, when: str) -> str:
        """Send TEXT over the signed webhook as USER; return the texts the bot answered."""
        self.at(when)
        before = len(self.sender.sent)
        response = self.line.post(self.line.body(self.line.text(user, text)))
        assert response.status_code == 200
        return "\n".join(t for request in self.sender.sent[before:] for t in request.texts())

    def follow(self, user: str, when: str) -> None:
        """USER adds the bot as a friend."""
        self.at(when)
        assert self.line.post(self.line.body(self.line.event("follow", user))).status_code == 200

    def dashboard(self, user: str, when: str) -> dict[str, str]:
        """USER asks for a dashboard link in the chat, signs in with it and reads every page: {path: HTML}."""
        link = re.search(
            r"https?://[^\s\"]+/dashboard/login/[^\s\"]+", self.say(user, "ダッシュボード", when)
        )
        client = self.line.client
        path = "/" + link.group(0).split("/", 3)[3]
        assert client.post(path).status_code == 302
        with Session(self.db) as s:
            section_ids = s.exec(select(Section.id)).all()
        paths = ["/dashboard/", "/dashboard/overdue", "/dashboard/audit", "/dashboard/initiative/1-1"]
        paths += [f"/dashboard/section/{i}" for i in section_ids] + ["/dashboard/chart/1-1/a.svg"]
        pages = {}
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            pages[path] = response.get_data(as_text=True)
        return pages

    def pushed(self, user: str) -> str:
        return "\n".join(t for request in self.sender.to(user) for t in request.texts())


@pytest.fixture
def world(db, dxbot, app, client, config):
    from tests.bot.conftest import Line

    clock = MovingClock()
    sender = RecordingSender(clock=clock)
    swap_services(app, sender=sender, clock=clock)
    return World(db, dxbot, Line(client, config.effective_channel_secret, clock, sender), app, clock)


def test_a_fictional_citys_year_runs_without_a_trace_of_kyotanabe(world, tmp_path):
    imported = world.cli("plan", "import", str(PLAN_DIR / "plan.yaml"), when=EARLY)
    assert "new plan edition 1: FY2027–FY2029" in imported
    assert "3 initiatives" in imported and "9 KPI targets" in imported
    with Session(world.db) as s:
        assert set(s.exec(select(Section.name)).all()) == SECTIONS  # the plan's sections, not the bundled 87

    for user, name, section, role in (
        (ADMIN, "青木", "情報政策課", "admin"),
        (MANAGER, "井上", "市民窓口課", "manager"),
        (LIBRARY, "上田", "生涯学習課", "staff"),
    ):
        world.cli("member", "add", user, "--name", name, "--section", section, "--role", role, when=EARLY)
    invite = ("invite", "create", "--section", "市民窓口課", "--role", "staff", "--json")
    code = json.loads(world.cli(*invite, when=EARLY))["code"]
    world.follow(STRANGER, "2027-03-16 09:00")
    world.say(STRANGER, "こんにちは", "2027-03-16 09:10")
    assert "登録しました" in world.say(STAFF, f"登録 {code}", "2027-03-16 09:30")

    world.job("kickoff", "2027-04-01 09:00")
    kickoff = world.pushed(STAFF)
    assert "オンライン受付率" in kickoff and "令和9年度" in kickoff

    world.job("kpi-request", "2027-07-01 09:00")
    asked = {user: world.pushed(user) for user in (STAFF, ADMIN, LIBRARY)}
    assert all("令和9年度 (2027年度)のKPIの数値を2027年7月15日(木)までに" in text for text in asked.values())
    recorded = world.say(STAFF, "オンライン受付率は12%になりました", "2027-07-05 12:00")
    assert "記録しました：オンライン受付率 12%" in recorded and "R9年度" in recorded

    answers = {}
    for user, text in (
        (STAFF, "状況"),
        (STAFF, "今年度の行動計画"),
        (STAFF, "ヘルプ"),
        (MANAGER, "課 市民窓口課"),
        (ADMIN, "未報告"),
        (ADMIN, "取組 1-1"),
        (STAFF, "未報告"),  # refusals name who to ask: never the bundled city's section
        (STAFF, "ダッシュボード"),
        (MANAGER, "課 生涯学習課"),
        (MANAGER, "招待 市民窓口課 staff"),
        (STAFF, "令和百年度の行動計画"),
        (ADMIN, "課 窓口"),  # no such section: the example is a section of this city
    ):
        answers[text] = world.say(user, text, "2027-07-09 10:00")
    assert "令和9年度 (2027年度)の行動計画" in answers["今年度の行動計画"]
    assert (
        "年度「令和百年度」を読み取れませんでした。令和9年度 や 2027 のように"
        in answers["令和百年度の行動計画"]
    )
    assert "計画の管理者にお問い合わせください" in answers["課 生涯学習課"]
    assert "・市民窓口課" in answers["課 窓口"] and "例：「課 情報政策課」" in answers["課 窓口"]

    world.job("weekly-digest", "2027-07-12 08:30")
    assert "週間ダイジェスト 市民窓口課" in world.pushed(MANAGER)
    assert "週間ダイジェスト 市全体" in world.pushed(ADMIN)

    world.job("nudge", "2027-07-20 10:00")  # 生涯学習課 never answered Q1
    assert "生涯学習課のR9年度のKPIがまだ1件未報告です" in world.pushed(LIBRARY)

    pages = world.dashboard(ADMIN, "2027-07-21 09:00")
    assert "令和9年度 (2027年度)" in pages["/dashboard/"] and "令和11年度 (2029年度)" in pages["/dashboard/"]

    out = tmp_path / "out"
    out.mkdir()
    when = "2027-07-21 10:00"
    world.cli("export", "--fiscal-year", "2027", "--output", str(out / "kpi.xlsx"), when=when)
    world.cli("export", "--format", "csv", "--output", str(out), when=when)
    world.cli("export", "--open-data", "--output", str(out / "open"), when=when)
    world.cli("plan", "export", "--output", str(out / "plan.yaml"), when=when)
    world.cli("plan", "export", "--format", "xlsx", "--output", str(out / "plan.xlsx"), when=when)
    world.cli("digest", "--section", "市民窓口課", "--json", when=when)
    world.cli("plan", "show", when=when)
    world.cli("export", "--template", "--output", str(out / "actuals.xlsx"), when="2028-04-10 10:00")
    world.job("final-actuals", "2028-04-12 09:00")  # FY2027's final figures, asked for in FY2028
    assert "KPIの確定値を2028年5月31日" in world.pushed(LIBRARY)

    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert {p.name for p in files} >= {"kpi.xlsx", "plan.yaml", "plan.xlsx", "actuals.xlsx"}
    kpi_sheet = openpyxl.load_workbook(out / "kpi.xlsx")["KPI達成状況"]
    rows = [r for r in kpi_sheet.iter_rows(min_row=2, values_only=True) if r[3] == "オンライン受付率"]
    assert {r[2] for r in rows} == {"市民窓口課", "情報政策課"}  # the shared KPI, one row per section

    sent = [json.dumps(request.messages, ensure_ascii=False) for request in world.sender.sent]
    written = [workbook_text(p) if p.suffix == ".xlsx" else p.read_text(encoding="utf-8-sig") for p in files]
    said = [
        *sent,
        *world.outputs,
        *pages.values(),
    ]  # what people read: no trace, nor a bundled section to ask
    found = {
        what[:80]: traces(what, what in said) for what in [*said, *written] if traces(what, what in said)
    }
    assert found == {}, "\n".join(f"{k!r}: {v}" for k, v in found.items())
    assert any(label in "\n".join(sent) for label in NEW_YEARS)
    assert "令和9年度" in workbook_text(out / "plan.xlsx") or "2027" in workbook_text(out / "plan.xlsx")


def test_a_hand_filled_template_of_the_fictional_city_imports(dxbot, tmp_path):
    """A planner fills `dxbot plan template` by hand (no sections file beside it): the plan and its sections load."""
    env = {"DXBOT_NOW": jst("2026-11-10 10:00").isoformat()}
    path = tmp_path / "midori.xlsx"
    made = dxbot(
        "plan",
        "template",
        "--output",
        str(path),
        "--years",
        "2027-2029",
        "--title",
        "みどり市DX推進計画",
        env=env,
    )
    assert made.exit_code == 0, made.output
    book = openpyxl.load_workbook(path)

    def fill(sheet: str, *rows: tuple) -> None:
        ws = book[sheet]
        headers = [c.value for c in ws[1]]
        for values in rows:
            first_empty = next(r for r in range(2, ws.max_row + 2) if ws.cell(r, 1).value in (None, ""))
            for header, value in values:
                ws.cell(first_empty, headers.index(header) + 1).value = value

    fill(
        "施策",
        (("番号", 1), ("施策名", "手続きのオンライン化")),
        (("番号", 2), ("施策名", "職員の働き方改革")),
    )
    fill(
        "取組み",
        (
            ("施策番号", 1),
            ("取組み番号", "1-1"),
            ("取組み名", "窓口手続きのオンライン化"),
            ("担当課・室", "市民窓口課、情報政策課"),
        ),
        (
            ("施策番号", 1),
            ("取組み番号", "1-2"),
            ("取組み名", "施設予約のオンライン化"),
            ("担当課・室", "生涯学習課"),
        ),
        (
            ("施策番号", 2),
            ("取組み番号", "2-1"),
            ("取組み名", "ペーパーレス会議の推進"),
            ("担当課・室", "情報政策課"),
        ),
    )
    fill(
        "行動計画",
        *[
            (("取組み番号", initiative), ("年度", year), ("行動計画", f"{initiative}の{year}年度の取組み"))
            for initiative in ("1-1", "1-2", "2-1")
            for year in (2027, 2028, 2029)
        ],
    )
    fill(
        "KPI",
        *[
            (
                ("取組み番号", "1-1"),
                ("年度", year),
                ("KPI名", "オンライン受付率"),
                ("目標", target),
                ("単位", "%"),
            )
            for year, target in ((2027, 15), (2028, 25), (2029, 35))
        ],
        (
            ("取組み番号", "1-2"),
            ("年度", 2027),
            ("KPI名", "オンライン予約件数"),
            ("目標", 300),
            ("単位", "件"),
        ),
        (
            ("取組み番号", "2-1"),
            ("年度", 2027),
            ("KPI名", "会議資料の印刷削減率"),
            ("目標", 10),
            ("単位", "%"),
            ("種類", "削減"),
        ),
    )
    filled = tmp_path / "filled" / "midori.xlsx"
    filled.parent.mkdir()
    book.save(filled)

    result = dxbot("plan", "import", str(filled), env=env)
    assert result.exit_code == 0, result.output
    assert "new plan edition 1: FY2027–FY2029" in result.output
    assert "2 measures, 3 initiatives, 9 action items, 5 KPI targets" in result.output
    shown = json.loads(dxbot("plan", "show", "--fiscal-year", "2027", "--json", env=env).output)
    assert shown["edition"]["title"] == "みどり市DX推進計画"
    sections = {s for m in shown["measures"] for i in m["initiatives"] for s in i["sections"]}
    assert sections == SECTIONS
    listing = dxbot("section", "list", env=env).output
    assert "市民窓口課" in listing and "国保医療課" not in listing
    assert not traces(result.output + json.dumps(shown, ensure_ascii=False))


def test_nothing_outside_data_names_kyotanabe():
    """The code (bot/, scheduler/, models/, messages/) serves any city: the bundled city lives in data/ only."""
    root = Path(__file__).resolve().parents[1]
    found = [
        f"{path.relative_to(root)}:{number}"
        for folder in ("bot", "scheduler", "models", "messages")
        for path in sorted((root / folder).rglob("*"))
        if path.is_file() and path.suffix not in (".mo", ".png", ".ttf", ".otf", ".woff2", ".pyc")
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if "京田辺" in line
    ]
    assert found == []


def test_the_demo_plays_the_fictional_citys_plan(dxbot):
    """`dxbot demo` on another city's plan (DXBOT_PLAN_FILE) gives its demo people that city's sections."""
    env = {"DXBOT_PLAN_FILE": str(PLAN_DIR / "plan.yaml"), "DXBOT_NOW": jst("2027-05-10 10:00").isoformat()}
    result = dxbot("demo", "--no-serve", env=env)
    assert result.exit_code == 0, result.output
    assert "demo members (4 added, 0 already there):" in result.output
    members = json.loads(dxbot("member", "list", "--json", env=env).output)["members"]
    assert {s for m in members for s in m["sections"]} <= SECTIONS
    assert {m["role"] for m in members} == {"staff", "manager", "admin"}
    assert not traces(result.output, sections=True)
