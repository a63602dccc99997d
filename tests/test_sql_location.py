"""SQL lives in alerts/store/ (and the schema's migrations): the rest of the app asks the
store, so a reader finds every statement, and every change to a table, in one place."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "alerts"
# The store, the schema's migrations, and the connection plumbing (BEGIN / COMMIT, pragmas).
ALLOWED = ("store/", "migrations.py", "db.py")
SQL_CALLS = {"execute", "executemany", "executescript"}


def _sql_calls(path: Path) -> list[str]:
    """Return ``file:line`` for each ``.execute(``-like call in a module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in SQL_CALLS
    ]


def test_sql_lives_only_in_the_store():
    modules = [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not path.relative_to(PACKAGE).as_posix().startswith(ALLOWED)
    ]
    assert len(modules) > 50  # the walk found the app
    assert [call for path in modules for call in _sql_calls(path)] == []
