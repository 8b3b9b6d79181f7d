"""The metrics module outside a worker, and a worker's endpoint when its port is taken.

Starting the endpoint changes process-wide state (an environment variable, prometheus-client's
value class), so those tests run it in a subprocess of their own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        # Its own temporary folder, to see what it leaves there.
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_outside_a_worker_counting_does_nothing(tmp_path: Path) -> None:
    result = run(
        "import os, sys\n"
        "from workers import metrics, tasks\n"
        "metrics.count('fetch', 'ok')\n"
        "with metrics.timed('fetch'):\n"
        "    pass\n"
        "assert 'prometheus_client' not in sys.modules\n"
        "assert 'PROMETHEUS_MULTIPROC_DIR' not in os.environ\n",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_taken_port_is_reported_and_leaves_nothing_behind(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            "import logging, os\n"
            "logging.basicConfig()\n"
            "from pipeline.settings import Settings\n"
            "from workers import metrics\n"
            f"assert metrics.start(Settings(metrics_port={port})) is False\n"
            "metrics.count('fetch', 'ok')\n"
            "assert 'PROMETHEUS_MULTIPROC_DIR' not in os.environ\n",
            tmp_path,
        )
    assert result.returncode == 0, result.stderr
    assert f"metrics: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_started_endpoint_serves_counts_and_stop_removes_its_folder(tmp_path: Path) -> None:
    port_holder = socket.socket()
    port_holder.bind(("127.0.0.1", 0))
    port = port_holder.getsockname()[1]
    port_holder.close()
    result = run(
        "import os, httpx\n"
        "from pipeline.settings import Settings\n"
        "from workers import metrics\n"
        f"assert metrics.start(Settings(metrics_port={port}, broker_url='redis://127.0.0.1:1/0'))\n"
        "metrics.count('clean', 'retried')\n"
        "with metrics.timed('clean'):\n"
        "    pass\n"
        f"text = httpx.get('http://127.0.0.1:{port}/metrics').text\n"
        'assert \'newsflow_stage_tasks_total{outcome="retried",stage="clean"} 1.0\' in text, text\n'
        "assert 'newsflow_stage_duration_seconds_count{stage=\"clean\"} 1.0' in text, text\n"
        "assert 'newsflow_stage_cpu_seconds_total{stage=\"clean\"}' in text, text\n"
        "assert 'newsflow_broker_up 0.0' in text, text\n"
        "folder = os.environ['PROMETHEUS_MULTIPROC_DIR']\n"
        "metrics.stop()\n"
        "assert not os.path.exists(folder)\n"
        "metrics.count('clean', 'ok')\n",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []
