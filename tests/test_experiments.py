"""The experiments in evals/experiments run from a checkout and measure what they say."""

import json
import random
from pathlib import Path

import pytest

from tests.conftest import REPO, load_script, run_script

SCRIPT = REPO / "evals" / "experiments" / "cross_encoder.py"

ARTICLE = {
    "paragraphs": [
        {
            "context": "Alpha met Beta in Paris. They signed a deal on 3 May. Nobody else came.",
            "qas": [
                {
                    "question": "Where did Alpha meet Beta?",
                    "answers": [{"text": "Paris", "answer_start": 18}],
                }
            ],
        },
        {
            "context": "Alpha was born in Rome. Beta likes tea. Gamma met Alpha in Oslo. Rain.",
            "qas": [],
        },
    ]
}


def cross_encoder_module():
    return load_script(SCRIPT)


def test_cross_encoder_pairs_a_question_with_its_answer_and_five_sentences_without() -> None:
    [positive, *negatives] = cross_encoder_module().pairs([ARTICLE], 1, random.Random(0))
    assert positive == ("Where did Alpha meet Beta?", "Alpha met Beta in Paris.", 1.0)
    assert len(negatives) == 5
    assert all(label == 0.0 and "Paris" not in text for _, text, label in negatives)
    # the three hardest share words with the question; the other two are drawn at random
    hard = {"Alpha was born in Rome.", "Beta likes tea.", "Gamma met Alpha in Oslo."}
    assert {text for _, text, _ in negatives[:3]} == hard


@pytest.mark.slow
def test_the_cross_encoder_experiment_trains_and_reports_its_figures() -> None:
    results = json.loads(run_script(str(SCRIPT), "--questions", "8", "--held-out", "4"))
    assert results["training_pairs"] == 8 * 6
    figures = [*results["held_out"].values()]
    figures += [v for split in results["gold_set"].values() for v in split.values()]
    assert len(figures) == 6
    assert all(0.0 <= f <= 1.0 for f in figures)


LISTWISE = REPO / "evals" / "experiments" / "listwise_disfl.py"


@pytest.mark.slow
def test_the_listwise_experiment_trains_and_reports_before_and_after(
    tmp_path: Path, bigbench_folder: Path
) -> None:
    out = run_script(
        *(str(LISTWISE), "--sample", "8", "--squad", "40", "--out", str(tmp_path)),
        *("--bigbench", str(bigbench_folder)),
    )
    before, after = (json.loads(line) for line in out.splitlines() if line.startswith("{"))
    assert before.keys() == after.keys() == {"disfl", "squad", "vitaminc_argmax_accuracy"}
    assert (tmp_path / "crossencoder.npz").exists()


@pytest.mark.parametrize("name", ["abstention_combo", "answer_kind_gate"])
def test_the_offline_experiments_import_what_they_measure_with(name: str) -> None:
    """Their full runs take minutes (and bigbench's files); their imports still resolve."""
    assert callable(load_script(REPO / "evals" / "experiments" / f"{name}.py").main)
