"""Waits are kept in Redis, not in workers, at the default settings: a killed worker costs
only what it was running, for one visibility timeout, and a busy host does not hold up others.

These runs take minutes on purpose: they use the default rate of one request a second to a
host and the default visibility timeout, as a user gets them.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis as redis_client

from pipeline.settings import Settings, get_settings
from tests.conftest import ROOT, RedisServer, WorkerProcess, newsflow, skip_or_fail, wait_until
from tests.e2e.stories import counts, send_all, serve_stories, stored_urls, worker_hostname
from tests.httpserver import LocalServer
from tests.tcpproxy import TcpProxy
from workers.app import create_app
from workers.config import visibility_timeout
from workers.delayed import delayed

QUEUES = ("fetch", "clean", "extract", "store")
# A crawl at the default rate that loses a worker or Redis takes the slot schedule, one
# visibility timeout and a minute: longer than the suite's 300 s limit for a test.
CRAWL = pytest.mark.timeout(900)


@pytest.fixture
def default_rate(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[str, str]:
    """The default politeness: one request a second to a host (the suite's other tests
    raise it), and the default visibility timeout."""
    monkeypatch.delenv("NEWSFLOW_HOST_RATE")
    get_settings.cache_clear()
    assert get_settings().host_rate == 1.0 and get_settings().visibility_timeout is None
    return {}


def drained(broker: redis_client.Redis) -> dict[str, int]:
    """What is left anywhere in Redis: queued, held unacknowledged, or delayed."""
    left = {queue: int(broker.llen(queue)) for queue in QUEUES}
    left["unacked"] = int(broker.hlen("unacked"))
    left.update({f"delayed {q}": d.count for q, d in delayed(broker, QUEUES).items()})
    return left


def stored_once_in_time(
    settings: Settings,
    broker: redis_client.Redis,
    total: int,
    started: float,
    *logs: str,
    extra: float = 0.0,
) -> tuple[float, int]:
    """Wait until all ``total`` articles are stored and Redis holds nothing more, within the
    bound a lost message allows: the slot schedule (one page a second), one visibility
    timeout for what a lost worker was running, and a minute. (seconds taken, the bound)"""
    bound = int(total + visibility_timeout(get_settings()) + 60 + extra)
    try:
        wait_until(
            lambda: counts(settings)[0] >= total and not any(drained(broker).values()),
            timeout=bound - (time.monotonic() - started),
            interval=1.0,
        )
    except TimeoutError:
        pytest.fail(
            f"not done in {bound}s: {counts(settings)} stored, left {drained(broker)}\n"
            + "\n".join(log[-2000:] for log in logs)
        )
    assert counts(settings) == (total, total, 0)
    return time.monotonic() - started, bound


@CRAWL
def test_a_killed_worker_delays_only_what_it_was_running_for_one_visibility_timeout(
    default_rate: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    settings: Settings,
    http_server: LocalServer,
) -> None:
    total = 120
    # A slow site: a fetch is under way most of the time, so the kill takes one with it.
    urls = serve_stories(http_server, total, delay=0.8)
    workers = {}
    for _ in range(2):
        worker = start_worker()
        workers[worker_hostname(celery_app, worker)] = worker
    broker = redis_client.Redis.from_url(get_settings().broker_url)
    started = time.monotonic()
    send_all(urls)

    wait_until(lambda: counts(settings)[0] >= 30, timeout=120, interval=0.5)

    def fetching() -> tuple[str, list[Any]] | None:
        """A worker running a fetch now, and its fetches: whichever took the last slot."""
        active = celery_app.control.inspect(list(workers), timeout=1.0).active() or {}
        for hostname, tasks in active.items():
            fetches = [task for task in tasks if task["name"] == "newsflow.fetch"]
            if fetches and hostname in workers:
                return hostname, fetches
        return None

    hostname, running = wait_until(fetching, timeout=60, interval=0.1)
    victim = workers.pop(hostname)
    [survivor] = workers.values()
    time.sleep(random.uniform(0.0, 0.3))
    waiting = delayed(broker, QUEUES)["fetch"].count
    os.killpg(victim.process.pid, signal.SIGKILL)
    victim.process.wait(timeout=10)
    stored_at_kill = counts(settings)[0]
    restarted = start_worker()
    took, bound = stored_once_in_time(
        settings, broker, total, started, survivor.log(), restarted.log()
    )
    assert stored_urls(settings) == sorted(urls)
    assert waiting > 20, "the fetches waiting for their slot were not in Redis at the kill"
    assert survivor.alive() and restarted.alive()
    print(
        f"\nkilled a worker running {len(running)} fetch(es) with {stored_at_kill} of "
        f"{total} stored and {waiting} fetches waiting in Redis for their slot; all {total} "
        f"stored once after {took:.0f}s (bound {bound}s: {total}s of slots + "
        f"{visibility_timeout(get_settings())}s visibility timeout + 60s)"
    )


def test_a_host_with_a_long_queue_does_not_hold_up_another(
    default_rate: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    settings: Settings,
    http_server: LocalServer,
) -> None:
    busy = serve_stories(http_server, 500)
    # The same server under another name is another host, with a rate of its own.
    quiet = [url.replace("127.0.0.1", "localhost") for url in busy[-10:]]
    broker = redis_client.Redis.from_url(get_settings().broker_url)
    start_worker()
    start_worker()
    send_all(busy[:-10])
    wait_until(lambda: delayed(broker, QUEUES)["fetch"].count > 100, timeout=60, interval=0.2)
    sent = time.monotonic()
    send_all(quiet)

    def quiet_stored() -> bool:
        return set(quiet) <= set(stored_urls(settings))

    wait_until(quiet_stored, timeout=60, interval=0.25)
    took = time.monotonic() - sent
    busy_stored = counts(settings)[0] - len(quiet)
    queued = delayed(broker, QUEUES)["fetch"]
    print(
        f"\n10 pages of a second host stored {took:.1f}s after they were sent, while "
        f"{queued.count} of 490 from a 1 request/s host waited in Redis ({busy_stored} stored)"
    )
    assert took <= 30
    assert queued.count > 300, "the busy host's pages were not waiting their turn"


def _worker_ready(worker: WorkerProcess) -> bool:
    if not worker.alive():
        raise RuntimeError(f"worker exited early:\n{worker.log()}")
    return "ready" in worker.log()


@CRAWL
def test_a_redis_restart_mid_crawl_keeps_every_wait_and_loses_nothing(
    default_rate: dict[str, str],
    settings: Settings,
    http_server: LocalServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same crawl, with Redis (append-only file on, as in production) restarted instead
    of a worker killed: the delayed set is Redis's own data and comes back with it."""
    total = 120
    urls = serve_stories(http_server, total, delay=0.8)
    own = RedisServer(appendonly=True)
    own.start()
    monkeypatch.setenv("NEWSFLOW_BROKER_URL", own.url)
    get_settings.cache_clear()
    environment = {**os.environ}
    workers = [
        WorkerProcess(
            environment,
            ["--concurrency", "2", "--hostname", f"restart{n}@%h", "--loglevel", "info"],
            tmp_path / f"worker-{n}.log",
        )
        for n in range(2)
    ]
    try:
        for worker in workers:
            wait_until(lambda worker=worker: _worker_ready(worker), timeout=60)
        create_app(get_settings())
        broker = redis_client.Redis.from_url(own.url)
        started = time.monotonic()
        send_all(urls)
        wait_until(lambda: counts(settings)[0] >= 30, timeout=120, interval=0.5)
        waiting = delayed(broker, QUEUES)["fetch"].count
        stored_at_restart = counts(settings)[0]
        own.stop()
        time.sleep(2)  # workers find Redis gone, mid-fetch and mid-wait
        own.start()
        took, bound = stored_once_in_time(
            settings, broker, total, started, *(worker.log() for worker in workers)
        )
        assert stored_urls(settings) == sorted(urls)
        assert waiting > 20, "the fetches waiting for their slot were not in Redis"
        assert all(worker.alive() for worker in workers)
        print(
            f"\nrestarted Redis with {stored_at_restart} of {total} stored and {waiting} "
            f"fetches waiting in it; all {total} stored once after {took:.0f}s (bound {bound}s)"
        )
    finally:
        for worker in workers:
            worker.stop()
        own.remove()


