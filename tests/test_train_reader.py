"""evals/train_reader.py and its package evals/reader: the data recipe, made-up hard cases,
the resumable loop, and smoke runs of the whole script (so the command that made
rag/reading/crossencoder.npz cannot rot)."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from evals.reader import bigbench, data, figures, loop, synthetic
from rag.reading import crossencoder as ce
from tests.conftest import REPO, load_script, run_script

SCRIPT = REPO / "evals" / "train_reader.py"


def train_reader():
    return load_script(SCRIPT)


def test_bigbench_text_is_put_back_into_prose() -> None:
    text = "The Earth ' s atmosphere ( see Occurrence ) is large - scale , isn ' t it ?"
    assert bigbench.detokenize(text) == (
        "The Earth's atmosphere (see Occurrence) is large-scale, isn't it?"
    )


def test_vitaminc_claims_pair_with_their_evidence_their_label_and_page_title(
    bigbench_folder: Path,
) -> None:
    splits = bigbench.load_vitaminc(bigbench_folder / bigbench.VITAMINC, seed=0)
    pairs = [p for split in splits.values() for p in split]
    assert len(pairs) == 240
    assert [sum(p.label == k for p in pairs) for k in range(3)] == [80, 80, 80]
    [neither] = [p for p in pairs if p.first == "Alderford's people mostly work in fishing."]
    assert neither.label == ce.NEUTRAL and neither.context == "Alderford"
    assert neither.second == "Alderford has a population of 1000 (2000 census)."
    for split, found in splits.items():  # a page's claims stay together
        assert all(data.split_of(p.context, 0) == split for p in found)


def test_an_unknown_disfl_qa_target_is_a_question_no_sentence_answers(
    bigbench_folder: Path,
) -> None:
    pairs, questions = bigbench.load_disfl(bigbench_folder / bigbench.DISFL_QA, 0, random.Random(0))
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
        bigbench.bigbench_tasks(tmp_path)


def test_task_files_that_are_not_bigbench_1_0_0s_are_flagged(
    bigbench_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = bigbench.bigbench_tasks(bigbench_folder)  # made-up files: read, with a warning
    assert tasks[bigbench.VITAMINC].is_file()
    assert capsys.readouterr().err.count("is not bigbench 1.0.0's file") == 3


def test_a_machine_without_bigbench_files_trains_without_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registry no longer serves bigbench 1.0.0: no copy means none of its sets."""
    monkeypatch.setattr(bigbench, "DATA_DIR", tmp_path)
    assert bigbench.bigbench_tasks() is None


def test_a_run_of_one_batch_trains_it(bigbench_folder: Path) -> None:
    """The warm-up and decay schedule holds for a plan of a single batch."""
    pairs = bigbench.load_vitaminc(bigbench_folder / bigbench.VITAMINC, 0)["train"][:4]
    run = loop.train(ce.torch_model(weights=None), loop.Run(pairs, layers=6), random.Random(0))
    assert run["steps"] == 1


def test_splits_are_by_group_and_seeded() -> None:
    splits = [data.split_of(f"title {i}", seed=0) for i in range(2000)]
    assert 0.75 < splits.count("train") / 2000 < 0.85
    assert splits == [data.split_of(f"title {i}", seed=0) for i in range(2000)]
    assert splits != [data.split_of(f"title {i}", seed=1) for i in range(2000)]


def test_a_paragraph_gives_its_answer_sentence_and_the_closest_others_as_neutral() -> None:
    sentences = ["Alpha met Beta in Paris.", "Beta likes tea.", "Alpha was born in Rome.", "Rain."]
    gold = [True, False, False, False]
    pairs = list(
        data.paragraph_pairs("Where did Alpha meet Beta?", sentences, gold, random.Random(0), "t")
    )
    assert (pairs[0].second, pairs[0].label, pairs[0].context) == (sentences[0], ce.SUPPORTS, "")
    assert [p.label for p in pairs[1:]] == [ce.NEUTRAL] * data.NEGATIVES
    # the sentences sharing words with the question come before the one that shares none
    assert {p.second for p in pairs[1:3]} == {"Beta likes tea.", "Alpha was born in Rome."}
    assert pairs[3].second == "Rain."
    assert all(p.context == sentences[sentences.index(p.second) - 1] for p in pairs[1:])


