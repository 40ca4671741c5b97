"""Reproducible installs: the committed locks pin every dependency within pyproject's ranges, and the README's
Quick start commands and .ci/run install from them."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"app": ROOT / "requirements" / "app.txt", "test": ROOT / "requirements" / "test.txt"}


def _pins(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """Each pinned package of a pip-compile lock: its version and its hashes."""
    pins: dict[str, tuple[str, list[str]]] = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", lock.read_text()):
        head = re.match(r"([A-Za-z0-9._-]+)==([^\s\\]+)", entry)
        if head:
            pins[canonicalize_name(head.group(1))] = (head.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", entry))
    return pins


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _quick_start_commands() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [command.strip() for command in re.findall(r"```\n\s*(python3 -m venv \.venv [^\n]*)", section)]


@pytest.mark.parametrize(("lock", "extras"), [("app", []), ("test", ["test"])])
def test_the_lock_pins_every_dependency_within_its_range_with_hashes(lock, extras):
    pins = _pins(LOCKS[lock])
    wanted = [Requirement(text) for text in _project()["dependencies"]]
    wanted += [Requirement(text) for extra in extras for text in _project()["optional-dependencies"][extra]]
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not pinned in {LOCKS[lock].name}"
        version, hashes = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), f"{name}=={version} is outside {requirement}"
    for name, (version, hashes) in pins.items():
        assert hashes, f"{name}=={version} has no hash in {LOCKS[lock].name}"


def test_the_test_lock_keeps_every_version_of_the_app_lock():
    app, test = _pins(LOCKS["app"]), _pins(LOCKS["test"])
    assert {name: app[name][0] for name in app} == {name: test[name][0] for name in app}


def test_the_lock_pins_the_build_backend_pb_is_installed_with():
    build_requirement = Requirement(tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"][0])
    for lock in LOCKS.values():
        assert build_requirement.specifier.contains(_pins(lock)[canonicalize_name(build_requirement.name)][0])


def test_the_quick_start_installs_only_from_the_locks():
    serve, test = _quick_start_commands()
    assert "--require-hashes -r requirements/app.txt" in serve and serve.endswith("flask --app app pb serve")
    assert "--require-hashes -r requirements/test.txt" in test and test.endswith("python -m pytest")
    for command in (serve, test):
        installs = re.findall(r"pip install ([^&]*)", command)
        assert all("--require-hashes" in words or "--no-deps" in words for words in installs), installs


def test_ci_runs_the_readme_test_command_as_written():
    assert _quick_start_commands()[1] in (ROOT / ".ci" / "run").read_text().splitlines()
