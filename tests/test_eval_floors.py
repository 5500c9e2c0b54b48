"""The evaluation runs end to end on every dataset and holds the floors in evals/thresholds.toml."""

import json
import tomllib
from pathlib import Path

import pytest

from rag import IndexBusy, Settings
from rag.evaluation.check_eval import evaluate_check
from rag.evaluation.datasets import DATA_DIR
from rag.evaluation.evaluate import THRESHOLDS, check_floors, evaluate, exclusive

FLOORS = tomllib.loads(THRESHOLDS.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("dataset", sorted(set(FLOORS) - {"check"}))
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


@pytest.mark.slow
def test_checking_the_gold_statements_holds_its_floors(corpus_dir: Path, tmp_path: Path) -> None:
    data, report = evaluate_check(Settings(corpus_dir=corpus_dir), tmp_path)
    assert report.read_text().startswith("# Evaluation: check")
    assert json.loads((tmp_path / "metrics.json").read_text())["metrics"] == data["metrics"]
    assert check_floors(data, "check") == []


def test_an_evaluation_waits_for_another_of_the_same_dataset(tmp_path: Path) -> None:
    busy = pytest.raises(IndexBusy, match="another evaluation")
    with exclusive(DATA_DIR / "index" / "default", wait=None), busy:
        evaluate("default", out_dir=tmp_path, wait=0.2, progress=False)
