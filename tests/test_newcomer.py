"""A newcomer's first hour, scene by scene, as a user at an 80-column terminal meets it.

Each test runs the real ``newsflow`` as a subprocess with ``COLUMNS=80`` and checks what the
user reads: the message, the exit status, and that no URL is cut across lines.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis as redis_client

from tests.conftest import ROOT, SAMPLES, newsflow
from tests.httpserver import LocalServer, Reply

PAGE = SAMPLES / "sciencealert-jupiter-plumes.html"
GUARDED = {"NEWSFLOW_ALLOW_PRIVATE_NETWORKS": "false", "NEWSFLOW_ALLOWED_HOSTS": ""}


def run80(*arguments: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    done = newsflow(*arguments, env={"COLUMNS": "80", **(env or {})})
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def whole(url: str, text: str) -> bool:
    """``url`` appears in ``text`` on one line, not cut by a wrap."""
    return any(url in line for line in text.splitlines())


# --- scene 1: a setting the worker must have, set only in the user's shell ----------------------


def test_a_guard_setting_missing_on_the_worker_is_said_at_each_step(
    settings: Any, start_worker: Any, http_server: LocalServer, redis_url: str
) -> None:
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Local news</title>'
        f"<item><link>{http_server.url('/story.html')}</link></item></channel></rss>"
    )
    feed = http_server.route(
        "/feeds/local/news.xml", Reply(200, rss.encode(), {"Content-Type": "application/rss+xml"})
    )
    host = feed.split("/")[2]
    # The worker started before the user set anything; the user's shell has the host allowed.
    start_worker(extra_env=GUARDED)
    shell = {**GUARDED, "NEWSFLOW_ALLOWED_HOSTS": host, "NEWSFLOW_BROKER_URL": redis_url}

    status, stdout, stderr = run80("sources", "add", feed, env=shell)
    assert status == 0 and whole(feed, stdout), stderr

    status, stdout, stderr = run80(
        "sources", "poll", "--all", "--wait", "--timeout", "60", env=shell
    )
    assert status == 1
    # Before anything is sent: the worker runs without the host this command allows.
    assert f"NEWSFLOW_ALLOWED_HOSTS='', this command with '{host}'" in stderr
    # After: which source failed, and why, with what to set and where, in one line.
    (failed,) = [line for line in stderr.splitlines() if line.startswith("poll of #1")]
    assert whole(feed, failed) and "blocked" in failed
    assert f"NEWSFLOW_ALLOWED_HOSTS={host}" in failed and "restart the workers" in failed

    status, stdout, _ = run80("sources", "list", env=shell)
    assert "blocked" in stdout and whole(feed, stdout)
    assert all(len(line) <= 80 for line in stdout.splitlines())

    status, stdout, _ = run80("status", env=shell)
    # The failing source's last error is whole, not cut at the table's edge.
    (line,) = [line for line in stdout.splitlines() if line.strip().startswith("#1 ")]
    assert whole(feed, line) and line.rstrip().endswith("restart the workers")
    assert "settings differ" in stdout


# --- scene 2: errors about the URL the user gave -------------------------------------------------


def test_a_private_address_is_refused_at_the_door_naming_it(
    env: dict[str, str], redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "http://192.168.1.50/story.html"
    status, _, stderr = run80("ingest", url, env={**GUARDED, "NEWSFLOW_BROKER_URL": redis_url})
    assert status == 2
    assert whole(url, stderr) and "robots.txt" not in stderr
    # What to set, and that the workers need it too.
    assert "NEWSFLOW_ALLOWED_HOSTS=192.168.1.50:80" in stderr and "restart the workers" in stderr
    assert redis_client.Redis.from_url(redis_url).llen("fetch") == 0  # nothing was queued


@pytest.mark.parametrize(
    ("item", "said"),
    [
        ("ftp://example.com/x.html", "not ftp://"),
        ("http://exa mple.com/x.html", "not a valid URL"),
        ("http://[::1/x.html", "not a valid URL"),
        ("example.com/story.html", "write https://example.com/story.html"),
    ],
)
def test_what_can_never_be_fetched_is_refused_before_anything_is_queued(
    item: str, said: str, env: dict[str, str], redis_url: str
) -> None:
    status, stdout, stderr = run80("ingest", item, env={"NEWSFLOW_BROKER_URL": redis_url})
    assert status == 2 and stdout == ""
    assert stderr.startswith(f"refused: {item}: ") and said in stderr
    assert len(stderr.splitlines()) == 1
    assert redis_client.Redis.from_url(redis_url).llen("fetch") == 0


def test_refusals_leave_the_rest_of_the_batch_to_go_on(env: dict[str, str]) -> None:
    status, stdout, stderr = run80("ingest", "--local", "ftp://example.com/x.html", str(PAGE))
    assert status == 1  # one item refused
    assert "refused: ftp://example.com/x.html" in stderr
    assert "1 stored" in stdout


def test_a_server_that_does_not_answer_is_said_of_the_page_not_its_robots_txt(
    env: dict[str, str],
) -> None:
    closed = LocalServer()
    closed.start()
    url = closed.url("/story.html")
    closed.stop()  # nothing listens there now
    status, stdout, _ = run80("ingest", "--local", url)
    assert status == 1
    assert whole(url, stdout) and "/robots.txt" not in stdout
    assert "could not fetch its robots.txt" in " ".join(stdout.split())


# --- scene 3: which database? -------------------------------------------------------------------


def test_worker_and_command_on_different_databases_are_told_apart(
    settings: Any, start_worker: Any, tmp_path: Path, env: dict[str, str], redis_url: str
) -> None:
    elsewhere = tmp_path / "worker-data"
    worker = start_worker(extra_env={"NEWSFLOW_DATA_DIR": str(elsewhere)})
    ours = f"sqlite:///{Path(env['NEWSFLOW_DATA_DIR']) / 'newsflow.db'}"
    theirs = f"sqlite:///{elsewhere / 'newsflow.db'}"
    # The worker's banner names its database.
    assert f"database: {theirs}" in worker.log()

    cli_env = {"NEWSFLOW_BROKER_URL": redis_url}
    status, stdout, stderr = run80("ingest", str(PAGE), "--wait", "--timeout", "60", env=cli_env)
    assert status == 0, stderr
    assert "NEWSFLOW_DATABASE_URL" in stderr and whole(theirs, stderr) and whole(ours, stderr)
    assert "restart" in stderr

    status, stdout, _ = run80("status", env=cli_env)
    assert status == 0
    assert any(line.startswith("database") and ours in line for line in stdout.splitlines())
    assert "settings differ" in stdout and whole(theirs, stdout)

    report = json.loads(newsflow("status", "--json", env=cli_env).stdout)
    (differing,) = [w for w in report["workers"] if w["differences"]]
    assert {d["name"] for d in differing["differences"]} == {"NEWSFLOW_DATABASE_URL"}
    assert differing["settings_digest"]


def test_status_shows_the_database_with_its_password_hidden(
    env: dict[str, str], postgres_url: str
) -> None:
    with_password = postgres_url.replace("postgres@", "postgres:s3cret@", 1)
    assert "s3cret" in with_password
    _, stdout, stderr = run80(
        "status",
        env={
            "NEWSFLOW_DATABASE_URL": with_password,
            "NEWSFLOW_BROKER_URL": "redis://127.0.0.1:9/0",
        },
    )
    assert "s3cret" not in stdout + stderr
    assert "postgres:***@127.0.0.1" in stdout


# --- scene 4: bad database URLs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("notaurl", "is not a database URL; use sqlite:////"),
        (
            "postgres://news:pw@db.example/news",
            "write postgresql+psycopg://news:***@db.example/news",
        ),
        ("postgresql://news@db.example/news", "write postgresql+psycopg://news@db.example/news"),
        ("mysql://news@db.example/news", "newsflow stores in SQLite or PostgreSQL, not mysql"),
    ],
)
def test_a_database_url_that_cannot_work_is_refused_with_the_form_that_would(
    url: str, said: str, env: dict[str, str]
) -> None:
    status, stdout, stderr = run80("status", env={"NEWSFLOW_DATABASE_URL": url})
    assert status == 2 and stdout == ""
    assert stderr.startswith("error: bad setting: NEWSFLOW_DATABASE_URL") and said in stderr
    assert len(stderr.splitlines()) == 1 and ":pw@" not in stderr


def test_an_sqlite_path_in_a_missing_folder_is_refused_not_created(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "no" / "such" / "dir"
    status, _, stderr = run80(
        "articles", env={"NEWSFLOW_DATABASE_URL": f"sqlite:///{folder / 'x.db'}"}
    )
    assert status == 2 and f"the folder {folder} does not exist" in stderr
    assert not (tmp_path / "no").exists()


# --- scene 7: small things -------------------------------------------------------------------------


def test_help_spells_flags_and_arguments_plainly(env: dict[str, str]) -> None:
    for words in (["--help"], ["ingest", "--help"], ["sources", "poll", "--help"]):
        status, stdout, _ = run80(*words)
        assert status == 0
        assert "<bool>" not in stdout and "{" not in stdout, stdout
        assert all(len(line) <= 80 for line in stdout.splitlines())
    assert "SOURCES..." in run80("ingest", "--help")[1]


def test_every_command_is_summed_up_in_one_sentence() -> None:
    import typer

    from workers import cli

    def summaries(command: Any, path: str) -> list[tuple[str, str]]:
        found = [(path, (command.help or "").split("\n\n")[0])]
        for name, child in (getattr(command, "commands", None) or {}).items():
            found += summaries(child, f"{path} {name}")
        return found

    for path, summary in summaries(typer.main.get_command(cli.app), "newsflow"):
        # --help lists each command by its first paragraph: a line cut mid-sentence reads
        # as a broken description.
        assert summary.strip().endswith((".", ")")), (path, summary)
        assert "\n" not in summary.strip(), (path, summary)


def test_beat_prints_its_schedule_at_start(env: dict[str, str]) -> None:
    from tests.test_cli_errors import run

    _, output = run(
        "beat",
        [],
        {"NEWSFLOW_BROKER_URL": "redis://127.0.0.1:9/0"},
        until="cannot reach the broker",
    )
    assert "dispatch-due-sources: newsflow.dispatch every 60 s" in output
    assert "reprocess-outdated-articles: newsflow.reprocess at crontab '0 3 * * *' (UTC)" in output
    assert "database: sqlite:///" in output


# --- scene 7: `make run`, twice ------------------------------------------------------------------


def test_make_run_keeps_its_demo_apart_and_shows_the_same_each_time(
    celery_app: Any, redis_url: str, tmp_path: Path
) -> None:
    """The script `make run` runs, twice, as a newcomer would: its demo goes to demo.db,
    named on screen, and the second run shows the same four articles, not duplicates."""
    data = tmp_path / "user-data"  # a data folder no test fixture has touched
    # The script's own environment: what a user's shell would hold, plus the test broker.
    shell = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("NEWSFLOW_") or key.startswith("NEWSFLOW_TEST_")
    }
    shell.update(COLUMNS="80", NEWSFLOW_DATA_DIR=str(data), NEWSFLOW_BROKER_URL=redis_url)
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            ["bash", "scripts/run-samples.sh"],
            cwd=ROOT,
            env=shell,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        outputs.append(done.stdout)
    demo = data / "demo.db"
    for output in outputs:
        assert f"==> database: sqlite:///{demo}" in output
        assert "articles (4 of 4)" in output and "duplicate of" not in output
    assert not (data / "newsflow.db").exists()  # the user's own database is left alone
