"""Read the execution plan's seed document (the city's text export) into the plan's YAML form."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from models.plan_errors import PlanFormatError

REIWA_OFFSET = 2018  # 令和N年度 = fiscal year 2018 + N
UNITS = ("か所", "箇所", "ヶ所", "%", "人", "件", "回", "校", "課", "枚")
UNIT_CANONICAL = {"箇所": "か所", "ヶ所": "か所"}
GROUP_RE = re.compile(r"^(?:(?P<dept>.+?部)の)?全所属$|^関係所属$")

_LI_RE = re.compile(r"<li[^>]*>(.*?)</li>", re.S | re.I)
_TAG_RE = re.compile(r"<[^>]+>")
_BULLET_SPLIT_RE = re.compile(r"(?:^|\s+)・")
_YEAR_ROW_RE = re.compile(r"^令和(?P<n>[0-9０-９]+|元)年度$")
_KPI_VALUE_RE = re.compile(
    r"^(?P<num>\d[\d,]*(?:\.\d+)?)\s*(?P<unit>" + "|".join(map(re.escape, UNITS)) + r")(?P<rest>.*)$"
)
_NOTE_RE = re.compile(r"\(([^()]*)\)")


@dataclass
class SeedResult:
    """The plan as YAML-ready data, and what the importer noticed along the way."""

    plan: dict
    warnings: list[str] = field(default_factory=list)


TITLE_RE = re.compile(r"^#\s*「(?P<name>[^」]+)」\s*実行計画")


def _title(lines: list[str]) -> str:
    """The plan's name from the document's heading 「# 「○○市 DX 推進計画」 実行計画とは」; else a plain one."""
    for line in lines:
        if (found := TITLE_RE.match(line.strip())) is not None:
            return re.sub(r"\s+", "", found.group("name")) + " 実行計画"
    return "実行計画"