def test_the_answer_sentence_without_its_answer_is_an_on_topic_neutral() -> None:
    sentence = "Reuters reported the outline on November 19, 2025, in a long story."
    start = sentence.index("November")
    end = start + len("November 19, 2025")
    question = "When did Reuters report the outline?"
    for seed in range(20):
        left = synthetic.without_answer(question, sentence, start, end, random.Random(seed))
        assert left and "November" not in left and "2025" not in left
        assert left.startswith("Reuters reported the outline")  # the shared words stay
        assert " on," not in left  # a vague phrase takes the place of "on <date>" whole
    pairs = list(
        data.paragraph_pairs(
            question, [sentence, "Rain."], [True, False], random.Random(0), "t", left
        )
    )
    assert [(p.second, p.label) for p in pairs[:2]] == [
        (sentence, ce.SUPPORTS),
        (left, ce.NEUTRAL),
    ]


def test_an_answer_that_is_the_whole_sentence_or_repeated_gives_no_negative() -> None:
    rng = random.Random(0)
    assert synthetic.without_answer("Who?", "Reuters.", 0, 7, rng) is None
    repeated = "Reuters said so, and Reuters said it again today."
    assert synthetic.without_answer("Who said so?", repeated, 0, 7, rng) is None


def test_an_unanswerable_question_gives_only_neutral_pairs() -> None:
    pairs = list(
        data.paragraph_pairs("Who?", ["A.", "B.", "C.", "D."], [False] * 4, random.Random(0), "t")
    )
    assert len(pairs) == data.NEGATIVES and {p.label for p in pairs} == {ce.NEUTRAL}


def test_a_question_read_whole_holds_its_gold_sentence_and_targets_it() -> None:
    sentences = tuple(f"Sentence {i} about Alpha." if i % 2 else f"Rain {i}." for i in range(12))
    gold = tuple(i == 5 for i in range(12))
    q = data.Question("What about Alpha?", sentences, ("",) * 12, gold, "disfl")
    chosen, target = loop.group(q, random.Random(0))
    assert len(chosen) == loop.GROUP and chosen[target] == 5
    # the others: every sentence sharing the question's words, then the rest
    assert {1, 3, 7, 9, 11} < set(chosen)


def test_an_unanswerable_question_read_whole_targets_the_none_option() -> None:
    q = data.Question("Who?", ("A.", "B.", "C."), ("", "A.", "B."), (False,) * 3, "disfl")
    chosen, target = loop.group(q, random.Random(0))
    assert sorted(chosen) == [0, 1, 2] and target == len(chosen)


def test_the_listwise_loss_falls_when_the_gold_sentence_leads(bigbench_folder: Path) -> None:
    """Its gradient pushes the gold sentence's answer odds up and the others' down."""
    import torch

    _, questions = bigbench.load_disfl(bigbench_folder / bigbench.DISFL_QA, 0, random.Random(0))
    answerable = [q for q in questions["train"] if any(q.gold)][:2]
    model = ce.torch_model(weights=None)
    none = torch.nn.Parameter(torch.zeros(()))
    optimizer = torch.optim.SGD(model.head.parameters(), lr=0.5)  # "none" stays put
    losses = []
    for _ in range(4):
        loss = loop.listwise_loss(model, answerable, none, random.Random(0), "fp32")
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
    assert figures.fit_temperature(logits, labels) > 1.5


