"""gunicorn settings for serving pb in production: `gunicorn -c python:pb.gunicorn_conf app:app`.

Every value can be overridden from the environment (PB_BIND, PB_WORKERS, PB_WORKER_CLASS, PB_THREADS, PB_TIMEOUT,
PB_GRACEFUL_TIMEOUT, PB_KEEPALIVE, PB_MAX_REQUESTS, PB_ACCESS_LOG, PB_ERROR_LOG, PB_LOG_LEVEL,
PB_FORWARDED_ALLOW_IPS) or, as usual with gunicorn, from its command line, which wins over this file.
"""

import multiprocessing
import os


def _number(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise ValueError(f"{name} must be a whole number, not {text!r}")
    return int(text)


def _log_target(name: str, default: str | None) -> str | None:
    # An empty value or "off" turns the log off; "-" is standard output (journald, containers).
    text = os.environ.get(name)
    if text is None:
        return default
    return None if text.strip().lower() in ("", "off", "none") else text


bind = os.environ.get("PB_BIND") or "127.0.0.1:8000"  # loopback: a reverse proxy in front terminates TLS

# Each ballot request spends about as long waiting for the database as computing, so a few more processes than
# cores keep the CPUs busy; bench/load.py measured sync and gthread workers for this workload (see README).
workers = _number("PB_WORKERS", 2 * multiprocessing.cpu_count() + 1)
worker_class = os.environ.get("PB_WORKER_CLASS") or "sync"
threads = _number("PB_THREADS", 1)  # only used by gthread workers

# A worker silent for this long is killed and replaced: no ballot request needs more than a few seconds.
timeout = _number("PB_TIMEOUT", 30)
graceful_timeout = _number("PB_GRACEFUL_TIMEOUT", 30)
keepalive = _number("PB_KEEPALIVE", 5)  # seconds; the proxy in front may reuse connections (gthread only)

# Recycling workers now and then bounds any slow leak; the jitter keeps them from restarting all at once.
max_requests = _number("PB_MAX_REQUESTS", 10_000)
max_requests_jitter = max_requests // 10

# The app factory does no database work, so loading it once in the master is safe, lets workers share the code
# pages, and makes a replaced worker (after a crash or a kill) ready at once.
preload_app = True

# The heartbeat file lives in memory where the machine has it, so a slow disk cannot make workers look dead.
worker_tmp_dir = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None

# Only these proxies may say the original request was HTTPS (X-Forwarded-Proto); a comma-separated list.
forwarded_allow_ips = os.environ.get("PB_FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"

# The path without its query string, and no referrer, user agent or user: query strings and referrers can carry
# receipt codes, search terms and tokens, which have no place in a log file that many people can read. No response
# size either: a ballot page's size grows with the number of projects ticked, so sizes beside addresses and times
# would tell who chose how many.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(M)sms'
accesslog = _log_target("PB_ACCESS_LOG", "-")
errorlog = _log_target("PB_ERROR_LOG", "-") or "-"
loglevel = os.environ.get("PB_LOG_LEVEL") or "info"

proc_name = "pb"
