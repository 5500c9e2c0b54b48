"""Calibrated abstention: features beyond cosine, a trained model, and its use in answers."""

from pathlib import Path

import numpy as np
import pytest

from rag import RAG
from rag.reading.abstain import (
    FEATURES,
    WEIGHTS,
    AbstentionModel,
    expected_kind,
    features,
    has_kind,
    specific_terms,
)
from rag.reading.crossencoder import CrossEncoder


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many soldiers would Ukraine keep?", "number"),
        ("What percentage of the vote did she win?", "number"),
        ("When did Reuters report the outline?", "date"),
        ("In what year was the treaty signed?", "date"),
        ("What does the treaty say about years of service?", None),
        ("Who drafted the outline?", "name"),
        ("Where were the talks held?", "name"),
        ("What would Ukraine receive?", None),
    ],
)
def test_a_question_expects_the_kind_of_answer_it_asks_for(question: str, kind: str) -> None:
    assert expected_kind(question) == kind


def test_a_number_counts_only_when_the_question_does_not_already_have_it() -> None:
    assert has_kind("number", ["The army would shrink to 600,000 troops."], "How many troops?")
    assert not has_kind("number", ["It has 600,000 troops."], "How many of the 600,000 remain?")


def test_years_and_days_of_dates_are_not_quantities() -> None:
    assert not has_kind("number", ["Reuters reported it on November 19, 2025."], "How many?")


def test_a_date_is_a_year_month_or_day_word() -> None:
    assert has_kind("date", ["Talks resume in March."], "When do talks resume?")
    assert has_kind("date", ["The pact dates from 1994."], "When was the pact signed?")
    assert not has_kind("date", ["Talks will resume soon."], "When do talks resume?")


def test_a_name_is_a_capitalised_word_after_the_first_of_its_sentence() -> None:
    assert has_kind("name", ["The outline was drafted by Washington."], "Who drafted it?")
    assert not has_kind("name", ["Officials drafted the outline."], "Who drafted it?")


def test_names_and_numbers_of_a_question_are_specific() -> None:
    assert specific_terms("Did Hungary offer 40 tanks to Kyiv?") == {"hungary", "40", "kyiv"}


def test_features_see_question_terms_missing_from_the_passages() -> None:
    passage = "The outline would ask Kyiv to cede territory for security guarantees."
    answerable = features(
        "What would Kyiv get for territory?", [passage], passage, [passage], 0.6, 0.6
    )
    missing = features(
        "How many square kilometres would Hungary take?", [passage], passage, [passage], 0.6, 0.6
    )
    at = FEATURES.index
    assert missing[at("retrieved_coverage")] < answerable[at("retrieved_coverage")]
    assert missing[at("specific_missing")] > answerable[at("specific_missing")]
    assert missing[at("type_missing")] == 1.0


def test_fit_learns_which_way_a_feature_points() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURES)))
    y = (x[:, 2] + 0.3 * rng.normal(size=400) > 0).astype(float)
    model = AbstentionModel.fit(x, y)
    high, low = np.zeros(len(FEATURES)), np.zeros(len(FEATURES))
    high[2], low[2] = 2.0, -2.0
    assert model.confidence(high) > 0.9 > 0.1 > model.confidence(low)


def test_a_model_survives_saving_and_loading(tmp_path: Path) -> None:
    model = AbstentionModel.load().with_threshold(0.42)
    model.save(tmp_path / "m.json")
    assert AbstentionModel.load(tmp_path / "m.json") == model


def test_weights_trained_on_other_features_are_refused(tmp_path: Path) -> None:
    text = WEIGHTS.read_text().replace('"cosine"', '"something_else"', 1)
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(ValueError, match="other features"):
        AbstentionModel.load(tmp_path / "m.json")


def test_the_shipped_model_is_small_and_has_an_operating_point() -> None:
    model = AbstentionModel.load()
    assert WEIGHTS.stat().st_size < 4096
    assert 0.0 < model.threshold < 1.0
    assert "SQuAD v1.1 train" in model.trained_on


@pytest.fixture(scope="module")
def modelled(default_rag: RAG) -> RAG:
    return RAG(default_rag.settings.model_copy(update={"abstention": "model"}))


def test_the_model_abstains_on_an_on_topic_unanswerable_question(modelled: RAG) -> None:
    """Cosine alone scores this one above several answerable questions (issue 4)."""
    found = modelled.answer("How many square kilometres would Ukraine hand over?")
    assert found.abstained
    assert found.score is not None and found.score < modelled.answerer.min_confidence


def test_with_the_model_the_answer_score_is_its_confidence(modelled: RAG) -> None:
    found = modelled.answer("What would Ukraine receive in exchange for ceding territory?")
    assert not found.abstained
    assert modelled.answerer.min_confidence <= found.score <= 1.0


def test_cosine_abstention_scores_by_the_best_similarity(default_rag: RAG) -> None:
    cosine = RAG(default_rag.settings.model_copy(update={"abstention": "cosine"}))
    question = "What would Ukraine receive in exchange for ceding territory?"
    found = cosine.answer(question)
    assert cosine.answerer.abstention is None
    assert found.score == cosine.answerer.read(question, found.passages).best


def test_the_reading_model_abstains_by_default(default_rag: RAG) -> None:
    """An on-topic question the article never answers: cosine quotes a loosely related
    sentence (0.54 against the article); the reading model finds none that answers."""
    assert isinstance(default_rag.answerer.abstention, CrossEncoder)
    found = default_rag.answer("How many square kilometres would Ukraine hand over?")
    assert found.abstained and found.citations == []
    assert found.score < default_rag.answerer.min_confidence
    assert default_rag.answerer.min_confidence == CrossEncoder.load().card.answer_threshold


def test_with_the_reading_model_the_score_is_its_best_probability(default_rag: RAG) -> None:
    question = "What would Ukraine receive in exchange for ceding territory?"
    found = default_rag.answer(question)
    reading = default_rag.answerer.read(question, found.passages)
    assert not found.abstained
    assert found.score == reading.confidence == max(reading.answering.values())


def test_min_confidence_with_cosine_abstention_is_rejected() -> None:
    from rag.config import Settings

    with pytest.raises(ValueError, match="RAG_ABSTENTION=crossencoder or model"):
        Settings(abstention="cosine", min_confidence=0.5)
