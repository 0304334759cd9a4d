"""Staff roster import for 人事異動: the personnel system's CSV (職員番号, 氏名, 所属, 役割, 異動日) → moves and invites."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.invites import create_invite
from models.members import (
    current_sections,
    end_dashboard_sessions,
    schedule_move,
    set_staff_number,
    staff_member,
)
from models.plan_errors import closest
from models.rows import row_id
from models.sections import UnknownSectionError, find_section, normalise_name
from models.tables import ROLES, InviteCode, Member, Section, StaffNumber

COLUMNS = ("職員番号", "氏名", "所属", "役割")
OPTIONAL = ("異動日",)
ENCODINGS = ("utf-8-sig", "cp932")  # what a personnel system exports; tried in this order when not told


class RosterError(ValueError):
    """A roster that cannot be imported; every bad row is named and nothing is written."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class RosterRow:
    """One person as the roster lists them."""

    line: int
    staff_number: str
    name: str
    section: Section
    role: str
    effective: datetime | None  # 異動日 at 0:00 local time; None = now


@dataclass
class RosterDiff:
    """What an import changes (or, in a dry run, would change)."""

    adopted: list[str] = field(default_factory=list)  # registered members matched by name, numbered now
    moves: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    invites: list[dict] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    deactivated: bool = False
    unchanged: int = 0

    def lines(self) -> list[str]:
        """The whole diff, one heading per kind, for the admin to read before (or after) importing."""
        out: list[str] = []
        for title, items in (
            ("staff numbers given to registered members (matched by name)", self.adopted),
            ("moves", self.moves),
            ("name or role changes", self.changes),
            ("new people (invite codes)", [_invite_line(i) for i in self.invites]),
            ("invited before, not registered yet", self.pending),
        ):
            out.append(f"{title}: {len(items)}")
            out += [f"  {item}" for item in items]
        state = "deactivated" if self.deactivated else "kept (add --deactivate-missing to deactivate them)"
        out.append(f"not in the roster: {len(self.missing)}" + (f" — {state}" if self.missing else ""))
        out += [f"  {item}" for item in self.missing]
        out.append(f"unchanged: {self.unchanged}")
        return out


def _invite_line(invite: dict) -> str:
    code = invite.get("code") or "(code made on import)"
    return f"{invite['staff_number']} {invite['name']}: {invite['section']}, {invite['role']} — {code}"


def decode(data: bytes, encoding: str | None) -> str:
    """The roster's text: in ENCODING, or UTF-8 (with or without BOM) and then cp932 (Shift_JIS) when not given."""
    for candidate in (encoding,) if encoding else ENCODINGS:
        try:
            return data.decode("utf-8-sig" if candidate == "utf-8" else candidate)
        except UnicodeDecodeError:
            continue
    tried = encoding or " or ".join(ENCODINGS)
    raise RosterError([f"the file is not {tried} text; give --encoding cp932 or utf-8"])


def _clean(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _header_key(text: str) -> str:
    """A header as written (所属（課・室）, 役割 (staff/manager/admin)) → its column name."""
    cleaned = _clean(text).replace(" ", "")
    for name in COLUMNS + OPTIONAL:
        if cleaned.startswith(name):
            return name
    return cleaned


def _day(text: str, line: int, tz: ZoneInfo, problems: list[str]) -> datetime | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text.replace("/", "-").replace(".", "-"))
    except ValueError:
        try:
            parts = [int(p) for p in text.replace("/", "-").split("-")]
            day = date(*parts)
        except (TypeError, ValueError):
            problems.append(f"row {line}: 異動日 {text!r} is not a date like 2027-04-01")
            return None
    return datetime.combine(day, time(0, 0), tzinfo=tz)


