"""pb served for real by gunicorn on a free loopback port, on a test's own database (browser and concurrency tests)."""

import http.client
import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from pb.extensions import db

ROOT = pathlib.Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveServer:
    port: int
    log: pathlib.Path
    process: subprocess.Popen

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


@contextmanager
def live_server(
    app, folder: pathlib.Path, *, workers: int = 1, threads: int = 1, access_log: bool = False
) -> Iterator[LiveServer]:
    """Serve `app`'s database and settings under gunicorn until the block ends; fail the test if it cannot start.

    With `access_log`, gunicorn reads pb's production settings (pb/gunicorn_conf.py, access log format included)
    and writes the access log to `folder / "access.log"`.

    Logins come from 127.0.0.1 in bursts, so throttling is off, and the suite's cheap password hashing carries over;
    both are tested elsewhere. The test process lets go of its database connection while the server works.
    """
    environment = {
        **os.environ,
        "PB_DATABASE_URL": app.config["DATABASE_URL"],
        "PB_SECRET_KEY": app.config["SECRET_KEY"],
        "PB_SQLALCHEMY_ENGINE_OPTIONS": json.dumps(app.config["SQLALCHEMY_ENGINE_OPTIONS"]),
        "PB_RATELIMIT_ENABLED": "false",
        "PB_UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
        "PB_PASSWORD_HASH_COST": json.dumps(app.config["PASSWORD_HASH_COST"]),
    }
    port, log = free_port(), folder / "gunicorn.log"
    settings = ["-c", "python:pb.gunicorn_conf", "--access-logfile", str(folder / "access.log")] if access_log else []
    command = [sys.executable, "-m", "gunicorn", *settings, "--workers", str(workers), "--threads", str(threads),
               "--bind", f"127.0.0.1:{port}", "--error-logfile", str(log), "--timeout", "60", "app:app"]
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    served = LiveServer(port, log, process)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start: {served.log_text() or 'no log'}")
                time.sleep(0.1)
        db.session.remove()
        urllib.request.urlopen(served.base + "/", timeout=120).close()  # a worker's first answer is slow (imports)
        yield served
    finally:
        process.terminate()
        process.wait(timeout=30)