@pytest.mark.slow
def test_the_training_script_runs_end_to_end_on_a_small_sample(
    tmp_path: Path, bigbench_folder: Path
) -> None:
    out = run_script(
        *(str(SCRIPT), "--sample", "48", "--squad", "200", "--out", str(tmp_path)),
        *("--listwise", "2", "--bigbench", str(bigbench_folder)),
        *("--checkpoints", str(tmp_path / "checkpoints")),
    )
    assert "# Held-out figures (test splits)" in out
    card = json.loads((tmp_path / "crossencoder.json").read_text())
    assert card["trained_on"].endswith("--listwise 2 --sample 48")
    assert card["figures"]["training"]["questions_read_whole"] > 0
    assert {
        "squad2_questions_test",
        "squad2_pairs_test",
        "adversarial_pairs_test",
        "claims_pairs_test",
        "sick_pairs_test",
        "climate_fever_pairs_test",
        "vitaminc_pairs_test",
        "disfl_questions_test",
    } <= set(card["figures"])
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

    monkeypatch.setattr(figures, "pair_logits", killed)
    with pytest.raises(KeyboardInterrupt):
        tr.main(
            [
                *("--sample", "16", "--squad", "50", "--out", str(tmp_path)),
                *("--bigbench", str(bigbench_folder), "--checkpoints", str(tmp_path / "c")),
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
        *("--checkpoints", str(tmp_path / "checkpoints")),
    )
    trained_on = json.loads((tmp_path / ce.CARD.name).read_text())["trained_on"]
    first, then = trained_on.rsplit("; then on from those weights: ", 1)
    assert first == ce.Card.load().trained_on
    assert then.endswith("--sample 8 --init") and "--lr 2e-05" in then
    went_on = ce.torch_model(weights=tmp_path / ce.WEIGHTS.name).head.weight.detach().flatten()
    shipped = ce.torch_model().head.weight.detach().flatten()
    assert float(went_on @ shipped / (went_on.norm() * shipped.norm())) > 0.9  # not a new head


# --- a smaller reader, distilled ---


def test_a_reader_trained_smaller_loads_with_its_own_depth(tmp_path: Path) -> None:
    import torch

    student = ce.torch_model(depth=2)  # the shipped reader's bottom two layers
    assert len(student.bert.encoder.layer) == 2
    ce.save_trained(student, tmp_path / ce.WEIGHTS.name, layers=0)
    again = ce.torch_model(weights=tmp_path / ce.WEIGHTS.name)
    assert len(again.bert.encoder.layer) == 2
    pairs = ce.pairs_ids(["Where is Kyiv?"], ["Kyiv lies on the Dnipro."], [""])
    inputs = {k: torch.from_numpy(v) for k, v in ce.batch_arrays(pairs).items()}
    with torch.inference_mode():
        assert torch.allclose(student(**inputs), again(**inputs), atol=0.05)  # int8 storage
        assert not torch.allclose(ce.torch_model()(**inputs), again(**inputs), atol=0.05)
    with pytest.raises(ValueError, match="cannot keep 3"):
        ce.torch_model(weights=tmp_path / ce.WEIGHTS.name, depth=3)


def test_a_student_learns_its_teachers_probabilities_not_the_labels() -> None:
    import torch

    pairs = tiny_run().pairs[:64]
    teacher = loop.Teacher(ce.torch_model(), temperature=1.0, precision="fp32")
    inputs = {k: torch.from_numpy(v) for k, v in loop.arrays(pairs).items()}
    wanted = teacher(inputs)

    def gap(model) -> float:
        with torch.inference_mode():
            return float(loop.soft_loss(model(**inputs), wanted))

    torch.manual_seed(0)
    student = ce.torch_model(depth=1)
    before = gap(student)
    run = loop.Run(pairs, lr=2e-4, layers=0, epochs=3, depth=1, teacher="made up")
    loop.train(student, run, random.Random(0), teacher=teacher)
    assert gap(student.eval()) < before - 0.05
    with pytest.raises(ValueError, match="a teacher is given exactly when"):
        loop.train(ce.torch_model(depth=1), run, random.Random(0))
    assert run.fingerprint() != replace(run, depth=2).fingerprint()


@pytest.mark.slow
def test_a_distilled_run_keeps_its_teachers_operating_points(tmp_path: Path) -> None:
    run_script(
        *(str(SCRIPT), "--sample", "8", "--squad", "40", "--out", str(tmp_path)),
        *("--init", str(ce.WEIGHTS), "--teacher", str(ce.WEIGHTS), "--depth", "2"),
        *("--checkpoints", str(tmp_path / "checkpoints")),
    )
    card = json.loads((tmp_path / ce.CARD.name).read_text())
    shipped = ce.Card.load()
    assert (card["answer_threshold"], card["temperature"]) == (shipped.answer_threshold, 1.0)
    assert card["figures"]["training"]["depth"] == 2
    assert "--depth 2" in card["trained_on"]
    assert card["trained_on"].endswith(f"--teacher (the reader trained by: {shipped.trained_on})")
    agreement = card["figures"]["squad2_pairs_test"]["teacher_agreement"]
    assert 0 <= agreement["same_side_of_answer_threshold"] <= 1
    assert len(ce.torch_model(weights=tmp_path / ce.WEIGHTS.name).bert.encoder.layer) == 2


# --- the resumable loop ---


def tiny_run() -> loop.Run:
    """Five batches of short made-up pairs and questions read whole (so every random
    state a resume must restore is used: shuffling, dropout, the listwise groups)."""
    rng = random.Random(1)
    towns = [f"Town{i}" for i in range(40)]
    pairs = [
        data.Pair(f"Where is {t}?", f"{t} lies by the river {rng.randint(1, 9)}.", "", i % 3, "t")
        for i, t in enumerate(towns * 4)
    ]
    questions = [
        data.Question(
            f"Who founded {t}?",
            (f"{t} was founded by Ann.", "Rain."),
            ("", ""),
            (i % 2 == 0, False),
            "t",
        )
        for i, t in enumerate(towns)
    ]
    return loop.Run(pairs, lr=1e-4, layers=5, questions=questions, per_step=1)


def trained_weights(model) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def test_a_run_stopped_and_resumed_twice_ends_with_a_single_runs_weights(tmp_path: Path) -> None:
    import torch

    torch.manual_seed(0)
    single = ce.torch_model(weights=None)
    figures_single = loop.train(single, tiny_run(), random.Random(0))
    assert figures_single["steps"] == 5

    torch.manual_seed(0)
    first = ce.torch_model(weights=None)
    with pytest.raises(loop.Stopped):
        loop.train(first, tiny_run(), random.Random(0), tmp_path, stop=loop.Stop(steps=2))
    for stop in (loop.Stop(steps=2), loop.Stop()):  # a new process each time
        torch.manual_seed(123)  # what the resumed process would draw is overwritten
        model = ce.torch_model(weights=None)
        try:
            resumed = loop.train(
                model, tiny_run(), random.Random(0), tmp_path, stop=stop, resume=True
            )
        except loop.Stopped as stopped:
            assert stopped.args == (4,)
    assert resumed["steps"] == 5 and resumed["processes"] == 3
    want, got = trained_weights(single), trained_weights(model)
    assert want.keys() == got.keys()
    assert all(torch.equal(want[n], got[n]) for n in want)


def test_resuming_without_a_checkpoint_starts_from_the_beginning(tmp_path: Path) -> None:
    run = loop.train(
        ce.torch_model(weights=None), tiny_run(), random.Random(0), tmp_path, resume=True
    )
    assert run["steps"] == 5 and run["processes"] == 1
    assert (tmp_path / loop.CHECKPOINT).exists()  # the end is a checkpoint too


def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path) -> None:
    loop.train(ce.torch_model(weights=None), tiny_run(), random.Random(0), tmp_path)
    other = tiny_run()
    other.lr = 5e-5
    with pytest.raises(SystemExit, match="another run"):
        loop.train(ce.torch_model(weights=None), other, random.Random(0), tmp_path, resume=True)


