"""No traceback reaches the user: every command, run with a bad database URL, with no broker,
and with a file or an id that is not there, ends in a clear message and an exit status.

The commands come from the CLI itself, so a new command without a case here fails
:func:`test_every_command_has_a_case` rather than going unchecked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile

import pytest
import typer

from tests.conftest import ROOT, newsflow, wait_until
from workers import cli

# A run that would start a long-lived process (a worker, beat, Flower) is stopped after this
# many seconds, and what it printed until then is judged.
SERVICE_SECONDS = 8.0
# The longest a long-lived process gets to print what a test waits for (a loaded machine can
# take its time to import Celery and load the language models).
SERVICE_DEADLINE = 90.0

# Arguments that make each command do its work (and so touch the database, the broker or a
# file), without asking anything of the network beyond 127.0.0.1.
ARGUMENTS: dict[str, list[str]] = {
    "ingest": ["http://127.0.0.1:9/story.html"],
    "extract": ["README.md"],
    "articles": [],
    "article": ["1"],
    "search": ["election"],
    "export": ["--format", "jsonl"],
    "worker": ["--concurrency", "1"],
    "status": [],
    "beat": [],
    "flower": ["--port", "0"],
    "reconcile": [],
    "reprocess": [],
    "db upgrade": [],
    "db current": [],
    "bench extract": ["--corpus", "no-such-corpus"],
    "failures list": [],
    "failures retry": [],
    "sources add": ["http://127.0.0.1:9/feed.xml"],
    "sources import": ["README.md"],
    "sources list": [],
    "sources health": [],
    "sources pause": ["1"],
    "sources resume": ["1"],
    "sources remove": ["1"],
    "sources poll": ["--all"],
}
SERVICES = {"worker", "beat", "flower"}
# Port 9 on loopback: nothing listens there, and the refusal is immediate.
NO_BROKER = "redis://127.0.0.1:9/0"
# Measures the extractor on files: no database, no broker, no settings.
READS_NO_SETTINGS = {"bench extract"}

# The same commands given something that is not there: a file, a folder, an id.
MISSING: dict[str, list[str]] = {
    "ingest": ["/no/such/page.html"],
    "extract": ["/no/such/page.html"],
    "article": ["987654"],
    "export": ["--format", "jsonl", "--out", "/no/such/folder/articles.jsonl"],
    "bench extract": ["/no/such/corpus"],
    "failures retry": ["--id", "987654"],
    "sources import": ["/no/such/list.opml"],
    "sources health": ["987654"],
    "sources pause": ["987654"],
    "sources resume": ["987654"],
    "sources remove": ["987654"],
    "sources poll": ["987654"],
    "search": ["election", "--source", "987654"],
}


def leaf_commands() -> set[str]:
    """Every runnable command, as "group command" or "command"."""
    root = typer.main.get_command(cli.app)
    found: set[str] = set()

    def walk(command: object, path: tuple[str, ...]) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, (*path, name))
        else:
            found.add(" ".join(path))

    walk(root, ())
    return found


def test_every_command_has_a_case() -> None:
    assert leaf_commands() == set(ARGUMENTS)


def run(
    command: str, arguments: list[str], env: dict[str, str], *, until: str | None = None
) -> tuple[int | None, str]:
    """Exit status and output (stderr, then stdout) of ``newsflow command arguments``, with
    COLUMNS=80. A long-lived process (a worker, beat, Flower) is stopped once its output
    holds ``until`` (or it has run SERVICE_SECONDS, when nothing is awaited)."""
    words = [*command.split(), *arguments]
    if command not in SERVICES:
        done = newsflow(*words, env={**env, "COLUMNS": "80"}, timeout=120)
        return done.returncode, done.stderr + done.stdout
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "workers.cli", *words],
            cwd=ROOT,
            env={**os.environ, **env, "COLUMNS": "80"},
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

        def said() -> str:
            output.seek(0)
            return output.read()

        def settled() -> bool:
            return process.poll() is not None or (until is not None and until in said())

        try:
            wait_until(settled, timeout=SERVICE_SECONDS if until is None else SERVICE_DEADLINE)
        except TimeoutError:
            pass  # judged on what it printed until now
        finally:
            _stop(process)
        return process.returncode, said()


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.parametrize(
    "url", ["notaurl", "postgres://user:secret@127.0.0.1/news", "mysql://127.0.0.1/news"]
)
@pytest.mark.parametrize("command", sorted(ARGUMENTS))
def test_a_bad_database_url_is_one_line_for_every_command(
    command: str, url: str, env: dict[str, str]
) -> None:
    status, stderr = run(command, ARGUMENTS[command], {"NEWSFLOW_DATABASE_URL": url})
    assert "Traceback" not in stderr
    if command in READS_NO_SETTINGS:
        return
    assert status == 2, stderr
    assert stderr.startswith("error: bad setting: NEWSFLOW_DATABASE_URL"), stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "secret" not in stderr


@pytest.mark.parametrize("command", sorted(ARGUMENTS))
def test_no_broker_gives_no_traceback(command: str, env: dict[str, str]) -> None:
    status, output = run(
        command,
        ARGUMENTS[command],
        {"NEWSFLOW_BROKER_URL": NO_BROKER},
        until="cannot reach the broker" if command in SERVICES else None,
    )
    assert "Traceback" not in output, output
    if command in {"ingest", "status", "reconcile"} | SERVICES:
        # These need the broker whatever the database holds: they say so, and which one.
        assert "127.0.0.1:9" in output, output
    if command in {"ingest", "status", "reconcile"}:
        assert status == 1, output


@pytest.mark.parametrize("command", sorted(MISSING))
def test_something_missing_is_named(command: str, env: dict[str, str]) -> None:
    arguments = MISSING[command]
    status, output = run(command, arguments, {})
    assert "Traceback" not in output, output
    assert status != 0, output
    named = next(argument for argument in reversed(arguments) if not argument.startswith("-"))
    assert named in output, output
