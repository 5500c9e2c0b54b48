"""evals/train_reader.py: its data recipe, and a smoke run of the whole script (so the
command that made rag/reading/crossencoder.npz cannot rot)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from rag.reading import crossencoder as ce
from tests.conftest import REPO, load_script, run_script

SCRIPT = REPO / "evals" / "train_reader.py"


def train_reader():
    return load_script(SCRIPT)


def test_bigbench_text_is_put_back_into_prose() -> None:
    text = "The Earth ' s atmosphere ( see Occurrence ) is large - scale , isn ' t it ?"
    assert train_reader().detokenize(text) == (
        "The Earth's atmosphere (see Occurrence) is large-scale, isn't it?"
    )


def test_vitaminc_claims_pair_with_their_evidence_their_label_and_page_title(
    bigbench_folder: Path,
) -> None:
    tr = train_reader()
    splits = tr.load_vitaminc(bigbench_folder / tr.VITAMINC, seed=0)
    pairs = [p for split in splits.values() for p in split]
    assert len(pairs) == 240
    assert [sum(p.label == k for p in pairs) for k in range(3)] == [80, 80, 80]
    [neither] = [p for p in pairs if p.first == "Alderford's people mostly work in fishing."]
    assert neither.label == ce.NEUTRAL and neither.context == "Alderford"
    assert neither.second == "Alderford has a population of 1000 (2000 census)."
    for split, found in splits.items():  # a page's claims stay together
        assert all(tr.split_of(p.context, 0) == split for p in found)


def test_an_unknown_disfl_qa_target_is_a_question_no_sentence_answers(
    bigbench_folder: Path,
) -> None:
    tr = train_reader()
    pairs, questions = tr.load_disfl(bigbench_folder / tr.DISFL_QA, 0, random.Random(0))
    asked = {q.question: q for split in questions.values() for q in split}
    assert len(asked) == 160
    answerable = asked["Who is the mayor of no sorry who leads Alderford?"]
    assert answerable.gold == (False, False, True, False)
    assert answerable.sentences[2] == "The town's mayor is Larch Elmson."
    assert not any(asked["When was the bridge of Alderford um I mean the dam built?"].gold)
    unanswerable = [p for split in pairs.values() for p in split if "bridge" in p.first]
    assert unanswerable and {p.label for p in unanswerable} == {ce.NEUTRAL}


def test_missing_bigbench_files_stop_the_script_naming_them(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"vitaminc_fact_verification/task\.json"):
        train_reader().bigbench_tasks(tmp_path)


def test_task_files_that_are_not_bigbench_1_0_0s_are_flagged(
    bigbench_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = train_reader().bigbench_tasks(bigbench_folder)  # made-up files: read, with a warning
    assert tasks[train_reader().VITAMINC].is_file()
    assert capsys.readouterr().err.count("is not bigbench 1.0.0's file") == 3


def test_a_machine_that_cannot_download_bigbench_is_told_where_to_put_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tr = train_reader()

    def refused(*args, **kwargs):
        raise RuntimeError("pip could not download bigbench==1.0.0")

    monkeypatch.setattr(tr, "fetch_package_files", refused)
    monkeypatch.setattr(tr, "DATA_DIR", tmp_path)
    with pytest.raises(SystemExit) as stopped:
        tr.bigbench_tasks()
    message = str(stopped.value)
    assert "pip could not download" in message and "--bigbench" in message
    assert f"{tmp_path}/bigbench-1.0.0/bigbench/" in message


def test_a_run_of_one_batch_trains_it(bigbench_folder: Path, tmp_path: Path) -> None:
    """The warm-up and decay schedule holds for a plan of a single batch."""
    tr = train_reader()
    pairs = tr.load_vitaminc(bigbench_folder / tr.VITAMINC, 0)["train"][:4]
    run = tr.train(ce.torch_model(weights=None), pairs, random.Random(0), 1.0, 5e-5, 6)
    assert run["steps"] == 1


def test_splits_are_by_group_and_seeded() -> None:
    tr = train_reader()
    splits = [tr.split_of(f"title {i}", seed=0) for i in range(2000)]
    assert 0.75 < splits.count("train") / 2000 < 0.85
    assert splits == [tr.split_of(f"title {i}", seed=0) for i in range(2000)]
    assert splits != [tr.split_of(f"title {i}", seed=1) for i in range(2000)]


def test_a_paragraph_gives_its_answer_sentence_and_the_closest_others_as_neutral() -> None:
    tr = train_reader()
    sentences = ["Alpha met Beta in Paris.", "Beta likes tea.", "Alpha was born in Rome.", "Rain."]
    gold = [True, False, False, False]
    pairs = list(
        tr.paragraph_pairs("Where did Alpha meet Beta?", sentences, gold, random.Random(0), "t")
    )
    assert (pairs[0].second, pairs[0].label, pairs[0].context) == (sentences[0], ce.SUPPORTS, "")
    assert [p.label for p in pairs[1:]] == [ce.NEUTRAL] * tr.NEGATIVES
    # the sentences sharing words with the question come before the one that shares none
    assert {p.second for p in pairs[1:3]} == {"Beta likes tea.", "Alpha was born in Rome."}
    assert pairs[3].second == "Rain."
    assert all(p.context == sentences[sentences.index(p.second) - 1] for p in pairs[1:])


def test_the_answer_sentence_without_its_answer_is_an_on_topic_neutral() -> None:
    tr = train_reader()
    sentence = "Reuters reported the outline on November 19, 2025, in a long story."
    start = sentence.index("November")
    end = start + len("November 19, 2025")
    question = "When did Reuters report the outline?"
    for seed in range(20):
        left = tr.without_answer(question, sentence, start, end, random.Random(seed))
        assert left and "November" not in left and "2025" not in left
        assert left.startswith("Reuters reported the outline")  # the shared words stay
        assert " on," not in left  # a vague phrase takes the place of "on <date>" whole
    pairs = list(
        tr.paragraph_pairs(
            question, [sentence, "Rain."], [True, False], random.Random(0), "t", left
        )
    )
    assert [(p.second, p.label) for p in pairs[:2]] == [
        (sentence, ce.SUPPORTS),
        (left, ce.NEUTRAL),
    ]


def test_an_answer_that_is_the_whole_sentence_or_repeated_gives_no_negative() -> None:
    tr = train_reader()
    rng = random.Random(0)
    assert tr.without_answer("Who?", "Reuters.", 0, 7, rng) is None
    repeated = "Reuters said so, and Reuters said it again today."
    assert tr.without_answer("Who said so?", repeated, 0, 7, rng) is None


def test_an_unanswerable_question_gives_only_neutral_pairs() -> None:
    tr = train_reader()
    pairs = list(
        tr.paragraph_pairs("Who?", ["A.", "B.", "C.", "D."], [False] * 4, random.Random(0), "t")
    )
    assert len(pairs) == tr.NEGATIVES and {p.label for p in pairs} == {ce.NEUTRAL}


def test_a_question_read_whole_holds_its_gold_sentence_and_targets_it() -> None:
    tr = train_reader()
    sentences = tuple(f"Sentence {i} about Alpha." if i % 2 else f"Rain {i}." for i in range(12))
    gold = tuple(i == 5 for i in range(12))
    q = tr.Question("What about Alpha?", sentences, ("",) * 12, gold, "disfl")
    chosen, target = tr.group(q, random.Random(0))
    assert len(chosen) == tr.GROUP and chosen[target] == 5
    # the others: every sentence sharing the question's words, then the rest
    assert {1, 3, 7, 9, 11} < set(chosen)


def test_an_unanswerable_question_read_whole_targets_the_none_option() -> None:
    tr = train_reader()
    q = tr.Question("Who?", ("A.", "B.", "C."), ("", "A.", "B."), (False,) * 3, "disfl")
    chosen, target = tr.group(q, random.Random(0))
    assert sorted(chosen) == [0, 1, 2] and target == len(chosen)


def test_the_listwise_loss_falls_when_the_gold_sentence_leads(bigbench_folder: Path) -> None:
    """Its gradient pushes the gold sentence's answer odds up and the others' down."""
    import torch

    tr = train_reader()
    _, questions = tr.load_disfl(bigbench_folder / tr.DISFL_QA, 0, random.Random(0))
    answerable = [q for q in questions["train"] if any(q.gold)][:2]
    model = ce.torch_model(weights=None)
    none = torch.nn.Parameter(torch.zeros(()))
    optimizer = torch.optim.SGD(model.head.parameters(), lr=0.5)  # "none" stays put
    losses = []
    for _ in range(4):
        loss = tr.listwise_loss(model, answerable, none, random.Random(0))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_the_temperature_that_fits_overconfident_logits_is_above_one() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    logits = rng.normal(0, 1, (600, 3))
    right = rng.random(600) < 0.6
    logits[np.arange(600), np.where(right, labels, (labels + 1) % 3)] += 6.0  # 60% right, sure
    assert train_reader().fit_temperature(logits, labels) > 1.5


@pytest.mark.slow
def test_the_training_script_runs_end_to_end_on_a_small_sample(
    tmp_path: Path, bigbench_folder: Path
) -> None:
    out = run_script(
        *(str(SCRIPT), "--sample", "48", "--squad", "200", "--out", str(tmp_path)),
        *("--listwise", "2", "--bigbench", str(bigbench_folder)),
    )
    assert "# Held-out figures (test splits)" in out
    card = json.loads((tmp_path / "crossencoder.json").read_text())
    assert card["trained_on"].endswith("--listwise 2 --sample 48")
    assert card["figures"]["training"]["questions_read_whole"] > 0
    assert {"vitaminc_pairs_test", "disfl_questions_test"} <= set(card["figures"])
    model = ce.torch_model(weights=tmp_path / "crossencoder.npz")  # it loads
    assert model.head.weight.shape == (3, 384)


@pytest.mark.slow
def test_the_weights_are_written_before_the_held_out_scoring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bigbench_folder: Path
) -> None:
    """A run killed while scoring (minutes after its last training step) keeps its model."""
    tr = train_reader()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tr, "pair_logits", killed)
    with pytest.raises(KeyboardInterrupt):
        tr.main(
            [
                *("--sample", "16", "--squad", "50", "--out", str(tmp_path)),
                *("--bigbench", str(bigbench_folder)),
            ]
        )
    assert not (tmp_path / ce.CARD.name).exists()  # it did stop before the card
    model = ce.torch_model(weights=tmp_path / ce.WEIGHTS.name)
    assert model.head.weight.shape == (3, 384)


@pytest.mark.slow
def test_a_run_can_go_on_from_trained_weights_and_its_card_names_both_steps(
    tmp_path: Path, bigbench_folder: Path
) -> None:
    run_script(
        *(str(SCRIPT), "--sample", "8", "--squad", "40", "--lr", "2e-5", "--out", str(tmp_path)),
        *("--init", str(ce.WEIGHTS), "--bigbench", str(bigbench_folder)),
    )
    trained_on = json.loads((tmp_path / ce.CARD.name).read_text())["trained_on"]
    first, then = trained_on.split("; then on from those weights: ")
    assert first == ce.Card.load().trained_on
    assert then.endswith("--sample 8 --lr 2e-05 --init")
    went_on = ce.torch_model(weights=tmp_path / ce.WEIGHTS.name).head.weight.detach().flatten()
    shipped = ce.torch_model().head.weight.detach().flatten()
    assert float(went_on @ shipped / (went_on.norm() * shipped.norm())) > 0.9  # not a new head