def parse_roster(session: Session, text: str, tz: ZoneInfo) -> list[RosterRow]:
    """Read and check every row; RosterError lists every problem (unknown sections name the closest)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise RosterError(["the roster is empty"])
    keys = [_header_key(h) for h in header]
    missing = [c for c in COLUMNS if c not in keys]
    if missing:
        raise RosterError(
            [f"the header lacks {'、'.join(missing)} (columns: {', '.join(COLUMNS + OPTIONAL)})"]
        )
    rows: list[RosterRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        cell = {k: _clean(values[i]) if i < len(values) else "" for i, k in enumerate(keys)}
        number, name, role = cell["職員番号"], cell["氏名"], cell["役割"].lower()
        if not number:
            problems.append(f"row {line}: 職員番号 is empty")
        elif number in seen:
            problems.append(f"row {line}: 職員番号 {number} is already on row {seen[number]}")
        seen.setdefault(number, line)
        if not name:
            problems.append(f"row {line}: 氏名 is empty")
        if role not in ROLES:
            problems.append(f"row {line}: 役割 {cell['役割']!r}{closest(role, ROLES)}; use {'/'.join(ROLES)}")
        try:
            section = find_section(session, cell["所属"])
        except UnknownSectionError as exc:
            problems.append(f"row {line}: {exc}")
            section = None
        effective = _day(cell.get("異動日", ""), line, tz, problems)
        if section is not None and number and name and role in ROLES:
            rows.append(RosterRow(line, number, name, section, role, effective))
    if problems:
        raise RosterError(problems)
    return rows


def import_roster(
    session: Session,
    rows: list[RosterRow],
    *,
    now: datetime,
    valid_for: timedelta,
    deactivate_missing: bool = False,
) -> RosterDiff:
    """Apply the roster: move known staff numbers (on their 異動日), invite new people, list (and deactivate) the absent."""
    diff, tz = RosterDiff(), now.tzinfo
    unnumbered = _unnumbered_by_name(session)
    ambiguous = []
    for row in rows:
        member = staff_member(session, row.staff_number)
        if member is None:
            same_name = unnumbered.pop(normalise_name(row.name), [])
            if len(same_name) > 1:
                ambiguous.append(
                    f"row {row.line}: {len(same_name)} registered members are called {row.name}; give the right one "
                    f"its number first: dxbot member add LINE_ID --staff-number {row.staff_number} --update …"
                )
                continue
            if not same_name:
                _invite(session, row, diff, now, valid_for)
                continue
            member = same_name[0]
            set_staff_number(session, member, row.staff_number)
            diff.adopted.append(f"{row.staff_number} {row.name}")
        _update(session, member, row, diff, now, tz)
    if ambiguous:
        raise RosterError(ambiguous)
    listed = {row.staff_number for row in rows}
    for number, member in session.exec(
        select(StaffNumber.number, Member)
        .join(Member, col(Member.id) == StaffNumber.member_id)
        .where(col(Member.active).is_(True))
        .order_by(StaffNumber.number)
    ).all():
        if number in listed:
            continue
        names = "、".join(s.name for s in current_sections(session, member, now)) or "-"
        diff.missing.append(f"{number} {member.display_name} ({names})")
        if deactivate_missing:
            member.active, member.inactive_reason, member.updated_at = False, "removed", now
            end_dashboard_sessions(session, member)
    diff.deactivated = deactivate_missing
    session.flush()
    return diff


def _unnumbered_by_name(session: Session) -> dict[str, list[Member]]:
    """Active members registered without a 職員番号, by name: the first import gives them theirs."""
    found: dict[str, list[Member]] = {}
    numbered = select(StaffNumber.member_id)
    for member in session.exec(
        select(Member)
        .where(col(Member.active).is_(True), col(Member.id).not_in(numbered))
        .order_by(col(Member.id))
    ).all():
        found.setdefault(normalise_name(member.display_name), []).append(member)
    return found


def _update(session, member: Member, row: RosterRow, diff: RosterDiff, now: datetime, tz) -> None:
    when = row.effective or now
    before = current_sections(session, member, when)
    changed = False
    if [s.id for s in before] != [row.section.id]:
        label = f" from {when.astimezone(tz).date().isoformat()}" if row.effective else ""
        old = "、".join(s.name for s in before) or "-"
        diff.moves.append(f"{row.staff_number} {row.name}: {old} → {row.section.name}{label}")
        schedule_move(session, member, [row.section], effective=when)
        changed = True
    notes = []
    if member.display_name != row.name:
        notes.append(f"氏名 {member.display_name} → {row.name}")
        member.display_name = row.name
    if member.role != row.role:
        notes.append(f"役割 {member.role} → {row.role}")
        member.role = row.role
        end_dashboard_sessions(session, member)
    if not member.active and member.inactive_reason == "removed":
        notes.append("reactivated")
        member.active, member.inactive_reason = True, None
    if notes:
        diff.changes.append(f"{row.staff_number} {row.name}: {', '.join(notes)}")
    if changed or notes:
        member.updated_at = now
    else:
        diff.unchanged += 1


def _invite(session: Session, row: RosterRow, diff: RosterDiff, now: datetime, valid_for: timedelta) -> None:
    pending = session.exec(
        select(InviteCode).where(
            InviteCode.staff_number == row.staff_number,
            col(InviteCode.used_at).is_(None),
            InviteCode.expires_at > now,
        )
    ).first()
    if pending is not None:
        pending.section_id, pending.role, pending.display_name = row_id(row.section), row.role, row.name
        diff.pending.append(
            f"{row.staff_number} {row.name}: {pending.code} (valid until {pending.expires_at.date()})"
        )
        return
    invite = create_invite(
        session, section=row.section, role=row.role, now=now, valid_for=valid_for, created_by="roster"
    )
    invite.staff_number, invite.display_name = row.staff_number, row.name
    diff.invites.append(
        {
            "staff_number": row.staff_number,
            "name": row.name,
            "section": row.section.name,
            "role": row.role,
            "code": invite.code,
            "expires_at": invite.expires_at.astimezone(now.tzinfo).isoformat(),
        }
    )
