"""pb/gunicorn_conf.py as gunicorn itself reads it: defaults, PB_* overrides, and an access log free of secrets."""

import importlib
import multiprocessing
import sys
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

MODULE = "pb.gunicorn_conf"
VARIABLES = ("PB_BIND", "PB_WORKERS", "PB_WORKER_CLASS", "PB_THREADS", "PB_TIMEOUT", "PB_GRACEFUL_TIMEOUT",
             "PB_KEEPALIVE", "PB_MAX_REQUESTS", "PB_ACCESS_LOG", "PB_ERROR_LOG", "PB_LOG_LEVEL",
             "PB_FORWARDED_ALLOW_IPS")


def _load(monkeypatch, **environment) -> Config:
    """The settings gunicorn gets from `-c python:pb.gunicorn_conf` (the file reads the environment when loaded)."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop(MODULE, None)
    module = importlib.import_module(MODULE)
    config = Config()
    for name, value in vars(module).items():
        if name in config.settings:
            config.set(name, value)  # gunicorn validates each value as it is set
    sys.modules.pop(MODULE, None)
    return config


def test_the_defaults_suit_a_server_behind_a_reverse_proxy(monkeypatch):
    config = _load(monkeypatch)
    assert config.bind == ["127.0.0.1:8000"]
    assert config.workers == 2 * multiprocessing.cpu_count() + 1
    assert config.worker_class_str == "sync"
    assert config.timeout == 30 and config.graceful_timeout == 30
    assert config.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert config.preload_app is True
    assert config.accesslog == "-" and config.errorlog == "-"
    assert config.max_requests > 0 and 0 < config.max_requests_jitter < config.max_requests


def test_the_environment_overrides_every_setting(monkeypatch):
    config = _load(
        monkeypatch, PB_BIND="0.0.0.0:9000", PB_WORKERS="3", PB_WORKER_CLASS="gthread", PB_THREADS="4",
        PB_TIMEOUT="60", PB_GRACEFUL_TIMEOUT="10", PB_KEEPALIVE="2", PB_MAX_REQUESTS="0",
        PB_ACCESS_LOG="/var/log/pb/access.log", PB_ERROR_LOG="/var/log/pb/error.log", PB_LOG_LEVEL="warning",
        PB_FORWARDED_ALLOW_IPS="10.0.0.5,10.0.0.6",
    )
    assert config.bind == ["0.0.0.0:9000"]
    assert (config.workers, config.worker_class_str, config.threads) == (3, "gthread", 4)
    assert (config.timeout, config.graceful_timeout, config.keepalive) == (60, 10, 2)
    assert (config.max_requests, config.max_requests_jitter) == (0, 0)
    assert (config.accesslog, config.errorlog, config.loglevel) == ("/var/log/pb/access.log", "/var/log/pb/error.log",
                                                                     "warning")
    assert config.forwarded_allow_ips == ["10.0.0.5", "10.0.0.6"]


def test_the_access_log_can_be_turned_off(monkeypatch):
    assert _load(monkeypatch, PB_ACCESS_LOG="off").accesslog is None


@pytest.mark.parametrize("value", ["two", "-1", "2.5"])
def test_a_number_that_is_not_one_is_refused_with_its_name(monkeypatch, value):
    with pytest.raises(ValueError, match="PB_WORKERS"):
        _load(monkeypatch, PB_WORKERS=value)


def test_the_access_log_has_no_query_string_referrer_or_user_agent(monkeypatch):
    config = _load(monkeypatch)
    environ = {
        "REQUEST_METHOD": "GET", "RAW_URI": "/results/receipt?code=ABCD-EFGH-JKMN", "PATH_INFO": "/results/receipt",
        "QUERY_STRING": "code=ABCD-EFGH-JKMN", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": "https://pb.example/results?code=ABCD-EFGH-JKMN", "HTTP_USER_AGENT": "Browser/1.0",
    }
    response = SimpleNamespace(status="200 OK", sent=1234, headers=[])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    atoms = Logger(config).atoms(response, request, environ, SimpleNamespace(seconds=0, microseconds=12_000))
    line = config.access_log_format % atoms
    assert '"GET /results/receipt HTTP/1.1" 200 12ms' in line
    assert "ABCD" not in line and "code=" not in line and "Browser" not in line


def test_the_access_log_leaves_out_response_sizes(monkeypatch):
    """A ballot page's size grows with the projects ticked: logged beside address and time, it tells who chose how many."""
    config = _load(monkeypatch)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/cycles/1/vote/2", "PATH_INFO": "/cycles/1/vote/2",
               "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "192.0.2.7"}
    lines = set()
    for size in (5537, 5544, 5550):
        response = SimpleNamespace(status="200 OK", sent=size, headers=[("Content-Length", str(size))])
        atoms = Logger(config).atoms(response, SimpleNamespace(headers=[]), environ, SimpleNamespace(seconds=0, microseconds=0))
        lines.add(config.access_log_format % atoms)
    assert len(lines) == 1, lines
    assert not any(str(size) in next(iter(lines)) for size in (5537, 5544, 5550))
