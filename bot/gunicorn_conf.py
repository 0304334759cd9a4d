"""Gunicorn's settings for the web process (the Procfile's `web:` line loads this module: `-c python:bot.gunicorn_conf`).

Environment: PORT (8000), WEB_CONCURRENCY worker processes (2), GUNICORN_THREADS per worker (4),
GUNICORN_TIMEOUT seconds (30), GUNICORN_MAX_REQUESTS before a worker is recycled (20000),
DXBOT_LOG_FORMAT / DXBOT_LOG_LEVEL (JSON lines on stdout, INFO), and PROMETHEUS_MULTIPROC_DIR (a fresh temporary directory when unset: the workers' metrics are added up).

Workers never share a database connection: the app is built in each worker after the fork
(no preload), and each keeps its own small connection pools for its threads (the app's, and the
webhook's inbox writer's: bot/inbox/writer.py).
"""

import os as _os
import shutil as _shutil
import tempfile as _tempfile


def _int(name: str, default: int) -> int:
    value = _os.environ.get(name, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else default


bind = f"0.0.0.0:{_int('PORT', 8000)}"  # `gunicorn -b 127.0.0.1:8000 …` on the command line wins
workers = _int("WEB_CONCURRENCY", 2)
# Threads let a worker answer /healthz and other webhooks while one request waits on LINE's reply API.
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 30)  # a stuck request is killed (LINE redelivers the events)
graceful_timeout = 30  # SIGTERM: finish requests in flight (a platform restart gives ~30 s)
keepalive = 5
# Recycle a worker now and then (jitter: not all at once). A city's bot takes a few thousand webhooks a
# day, so this is every few days; a recycle re-imports the app (~1.5 s) and finishes the worker's event
# queue first (up to 10 s), which at the benchmark's load every few seconds would be most of the work.
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = max_requests // 10
preload_app = False
# gunicorn 27's control socket ($HOME/.gunicorn/gunicorn.ctl) is shared by every gunicorn of the user
# and unused here; older gunicorns ignore this setting.
control_socket_disable = True
# Request limits: LINE's requests are small; refuse absurd request lines and headers early.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# /dev/shm keeps worker heartbeats off a slow or read-only disk where it exists (containers).
worker_tmp_dir = "/dev/shm" if _os.path.isdir("/dev/shm") else None

# Logs: every line (gunicorn's own, the access log, the app's) through bot.logging_setup on stdout.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
from bot.logging_setup import logging_config as _logging_config  # noqa: E402

logconfig_dict = _logging_config(default_format="json", stream="ext://sys.stdout")

# Prometheus multiprocess mode: set before any worker imports prometheus_client (see bot/metrics.py).
if not _os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _os.environ["PROMETHEUS_MULTIPROC_DIR"] = _tempfile.mkdtemp(prefix="dxbot-prometheus-")
    _os.environ["DXBOT_METRICS_DIR_CREATED"] = _os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server):
    """Refuse to start without the web's secrets (one line, exit 1), then empty the metrics directory."""
    from models.config import Config, ConfigError

    try:
        Config.from_env().require_web()  # create_app checks again in each worker; this says it once, plainly
    except ConfigError as exc:
        on_exit(server)  # on_exit is not called when on_starting fails
        raise RuntimeError(str(exc)) from None  # gunicorn prints "Error: …" and exits 1
    # Files of an earlier run would be added to this one's metrics.
    directory = _os.environ["PROMETHEUS_MULTIPROC_DIR"]
    _os.makedirs(directory, exist_ok=True)
    for name in _os.listdir(directory):
        if name.endswith(".db"):
            _os.remove(_os.path.join(directory, name))


def child_exit(server, worker):
    """Let prometheus_client drop a dead worker's live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory this file created."""
    created = _os.environ.get("DXBOT_METRICS_DIR_CREATED")
    if created and created == _os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _shutil.rmtree(created, ignore_errors=True)
