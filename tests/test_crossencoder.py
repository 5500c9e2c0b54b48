"""The reading model: how pairs are laid out, what ships, and what it reads correctly."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from rag.index.embed import default_model_path, load_tokenizer
from rag.reading import crossencoder as ce
from rag.reading.crossencoder import CONTRADICTS, NEUTRAL, SUPPORTS, Card, CrossEncoder
from tests.conftest import REPO, load_script

TOKENIZER = load_tokenizer(default_model_path())
CLS, SEP = TOKENIZER.token_to_id("[CLS]"), TOKENIZER.token_to_id("[SEP]")


@pytest.fixture(scope="module")
def model() -> CrossEncoder:
    return CrossEncoder.load()


# --- how a pair is read ---


def test_a_pair_reads_question_then_sentence_then_context() -> None:
    ids, types = ce.pair_ids("Who won?", "Ann won.", "The race.")
    q = TOKENIZER.encode("Who won?", add_special_tokens=False).ids
    s = TOKENIZER.encode("Ann won.", add_special_tokens=False).ids
    c = TOKENIZER.encode("The race.", add_special_tokens=False).ids
    assert ids == [CLS, *q, SEP, *s, SEP, *c, SEP]
    assert types == [0] * (len(q) + 2) + [1] * (len(s) + len(c) + 2)


def test_a_pair_without_context_has_no_third_part() -> None:
    ids, _ = ce.pair_ids("Who won?", "Ann won.")
    assert ids.count(SEP) == 2


def test_a_long_pair_is_cut_to_the_model_length_keeping_all_three_parts() -> None:
    ids, types = ce.pair_ids("why " * 200, "word " * 400, "before " * 100)
    assert len(ids) == len(types) == ce.MAX_LENGTH
    assert ids.count(SEP) == 3
    assert ids.index(SEP) == ce.MAX_FIRST + 1  # the question is cut to MAX_FIRST


def test_batches_are_padded_with_a_mask() -> None:
    arrays = ce.batch_arrays([ce.pair_ids("a?", "b."), ce.pair_ids("a longer one?", "b c d e.")])
    assert arrays["input_ids"].shape == arrays["attention_mask"].shape
    assert arrays["attention_mask"][0].sum() < arrays["attention_mask"][1].sum()
    assert arrays["input_ids"][0][arrays["attention_mask"][0] == 0].tolist() == [0] * int(
        (arrays["attention_mask"][0] == 0).sum()
    )


# --- what ships ---


def test_the_shipped_weights_are_small_and_hold_only_trained_layers() -> None:
    assert ce.WEIGHTS.stat().st_size < 12 * 2**20
    with np.load(ce.WEIGHTS) as data:
        names = [n for n in data.files if not n.endswith(":scale")]
    assert names and not any(ce.frozen(n) for n in names)
    assert "head.weight" in names


def test_the_card_has_operating_points_and_held_out_figures() -> None:
    card = Card.load()
    for threshold in (card.answer_threshold, card.support_threshold, card.contradict_threshold):
        assert 0 < threshold < 1
    assert card.temperature > 0
    assert card.trained_on.startswith("evals/train_reader.py")
    assert card.figures["vitaminc_pairs_test"]["accuracy"] > 0.65  # chance: 1/3


@pytest.mark.slow
def test_another_readers_threshold_is_chosen_into_its_own_card(tmp_path: Path) -> None:
    """``evals/operating_point.py --reader-weights``: the card beside those weights gets the
    threshold chosen on the gold set's dev half; the shipped card is left as it was."""
    weights = tmp_path / "crossencoder.npz"
    shutil.copy(ce.WEIGHTS, weights)
    wrong = replace(Card.load(), answer_threshold=0.99)  # would refuse nearly everything
    weights.with_suffix(".json").write_text(json.dumps(asdict(wrong)))
    shipped = ce.CARD.read_bytes()
    script = load_script(REPO / "evals" / "operating_point.py")
    assert script.main(["--reader-weights", str(weights), "--out", str(tmp_path / "report")]) == 0
    chosen = Card.load(weights.with_suffix(".json"))
    assert chosen.answer_threshold < 0.5
    assert chosen.figures["answer_threshold_from_training"] == 0.99
    assert chosen.figures["gold_dev_at_answer_threshold"]["wrong_abstention_rate"] <= 0.05
    assert ce.CARD.read_bytes() == shipped


def test_saved_weights_reload_to_nearly_the_same_model(tmp_path: Path) -> None:
    """int8 rows with a scale each: the reloaded model's probabilities stay close."""
    import torch

    trained = ce.torch_model()
    ce.save_trained(trained, tmp_path / "w.npz")
    again = ce.torch_model(weights=tmp_path / "w.npz")
    arrays = ce._probe_arrays(default_model_path())
    with torch.inference_mode():
        first, second = (
            torch.softmax(m(**{k: torch.from_numpy(v) for k, v in arrays.items()}), -1).numpy()
            for m in (trained, again)
        )
    assert np.abs(first - second).max() < 0.02


