"""Environment variables are read in one place, models/config.py: every other module gets the value passed
in from the Config a process built once (issue 24). Exceptions: bot/gunicorn_conf.py (gunicorn loads it before
any app exists) and the environment handed to pg_dump; a WSGI `environ` dict is a request, not the
environment, and is not `os.environ`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ("bot", "scheduler", "models", "messages", "migrations")
CONFIG_MODULE = "models/config.py"
# (file, function) pairs allowed to read the environment, with the reason.
EXCEPTIONS = {
    ("bot/cli/backup.py", "pg_environment"): "the environment handed to pg_dump/pg_restore",
    **{
        ("bot/gunicorn_conf.py", function): "gunicorn's settings, loaded before any app or Config exists"
        for function in ("<module>", "_int", "on_starting", "on_exit")
    },
}


def environment_reads(path: Path) -> list[tuple[str, int]]:
    """(enclosing function, line) of every os.environ / os.getenv / os.environb / `from os import environ`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, int]] = []
    names = {"os"} | {  # `import os as _os` (bot/gunicorn_conf.py) reads the environment all the same
        alias.asname
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "os" and alias.asname
    }

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if (
                isinstance(child, ast.Attribute)
                and isinstance(child.value, ast.Name)
                and child.value.id in names
                and child.attr in ("environ", "environb", "getenv", "putenv", "unsetenv")
            ) or (
                isinstance(child, ast.ImportFrom)
                and child.module == "os"
                and any(alias.name in ("environ", "environb", "getenv") for alias in child.names)
            ):
                found.append((function, child.lineno))
            visit(child, name)

    visit(tree, "<module>")
    return found


def offending_reads() -> dict[tuple[str, str], list[int]]:
    reads: dict[tuple[str, str], list[int]] = {}
    for folder in CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative == CONFIG_MODULE:
                continue
            for function, line in environment_reads(path):
                reads.setdefault((relative, function), []).append(line)
    return reads


def test_the_environment_is_read_only_in_the_config_module():
    reads = offending_reads()
    unexpected = {
        f"{path}:{lines[0]} ({function})"
        for (path, function), lines in reads.items()
        if (path, function) not in EXCEPTIONS
    }
    assert not unexpected, (
        "read the environment in models/config.py (a Config field, validated there) and pass the value in: "
        + ", ".join(sorted(unexpected))
    )


def test_the_check_sees_a_read(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom os import getenv\n\ndef f(environ):\n"
        "    return environ.get('PATH_INFO'), os.environ.get('X'), getenv('Y')\n",
        encoding="utf-8",
    )
    assert environment_reads(sample) == [("<module>", 2), ("f", 5)]


def test_the_check_sees_a_read_through_an_alias(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os as _os\n\nPORT = _os.environ.get('PORT')\n", encoding="utf-8")
    assert environment_reads(sample) == [("<module>", 3)]