class Namespace:
    """A network namespace joined to this one by a veth pair. The services it reaches listen
    on ``here``, an address on this side's loopback, so that pulling the veth cable cuts the
    namespace off while everyone else still reaches them."""

    def __init__(self, name: str, subnet: int) -> None:
        self.name, self.here = name, f"10.78.{subnet}.1"
        self.link, inside, gateway = f"nf{subnet}h", f"nf{subnet}n", f"10.77.{subnet}.254"
        for command in (
            f"ip netns add {name}",
            f"ip link add {self.link} type veth peer name {inside}",
            f"ip link set {inside} netns {name}",
            f"ip addr add {gateway}/24 dev {self.link}",
            f"ip link set {self.link} up",
            f"ip addr add {self.here}/32 dev lo",
            f"ip netns exec {name} ip addr add 10.77.{subnet}.2/24 dev {inside}",
            f"ip netns exec {name} ip link set {inside} up",
            f"ip netns exec {name} ip link set lo up",
            f"ip netns exec {name} ip route add {self.here}/32 via {gateway}",
        ):
            subprocess.run(command.split(), check=True, capture_output=True)

    def cut(self) -> None:
        """Pull the cable: packets stop, with no reset or refusal, as a network cut does."""
        subprocess.run(f"ip link set {self.link} down".split(), check=True)

    def remove(self) -> None:
        subprocess.run(f"ip netns del {self.name}".split(), capture_output=True)
        subprocess.run(f"ip link del {self.link}".split(), capture_output=True)
        subprocess.run(f"ip addr del {self.here}/32 dev lo".split(), capture_output=True)


