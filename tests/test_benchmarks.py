"""The scale benchmark runs from a checkout: every pipeline on the default corpus."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_the_scale_benchmark_measures_every_pipeline_on_the_default_corpus(
    tmp_path: Path,
) -> None:
    run = subprocess.run(
        [sys.executable, "benchmarks/scale.py", "--sizes", "default", "--results", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = [line.split(" | ")[0] for line in run.stdout.splitlines() if line.startswith("| ")]
    assert rows[2:] == ["| rag", "| langchain", "| encode"]
    figures = json.loads((tmp_path / "scale.json").read_text())["default"]
    assert figures["rag"]["chunks"] > 0
    assert figures["rag"]["peak_rss_mib"] > 0
    assert figures["rag"]["cold_start_s"] > 0
    assert (tmp_path / "scale.png").stat().st_size > 0


@pytest.mark.slow
def test_the_mmap_pin_benchmark_times_both_settings_side_by_side() -> None:
    run = subprocess.run(
        [sys.executable, "benchmarks/mmap_pin.py", "--articles", "2", "--rounds", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    settings = [line.split(" | ")[1] for line in run.stdout.splitlines() if line.startswith("| 1 ")]
    assert settings == ["pinned", "glibc", "trim"]
    [ratio] = [line for line in run.stdout.splitlines() if line.startswith("pinned / glibc: ")]
    assert float(ratio.split(": ")[1]) > 0
