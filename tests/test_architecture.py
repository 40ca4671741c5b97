"""The domain core stays free of web and ORM packages, and imports nothing of ours outside itself."""

import ast
import pathlib

import pytest

DOMAIN = pathlib.Path(__file__).resolve().parent.parent / "pb" / "domain"
FORBIDDEN = {"flask", "flask_login", "flask_wtf", "flask_sqlalchemy", "sqlalchemy", "werkzeug", "wtforms", "jinja2"}


def _imports(path: pathlib.Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


DOMAIN_FILES = sorted(DOMAIN.rglob("*.py"))


def test_the_domain_has_modules_to_check():
    assert len(DOMAIN_FILES) >= 5


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: str(p.relative_to(DOMAIN)))
def test_domain_module_imports_no_web_or_orm_package(path):
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{path.name} imports {name}"
        if top == "pb":
            assert name.startswith("pb.domain"), f"{path.name} imports {name} from outside the domain"


def test_the_check_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from flask import request\nimport sqlalchemy.orm\n")
    assert [n.split(".")[0] for n in _imports(bad)] == ["flask", "sqlalchemy"]
