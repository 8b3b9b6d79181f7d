"""docker/compose.yaml runs real ``newsflow`` commands and serves every pipeline queue.

Each newsflow service's ``command`` holds the arguments after ``newsflow`` (the image's
entrypoint). They are resolved here with click's own parser against the real CLI, the way
``newsflow`` itself would parse them, but nothing is invoked. No Docker engine is needed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from pipeline import STAGES
from workers import cli

DOCKER = Path(__file__).resolve().parent.parent / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
OUR_DOCKERFILE = "docker/Dockerfile"


# Older Typer releases build on click; newer ones (0.29 here) vendor a copy, ``typer._click``,
# whose classes are not click's. Take the parse-error base class from Typer so either works.
_PARSE_ERROR: type[Exception] = next(
    cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "ClickException"
)


class InvalidCommand(Exception):
    """The arguments are not a command the ``newsflow`` CLI would run."""


@dataclass(frozen=True)
class Resolved:
    path: tuple[str, ...]  # e.g. ("db", "upgrade")
    params: dict[str, Any]  # the leaf command's parsed parameters


def _is_group(command: Any) -> bool:
    return callable(getattr(command, "resolve_command", None))


def _remaining_args(ctx: Any) -> list[str]:
    """The tokens a group's parse left for its subcommand, as the group's own invoke reads them.

    Click keeps the subcommand's name in ``protected_args`` (``_protected_args`` since 8.2,
    where the public name is deprecated; Typer's vendored click has only the private one).
    """
    protected = getattr(ctx, "_protected_args", None)
    if protected is None:
        protected = ctx.protected_args
    return [*protected, *ctx.args]


def resolve_cli(args: Sequence[str]) -> Resolved:
    """Parse ``newsflow <args>`` with click, down to the leaf command, without invoking it."""
    if not all(isinstance(arg, str) for arg in args):
        raise InvalidCommand(f"every argument must be a string: {list(args)!r}")
    command: Any = typer.main.get_command(cli.app)
    name, remaining = "newsflow", list(args)
    path: list[str] = []
    parent: Any = None
    try:
        while True:
            ctx = command.make_context(name, remaining, parent=parent, resilient_parsing=False)
            if not _is_group(command):
                return Resolved(tuple(path), dict(ctx.params))
            remaining = _remaining_args(ctx)
            if not remaining:
                if command.invoke_without_command:
                    return Resolved(tuple(path), dict(ctx.params))
                raise InvalidCommand(f"`{' '.join(['newsflow', *path])}` needs a subcommand")
            sub_name, sub, remaining = command.resolve_command(ctx, remaining)
            if sub is None or sub_name is None:
                raise InvalidCommand(f"no command {remaining[0]!r}")
            path.append(sub_name)
            command, name, parent = sub, sub_name, ctx
    except typer.Exit as stop:
        # An eager option such as --help: it prints and exits, it does not serve anything.
        raise InvalidCommand(f"{list(args)!r} exits at once (code {stop.exit_code})") from stop
    except _PARSE_ERROR as error:
        raise InvalidCommand(f"{list(args)!r}: {error or type(error).__name__}") from error


def _as_list(value: Any) -> list[Any]:
    return shlex.split(value) if isinstance(value, str) else list(value or [])


def _load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _built_from_our_dockerfile(service: dict[str, Any]) -> bool:
    build = service.get("build")
    if build is None:
        return False
    if isinstance(build, str):  # `build: <context>` means <context>/Dockerfile
        return False
    return str(build.get("dockerfile", "Dockerfile")).removeprefix("./") == OUR_DOCKERFILE


def _newsflow_services() -> dict[str, dict[str, Any]]:
    services = _load_compose()["services"]
    return {name: spec for name, spec in services.items() if _built_from_our_dockerfile(spec)}


NEWSFLOW_SERVICES = _newsflow_services()


def _workers() -> dict[str, list[str]]:
    """Worker service -> the queues its command serves, as the CLI parses --queues."""
    workers = {}
    for name, spec in NEWSFLOW_SERVICES.items():
        resolved = resolve_cli(_as_list(spec.get("command")))
        if resolved.path == ("worker",):
            queues = resolved.params["queues"]
            workers[name] = [queue.strip() for queue in queues.split(",") if queue.strip()]
    return workers


def test_compose_builds_the_expected_newsflow_services_from_our_dockerfile() -> None:
    assert set(NEWSFLOW_SERVICES) == {"migrate", "fetch-worker", "cpu-worker", "beat", "flower"}
    for name, spec in NEWSFLOW_SERVICES.items():
        assert spec["build"]["context"] == "..", name
        assert "entrypoint" not in spec, f"{name} must keep the image's `newsflow` entrypoint"


def test_dockerfile_entrypoint_is_newsflow() -> None:
    """The compose commands are arguments to `newsflow` only if the image's entrypoint is it."""
    entrypoints = re.findall(r"^ENTRYPOINT\s+(.+)$", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    assert entrypoints, "docker/Dockerfile has no ENTRYPOINT"
    assert yaml.safe_load(entrypoints[-1]) == ["newsflow"]


@pytest.mark.parametrize("service", sorted(NEWSFLOW_SERVICES))
def test_service_command_is_a_real_newsflow_cli_command(service: str) -> None:
    command = NEWSFLOW_SERVICES[service].get("command")
    assert isinstance(command, list), f"{service}: command should be a YAML list of arguments"
    resolved = resolve_cli(command)  # raises InvalidCommand when the CLI would reject it
    assert resolved.path, f"{service}: command names no subcommand"


@pytest.mark.parametrize(
    "args",
    [
        ["wrker"],
        ["worker", "--no-such-option"],
        ["worker", "--concurrency", "many"],
        ["worker", "--queues"],
        ["worker", "--help"],
        ["db"],
        ["db", "downgrade"],
        [],
        ["flower", "--port", 5555],
    ],
    ids=repr,
)
def test_cli_validator_rejects_commands_newsflow_would_not_run(args: list[Any]) -> None:
    with pytest.raises(InvalidCommand):
        resolve_cli(args)


def test_cli_validator_resolves_nested_groups_and_parses_options() -> None:
    assert resolve_cli(["db", "upgrade"]).path == ("db", "upgrade")
    resolved = resolve_cli(["worker", "--queues=clean,store", "--concurrency", "3"])
    assert resolved.path == ("worker",)
    assert resolved.params["queues"] == "clean,store"
    assert resolved.params["concurrency"] == 3


def test_redis_broker_enables_appendonly_persistence() -> None:
    redis = _load_compose()["services"]["redis"]
    args = _as_list(redis.get("command"))
    assert args[:1] == ["redis-server"]
    options = dict(zip(args[1::2], args[2::2], strict=False))
    assert options.get("--appendonly") == "yes", args
    assert options.get("--appendfsync") == "everysec", args
    volumes = [str(volume) for volume in redis.get("volumes", [])]
    mounts = [volume.split(":")[1] for volume in volumes if ":" in volume]
    assert "/data" in mounts, "the append-only file must live on a volume to outlast the container"


def test_fetch_worker_serves_only_the_fetch_queue() -> None:
    resolved = resolve_cli(NEWSFLOW_SERVICES["fetch-worker"]["command"])
    assert _workers()["fetch-worker"] == ["fetch"]
    # Left to the CLI, a fetch-only worker gets the threads pool.
    assert resolved.params["pool"] in (None, "threads")


def test_workers_together_serve_all_four_stage_queues() -> None:
    workers = _workers()
    assert set(workers) == {"fetch-worker", "cpu-worker"}
    served = [queue for queues in workers.values() for queue in queues]
    assert set(STAGES) == {"fetch", "clean", "extract", "store"}
    unknown = set(served) - set(STAGES)
    assert not unknown, f"the CLI would refuse unknown queue(s) {sorted(unknown)}"
    assert set(served) == set(STAGES)


def test_workers_start_after_the_one_shot_migration() -> None:
    assert resolve_cli(NEWSFLOW_SERVICES["migrate"]["command"]).path == ("db", "upgrade")
    for name in _workers():
        depends_on = NEWSFLOW_SERVICES[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["redis"]["condition"] == "service_healthy", name
        assert depends_on["postgres"]["condition"] == "service_healthy", name


def test_flower_is_published_on_the_host_loopback_only() -> None:
    flower = NEWSFLOW_SERVICES["flower"]
    resolved = resolve_cli(flower["command"])
    assert resolved.path == ("flower",)
    assert resolved.params["port"] == 5555
    assert flower["ports"] == [f"127.0.0.1:5555:{resolved.params['port']}"]