def parse_seed(text: str, source: str = "seed") -> SeedResult:
    """Parse the whole seed document: the contents table, then every 施策/取組み block."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    warnings: list[str] = []
    contents = _parse_contents(lines)
    blocks = _split_blocks(lines)
    if not blocks:
        raise PlanFormatError(f"{source}: no 施策/取組み blocks found (is this the execution plan's text?)")

    measures: list[dict] = []
    by_no: dict[int, dict] = {}
    for start, block in blocks:
        initiative, measure_no, measure_title = _parse_block(block, start)
        measure = by_no.get(measure_no)
        if measure is None:
            if measures and measure_no < measures[-1]["no"]:
                raise PlanFormatError(
                    f"line {start}: measure ({measure_no}) appears after ({measures[-1]['no']})"
                )
            measure = {"no": measure_no, "title": measure_title, "initiatives": []}
            by_no[measure_no] = measure
            measures.append(measure)
        elif measure["title"] != measure_title:
            warnings.append(
                f"line {start}: measure ({measure_no}) is titled {measure_title!r} here but "
                f"{measure['title']!r} earlier; the first page's title is kept"
            )
        initiative["id"] = f"{measure_no}-{len(measure['initiatives']) + 1}"
        measure["initiatives"].append(initiative)

    for measure in measures:
        _assign_kpi_series(measure, warnings)
    warnings.extend(_compare_with_contents(contents, measures))
    plan = {
        "title": _title(lines),
        "fiscal_years": _fiscal_years(measures),
        "measures": measures,
    }
    return SeedResult(plan=plan, warnings=warnings)


# --- document structure -------------------------------------------------------------------------


def _fields(line: str) -> list[str]:
    return line.split("\t")


def _parse_contents(lines: list[str]) -> list[tuple[int, str, str]]:
    """Read the contents table (施策 / 取組み / ページ) as (measure no, measure title, initiative) rows."""
    rows: list[tuple[int, str, str]] = []
    current: tuple[int, str] | None = None
    for line in lines:
        if line.startswith("施策\t(") or line.startswith("施策\t（"):
            break  # the first page starts; the contents are over
        cells = _fields(line)
        if len(cells) != 3 or cells[0] == "施策" or not cells[2].strip().isdigit():
            continue
        head = cells[0].strip()
        if head:
            match = re.match(r"^[(（](\d+)[)）]\s*(.+)$", head)
            if not match:
                continue
            current = (int(match.group(1)), match.group(2).strip())
        if current is not None:
            rows.append((current[0], current[1], cells[1].strip()))
    return rows


def _split_blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Cut the document into one block per initiative page (from 施策 to the next 施策 or heading)."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    start = 0
    for number, line in enumerate(lines, start=1):
        is_start = line.startswith("施策\t") and not line.startswith("施策\t取組み")
        if is_start:
            if current is not None:
                blocks.append((start, current))
            current, start = [line], number
        elif current is not None:
            if line.startswith("#"):
                blocks.append((start, current))
                current = None
            else:
                current.append(line)
    if current is not None:
        blocks.append((start, current))
    return blocks


def _parse_block(block: list[str], start: int) -> tuple[dict, int, str]:
    """Parse one initiative page: its measure, title, summary, departments, sections and yearly rows."""
    keyed: dict[str, str] = {}
    rows: list[tuple[int, list[str]]] = []
    header_seen = False
    for offset, line in enumerate(block):
        number = start + offset
        if not line.strip():
            continue
        cells = _fields(line)
        key = re.sub(r"\s+", "", cells[0])
        if key == "年度":
            header_seen = True
            continue
        year_match = _YEAR_ROW_RE.match(key)
        if year_match:
            if not header_seen:
                raise PlanFormatError(f"line {number}: a year row before the 年度/行動計画/KPI header")
            rows.append((number, cells))
            continue
        if len(cells) < 2:
            raise PlanFormatError(f"line {number}: expected 'key<TAB>value', got {line[:40]!r}")
        if key in keyed:
            raise PlanFormatError(f"line {number}: {key} appears twice in one initiative page")
        keyed[key] = "\t".join(cells[1:]).strip()

    for required in ("施策", "取組み", "概要", "担当部局", "担当課・室"):
        if required not in keyed:
            raise PlanFormatError(f"line {start}: the initiative page has no {required} line")
    measure_match = re.match(r"^[(（]\s*(\d+)\s*[)）]\s*(.+)$", keyed["施策"])
    if not measure_match:
        raise PlanFormatError(f"line {start}: 施策 should look like '(1) 行政手続きのオンライン化'")
    if not rows:
        raise PlanFormatError(f"line {start}: {keyed['取組み']!r} has no 令和N年度 rows")

    years: list[dict[str, Any]] = []
    for number, cells in rows:
        fiscal_year = _fiscal_year_of_row(cells[0], number)
        if any(y["fiscal_year"] == fiscal_year for y in years):
            raise PlanFormatError(f"line {number}: {cells[0].strip()} appears twice")
        actions_cell = cells[1] if len(cells) > 1 else ""
        kpi_cell = cells[2] if len(cells) > 2 else ""
        years.append(
            {
                "fiscal_year": fiscal_year,
                "actions": split_items(actions_cell),
                "kpis": [parse_kpi(item, number) for item in split_items(kpi_cell)],
            }
        )
    sections = split_sections(keyed["担当課・室"])
    initiative = {
        "id": None,
        "title": clean_text(keyed["取組み"]),
        "summary": clean_summary(keyed["概要"]),
        "departments": [d for d in (clean_text(x) for x in keyed["担当部局"].split("、")) if d],
        "sections": sections,
        "lead_section": sections[0] if sections else None,
        "years": years,
    }
    return initiative, int(measure_match.group(1)), clean_text(measure_match.group(2))


def _fiscal_year_of_row(cell: str, number: int) -> int:
    key = unicodedata.normalize("NFKC", re.sub(r"\s+", "", cell))
    match = _YEAR_ROW_RE.match(key)
    if not match:
        raise PlanFormatError(f"line {number}: {cell!r} is not a 令和N年度 row")
    n = 1 if match.group("n") == "元" else int(match.group("n"))
    return REIWA_OFFSET + n


def _fiscal_years(measures: list[dict]) -> list[int]:
    return sorted({y["fiscal_year"] for m in measures for i in m["initiatives"] for y in i["years"]})


# --- cells ----------------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Strip tags, decode HTML entities (Q &amp; A) and collapse runs of white space."""
    text = html.unescape(_TAG_RE.sub(" ", text))
    return re.sub(r"\s+", " ", text).strip()


