"""The evaluation runs end to end on every dataset and holds the floors in evals/thresholds.toml."""

import tomllib
from pathlib import Path

import pytest

from rag import Settings
from rag.evaluate import THRESHOLDS, check_floors, evaluate

FLOORS = tomllib.loads(THRESHOLDS.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("dataset", sorted(FLOORS))
def test_evaluation_holds_its_floors(dataset: str, corpus_dir: Path, tmp_path: Path) -> None:
    run, report = evaluate(
        dataset,
        limit=FLOORS[dataset].get("limit"),
        settings=Settings(corpus_dir=corpus_dir),
        out_dir=tmp_path / dataset,
        progress=False,
    )
    assert report.read_text().startswith(f"# Evaluation: {dataset}")
    assert {"metrics.json", "scores.png", "by_type.png"} <= {
        p.name for p in report.parent.iterdir()
    }
    assert check_floors(run.to_json(), dataset) == []
