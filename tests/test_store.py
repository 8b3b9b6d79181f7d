"""The store on SQLite and on PostgreSQL: schema, idempotent writes, failure records."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, text
from sqlmodel import select

from pipeline.errors import DatabaseUnavailable, HTTPStatus, SchemaError, ServerError
from pipeline.models import Article, FetchedPage, Image, Link, StoredRef
from pipeline.settings import Settings, get_settings
from pipeline.store import db
from pipeline.store.articles import count_articles, get_article, row_to_article, upsert_article
from pipeline.store.db import (
    dispose_engines,
    get_engine,
    prepare_database,
    schema_state,
    session_scope,
)
from pipeline.store.failures import list_failures, record_failure, resolve_failures
from pipeline.store.pages import get_raw_page, save_raw_page, unfinished_pages
from pipeline.store.tables import RawPage


def page(content: bytes = b"<p>hello</p>", url: str = "https://news.example/a") -> FetchedPage:
    return FetchedPage(
        source=url,
        url=url,
        content=content,
        kind="html",
        encoding="utf-8",
        content_type="text/html",
        status_code=200,
    )


def article(**changes: object) -> Article:
    values: dict[str, object] = {
        "url": "https://news.example/a?utm_source=x",
        "canonical_url": "https://news.example/a",
        "title": "A title",
        "authors": ("Jane Doe",),
        "agencies": ("AP", "dpa"),
        "published_at": datetime(2020, 1, 13, 9, 30, tzinfo=timezone(timedelta(hours=2))),
        "published_precision": "time",
        "body": "First paragraph.\n\nSecond paragraph.",
        "images": (Image(url="https://news.example/i.jpg", caption="A caption", credit="Reuters"),),
        "related": (Link(title="Another story", url="https://news.example/b"),),
        "word_count": 4,
        "extractor_version": "test+1",
    }
    values.update(changes)
    return Article.model_validate(values)


def test_a_new_database_gets_the_current_schema(any_db_settings: Settings) -> None:
    current, head = schema_state(any_db_settings)
    assert current == head
    tables = set(inspect(get_engine(any_db_settings.database)).get_table_names())
    assert {"raw_page", "article", "failure", "alembic_version"} <= tables


def test_the_migrations_build_exactly_the_tables_the_code_defines(
    any_db_settings: Settings,
) -> None:
    # A column added to tables.py without a migration would only fail in production.
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    from pipeline.store.search import include_object

    with get_engine(any_db_settings.database).connect() as connection:
        # The search index is made by its migration alone (pipeline.store.search).
        opts = {"compare_type": True, "include_object": include_object}
        context = MigrationContext.configure(connection, opts=opts)
        assert compare_metadata(context, SQLModel.metadata) == []


def test_the_same_page_is_kept_once(any_db_settings: Settings) -> None:
    with session_scope(any_db_settings) as session:
        first = save_raw_page(session, page=page())
        again = save_raw_page(session, page=page())
        changed = save_raw_page(session, page=page(b"<p>changed</p>"))
        stored = get_raw_page(session, page_id=first)
    assert first == again != changed
    assert stored.content == b"<p>hello</p>" and stored.sha256 == page().sha256


def test_storing_an_article_twice_updates_one_row(any_db_settings: Settings) -> None:
    with session_scope(any_db_settings) as session:
        raw = save_raw_page(session, page=page())
        first = upsert_article(session, article=article(page_id=raw))
    with session_scope(any_db_settings) as session:
        second = upsert_article(session, article=article(title="A corrected title", page_id=raw))
        assert count_articles(session) == 1
        row = get_article(session, article_id=first.article_id)
        back = row_to_article(row)
    assert first.created and not second.created and first.article_id == second.article_id
    assert back.title == "A corrected title" and back.page_id == raw
    assert back.published_at == datetime(2020, 1, 13, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    assert back.images[0].credit == "Reuters" and back.related[0].title == "Another story"
    assert back.authors == ("Jane Doe",)
    assert back.agencies == ("AP", "dpa") and back.published_precision == "time"


def test_an_article_from_an_older_fetch_does_not_overwrite_a_newer_one(
    any_db_settings: Settings,
) -> None:
    with session_scope(any_db_settings) as session:
        older = save_raw_page(session, page=page(b"<p>v1</p>"))
        newer = save_raw_page(session, page=page(b"<p>v2</p>"))
        upsert_article(session, article=article(title="Newer", page_id=newer))
        late = upsert_article(session, article=article(title="Older", page_id=older))
        row = get_article(session, article_id=late.article_id)
        assert (row.title, row.raw_page_id) == ("Newer", newer)


def test_concurrent_writers_leave_one_page_one_article_one_failure(
    any_db_settings: Settings,
) -> None:
    barrier = threading.Barrier(6)

    def write(index: int) -> StoredRef:
        barrier.wait(timeout=30)
        with session_scope(any_db_settings) as session:
            page_id = save_raw_page(session, page=page(b"<p>same</p>"))
            record_failure(
                session, stage="fetch", item="https://x/1", error=ServerError("503"), attempts=index
            )
        with session_scope(any_db_settings) as session:
            return upsert_article(session, article=article(page_id=page_id))

    with ThreadPoolExecutor(max_workers=6) as pool:
        stored = list(pool.map(write, range(6)))
    assert len({ref.article_id for ref in stored}) == 1
    with session_scope(any_db_settings) as session:
        assert count_articles(session) == 1
        assert session.exec(select(func.count()).select_from(RawPage)).one() == 1
        assert len(list_failures(session)) == 1


def test_failures_are_recorded_updated_and_resolved(any_db_settings: Settings) -> None:
    with session_scope(any_db_settings) as session:
        record_failure(
            session,
            stage="fetch",
            item="https://x/1",
            error=ServerError("503", status_code=503),
            attempts=2,
        )
        record_failure(
            session,
            stage="fetch",
            item="https://x/1",
            error=ServerError("503", status_code=503),
            attempts=6,
        )
        record_failure(
            session,
            stage="fetch",
            item="https://x/2",
            error=HTTPStatus("gone", status_code=410),
            attempts=1,
        )
    with session_scope(any_db_settings) as session:
        failures = {f.item: f for f in list_failures(session)}
        assert failures["https://x/1"].attempts == 6 and failures["https://x/1"].retryable
        assert (
            failures["https://x/2"].reason == "http_410" and not failures["https://x/2"].retryable
        )
        resolve_failures(session, stage="fetch", item="https://x/1")
    with session_scope(any_db_settings) as session:
        assert [f.item for f in list_failures(session)] == ["https://x/2"]


def test_an_unreachable_database_is_a_transient_error(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "NEWSFLOW_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    )
    get_settings.cache_clear()
    with pytest.raises(DatabaseUnavailable), session_scope(get_settings()) as session:
        session.execute(text("select 1"))


def _with_extra_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A copy of our migrations plus one newer revision, to play an upgrade of the code."""
    folder = tmp_path / "migrations"
    current_head = ScriptDirectory.from_config(db.alembic_config("sqlite://")).get_current_head()
    shutil.copytree(db._MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / "9999_extra.py").write_text(
        f'revision = "9999"\ndown_revision = "{current_head}"\nbranch_labels = None\n'
        "depends_on = None\n"
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        "def upgrade():\n    op.add_column('article', sa.Column('extra', sa.Text(), nullable=True))\n\n"
        "def downgrade():\n    op.drop_column('article', 'extra')\n"
    )
    monkeypatch.setattr(db, "_MIGRATIONS", folder)
    return "9999"


