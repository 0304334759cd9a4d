"""Webhook throughput: the bot's /callback vs a bare Flask app vs a signature-only app, same gunicorn.

Each app is served by gunicorn on 127.0.0.1 with the project's bot/gunicorn_conf.py (gthread, the same
workers and threads for all; --workers, default 2) and loaded by the same generator (wrk with
bench/wrk_signed.lua, or --generator python) in the same run, in rotating order, --rounds times.
The bot runs three ways: as deployed by default ("bot": /callback answers once the event is in the
inbox, each web worker's event thread handles it after), with DXBOT_WEBHOOK_HANDLING=worker
("bot-worker": /callback only stores; a `dxbot events` process, started beside gunicorn with its default
lower CPU priority, handles the events) and with DXBOT_WEBHOOK_HANDLING=inline ("bot-inline": the
answer waits for the handling). After every bot round the benchmark waits until the inbox has no unhandled event
and reports the end-to-end rate too: events handled ÷ (load time + the time the backlog took).
"bot-web-only" is worker mode with no `dxbot events` process: the web's own share of the work (store
and answer), for telling it apart from the handling's (`--apps bot-web-only,bot-worker,bare-flask`).
Each bot app has a scratch database of its own: one app's handlers never take another's events (a web
worker's sweep picks up any inbox row left unhandled for a minute, whichever app stored it).

The bot gets realistic bodies: one text event per request, a KPI reply (「オンライン申請率 18%」) from a
registered member of 国保医療課, a fresh webhookEventId each time (no dedup short-cut), so every request
parses the reply, writes the inbox row and the KPI report, builds the confirmation and sends it (to a
local mock LINE server with --sender line, the default; or the console sender's transcript).

    .venv/bin/python -m bench.webhook_throughput --database sqlite
    .venv/bin/python -m bench.webhook_throughput --database postgresql [--postgres-url URL]

Prints req/s (median of the rounds), p50/p99 latency, and the ratios to bare Flask; target: the bot
≥ 0.5 × bare Flask and p99 < 50 ms at 2 workers.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from bench.common import (
    DEFAULT_POSTGRES,
    NOW,
    ROOT,
    MockLine,
    line_id,
    load_plan,
    machine,
    median,
    percentile,
    scratch_database,
)
from models.db import make_engine

SECRET = "bench-channel-secret"
BOT_ID = "U" + "f0" * 16
SECTION = "国保医療課"
APPS = {
    "bot": "bot.app:create_app()",
    "bot-worker": "bot.app:create_app()",
    "bot-inline": "bot.app:create_app()",
    "bot-web-only": "bot.app:create_app()",
    "signature-only": "bench.apps:signature_app()",
    "bare-flask": "bench.apps:bare_app()",
}
APP_ENV = {
    "bot": {"DXBOT_WEBHOOK_HANDLING": "background"},
    "bot-worker": {"DXBOT_WEBHOOK_HANDLING": "worker"},
    "bot-inline": {"DXBOT_WEBHOOK_HANDLING": "inline"},
    "bot-web-only": {"DXBOT_WEBHOOK_HANDLING": "worker"},
}
UNHANDLED = {"bot-web-only"}  # nothing handles its events: no backlog to wait for, no reports written
LUA = ROOT / "bench" / "wrk_signed.lua"


@dataclass
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    wrapped: int = 0
    backlog_seconds: float = 0.0  # after the load: until every event was handled (bot apps)
    handled_during: int = 0  # events handled while the load ran (bot apps): the rest waited for the pause

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def handled_rate(self) -> float:
        """Events handled per second, end to end: the load's time plus the backlog's."""
        total = self.seconds + self.backlog_seconds
        return self.requests / total if total else 0.0


@dataclass
class Result:
    runs: list[Run] = field(default_factory=list)

    def rate(self) -> float:
        return median([r.rate for r in self.runs])

    def p50(self) -> float:
        return median([r.p50_ms for r in self.runs])

    def p99(self) -> float:
        return median([r.p99_ms for r in self.runs])

    def handled_rate(self) -> float:
        return median([r.handled_rate for r in self.runs])

    def backlog(self) -> float:
        return median([r.backlog_seconds for r in self.runs])


# --- the database and the bodies ------------------------------------------------------------------


def prepare(url: str, members: int) -> list[str]:
    """Load the plan and register MEMBERS staff of 国保医療課; their LINE ids."""
    from models.members import add_member
    from models.sections import find_section

    engine = make_engine(url)
    load_plan(engine)
    ids = [line_id(7, n) for n in range(members)]
    with Session(engine) as s:
        section = find_section(s, SECTION)
        for n, user in enumerate(ids):
            add_member(s, line_user_id=user, name=f"職員{n}", sections=[section], role="staff", now=NOW)
        s.commit()
    engine.dispose()
    return ids


class Bodies:
    """Signed webhook bodies with ids never used before (a counter across the whole run)."""

    def __init__(self, members: list[str]):
        self.members, self.serial = members, 0
        self.timestamp = int(NOW.timestamp() * 1000)

    def next(self) -> tuple[str, bytes]:
        self.serial += 1
        n = self.serial
        event = {
            "type": "message",
            "mode": "active",
            "timestamp": self.timestamp,
            "source": {"type": "user", "userId": self.members[n % len(self.members)]},
            "webhookEventId": f"01BENCH{n:019d}",
            "deliveryContext": {"isRedelivery": False},
            "replyToken": f"bench-reply-token-{n}",
            "message": {
                "id": str(10**12 + n),
                "type": "text",
                "quoteToken": "q",
                "text": f"オンライン申請率 {n % 40 + 10}%",
            },
        }
        body = json.dumps({"destination": BOT_ID, "events": [event]}, ensure_ascii=False).encode("utf-8")
        signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
        return signature, body

    def write(self, path: Path, count: int) -> Path:
        with path.open("wb") as out:
            for _ in range(count):
                signature, body = self.next()
                out.write(signature.encode() + b"\t" + body + b"\n")
        return path


# --- gunicorn -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, name: str, app: str, env: dict, args, log_dir: Path):
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{self.port}", "-w", str(args.workers)]
        if args.gunicorn_config:
            command += ["-c", str(args.gunicorn_config)]
        else:  # no project config: the same gthread settings, spelled out
            command += ["-k", "gthread", "--threads", str(args.threads), "--access-logfile", "-"]
        self.log = (log_dir / f"{name}.log").open("w")
        env = {**env, **APP_ENV.get(name, {})}
        self.process = subprocess.Popen(
            [*command, app], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.events = None
        if name == "bot-worker":  # the process that handles what /callback stores
            dxbot = Path(sys.executable).with_name("dxbot")
            self.events = subprocess.Popen(
                [str(dxbot), "events"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
            )
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn for {self.name} exited; see its log {self.log.name}")
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # 404 from the comparison apps: up
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn for {self.name} did not come up in {timeout} s")

    def stop(self) -> None:
        for process in (self.process, self.events):
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.log.close()


def notable_log_lines(path: Path) -> Counter[str]:
    """An app's JSON log lines that are warnings or worse, or that tell of an event handled twice or
    skipped (duplicate, swept elsewhere), counted by message: the run's trouble, in a line."""
    found: Counter[str] = Counter()
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return found
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        level = str(record.get("level", "")).upper()
        if level in {"WARNING", "ERROR", "CRITICAL"} or record.get("outcome") in {
            "duplicate",
            "swept elsewhere",
        }:
            found[str(record.get("message", "?"))[:100]] += 1
    return found


