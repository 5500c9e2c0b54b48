"""The evaluation runs end to end on every dataset and holds the floors in evals/thresholds.toml."""

import tomllib
from pathlib import Path

import pytest

from rag import IndexBusy, Settings
from rag.datasets import DATA_DIR
from rag.evaluate import THRESHOLDS, check_floors, evaluate, exclusive

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


def test_an_evaluation_waits_for_another_of_the_same_dataset(tmp_path: Path) -> None:
    busy = pytest.raises(IndexBusy, match="another evaluation")
    with exclusive(DATA_DIR / "index" / "default", wait=None), busy:
        evaluate("default", out_dir=tmp_path, wait=0.2, progress=False)
