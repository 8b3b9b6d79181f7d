"""The shape of the code, checked over every module: ``pipeline`` is plain Python with no
Celery in it, nothing imports in a circle, no module grows past what a reader takes in at once,
and every error says whether it is worth a retry."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("pipeline", "workers", "bench")
# Tests are modules a reader takes in too; only their length is checked.
LENGTH_CHECKED = (*PACKAGES, "tests")
LONGEST = 400


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue  # Alembic's scripts are loaded by Alembic, not imported
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = {name: path for package in PACKAGES for name, path in _modules(package).items()}
EVERY_MODULE = {
    name: path for package in LENGTH_CHECKED for name, path in _modules(package).items()
}


def _imported(name: str, path: Path, *, top_level_only: bool) -> set[str]:
    """The project modules ``name`` imports; with ``top_level_only``, only those imported when
    the module itself is (not inside a function, not under ``TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from a import b" imports a, and a.b too when b is a module
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(target for target in targets if target in MODULES or _external(target))
    return found


def _external(target: str) -> bool:
    return target.split(".")[0] in {"celery", "kombu", "billiard", "workers"}


def test_pipeline_never_imports_celery_or_workers_anywhere() -> None:
    """Not at import time and not inside a function either: a static look at every module."""
    offenders = {
        name: sorted(
            target
            for target in _imported(name, path, top_level_only=False)
            if target.split(".")[0] in {"celery", "kombu", "billiard", "workers"}
        )
        for name, path in MODULES.items()
        if name.split(".")[0] == "pipeline"
    }
    assert not {name: found for name, found in offenders.items() if found}


def test_importing_every_pipeline_module_loads_no_celery() -> None:
    names = sorted(name for name in MODULES if name.split(".")[0] == "pipeline")
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'celery', 'kombu', 'workers'})\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_no_import_cycle() -> None:
    graph = {
        name: {
            target
            for target in _imported(name, path, top_level_only=True)
            if target in MODULES and target != name
        }
        for name, path in MODULES.items()
    }
    # A package's __init__ is imported with each of its modules; an edge to it is not a cycle
    # by itself, so only module-to-module edges are followed.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_no_module_is_longer_than_a_reader_takes_in() -> None:
    longer = {
        str(path.relative_to(ROOT)): lines
        for path in EVERY_MODULE.values()
        if (lines := path.read_text().count("\n")) > LONGEST
    }
    assert not longer, f"modules over {LONGEST} lines: {longer}"


def _error_classes() -> list[type]:
    from pipeline import errors

    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.NewsflowError)
    ]


def test_every_error_is_either_transient_or_permanent() -> None:
    from pipeline import errors

    classes = _error_classes()
    assert set(errors.__all__) == {cls.__name__ for cls in classes}
    for cls in classes:
        if cls in (errors.NewsflowError, errors.TransientError, errors.PermanentError):
            continue
        assert issubclass(cls, errors.TransientError) != issubclass(cls, errors.PermanentError), cls


def test_every_error_survives_celerys_json_round_trip() -> None:
    from celery.backends.base import Backend

    from pipeline.settings import Settings
    from workers.app import create_app

    backend = Backend(create_app(Settings()), serializer="json")
    for cls in _error_classes():
        error = cls("what went wrong")
        back = backend.exception_to_python(backend.prepare_exception(error, "json"))
        assert type(back) is cls and str(back) == "what went wrong", cls
