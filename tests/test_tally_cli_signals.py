"""`pb-tally` killed during Add1 leaves no process behind.

`timeout`, a subprocess timeout and gunicorn's worker timeout end a count with SIGTERM or SIGKILL. Add1 once
forked a helper process that outlived pb-tally so, blocked for ever on a socket write. Each test starts pb-tally
on Budapest 2024 (Add1 raises the share 22,001 times there, a few seconds of counting) in a session of its own,
lets it count until its CPU time shows it is well past reading the file, records every process of its session,
kills it, and looks for any of them still there.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
# The shared pabulib folder sits beside the repository (as in tests/domain/tally/test_pabulib.py).
BUDAPEST = REPOSITORY / ".." / "shared" / "pabulib" / "Hungary_Budapest_2024.pb"
INTO_ADD1 = 1.0  # CPU seconds past what reading the file and a greedy count take: well inside Add1's scan
PATIENCE = 60.0  # seconds allowed for anything to happen (generous: nothing here should take more than a few)

pytestmark = pytest.mark.skipif(
    not BUDAPEST.is_file() or not Path("/proc/self/stat").is_file(),
    reason="needs ../shared/pabulib beside the repository, and /proc",
)


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rsplit(")", 1)[1].split()


def _cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _session(session: int) -> set[int]:
    """Every live (not zombie) process of the session: pb-tally's children and theirs, even once reparented."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None and fields[0] != "Z" and int(fields[3]) == session:
                found.add(int(entry))
    return found


def _tally(rule: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pb.tally_cli", str(BUDAPEST), "--rule", rule],
        cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _reading_cpu_seconds() -> float:
    """CPU time of a whole pb-tally greedy count of the file: starting, reading and setting up, and a quick rule."""
    process = _tally("greedy")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0
    return usage.ru_utime + usage.ru_stime


@pytest.mark.parametrize("kill", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killing_pb_tally_during_add1_leaves_no_process_behind(kill):
    into_add1 = _reading_cpu_seconds() + INTO_ADD1
    process = _tally("mes-add1")
    session = process.pid  # start_new_session: pb-tally leads a session (and process group) of its own
    try:
        deadline = time.monotonic() + PATIENCE
        while _cpu_seconds(process.pid) < into_add1:
            assert process.poll() is None, "pb-tally finished before it could be killed during Add1"
            assert time.monotonic() < deadline, "pb-tally did not get far enough into Add1"
            time.sleep(0.02)
        started = _session(session)
        assert process.pid in started
        process.send_signal(kill)
        assert process.wait(timeout=PATIENCE) == -kill
        # Anything of the session still there when pb-tally is gone is left behind; give it a moment to end.
        deadline = time.monotonic() + 5
        while (left := _session(session)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"processes left behind by pb-tally (started: {sorted(started)}): {sorted(left)}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if _session(session):
            os.killpg(session, signal.SIGKILL)  # never leave a failing test's processes running
