"""JSON Feed, 1.0 and 1.1, which feedparser does not read."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.feeds import parse_feed
from tests.feed_samples import JSON_FEED


def test_json_feed() -> None:
    feed = parse_feed(JSON_FEED, url="https://json.example.com/feed.json")
    assert feed.kind == "json"
    assert feed.title == "JSON Example"
    assert [entry.url for entry in feed.entries] == [
        "https://json.example.com/one",
        "https://json.example.com/two",
    ]
    one, two = feed.entries
    assert one.summary == "First item"
    assert one.published == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert one.author == "Cho Min"
    assert two.author == "Desk"  # the feed's author stands in for the item's
    assert two.summary == "Second"
