"""One way to fetch politely: robots.txt asked once per request and fetched once per host,
host rates kept with Redis or, when it does not answer, in the one process."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import redis as redis_client

from pipeline.errors import Blocked, Throttled
from pipeline.fetch.encoding import decode
from pipeline.fetch.fetcher import Fetcher, make_fetcher
from pipeline.fetch.politeness import Politeness, Rules, host_of, make_politeness
from pipeline.settings import Settings
from tests.conftest import free_port
from tests.httpserver import LocalServer, Reply

HTML = {"Content-Type": "text/html; charset=utf-8"}
PAGE = "<html><body><p>Grüße aus Köln, Straße für Straße.</p></body></html>".encode()
ROBOTS = b"User-agent: *\nDisallow: /private/\n"


@pytest.fixture(params=[True, False], ids=["redis", "in-process"])
def shared(request: pytest.FixtureRequest) -> bool:
    """Whether Redis answers: the rules are then shared through it, else kept in-process."""
    return bool(request.param)


@pytest.fixture
def polite_settings(request: pytest.FixtureRequest, settings: Settings, shared: bool) -> Settings:
    """Settings whose broker is the test Redis, or a port where no Redis answers."""
    if shared:
        broker = request.getfixturevalue("redis_url")
    else:
        broker = f"redis://127.0.0.1:{free_port()}/0"
    return settings.model_copy(update={"broker_url": broker})


def _forget_robots(settings: Settings, server: LocalServer) -> None:
    """Leave no robots.txt of this test's server in Redis (its port is used once anyway)."""
    politeness = make_politeness(settings)
    if politeness.redis is not None:
        politeness.redis.delete(f"newsflow:robots:{host_of(server.base_url)}")


class CountingPoliteness(Politeness):
    """Politeness that notes each URL whose robots.txt rules it was asked about."""

    def __init__(self, settings: Settings) -> None:
        made = make_politeness(settings)
        super().__init__(
            redis=made.redis, user_agent=settings.user_agent, default_rate=settings.host_rate
        )
        self.asked: list[str] = []

    def allowed(self, url: str, robots_text: Callable[[str], str]) -> Rules:
        self.asked.append(url)
        return super().allowed(url, robots_text)


def test_without_redis_politeness_is_kept_in_process(
    polite_settings: Settings, shared: bool
) -> None:
    assert (make_politeness(polite_settings).redis is not None) == shared


def test_robots_txt_is_fetched_once_for_many_pages_of_a_host(
    http_server: LocalServer, polite_settings: Settings, shared: bool
) -> None:
    http_server.route("/robots.txt", Reply(200, ROBOTS, {"Content-Type": "text/plain"}))
    urls = [http_server.route(f"/story/{number}", Reply(200, PAGE, HTML)) for number in range(5)]
    try:
        with make_fetcher(polite_settings) as fetcher:
            for url in urls:
                fetcher.fetch(url)
            # Another process's fetcher reads the rules Redis keeps, or fetches its own.
            with make_fetcher(polite_settings) as other:
                other.fetch(urls[0])
        expected = 1 if shared else 2
        assert http_server.count("/robots.txt") == expected
        assert [http_server.count(f"/story/{number}") for number in range(5)] == [2, 1, 1, 1, 1]
    finally:
        _forget_robots(polite_settings, http_server)


def test_the_parsed_rules_are_kept_in_the_process(
    http_server: LocalServer, settings: Settings, redis_url: str
) -> None:
    shared = settings.model_copy(update={"broker_url": redis_url})
    http_server.route("/robots.txt", Reply(200, ROBOTS, {"Content-Type": "text/plain"}))
    first = http_server.route("/one", Reply(200, PAGE, HTML))
    second = http_server.route("/two", Reply(200, PAGE, HTML))
    with make_fetcher(shared) as fetcher:
        fetcher.fetch(first)
        # Redis forgets the text; this process still has the rules, and asks no one.
        redis_client.Redis.from_url(redis_url).delete(
            f"newsflow:robots:{host_of(http_server.base_url)}"
        )
        fetcher.fetch(second)
    assert http_server.count("/robots.txt") == 1


def test_robots_txt_is_asked_once_per_request_and_again_for_a_redirect(
    http_server: LocalServer, polite_settings: Settings
) -> None:
    page = http_server.route("/page", Reply(200, PAGE, HTML))
    moved = http_server.route("/moved", Reply(302, b"", {"Location": "/page"}))
    politeness = CountingPoliteness(polite_settings)
    try:
        with Fetcher(polite_settings, politeness) as fetcher:
            fetcher.fetch(page)
            assert politeness.asked == [page]
            fetcher.fetch(moved)
        assert politeness.asked == [page, moved, page]
    finally:
        _forget_robots(polite_settings, http_server)


