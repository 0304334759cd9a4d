"""Every message kind built from the real plan at worst-case sizes (shared by unit and contract tests)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from messages import intents
from messages.postback import encode
from models.plan_format import PLAN_YAML, load_plan_file

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)


def real_plan() -> dict:
    """The bundled plan (data/plan/plan.yaml)."""
    return load_plan_file(PLAN_YAML)[0]


def kpi_lines(plan, fiscal_year=2026, section=None, with_values=True) -> tuple[intents.KpiLine, ...]:
    """KPI lines of the real plan (every second one with a last value at 80% of target)."""
    lines = []
    for measure in plan["measures"]:
        for initiative in measure["initiatives"]:
            if section and section not in initiative["sections"]:
                continue
            for year in initiative["years"]:
                if year["fiscal_year"] != fiscal_year:
                    continue
                for n, kpi in enumerate(year["kpis"]):
                    last = kpi["target"] * Decimal("0.8") if with_values and n % 2 == 0 else None
                    lines.append(
                        intents.KpiLine(
                            key=str(len(lines) + 1),
                            series_id=kpi["id"],
                            name=kpi["name"],
                            initiative_title=initiative["title"],
                            unit=kpi["unit"],
                            target=kpi["target"],
                            fiscal_year=fiscal_year,
                            kind=kpi["kind"],
                            better=kpi["better"],
                            last_value=last,
                            last_reported_at=NOW if last is not None else None,
                            achievement=Decimal(80) if last is not None else None,
                            due=date(2026, 12, 8),
                        )
                    )
    return tuple(lines)


def sections_of(plan) -> list[str]:
    """Every section name the plan lists."""
    return sorted({s for m in plan["measures"] for i in m["initiatives"] for s in i["sections"]})


def worst_case_samples(plan) -> dict[str, object]:
    """One intent of every kind, each as large as the real plan makes it."""
    kpis = kpi_lines(plan, section="デジタル情報課")
    every_kpi = kpi_lines(plan)
    long_item = intents.ActionLine(
        no=449, id=449, text="運用の評価、見直し" * 20, status="完了", initiative_title="x" * 40
    )
    items = tuple(
        intents.ActionLine(no=n, id=n, text=text, status="未着手", initiative_title=initiative["title"])
        for n, (initiative, text) in enumerate(
            (
                (i, t)
                for m in plan["measures"]
                for i in m["initiatives"]
                for y in i["years"]
                for t in y["actions"]
            ),
            start=1,
        )
    )
    rate = intents.RoundRate(2026, "final", True, 1234, 1500, 23456, 34567, 82, 68, 1234.5)
    participation = intents.ParticipationLine(
        current=rate, previous=rate, grades=(("S", 1234), ("A", 2345), ("B", 3456), ("C", 4567), ("−", 5678))
    )
    digest_sections = tuple(
        intents.DigestSection(
            section=s,
            reported=1,
            expected=3,
            overdue=tuple(
                intents.OverdueItem(section=s, what=f"KPI {k.name}", days_late=99) for k in every_kpi[:8]
            ),
            at_risk=every_kpi[:8],
            participation=participation,
        )
        for s in sections_of(plan)
    )
    choices = tuple(
        intents.Choice(
            label=f"{k.initiative_title}:{k.name}",
            data=encode("pick", f"{n}@{n}", "12345.5"),
            display_text=k.name,
        )
        for n, k in enumerate(every_kpi[:20], start=1)
    )
    initiatives = tuple(
        intents.InitiativePlan(
            id=i["id"],
            title=i["title"],
            actions=tuple(y["actions"]),
            kpis=kpi_lines(plan, section=i["sections"][0])[:2],
        )
        for m in plan["measures"]
        for i in m["initiatives"]
        for y in i["years"]
        if y["fiscal_year"] == 2026
    )
    return {
        "kickoff": intents.Kickoff(section="デジタル情報課", fiscal_year=2026, initiatives=initiatives),
        "kpi_request": intents.KpiRequest(
            section="デジタル情報課", fiscal_year=2026, due=date(2026, 12, 8), kpis=every_kpi
        ),
        "final_actuals": intents.KpiRequest(
            section="デジタル情報課", fiscal_year=2025, due=date(2026, 5, 31), kpis=kpis, final_actuals=True
        ),
        "nudge": intents.Nudge(
            section="デジタル情報課",
            fiscal_year=2026,
            due=date(2026, 11, 10),
            days_late=14,
            missing=every_kpi,
        ),
        "confirmation": intents.Confirmation(
            kpi=every_kpi[0],
            value=Decimal("12345.5"),
            report_id=10**9,
            section="人権啓発推進課 三山木福祉会館",
            reported_at=NOW,
        ),
        "voided": intents.Voided(kpi=every_kpi[0], value=Decimal(8), replacement=Decimal(9)),
        "question": intents.Question(reason="which_kpi", text="55%" * 100, choices=choices),
        "number_prompt": intents.NumberPrompt(kpi=every_kpi[0]),
        "action_list": intents.ActionList(
            section="デジタル情報課", fiscal_year=2026, items=items, years=(2023, 2024, 2025, 2026)
        ),
        "action_updated": intents.ActionUpdated(item=long_item, previous_status="未着手"),
        "digest": intents.Digest(
            title_scope="市全体",
            fiscal_year=2026,
            as_of=date(2026, 11, 24),
            sections=digest_sections,
            dashboard_url="https://dx.example.jp/dashboard",
            participation=participation,
        ),
        "admin_result": intents.AdminResult(
            title="members", lines=tuple(f"U{n:032x} 山田 太郎 国保医療課" for n in range(400))
        ),
        "help": intents.Help(role="admin", examples=tuple(f"{k.name} 41{k.unit}" for k in kpis)),
        "status": intents.KpiStatus(
            section="デジタル情報課",
            fiscal_year=2026,
            kpis=every_kpi,
            delayed_actions=tuple(i.text for i in items[:50]),
        ),
        "dashboard_link": intents.DashboardLink(
            url="https://dx.example.jp/dashboard/login/" + "x" * 43,
            expires_at=datetime(2026, 11, 24, 10, 10, tzinfo=ZoneInfo("Asia/Tokyo")),
        ),
        "admin_page": intents.AdminPage(
            title="取組み 8-9 " + "工事成果品・委託成果品のデータ化及び保存場所の統一化" * 3,
            # more than a page: the builder's guard counts what does not fit
            lines=tuple(f"・[{i.status}] {i.text}（{i.initiative_title}）" for i in items),
            choices=tuple(
                intents.Choice(
                    label=f"{i['id']} {i['title']}",
                    data=encode("page", n, f"取組 {i['title'][:100]}"),
                    display_text=f"取組 {i['id']}",
                )
                for n, i in enumerate((i for m in plan["measures"] for i in m["initiatives"]), start=1)
            )[:13],
            page=2,
            pages=99,
        ),
        "notice": intents.Notice(
            "registered", {"name": "山田 太郎", "section": "人権啓発推進課 三山木福祉会館", "role": "admin"}
        ),
    }