# --- SQuAD 2.0 and the outside sets (the real files of shared/training-data) ---


def test_squad2_articles_split_whole_two_for_test_two_for_dev() -> None:
    titles = [a["title"] for a in data.squad2_articles()]
    where = data.squad2_split(titles, seed=0)
    assert len(titles) == 13
    assert sorted(where.values()).count("test") == 2 and list(where.values()).count("dev") == 2
    assert where != data.squad2_split(titles, seed=1)


def test_an_unanswerable_squad2_question_pairs_its_plausible_sentence_as_neutral() -> None:
    pairs, questions = data.load_squad2(0, random.Random(0))
    asked = {q.question: q for split in questions.values() for q in split}
    unanswerable = asked["Who gave their name to Normandy in the 1000's and 1100's"]
    assert not any(unanswerable.gold)
    mine = [p for split in pairs.values() for p in split if p.first == unanswerable.question]
    assert {p.label for p in mine} == {ce.NEUTRAL}
    assert "gave their name to Normandy" in mine[0].second  # the plausible answer's sentence
    answerable = asked["In what country is Normandy located?"]
    assert answerable.answers[0] == "France"
    assert next(answerable.sentences[i] for i, g in enumerate(answerable.gold) if g).endswith(
        "a region in France."
    )
    test = sum(len(q.gold) > 0 for q in questions["test"])
    assert test == len(questions["test"]) > 500


def test_paraphrased_questions_are_those_sharing_fewest_words_with_their_answer() -> None:
    context = "The museum opened in 1985. Visitors flocked to the new galleries that spring."
    raw = [{"paragraphs": [{"context": context}]}]

    def item(question: str, answer: str) -> tuple[int, int, dict]:
        return 0, 0, {"question": question, "answers": [{"answer_start": context.index(answer)}]}

    echoes = item("In what year did the museum open?", "1985")
    other_words = item("When did people crowd into the exhibition halls?", "that spring")
    assert data.fewest_shared([echoes, other_words], raw, 1) == [other_words]
    assert data.fewest_shared([echoes, other_words], raw, 0) == []