def test_an_older_schema_is_refused_with_a_clear_message_or_upgraded(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()
    head = _with_extra_revision(tmp_path, monkeypatch)
    command.upgrade(db.alembic_config(settings.database), "9999-1")  # one step behind
    refusing = settings.model_copy(update={"auto_migrate": False})
    with pytest.raises(SchemaError, match="newsflow db upgrade"):
        prepare_database(refusing)
    prepare_database(settings)
    assert schema_state(settings) == (head, head)
    columns = {c["name"] for c in inspect(get_engine(settings.database)).get_columns("article")}
    assert "extra" in columns


MIGRATE = (
    "from pipeline.settings import get_settings\n"
    "from pipeline.store.db import prepare_database\n"
    "prepare_database(get_settings())\n"
)


def test_processes_starting_together_on_a_new_database_migrate_it_once(
    env: dict[str, str], request: pytest.FixtureRequest
) -> None:
    """Four processes at once on one new database, SQLite and PostgreSQL: all succeed."""
    sqlite_env = dict(os.environ)
    postgres_env = {**os.environ, "NEWSFLOW_DATABASE_URL": request.getfixturevalue("postgres_url")}
    for environment in (sqlite_env, postgres_env):
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", MIGRATE], env=environment, stderr=subprocess.PIPE
            )
            for _ in range(4)
        ]
        errors = [process.communicate(timeout=120)[1].decode() for process in processes]
        assert [process.returncode for process in processes] == [0, 0, 0, 0], errors
    dispose_engines()


