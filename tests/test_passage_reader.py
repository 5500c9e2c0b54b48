"""The passage reader (question + whole paragraph, span and no-answer heads), issue 38's
first proposal: what it reads, what it learns, and the script that measures it."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from evals.reader import loop, passage
from evals.reader.data import Question
from rag.index.embed import default_model_path, load_tokenizer
from tests.conftest import REPO, run_script

SCRIPT = REPO / "evals" / "train_passage_reader.py"
PARAGRAPH = "The museum stands on the river. It has been open since 1985. Entry is free."


def decoded(e: passage.Encoded) -> str:
    return load_tokenizer(default_model_path()).decode(e.ids[e.start : e.end + 1])


def test_the_answer_characters_become_its_word_pieces() -> None:
    at = PARAGRAPH.index("1985")
    (e,) = passage.encode([passage.Passage("Since when?", PARAGRAPH, at, at + 4, "t")])
    assert decoded(e) == "1985"
    assert e.offsets[e.start] == (at, at + 4)


def test_an_unanswerable_passage_targets_no_span() -> None:
    (e,) = passage.encode([passage.Passage("Who built it?", PARAGRAPH, -1, -1, "t")])
    assert (e.start, e.end) == (0, 0)


def test_an_answer_cut_off_by_the_length_limit_targets_no_span() -> None:
    long = "Filler words go on. " * 200 + "It opened in 1985."
    at = long.index("1985")
    (e,) = passage.encode([passage.Passage("When?", long, at, at + 4, "t")])
    assert len(e.ids) == passage.MAX_LENGTH
    assert (e.start, e.end) == (0, 0)


def test_the_best_span_stays_inside_the_paragraph_and_is_short() -> None:
    starts = np.array([[9.0, 0, 1, 5, 0, 0]])
    ends = np.array([[9.0, 0, 0, 0, 0, 7]])
    span = np.array([[False, False, True, True, True, True]])  # the first two: the question
    assert passage.best_spans(starts, ends, span) == [(3, 5)]


def test_training_steps_on_one_batch_lower_its_loss() -> None:
    import torch

    torch.manual_seed(0)
    at = PARAGRAPH.index("1985")
    batch = [
        passage.Passage("Since when has the museum been open?", PARAGRAPH, at, at + 4, "t"),
        passage.Passage("How much did the museum cost to build?", PARAGRAPH, -1, -1, "t"),
    ]
    model = passage.torch_model(init=None)
    trainer = passage.PassageTrainer(model, loop.Run(batch * 160, lr=1e-4), random.Random(0), None)
    before = passage.loss(model, batch, "fp32").item()
    for _ in range(8):
        trainer.train_step(batch, None)
    assert passage.loss(model, batch, "fp32").item() < before / 2


def test_scores_put_the_answer_probability_on_the_span_sentence() -> None:
    model = passage.torch_model(init=None)
    q = Question("Since when?", tuple(PARAGRAPH.split(". ")), ("",) * 3, (False, True, False), "t")
    (row,) = passage.scores(model, [q])
    assert row.shape == (3,) and (row > 0).sum() == 1 and 0 < row.max() < 1


@pytest.mark.slow
def test_the_script_trains_saves_and_measures_both_readers_and_the_product_path(
    tmp_path: Path,
) -> None:
    out = run_script(
        *(str(SCRIPT), "--sample", "32", "--squad", "100", "--out", str(tmp_path)),
        *("--checkpoints", str(tmp_path / "checkpoints")),
    )
    assert "training passages" in out
    found = json.loads((tmp_path / "figures.json").read_text())
    readers = [f["reader"] for f in found["squad2_test"]]
    assert readers[0] == "passage" and readers[1].endswith("crossencoder.npz")
    assert all(0 <= f["auc"] <= 1 and f["questions"] == 8 for f in found["squad2_test"])
    out = run_script(
        *(str(REPO / "evals" / "squad2_eval.py"), "--split", "dev", "--limit", "6"),
        *(
            "--index-dir",
            str(tmp_path / "index"),
            "--passage-weights",
            str(tmp_path / "passage.npz"),
            "--rows",
            str(tmp_path / "rows.jsonl"),
        ),
    )
    found = json.loads(out[: out.rindex("}") + 1])
    assert found["questions"] == 6 and 0.0 <= found["answered_citing_gold"] <= 1.0
    rows = [json.loads(x) for x in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert all(len(r["chunk_scores"]) == len(r["chunk_hits"]) == 3 for r in rows)
    # the answer is the likeliest chunk's sentence
    assert all(r["hits"] == [r["chunk_hits"][r["chunk_scores"].index(r["score"])]] for r in rows)


def test_a_run_can_go_on_from_a_passage_readers_own_weights(tmp_path: Path) -> None:
    import torch

    from rag.reading import crossencoder as ce

    trained = passage.torch_model(init=None)
    with torch.no_grad():
        trained.head_none.bias.fill_(0.75)
    ce.save_trained(trained, tmp_path / "passage.npz", 0)
    again = passage.torch_model(init=tmp_path / "passage.npz")
    assert again.head_none.bias.item() == pytest.approx(0.75, abs=1e-3)
    assert torch.allclose(again.head.weight, trained.head.weight, atol=0.02)


def test_a_question_is_read_in_its_paragraph_or_in_the_chunk_ingest_makes() -> None:
    from rag.documents.ingest import Splitter

    paragraphs = [f"Paragraph {i} says the number {i} often. " * 12 for i in range(6)]
    paragraphs[4] += "The museum has been open since 1985."
    at = paragraphs[4].index("1985")
    whole = passage.Article(paragraphs)
    assert whole.place(4, at, at + 4) == (paragraphs[4], at, at + 4)
    splitter = Splitter(load_tokenizer(default_model_path()), 200, 40)
    chunked = passage.Article(paragraphs, splitter)
    text, start, end = chunked.place(4, at, at + 4)
    assert text[start:end] == "1985" and text != paragraphs[4]
    assert text in "\n\n".join(paragraphs)  # a chunk of the whole article
    assert "1985" not in chunked.closest("How many says the number often?", "1985", 4)