def test_two_hop_questions_train_outside_the_halueval_evaluations_pool() -> None:
    from rag.evaluation.datasets import load_halueval

    pairs, questions = data.load_bridges(seed=0, limit=300)
    assert len(questions["train"]) == 300 and len(questions["test"]) == 300 // 8
    evaluated = load_halueval(limit=data.BRIDGE_HELD)
    asked = {q.question for q in evaluated.questions}
    trained = [q for split in questions.values() for q in split]
    assert not asked.intersection(q.question for q in trained)
    said = {s for text in evaluated.texts.values() for _, _, s in data.sentences_of(text)}
    assert not said.intersection(s for q in trained for s in q.sentences)
    by_question = {q.question: q for q in questions["train"]}
    for pair in pairs["train"]:
        assert pair.label == ce.SUPPORTS and pair.source == "bridge"
        assert pair.second in by_question[pair.first].sentences
    assert sum(len(q.sentences) for q in questions["train"]) == len(pairs["train"])


def test_a_changed_shared_file_is_refused(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "squad2").mkdir()
    (tmp_path / data.SQUAD2).write_bytes(gzip.compress(b'{"data": []}'))
    with pytest.raises(SystemExit, match="not the file the recipe names"):
        data.squad2_articles(tmp_path)


def test_sick_and_climate_fever_are_read_as_claims_against_evidence() -> None:
    sick = data.load_sick()
    assert len(sick) == 4906
    assert {p.label for p in sick} == {ce.SUPPORTS, ce.NEUTRAL, ce.CONTRADICTS}
    fever = data.load_climate_fever()
    assert len(fever) == 7675
    counts = [sum(p.label == k for p in fever) for k in range(3)]
    assert counts == [1943, 4930, 802]  # supports, not enough info, refutes


# --- made-up hard cases ---


def test_a_negated_question_no_longer_matches_its_answer_sentence() -> None:
    sentence = "The museum was founded by Ann Berg in 1985."
    made = [
        synthetic.adversarial("Who founded the museum?", sentence, "", [], random.Random(s))
        for s in range(5)
    ]
    assert all(m is None for m in made)  # nothing to change: no aux, no number, no name
    pair = synthetic.adversarial(
        "Who was the museum founded by?", sentence, "", [], random.Random(0)
    )
    assert pair.first == "Who was not the museum founded by?" and pair.label == ce.NEUTRAL


def test_a_year_or_a_name_in_the_question_is_changed_to_one_the_sentence_lacks() -> None:
    sentence = "In 1985 the Berg Museum opened in Alderford."
    seen = set()
    for seed in range(30):
        pair = synthetic.adversarial(
            "What opened in Alderford in 1985?",
            sentence,
            "",
            ["Birchwick", "Alderford"],
            random.Random(seed),
        )
        assert pair.second == sentence and pair.label == ce.NEUTRAL
        seen.add(pair.first)
    assert "What opened in Birchwick in 1985?" in seen
    assert any(f.startswith("What opened in Alderford in 19") and "1985" not in f for f in seen)


def test_a_claim_with_its_answer_swapped_contradicts_its_sentence() -> None:
    sentence = "The museum has been open since 1985, when Ann Berg founded it."
    start = sentence.index("1985")
    made = synthetic.claims(sentence, "1985", start, "", [], random.Random(0))
    labels = {p.label: p.first for p in made}
    assert labels[ce.SUPPORTS] == "The museum has been open since 1985."
    wrong = labels[ce.CONTRADICTS]
    assert "1985" not in wrong and wrong.startswith("The museum has been open since ")


@pytest.mark.slow
def test_outside_figures_are_recorded_in_a_readers_own_card(tmp_path: Path) -> None:
    for name in (ce.WEIGHTS, ce.CARD):
        (tmp_path / name.name).write_bytes(name.read_bytes())
    weights = tmp_path / ce.WEIGHTS.name
    run_script(str(SCRIPT), "--record-outside", str(weights), "--sample", "12")
    before, after = (json.loads(f.read_text()) for f in (ce.CARD, weights.with_suffix(".json")))
    for name in ("sick_pairs_test", "climate_fever_pairs_test"):
        assert after["figures"][name]["pairs"] == 12
        assert set(after["figures"][name]["recall_by_label"]) <= set(ce.LABELS)
    assert {k: v for k, v in after.items() if k != "figures"} == {
        k: v for k, v in before.items() if k != "figures"
    }