def handled_events(url: str) -> int:
    """Inbox rows handled so far."""
    from models.tables import InboxEvent

    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return s.exec(
                select(func.count()).select_from(InboxEvent).where(InboxEvent.handled_at.is_not(None))
            ).one()
    finally:
        engine.dispose()


def wait_for_backlog(url: str, timeout: float = 600) -> float:
    """Seconds until the inbox holds no unhandled event (the event threads' backlog is done)."""
    from models.tables import InboxEvent

    engine = make_engine(url)
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            with Session(engine) as s:
                left = s.exec(
                    select(func.count()).select_from(InboxEvent).where(InboxEvent.handled_at.is_(None))
                ).one()
            if not left:
                return time.monotonic() - started
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise SystemExit(f"the bot still had unhandled events after {timeout} s")


# --- load generators ------------------------------------------------------------------------------


def run_wrk(url: str, requests_file: Path, args) -> Run:
    threads = max(1, min(args.wrk_threads, args.connections))  # wrk needs a connection per thread
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        f"{url}/callback",
        "--",
        str(requests_file),
        str(threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.duration * 3 + 60)
    output = done.stdout
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr or output}")
    line = next((x for x in output.splitlines() if x.startswith("JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no figures:\n{output}")
    data = json.loads(line.removeprefix("JSON "))
    errors = sum(data[k] for k in ("non_2xx", "connect_errors", "read_errors", "write_errors", "timeouts"))
    return Run(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
        wrapped=data["wrapped"],
    )


def run_python(url: str, requests_file: Path, args) -> Run:
    """Keep-alive HTTP/1.1 clients in threads: a fallback where wrk is not installed (it costs more CPU)."""
    import http.client

    lines = requests_file.read_bytes().splitlines()
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + args.duration

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        mine: list[float] = []
        for line in lines[index :: args.connections]:
            if time.monotonic() >= deadline:
                break
            signature, body = line.split(b"\t", 1)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "X-Line-Signature": signature.decode(),
            }
            started = time.perf_counter()
            try:
                conn.request("POST", "/callback", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = 200 <= response.status < 300
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
            mine.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    return Run(
        requests=len(latencies),
        seconds=seconds,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        errors=errors[0],
    )


# --- the run --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--postgres-url", default=DEFAULT_POSTGRES, help="a server where a scratch database may be made"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads", type=int, default=4, help="gunicorn threads per worker (GUNICORN_THREADS)"
    )
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per app (the median is reported)")
    parser.add_argument("--members", type=int, default=50, help="registered members sending the replies")
    parser.add_argument("--sender", choices=["line", "console"], default="line")
    parser.add_argument(
        "--generator", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python"
    )
    parser.add_argument(
        "--gunicorn-config",
        type=Path,
        default=ROOT / "bot/gunicorn_conf.py" if (ROOT / "bot/gunicorn_conf.py").exists() else None,
        help="gunicorn settings for all three apps (default: the project's bot/gunicorn_conf.py)",
    )
    parser.add_argument(
        "--apps",
        default=",".join(a for a in APPS if a not in UNHANDLED),
        help="which apps, comma-separated (default: all but bot-web-only)",
    )
    args = parser.parse_args()
    generate = run_wrk if args.generator == "wrk" else run_python
    apps = [a for a in args.apps.split(",") if a]
    unknown = [a for a in apps if a not in APPS]
    if unknown:
        parser.error(f"unknown app(s) {', '.join(unknown)}; choose from {', '.join(APPS)}")

    print(f"machine: {machine()}")
    print(
        f"database {args.database}, {args.workers} workers × {args.threads} threads, gunicorn config {args.gunicorn_config or 'command line'}, "
        f"{args.generator} with {args.connections} connections, {args.duration} s × {args.rounds} rounds, sender {args.sender}"
    )
    work = Path(tempfile.mkdtemp(prefix="dxbot-bench-webhook-"))
    with contextlib.ExitStack() as databases:
        urls = {
            name: databases.enter_context(scratch_database(args.database, args.postgres_url))
            for name in apps
            if name.startswith("bot")
        }
        members = [prepare(url, args.members) for url in urls.values()][0] if urls else []
        bodies = Bodies(members or [line_id(7, n) for n in range(args.members)])
        mock = MockLine() if args.sender == "line" else None
        env = {
            **os.environ,
            "DXBOT_NOW": NOW.isoformat(),
            "LINE_CHANNEL_SECRET": SECRET,
            "DXBOT_SECRET_KEY": "bench-session-key",
            "DXBOT_SENDER": args.sender,
            "LINE_CHANNEL_ACCESS_TOKEN": "bench-token" if mock else "",
            "WEB_CONCURRENCY": str(args.workers),
            "GUNICORN_THREADS": str(args.threads),
            "DXBOT_LOG_LEVEL": os.environ.get("DXBOT_LOG_LEVEL", "INFO"),
        }
        if mock:
            env["LINE_API_BASE_URL"] = mock.url
        servers = {}
        try:
            for name in apps:
                app_env = {**env, "DXBOT_DATABASE_URL": urls[name]} if name in urls else env
                servers[name] = Gunicorn(name, APPS[name], app_env, args, work)
            # Warm up (imports, connection pools) and size the bodies file from the bot's own rate.
            shared = bodies.write(work / "shared.txt", 20000)
            warm = {}
            for name, server in servers.items():
                bot = name.startswith("bot")
                file = bodies.write(work / f"warm-{name}.txt", 20000) if bot else shared
                warm[name] = generate(server.url, file, _short(args))
                if bot and name not in UNHANDLED:
                    wait_for_backlog(urls[name])
            bot_rate = max((w.rate for n, w in warm.items() if n.startswith("bot")), default=0)
            per_run = max(5000, int(bot_rate * args.duration * 2.5))
            results = {name: Result() for name in apps}
            for round_no in range(args.rounds):
                order = apps[round_no % len(apps) :] + apps[: round_no % len(apps)]
                for name in order:
                    bot = name.startswith("bot")
                    file = bodies.write(work / f"{name}-{round_no}.txt", per_run) if bot else shared
                    before = handled_events(urls[name]) if bot and name not in UNHANDLED else 0
                    run = generate(servers[name].url, file, args)
                    if bot and name not in UNHANDLED:
                        run.handled_during = handled_events(urls[name]) - before
                        run.backlog_seconds = wait_for_backlog(urls[name])
                    if bot and run.wrapped:
                        print(f"warning: the bot's bodies ran out in round {round_no + 1} (ids repeated)")
                    results[name].runs.append(run)
                    handled = (
                        f"  handled {run.handled_rate:6.0f}/s ({run.handled_during} during the load, "
                        f"backlog {run.backlog_seconds:.1f} s)"
                        if bot and name not in UNHANDLED
                        else ""
                    )
                    print(
                        f"  round {round_no + 1} {name:<15} {run.rate:8.0f} req/s  p50 {run.p50_ms:6.1f} ms  "
                        f"p99 {run.p99_ms:6.1f} ms  errors {run.errors}{handled}",
                        flush=True,
                    )
        finally:
            for server in servers.values():
                server.stop()
        stats = mock.stats() if mock else None
        if mock:
            mock.stop()
        from models.tables import InboxEvent, KpiReport

        reports = inbox = 0
        outcomes: Counter[str] = Counter()
        for url in urls.values():
            engine = make_engine(url)
            with Session(engine) as s:
                reports += s.exec(select(func.count()).select_from(KpiReport)).one()
                inbox += s.exec(select(func.count()).select_from(InboxEvent)).one()
                for outcome, count in s.exec(
                    select(InboxEvent.outcome, func.count()).group_by(InboxEvent.outcome)
                ):
                    outcomes[str(outcome)] += count
            engine.dispose()
        notable = {name: notable_log_lines(work / f"{name}.log") for name in servers}

    print()
    print(
        f"{'app':<15} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8} {'handled/s':>10} {'backlog s':>10}"
        "  rounds (req/s)"
    )
    bare = results["bare-flask"].rate() if "bare-flask" in results else None
    for name in apps:
        r = results[name]
        ratio = f"{r.rate() / bare:.2f}×" if bare else "-"
        rounds = ", ".join(f"{run.rate:.0f}" for run in r.runs)
        handled = (
            f"{r.handled_rate():10.0f} {r.backlog():10.1f}"
            if name.startswith("bot") and name not in UNHANDLED
            else f"{'':>10} {'':>10}"
        )
        print(f"{name:<15} {r.rate():8.0f} {r.p50():8.1f} {r.p99():8.1f} {ratio:>8} {handled}  {rounds}")
    bots = [n for n in apps if n.startswith("bot")]
    total_bot = sum(run.requests for n in bots for run in results[n].runs) + sum(
        warm[n].requests for n in bots
    )
    print()
    print(f"bot requests answered {total_bot}; KPI reports written {reports}; inbox rows {inbox}")
    print(f"inbox outcomes: {dict(outcomes.most_common())}")
    if stats:
        print(f"mock LINE calls: {stats['calls']}")
    for name, lines in notable.items():
        if lines:
            shown = "; ".join(f"{count} × {message}" for message, count in lines.most_common(8))
            print(f"{name} log: {shown}")
    for name in bots:
        if not bare:
            break
        ratio = results[name].rate() / bare
        p99 = results[name].p99()
        print(
            f"target {name} ≥ 0.5 × bare Flask: {ratio:.2f}× {'met' if ratio >= 0.5 else 'NOT met'}; "
            f"p99 < 50 ms: {p99:.1f} ms {'met' if p99 < 50 else 'NOT met'}"
        )
    shutil.rmtree(work, ignore_errors=True)


def _short(args):
    """The warm-up's settings: the same load for 3 seconds."""
    return argparse.Namespace(**{**vars(args), "duration": 3})


if __name__ == "__main__":
    main()