def test_a_schema_from_a_newer_newsflow_is_refused(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()
    with monkeypatch.context() as patch:
        _with_extra_revision(tmp_path, patch)
        prepare_database(settings)
    with pytest.raises(SchemaError, match="does not know"):
        prepare_database(settings)


def test_the_outbox_owes_an_item_until_it_is_fetched_or_failed_and_not_while_it_waits(
    any_db_settings: Settings,
) -> None:
    from pipeline import stages
    from pipeline.errors import HTTPStatus
    from pipeline.store import outbox
    from pipeline.store.tables import Failure

    payloads = [stages.fetch_payload(f"https://example.org/{n}") for n in range(4)]
    stages.note_sent(any_db_settings, payloads)
    stages.note_sent(any_db_settings, payloads[:1])  # sent twice: one row, two sends
    with session_scope(any_db_settings) as session:
        assert len(outbox.overdue(session, before=datetime.now(UTC) + timedelta(1))) == 4
        assert outbox.overdue(session, before=datetime.now(UTC) - timedelta(seconds=60)) == []
    # One waits in Redis for an hour; one is failed for good; one goes missing.
    stages.note_waiting(any_db_settings, payloads[1]["source"], seconds=3600)
    stages.record_failure(
        any_db_settings, stage="fetch", item=payloads[2]["source"], error=HTTPStatus("gone")
    )
    with session_scope(any_db_settings) as session:
        outbox.note_done(session, source=payloads[3]["source"])  # as the fetch stage does

    lost = stages.lost_fetches(any_db_settings, older_than=-1)
    assert lost == payloads[:1]
    with session_scope(any_db_settings) as session:
        [row] = [
            r
            for r in outbox.overdue(session, before=datetime.now(UTC) + timedelta(1))
            if r.source == payloads[0]["source"]
        ]
        assert row.sends == 3  # sent, sent again by the user, sent again by reconcile
        trace = session.exec(select(Failure).where(Failure.item == row.source)).one()
        assert (trace.reason, trace.resolved) == ("message_lost", True)
    # Sent again just now: not owed again until it is overdue again.
    assert stages.lost_fetches(any_db_settings, older_than=60) == []


def test_an_older_capture_read_later_does_not_overwrite_the_newer_article(
    any_db_settings: Settings,
) -> None:
    today = datetime.now(UTC)
    fetched = FetchedPage(
        "https://news.example/a",
        "https://news.example/a",
        b"<p>today</p>",
        "html",
        "utf-8",
        "text/html",
        200,
        fetched_at=today,
    )
    captured = FetchedPage(
        "https://news.example/a",
        "https://news.example/a",
        b"<p>last month</p>",
        "html",
        "utf-8",
        "text/html",
        200,
        fetched_at=today - timedelta(days=30),
        archive="old.warc.gz",
    )
    with session_scope(any_db_settings) as session:
        newer = save_raw_page(session, page=fetched)
        older = save_raw_page(session, page=captured)  # kept later: the higher id
    assert older > newer
    with session_scope(any_db_settings) as session:
        upsert_article(session, article=article(page_id=newer, title="Today's version"))
    with session_scope(any_db_settings) as session:
        kept = upsert_article(session, article=article(page_id=older, title="Last month's"))
        row = get_article(session, article_id=kept.article_id)
        assert (row.title, row.raw_page_id) == ("Today's version", newer)
    # The older page made no article, and is no stopped chain either: the newer one is its.
    with session_scope(any_db_settings) as session:
        assert unfinished_pages(session, before=today + timedelta(hours=1)) == []


def test_a_page_from_an_archive_is_not_taken_for_a_stopped_chain_as_it_is_kept(
    any_db_settings: Settings,
) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    captured = FetchedPage(
        "https://news.example/old",
        "https://news.example/old",
        b"<p>old</p>",
        "html",
        "utf-8",
        "text/html",
        200,
        fetched_at=long_ago,
        archive="old.warc.gz",
    )
    with session_scope(any_db_settings) as session:
        page_id = save_raw_page(session, page=captured)
    # Captured years ago, kept just now: a chain sent a moment ago is not lost yet.
    with session_scope(any_db_settings) as session:
        assert unfinished_pages(session, before=datetime.now(UTC) - timedelta(minutes=10)) == []
        later = unfinished_pages(session, before=datetime.now(UTC) + timedelta(minutes=10))
        assert [page.id for page in later] == [page_id]