def clean_summary(text: str) -> str:
    """Turn a summary's <p> paragraphs into lines; keep plain text as it is."""
    paragraphs = re.findall(r"<p[^>]*>(.*?)</p>", text, re.S | re.I)
    if paragraphs:
        return "\n".join(p for p in (clean_text(x) for x in paragraphs) if p)
    return clean_text(text)


def split_items(cell: str) -> list[str]:
    """Split an action or KPI cell into items: <li> elements, or ・ bullets, or the whole cell.

    A ・ starts a new item only at the start of the cell or after white space, so 幼稚園・保育所
    stays one name; a ・ leading an <li> is its bullet, not a second item.
    """
    cell = cell.strip()
    if not cell:
        return []
    if _LI_RE.search(cell):
        raw_items = _LI_RE.findall(cell)
    else:
        raw_items = _BULLET_SPLIT_RE.split(html.unescape(_TAG_RE.sub(" ", cell)))
    items = []
    for raw in raw_items:
        item = clean_text(raw)
        item = re.sub(r"^・\s*", "", item)
        if item:
            items.append(item)
    return items


def split_sections(cell: str) -> list[str]:
    """Split 担当課・室 on 、; a ・ splits only before a group (デジタル情報課・建設部の全所属)."""
    names: list[str] = []
    for part in clean_text(cell).split("、"):
        part = part.strip()
        cut = next(
            (i for i, ch in enumerate(part) if ch == "・" and GROUP_RE.match(part[i + 1 :].strip())),
            None,
        )
        if cut is not None:
            names.extend([part[:cut].strip(), part[cut + 1 :].strip()])
        elif part:
            names.append(part)
    return [n for n in names if n]


def group_of(label: str) -> tuple[str, str | None] | None:
    """Classify a group placeholder: ('all', None), ('department', '建設部'), ('related', None)."""
    match = GROUP_RE.match(label)
    if not match:
        return None
    if label == "関係所属":
        return ("related", None)
    if match.group("dept"):
        return ("department", match.group("dept"))
    return ("all", None)


def parse_kpi(item: str, line: int | None = None) -> dict:
    """Parse '名前： 値単位 (注記)' into the KPI's fields; raise PlanFormatError when it cannot."""
    where = f"line {line}: " if line else ""
    parts = re.split(r"\s*[:：]\s*", item, maxsplit=1)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise PlanFormatError(f"{where}KPI {item!r} should look like '名前： 値単位'")
    name, value_text = parts[0].strip(), parts[1].strip()
    value = unicodedata.normalize("NFKC", value_text)
    match = _KPI_VALUE_RE.match(value)
    if not match:
        raise PlanFormatError(f"{where}KPI {item!r}: cannot read the target value {value_text!r}")
    target = Decimal(match.group("num").replace(",", ""))
    unit = UNIT_CANONICAL.get(match.group("unit"), match.group("unit"))
    rest = match.group("rest").strip()

    kind = "level"
    if rest.startswith("増"):
        kind, rest = "increase", rest[1:].strip()
    elif rest.startswith("削減"):
        kind, rest = "reduction", rest[2:].strip()
    elif "削減" in name:
        kind = "reduction"

    period = None
    per = re.match(r"^/\s*(年|月|件)", rest)
    if per:
        # "/件" (1人削減/件) is per case, not a period; the raw text keeps it.
        period = {"年": "year", "月": "month"}.get(per.group(1))
        rest = rest[per.end() :].strip()
    elif name.startswith("年間"):
        period = "year"

    notes = _NOTE_RE.findall(rest)
    leftover = _NOTE_RE.sub("", rest).strip()
    if leftover:
        raise PlanFormatError(f"{where}KPI {item!r}: unexpected {leftover!r} after the value")
    return {
        "id": None,
        "name": name,
        "target": target,
        "unit": unit,
        "period": period,
        "kind": kind,
        "better": "higher",
        "note": " ".join(n.strip() for n in notes) or None,
        "raw": item,
    }


# --- KPI series -----------------------------------------------------------------------------------


def _base_name(name: str) -> str:
    """A KPI name without its parenthesised qualifiers, for matching renamed series."""
    norm = unicodedata.normalize("NFKC", name)
    return re.sub(r"\([^()]*\)", "", norm).strip()