def test_a_disallowed_page_or_redirect_is_never_requested(
    http_server: LocalServer, polite_settings: Settings
) -> None:
    http_server.route("/robots.txt", Reply(200, ROBOTS, {"Content-Type": "text/plain"}))
    private = http_server.route("/private/page", Reply(200, PAGE, HTML))
    moved = http_server.route("/moved", Reply(302, b"", {"Location": "/private/page"}))
    try:
        with make_fetcher(polite_settings) as fetcher:
            with pytest.raises(Blocked, match=r"robots\.txt"):
                fetcher.fetch(private)
            with pytest.raises(Blocked, match=r"robots\.txt"):
                fetcher.fetch(moved)
        assert http_server.count("/private/page") == 0 and http_server.count("/moved") == 1
    finally:
        _forget_robots(polite_settings, http_server)


def test_robots_txt_takes_a_slot_of_its_own_and_a_turn_beyond_patience_is_not_slept_for(
    settings: Settings,
) -> None:
    politeness = Politeness(redis=None, user_agent="newsflow-test", default_rate=0.2)
    asked: list[str] = []

    def robots_text(url: str) -> str:
        asked.append(url)
        return ""

    # The host's first request is its robots.txt, at once; the page waits for the next slot.
    with pytest.raises(Throttled) as first:
        politeness.check("http://slow.example/a", rate=None, robots_text=robots_text)
    assert asked == ["http://slow.example/robots.txt"]
    assert 4 < (first.value.retry_after or 0) <= 5
    started = time.monotonic()
    with pytest.raises(Throttled) as second:
        politeness.check("http://slow.example/b", rate=None, robots_text=robots_text, patience=1)
    assert 9 < (second.value.retry_after or 0) <= 10  # told, not put to sleep
    assert time.monotonic() - started < 1
    assert asked == ["http://slow.example/robots.txt"]  # known now: not asked again
    # Woken at the slot it was handed, the page goes without a new claim.
    assert first.value.slot is not None
    politeness.check(
        "http://slow.example/a", rate=None, robots_text=robots_text, reserved=time.time()
    )


def test_the_page_is_decoded_once_and_its_text_handed_on(
    http_server: LocalServer, polite_settings: Settings
) -> None:
    url = http_server.route("/page", Reply(200, b"\xef\xbb\xbf" + PAGE, HTML))
    try:
        with make_fetcher(polite_settings) as fetcher:
            fetched = fetcher.fetch(url)
        assert fetched.page.kind == "html" and fetched.page.encoding == "utf-8"
        assert fetched.text == decode(fetched.page.content, fetched.page.encoding)
        assert fetched.text.startswith("<html>") and "Grüße" in fetched.text
    finally:
        _forget_robots(polite_settings, http_server)


def test_two_fetches_of_one_host_keep_its_rate_without_redis(
    http_server: LocalServer, settings: Settings
) -> None:
    from pipeline.stages import fetch_stage

    # One request every 2 s to a host, and no Redis: the limiter is this process's.
    alone = settings.model_copy(
        update={"broker_url": f"redis://127.0.0.1:{free_port()}/0", "host_rate": 0.5}
    )
    first = http_server.route("/first", Reply(200, PAGE, HTML))
    second = http_server.route("/second", Reply(200, PAGE, HTML))
    # As a worker holds it: a fetch early for its host is told when to come back.
    with make_fetcher(alone, wait_for_turn=False) as fetcher:
        assert fetcher.politeness.redis is None
        # The host's first request is its robots.txt; the page is told to wait for the next.
        with pytest.raises(Throttled) as robots_first:
            fetch_stage(first, alone, fetcher=fetcher)
        assert http_server.count("/robots.txt") == 1 and http_server.count("/first") == 0
        turn = robots_first.value.slot
        assert turn is not None
        time.sleep(max(0.0, turn - time.time() - 0.2))
        assert fetch_stage(first, alone, fetcher=fetcher, reserved=turn).url == first
        with pytest.raises(Throttled) as caught:
            fetch_stage(second, alone, fetcher=fetcher)
        assert 0.25 < (caught.value.retry_after or 0) <= 2
        slot = caught.value.slot
        assert slot is not None and slot > time.time()
        assert http_server.count("/second") == 0
        # Tried again at its reserved slot, it goes (a wait that short is slept through).
        time.sleep(max(0.0, slot - time.time() - 0.2))
        assert fetch_stage(second, alone, fetcher=fetcher, reserved=slot).url == second
    assert http_server.count("/second") == 1