def test_weights_for_another_model_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", **{"bert.encoder.layer.5.nonsense": np.zeros(3, np.float16)})
    with pytest.raises(ValueError, match="retrain"):
        ce.torch_model(weights=tmp_path / "w.npz")


def test_the_onnx_export_gives_torchs_probabilities(model: CrossEncoder) -> None:
    assert model.runtime == "onnx"
    firsts, seconds, contexts = (list(x) for x in zip(*ce.PROBE, strict=True))
    reference = ce._torch_runner(ce.torch_model())(ce._probe_arrays(model.path))
    expected = ce.softmax(reference / model.card.temperature)
    # the probe pairs are batched by length in probabilities(): order must not matter
    assert np.abs(model.probabilities(firsts, seconds, contexts) - expected).max() < 1e-3


def test_a_smaller_reader_answers_through_its_own_export(tmp_path: Path) -> None:
    """A reader trained with fewer layers (``--depth``) loads and reads as trained."""
    import torch

    smaller = ce.torch_model(depth=3)
    ce.save_trained(smaller, tmp_path / ce.WEIGHTS.name)
    reader = CrossEncoder.load(weights=tmp_path / ce.WEIGHTS.name)
    question, sentences = "When did the museum open?", ["It opened in 1985.", "Rain fell."]
    again = ce.torch_model(weights=tmp_path / ce.WEIGHTS.name)
    arrays = ce.batch_arrays(ce.pairs_ids([question] * 2, sentences, ["", ""]))
    with torch.inference_mode():
        logits = again(**{k: torch.from_numpy(v) for k, v in arrays.items()}).numpy()
    wanted = ce.softmax(logits / reader.card.temperature)[:, SUPPORTS]
    assert np.allclose(reader.answers(question, sentences, ["", ""]), wanted, atol=1e-3)
    assert not np.allclose(CrossEncoder.load().answers(question, sentences, ["", ""]), wanted)


# --- what it reads ---

ANSWER = (
    "A United States drafted outline for a settlement to the war between Russia and Ukraine "
    "would ask Kyiv to cede portions of territory and to reduce key elements of its military "
    "capability in return for international security guarantees, Reuters reported on "
    "November 19, 2025."
)
RELATED = (
    "The disclosures have prompted a swift and uneasy reaction across allied capitals and "
    "within Ukraine, where officials and civil society groups have expressed alarm at the "
    "prospect of trading land for promises of security."
)


def test_the_answering_sentence_outscores_a_related_one_for_a_reworded_question(
    model: CrossEncoder,
) -> None:
    answer, related = model.answers("What would Kyiv get for giving up land?", [ANSWER, RELATED])
    assert answer > related
    assert answer >= model.card.answer_threshold


def test_an_on_topic_question_the_sentence_does_not_answer_scores_low(model: CrossEncoder) -> None:
    (score,) = model.answers("Which countries would provide the guarantees?", [ANSWER])
    (answered,) = model.answers("What would Ukraine receive in return?", [ANSWER])
    assert score < answered


def test_a_claim_the_sentence_states_is_read_as_supported(model: CrossEncoder) -> None:
    (probs,) = model.support(["Kyiv would be asked to give up some territory."], [ANSWER])
    assert int(np.argmax(probs)) == SUPPORTS
    assert probs[SUPPORTS] >= model.card.support_threshold


def test_a_claim_with_another_date_is_read_as_contradicted(model: CrossEncoder) -> None:
    (probs,) = model.support(["Reuters reported the outline on December 3, 2025."], [ANSWER])
    assert probs[CONTRADICTS] > probs[SUPPORTS]


def test_a_claim_the_sentence_says_nothing_about_is_not_supported(model: CrossEncoder) -> None:
    (probs,) = model.support(["President Zelensky rejected the plan on television."], [ANSWER])
    assert probs[SUPPORTS] < model.card.support_threshold
    assert probs[NEUTRAL] + probs[CONTRADICTS] > probs[SUPPORTS]


def test_two_sentences_answer_a_two_hop_question_together_better_than_alone(
    model: CrossEncoder,
) -> None:
    """What the answerer's two-hop re-read rests on (``ExtractiveAnswerer._bridge_confidence``):
    the bridge and the fact read as one text answer what neither answers alone."""
    question = "When was the writer of the song Heroin born?"
    bridge = "Heroin is a song by the Velvet Underground, written by Lou Reed."
    fact = "Lewis Allan Reed was born on March 2, 1942, in Brooklyn."
    alone_bridge, alone_fact, together = model.answers(question, [bridge, fact, f"{bridge} {fact}"])
    assert together > max(alone_bridge, alone_fact) + 0.2