def _assign_kpi_series(measure: dict, warnings: list[str]) -> None:
    """Give each KPI a stable series id (8-1/a) that follows it across years, renames included.

    A KPI joins an earlier series with the same name; else one with the same name bar its
    parentheses; else the single series of the same unit not yet seen this year (a rename like
    電子決裁の総務部内実施率 → 庁内実施率); else it starts a new series.
    """
    for initiative in measure["initiatives"]:
        series: list[dict] = []  # {"id", "name", "base", "unit", "targets": [(fy, target, kpi)]}
        for year in initiative["years"]:
            for kpi, chosen in _match_year(year["kpis"], series):
                if chosen is None:
                    chosen = {"id": f"{initiative['id']}/{chr(ord('a') + len(series))}", "targets": []}
                    series.append(chosen)
                elif chosen["name"] != kpi["name"]:
                    warnings.append(
                        f"{initiative['id']}: KPI {chosen['name']!r} is called {kpi['name']!r} in "
                        f"FY{year['fiscal_year']}; kept as one series {chosen['id']}"
                    )
                chosen.update(name=kpi["name"], base=_base_name(kpi["name"]), unit=kpi["unit"])
                chosen["targets"].append((year["fiscal_year"], kpi["target"], kpi))
                kpi["id"] = chosen["id"]
        for entry in series:
            targets = [t for _, t, _ in entry["targets"]]
            never_rising = all(b <= a for a, b in zip(targets, targets[1:], strict=False))
            if len(targets) > 1 and never_rising and targets[-1] < targets[0]:
                if entry["targets"][0][2]["kind"] != "level":
                    continue
                for _, _, kpi in entry["targets"]:
                    kpi["better"] = "lower"
                warnings.append(
                    f"{entry['id']}: targets of {entry['name']!r} fall year by year "
                    f"({' → '.join(str(t) for t in targets)}); taken as lower-is-better"
                )


def _match_year(kpis: list[dict], series: list[dict]) -> list[tuple[dict, dict | None]]:
    """Pair one year's KPIs with earlier series: same name, then same base name, then a lone rename."""
    chosen: dict[int, dict] = {}
    tests = (
        lambda s, k: s["name"] == k["name"],
        lambda s, k: s["base"] == _base_name(k["name"]) and s["unit"] == k["unit"],
    )
    for test in tests:
        for index, kpi in enumerate(kpis):
            if index in chosen:
                continue
            free = [s for s in series if s not in chosen.values()]
            hits = [s for s in free if test(s, kpi)]
            if len(hits) == 1:
                chosen[index] = hits[0]
    for index, kpi in enumerate(kpis):
        if index in chosen:
            continue
        free = [s for s in series if s not in chosen.values() and s["unit"] == kpi["unit"]]
        rivals = [k for i, k in enumerate(kpis) if i not in chosen and k["unit"] == kpi["unit"]]
        if len(free) == 1 and len(rivals) == 1:
            chosen[index] = free[0]
    return [(kpi, chosen.get(index)) for index, kpi in enumerate(kpis)]


# --- contents table -------------------------------------------------------------------------------


def _compare_with_contents(contents: list[tuple[int, str, str]], measures: list[dict]) -> list[str]:
    """List each difference between the contents table and the pages (the pages win)."""
    warnings: list[str] = []
    if not contents:
        return ["the document has no contents table to check the pages against"]
    titles = {no: title for no, title, _ in contents}
    for measure in measures:
        listed = titles.get(measure["no"])
        if listed is None:
            warnings.append(
                f"measure ({measure['no']}) {measure['title']} is missing from the contents table"
            )
        elif listed != measure["title"]:
            warnings.append(
                f"measure ({measure['no']}): the contents table says {listed!r}, its page says "
                f"{measure['title']!r}; the page wins"
            )
    pages = [(m["no"], i["title"], i["id"]) for m in measures for i in m["initiatives"]]
    for (c_no, _, c_title), (p_no, p_title, p_id) in zip(contents, pages, strict=False):
        if c_no != p_no:
            warnings.append(
                f"{p_id}: listed under measure ({c_no}) in the contents table, found under ({p_no})"
            )
        elif c_title != p_title:
            warnings.append(
                f"{p_id}: the contents table says {c_title!r}, its page says {p_title!r}; the page wins"
            )
    if len(contents) != len(pages):
        warnings.append(f"the contents table lists {len(contents)} initiatives, the pages have {len(pages)}")
    return warnings
