"""Settings: read from the environment once, and a value that cannot work refused at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.errors import InvalidRequest
from pipeline.settings import Settings, get_settings
from tests.conftest import newsflow


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """get_settings() reading this test's environment, and the next test's afterwards."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_the_defaults_are_valid_and_zero_means_what_the_description_says() -> None:
    defaults = Settings()
    assert defaults.host_rate == 1.0 and defaults.max_retries == 5
    unlimited = Settings(host_rate=0, max_retries=0, retry_backoff=0, metrics_port=0)
    assert unlimited.host_rate == 0 and unlimited.metrics_port == 0


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("NEWSFLOW_HOST_RATE", "-1", "greater than or equal to 0"),
        ("NEWSFLOW_READ_TIMEOUT", "0", "greater than 0"),
        ("NEWSFLOW_METRICS_PORT", "70000", "less than or equal to 65535"),
        ("NEWSFLOW_FETCH_CONCURRENCY", "0", "greater than or equal to 1"),
        ("NEWSFLOW_MAX_RETRIES", "many", "valid integer"),
    ],
)
def test_a_value_out_of_range_is_refused_naming_the_variable_and_what_it_held(
    fresh: pytest.MonkeyPatch, name: str, value: str, said: str
) -> None:
    fresh.setenv(name, value)
    with pytest.raises(InvalidRequest) as refused:
        get_settings()
    message = str(refused.value)
    assert f"{name}={value!r}" in message and said in message, message


def test_every_problem_is_said_at_once(fresh: pytest.MonkeyPatch) -> None:
    fresh.setenv("NEWSFLOW_HOST_RATE", "-1")
    fresh.setenv("NEWSFLOW_TOTAL_TIMEOUT", "-5")
    with pytest.raises(InvalidRequest) as refused:
        get_settings()
    assert "NEWSFLOW_HOST_RATE='-1'" in str(refused.value)
    assert "NEWSFLOW_TOTAL_TIMEOUT='-5'" in str(refused.value)


def test_the_command_line_says_a_bad_setting_in_one_line_not_a_traceback() -> None:
    shown = newsflow("articles", env={"NEWSFLOW_HOST_RATE": "fast"})
    assert shown.returncode == 2, shown.stdout + shown.stderr
    assert "error: bad setting: NEWSFLOW_HOST_RATE='fast'" in shown.stderr
    assert "Traceback" not in shown.stderr and shown.stdout == ""
