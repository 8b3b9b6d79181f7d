"""``newsflow worker``, ``beat`` and ``flower``: the long-running processes.

Each builds the Celery app from this command's settings, with the command's options applied
to them, and hands over to Celery: nothing is passed through the environment.
"""

import os
from typing import Annotated

import typer

from .console import STAGES, error_exit


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
    create_app(settings).worker_main(
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
    from workers.schedule import reprocess_schedule

    settings = get_settings()
    try:
        reprocess_schedule(settings.reprocess_schedule)
    except NewsflowError as error:
        raise error_exit(str(error)) from error
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    create_app(settings).start(
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
    """Serve Flower, the task-level monitor, on 127.0.0.1:5555 by default."""
    from pipeline.settings import get_settings
    from workers.app import create_app

    settings = get_settings()
    address = address or settings.flower_address
    # Flower's HTTP API is off without authentication. On loopback only this machine can reach
    # it, so it is opened there; on any other address the operator must set up auth. Flower
    # reads this from its environment alone.
    if is_loopback(address):
        os.environ.setdefault("FLOWER_UNAUTHENTICATED_API", "true")
    create_app(settings).start(
        ["flower", f"--address={address}", f"--port={port or settings.flower_port}"]
    )


def is_loopback(address: str) -> bool:
    """Whether every address ``address`` resolves to is on this machine only."""
    import ipaddress
    import socket

    try:
        infos = socket.getaddrinfo(address, None)
    except OSError:
        return False
    return all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)