def _namespaces_allowed() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"nfprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return made.returncode == 0


@CRAWL
def test_a_worker_cut_off_from_the_network_holds_up_only_what_it_was_running(
    default_rate: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
    celery_app: Any,
    settings: Settings,
    http_server: LocalServer,
    tmp_path: Path,
) -> None:
    """Two workers that share only Redis, the database and the site: one runs in a network
    namespace whose link is cut mid-crawl. The other stores every page."""
    if not _namespaces_allowed():
        skip_or_fail("network namespaces need root and `ip netns` (iproute2)")
    namespace = Namespace(f"nfcut{os.getpid()}", 1 + os.getpid() % 200)
    redis_port = int(get_settings().broker_url.rsplit(":", 1)[1].split("/")[0])
    site = TcpProxy("127.0.0.1", int(http_server.base_url.rsplit(":", 1)[1]), listen=namespace.here)
    broker_proxy = TcpProxy("127.0.0.1", redis_port, listen=namespace.here)
    database = get_settings().broker_url.rsplit("/", 1)[1]
    shared = {"NEWSFLOW_BROKER_URL": f"redis://{namespace.here}:{broker_proxy.port}/{database}"}
    broker = redis_client.Redis.from_url(get_settings().broker_url)
    broker.delete(
        f"newsflow:host:{namespace.here}", f"newsflow:robots:http://{namespace.here}:{site.port}"
    )
    total = 100
    urls = [
        url.replace(http_server.base_url, f"http://{namespace.here}:{site.port}")
        for url in serve_stories(http_server, total, delay=0.8)
    ]
    log = (tmp_path / "cut-off.log").open("wb")
    cut_off = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            namespace.name,
            sys.executable,
            "-m",
            "workers.cli",
            "worker",
            "--concurrency",
            "2",
            "--hostname",
            "cutoff@%h",
            "--loglevel",
            "info",
        ],
        cwd=ROOT,
        env={**os.environ, **shared},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        survivor = start_worker(extra_env=shared)
        wait_until(lambda: b"ready" in (tmp_path / "cut-off.log").read_bytes(), timeout=60)
        started = time.monotonic()
        # As a user sends them: each is noted in the outbox, and a lost message is owed.
        sent = newsflow("ingest", *urls, env=shared)
        assert sent.returncode == 0, sent.stderr
        wait_until(lambda: counts(settings)[0] >= 25, timeout=120, interval=0.5)
        namespace.cut()
        cut_at, stored_at_cut = time.monotonic(), counts(settings)[0]
        timeout = visibility_timeout(get_settings())
        # A message Redis popped for the cut-off worker as the cable went is on the wire to
        # nowhere, and Redis keeps no trace of it. Once the timeout has handed back what that
        # worker held, the outbox (or the stored page) knows what is still owed: reconcile,
        # as beat would, for what has been due longer than the timeout.
        wait_until(
            lambda: (
                counts(settings)[0] >= total
                or (time.monotonic() - cut_at > timeout + 45 and not any(drained(broker).values()))
            ),
            timeout=total + timeout + 120,
            interval=1.0,
        )
        swept = newsflow("reconcile", "--older-than", str(timeout), env=shared)
        assert swept.returncode == 0, swept.stderr
        took, bound = stored_once_in_time(
            settings, broker, total, started, survivor.log(), extra=105
        )
        print(
            f"\ncut a worker off the network with {stored_at_cut} of {total} stored; the other "
            f"stored all {total} once after {took:.0f}s (bound {bound}s); reconcile: "
            f"{swept.stdout.strip()}"
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cut_off.pid, signal.SIGKILL)
        cut_off.wait(timeout=10)
        log.close()
        site.close()
        broker_proxy.close()
        namespace.remove()
