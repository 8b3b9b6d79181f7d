"""``newsflow worker``, ``beat`` and ``flower``: the long-running processes.

Each builds the Celery app from this command's settings, with the command's options applied
to them, and hands over to Celery: nothing is passed through the environment.
"""

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .console import STAGES, error_exit, errors

if TYPE_CHECKING:
    from pipeline.settings import Settings


def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues to serve.")] = ",".join(
        STAGES
    ),
    concurrency: Annotated[int | None, typer.Option(help="Processes or threads.")] = None,
    pool: Annotated[
        str | None, typer.Option(help="prefork, threads or solo; default by queue.")
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "info",
    hostname: Annotated[str | None, typer.Option(help="Worker name, as Flower shows it.")] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Port of this worker's Prometheus endpoint; 0 turns it off."),
    ] = None,
) -> None:
    """Run a worker: prefork for the CPU stages, many threads for a fetch-only worker."""
    from pipeline.settings import get_settings
    from workers.app import create_app

    names = [name.strip() for name in queues.split(",") if name.strip()]
    unknown = sorted(set(names) - set(STAGES))
    if unknown or not names:
        raise error_exit(
            f"unknown queue(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(STAGES)}"
        )
    settings = get_settings()
    if metrics_port is not None:
        settings = settings.model_copy(update={"metrics_port": metrics_port})
    # Fetching waits on the network, not the CPU: threads serve it cheaply and in numbers.
    io_only = names == ["fetch"]
    pool = pool or ("threads" if io_only else "prefork")
    if concurrency is None:
        concurrency = (
            settings.fetch_concurrency
            if io_only
            else (settings.worker_concurrency or os.cpu_count() or 2)
        )
    app = create_app(settings)
    announce(
        f"worker serving {', '.join(names)}",
        app,
        [f"guard: {guard(settings)}", f"rate per host: {settings.host_rate:g}/s"],
    )
    app.worker_main(
        [
            "worker",
            f"--queues={','.join(names)}",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            f"--hostname={hostname or 'newsflow-' + '-'.join(names) + '@%h'}",
        ]
    )


def beat(loglevel: Annotated[str, typer.Option(help="Log level.")] = "info") -> None:
    """Run Celery beat, the scheduler (run exactly one)."""
    from pipeline.errors import NewsflowError
    from pipeline.settings import get_settings
    from workers.app import create_app
    from workers.schedule import beat_schedule, describe, reprocess_schedule

    settings = get_settings()
    try:
        reprocess_schedule(settings.reprocess_schedule)
    except NewsflowError as error:
        raise error_exit(str(error)) from error
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings)
    announce("beat", app, describe(beat_schedule(settings)))
    app.start(
        [
            "beat",
            f"--loglevel={loglevel}",
            f"--schedule={settings.data_dir / 'celerybeat-schedule'}",
        ]
    )


def flower(
    address: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Serve Flower, the task-level monitor, on 127.0.0.1:5555 by default.

    Flower reads its own settings from FLOWER_* variables: FLOWER_BASIC_AUTH=user:password
    makes its pages and its HTTP API ask for that login, everywhere.
    """
    from pipeline.settings import get_settings
    from workers.app import create_app

    settings = get_settings()
    address = address or settings.flower_address
    basic_auth = os.environ.get("FLOWER_BASIC_AUTH")
    # Flower takes any value, and one it can never match (empty, no password) would answer
    # 401 to every request, with no word of why.
    if basic_auth is not None and not all(
        user and password
        for user, _, password in (login.partition(":") for login in basic_auth.split(","))
    ):
        raise error_exit("FLOWER_BASIC_AUTH must be user:password (several separated by commas)")
    authenticated = bool(basic_auth or os.environ.get("FLOWER_AUTH"))
    # Without authentication Flower keeps its HTTP API shut (401). On loopback only this
    # machine can reach it, so it is opened there; anywhere else opening it is the
    # operator's call (FLOWER_UNAUTHENTICATED_API=true), and Flower reads it from its
    # environment alone.
    if not authenticated and is_loopback(address):
        os.environ.setdefault("FLOWER_UNAUTHENTICATED_API", "true")
    elif not authenticated and not os.environ.get("FLOWER_UNAUTHENTICATED_API"):
        typer.echo(
            f"warning: Flower on {address} has no login: its pages are open to whoever "
            "reaches them and its API answers 401. Set FLOWER_BASIC_AUTH=user:password, or "
            "FLOWER_UNAUTHENTICATED_API=true on a network you trust.",
            err=True,
        )
    port = port or settings.flower_port
    app = create_app(settings)
    announce("flower", app, [f"listening on {address}:{port}"])
    app.start(["flower", f"--address={address}", f"--port={port}"])


def is_loopback(address: str) -> bool:
    """Whether every address ``address`` resolves to is on this machine only."""
    import ipaddress
    import socket

    try:
        infos = socket.getaddrinfo(address, None)
    except OSError:
        return False
    return all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def announce(what: str, app: Any, lines: list[str]) -> None:
    """Say, before Celery's own banner, what this process serves, with which store and
    broker; and, at once, when the broker does not answer (Celery waits for it in silence
    at first, and a worker that never comes up looks like one that is busy)."""
    from kombu.utils.url import maybe_sanitize_url

    from pipeline.errors import BrokerUnavailable
    from pipeline.store.urls import shown
    from workers.app import settings_of
    from workers.broker import check_broker

    settings = settings_of(app)
    errors.print(f"[bold]newsflow {what}[/bold]", highlight=False)
    for line in [
        f"database: {shown(settings.database)}",
        f"broker: {maybe_sanitize_url(settings.broker_url)}",
        *lines,
    ]:
        errors.print(f"  {line}", highlight=False)
    try:
        check_broker(app, timeout=2.0)
    except BrokerUnavailable as error:
        errors.print(
            f"[yellow]warning:[/yellow] {error}; waiting for it (start Redis, or point "
            "NEWSFLOW_BROKER_URL at it)",
            highlight=False,
        )


def guard(settings: "Settings") -> str:
    """The net guard's state in a few words."""
    if settings.allow_private_networks:
        return "private networks allowed"
    hosts = ", ".join(sorted(settings.allowed_host_set)) or "none"
    return f"public addresses only; allowed hosts: {hosts}"
