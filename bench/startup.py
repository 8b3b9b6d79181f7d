"""How long the command line takes to start, beside the interpreter's own start.

Run from the repository root::

    python -m bench.startup [--runs 20]

Each command runs ``--runs`` times as a fresh process with this interpreter: ``python -c
pass`` (the reference: what no code of ours can go below), ``newsflow --help`` and ``newsflow
articles --help``. It prints the minimum, median and maximum wall time of each, and the
median's excess over the reference. The command line imports Celery, trafilatura and
SQLAlchemy only in the commands that use them, so asking for help costs none of them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _newsflow() -> list[str]:
    """The installed console script beside this interpreter, or the package run as a module."""
    script = Path(sys.executable).parent / "newsflow"
    return [str(script)] if script.exists() else [sys.executable, "-m", "workers.cli"]


def timings(command: list[str], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=60)
        seconds.append(time.perf_counter() - start)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each command")
    runs = parser.parse_args(argv).runs
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "newsflow --help": [*_newsflow(), "--help"],
        "newsflow articles --help": [*_newsflow(), "articles", "--help"],
    }
    for command in commands.values():
        timings(command, 1)  # a first run writes bytecode caches; it is not what users wait for
    reference = None
    print(f"{'command':<28}{'min s':>8}{'median s':>10}{'max s':>8}{'over python':>13}")
    for name, command in commands.items():
        seconds = timings(command, runs)
        median = statistics.median(seconds)
        reference = median if reference is None else reference
        print(
            f"{name:<28}{min(seconds):>8.3f}{median:>10.3f}{max(seconds):>8.3f}"
            f"{median - reference:>13.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
