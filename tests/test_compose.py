"""docker/compose.yaml runs real ``newsflow`` commands and serves every pipeline queue.

Each newsflow service's ``command`` holds the arguments after ``newsflow`` (the image's
entrypoint). They are resolved here with click's own parser against the real CLI, the way
``newsflow`` itself would parse them, but nothing is invoked. No Docker engine is needed:
the file is read as YAML, and ``docker compose config`` is run as well where it is installed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from pipeline import STAGES
from tests.conftest import ROOT, SAMPLES, newsflow
from workers import cli
from workers.cli.services import is_loopback

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
    assert set(NEWSFLOW_SERVICES) == {
        "migrate",
        "fetch-worker",
        "cpu-worker",
        "beat",
        "flower",
        "flower-api",
    }
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


# --- Flower: a login by default; its API without one only inside the network, when asked ----

# `${NAME:?message}`: compose refuses every command while NAME is unset or empty.
REQUIRED = re.compile(r"^\$\{(?P<name>[A-Z_]+):\?(?P<message>[^}$]+)\}$")


def _flowers() -> dict[str, dict[str, Any]]:
    return {
        name: spec
        for name, spec in NEWSFLOW_SERVICES.items()
        if resolve_cli(spec["command"]).path == ("flower",)
    }


def _environment(spec: dict[str, Any]) -> dict[str, str]:
    return {str(name): str(value) for name, value in (spec.get("environment") or {}).items()}


def _opens_api(spec: dict[str, Any]) -> bool:
    value = _environment(spec).get("FLOWER_UNAUTHENTICATED_API", "false")
    return value.strip().lower() in {"1", "true", "yes", "on", "y", "t"}


def test_the_published_flower_asks_for_a_login_with_no_default() -> None:
    flower = NEWSFLOW_SERVICES["flower"]
    environment = _environment(flower)
    required = REQUIRED.match(environment.get("FLOWER_BASIC_AUTH", ""))
    assert required, "FLOWER_BASIC_AUTH must come from the user, with no default to guess"
    assert required["name"] == "FLOWER_BASIC_AUTH"
    assert "user:password" in required["message"] and "docker/.env" in required["message"]
    assert not _opens_api(flower)
    # It listens on all interfaces inside its container, where `newsflow flower` opens the
    # API by itself only on loopback: the login is the only way in.
    address = resolve_cli(flower["command"]).params["address"]
    assert not is_loopback(address)


def test_flowers_api_is_open_without_a_login_only_unpublished_and_when_asked_for() -> None:
    flowers = _flowers()
    opened = {name for name, spec in flowers.items() if _opens_api(spec)}
    assert opened == {"flower-api"}
    for name, spec in flowers.items():
        environment = _environment(spec)
        if name in opened:
            assert not spec.get("ports"), f"{name} must not be published on the host"
            assert "network_mode" not in spec, f"{name} stays on the compose network"
            assert spec.get("profiles") == ["flower-api"], f"{name} runs only when asked for"
            assert "FLOWER_BASIC_AUTH" not in environment
        else:
            assert "profiles" not in spec, f"{name} is part of the stack"
            assert REQUIRED.match(environment.get("FLOWER_BASIC_AUTH", "")), name
        # Both keep the stack's broker and database.
        for setting in ("NEWSFLOW_BROKER_URL", "NEWSFLOW_DATABASE_URL"):
            assert environment[setting] == _environment(NEWSFLOW_SERVICES["beat"])[setting]


@pytest.mark.parametrize("login", ["admin", ""])
def test_newsflow_flower_refuses_a_login_flower_would_never_match(login: str) -> None:
    result = newsflow("flower", env={"FLOWER_BASIC_AUTH": login}, timeout=60)
    assert result.returncode == 1
    assert "FLOWER_BASIC_AUTH must be user:password" in result.stderr


def test_every_published_port_is_on_the_host_loopback() -> None:
    for name, spec in _load_compose()["services"].items():
        for port in spec.get("ports") or []:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"


# --- saved pages from the host ----------------------------------------------------------------


def _pages_mount(spec: dict[str, Any]) -> dict[str, Any]:
    mounts = [
        volume
        for volume in spec.get("volumes") or []
        if isinstance(volume, dict) and volume.get("target") == "/pages"
    ]
    assert len(mounts) == 1, "one long-form mount at /pages"
    return mounts[0]


@pytest.mark.parametrize("service", sorted(NEWSFLOW_SERVICES))
def test_saved_pages_are_mounted_read_only_at_pages(service: str) -> None:
    """Every newsflow service: `ingest /pages` lists the folder in one container, and the
    fetch worker reads each file by the same path in another."""
    mount = _pages_mount(NEWSFLOW_SERVICES[service])
    assert mount["type"] == "bind"
    assert mount["read_only"] is True
    # Docker would otherwise create a missing folder, empty and owned by root.
    assert mount["bind"]["create_host_path"] is False
    assert mount["source"] == "${NEWSFLOW_PAGES:-../samples}"


def test_the_default_pages_are_the_samples_and_ingest_finds_documents_there() -> None:
    from workers.cli.ingest import expand_sources

    source = _pages_mount(NEWSFLOW_SERVICES["cpu-worker"])["source"]
    default = source.removeprefix("${NEWSFLOW_PAGES:-").removesuffix("}")
    # Compose resolves a relative path against the compose file's folder.
    folder = (DOCKER / default).resolve()
    assert folder == SAMPLES.resolve()
    documents = expand_sources([str(folder)])
    assert documents and all(Path(path).parent == folder for path in documents)


# --- the file as docker compose reads it --------------------------------------------------------


def _docker_compose(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "compose", *arguments],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _has_docker_compose() -> bool:
    try:
        return bool(shutil.which("docker")) and _docker_compose("version", env={}).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_docker_compose_config_reads_the_file_as_these_tests_do(tmp_path: Path) -> None:
    if not _has_docker_compose():
        # Not skip_or_fail: CI has no Docker either. The YAML tests above carry the checks.
        pytest.skip("`docker compose` (Docker with its compose plugin) is not installed")
    # An empty env file in place of docker/.env, which a developer's checkout may have.
    empty = tmp_path / "empty.env"
    empty.write_text("")
    base = ["--env-file", str(empty), "-f", str(COMPOSE)]
    unset = {"FLOWER_BASIC_AUTH": "", "NEWSFLOW_PAGES": ""}
    refused = _docker_compose(*base, "config", env=unset)
    assert refused.returncode != 0
    assert "FLOWER_BASIC_AUTH" in refused.stderr
    login = {"FLOWER_BASIC_AUTH": "admin:secret", "NEWSFLOW_PAGES": ""}
    config = _docker_compose(
        *base, "--profile", "flower-api", "config", "--format", "json", env=login
    )
    assert config.returncode == 0, config.stderr
    services = json.loads(config.stdout)["services"]
    assert services["flower"]["environment"]["FLOWER_BASIC_AUTH"] == "admin:secret"
    assert services["flower-api"]["environment"]["FLOWER_UNAUTHENTICATED_API"] == "true"
    assert not services["flower-api"].get("ports")
    for name in NEWSFLOW_SERVICES:
        [pages] = [v for v in services[name]["volumes"] if v["target"] == "/pages"]
        assert (pages["type"], pages["read_only"]) == ("bind", True), name
        assert Path(pages["source"]).resolve() == SAMPLES.resolve(), name
    # Without the profile, the unauthenticated API is not part of the stack.
    plain = _docker_compose(*base, "config", "--services", env=login)
    assert plain.returncode == 0, plain.stderr
    assert "flower-api" not in plain.stdout.split()
