"""Reading: which sentences of the passages answer, by a trained ranker over more than cosine."""

import shutil

import numpy as np
import pytest

from rag import RAG, Passage
from rag.reading.crossencoder import Card, CrossEncoder
from rag.reading.extractive import (
    CANDIDATES,
    MORE_SENTENCES,
    ExtractiveAnswerer,
    Reading,
    answer_order,
    passage_sentences,
    preceding,
    ranker_inputs,
)
from rag.reading.ranker import FEATURES, SentenceRanker, sentence_features
from tests.conftest import CORPUS

MOSCOW = "What has Moscow long sought for Ukraine?"
SENTENCES = [
    "Ukraine would cede territory.",
    "Moscow has long sought recognition of Ukraine's new borders.",
    "Ukraine held talks in Ankara.",
]


def feature(name: str, question: str, sentences: list[str], previous=None) -> list[float]:
    n = len(sentences)
    rows = sentence_features(question, sentences, np.zeros(n), np.zeros(n), previous or [""] * n)
    return rows[:, FEATURES.index(name)].tolist()


def test_a_word_every_candidate_has_counts_less_than_a_rare_one() -> None:
    plain = feature("coverage", MOSCOW, SENTENCES)
    weighted = feature("weighted_coverage", MOSCOW, SENTENCES)
    assert plain[0] == plain[2] > 0  # "Ukraine" alone
    assert weighted[0] < plain[0]
    assert weighted[1] == max(weighted)


def test_word_pairs_of_the_question_count_only_side_by_side() -> None:
    pairs = feature("bigrams", MOSCOW, ["Moscow has long sought it.", "Long ago Moscow sought it."])
    assert pairs[0] > pairs[1]


def test_the_sentence_before_counts_for_context_coverage() -> None:
    alone = feature("context_coverage", MOSCOW, ["It has long sought recognition."])
    after = feature("context_coverage", MOSCOW, ["It has long sought recognition."], ["Moscow."])
    assert after[0] > alone[0]


def test_a_sentence_that_only_repeats_the_question_has_nothing_new() -> None:
    novelty = feature("novelty", MOSCOW, ["Moscow long sought Ukraine.", SENTENCES[1]])
    assert novelty[0] == 0.0 < novelty[1]


def test_an_answer_of_the_kind_asked_for_is_seen() -> None:
    question = "When did Reuters report the outline?"
    sentences = ["Reuters reported it on November 19, 2025.", "Reuters reported the outline."]
    assert feature("kind_found", question, sentences) == [1.0, 0.0]
    assert feature("kind_missing", question, sentences) == [0.0, 1.0]


def test_each_sentence_knows_the_one_before_it_in_its_document() -> None:
    text = "First one. Second one. Third one."
    passages = [Passage("b", "doc.txt", text[11:], 11, len(text), 0.5)]
    passages.append(Passage("a", "doc.txt", text[:22], 0, 22, 0.5))
    passages.append(Passage("c", "other.txt", "Elsewhere.", 0, 10, 0.4))
    sentences = passage_sentences(passages)
    before = dict(zip((s.text for s in sentences), preceding(sentences), strict=True))
    assert before == {
        "First one.": "",
        "Second one.": "First one.",
        "Third one.": "Second one.",
        "Elsewhere.": "",
    }


def test_the_shipped_ranker_is_small_and_trained_on_squad_train() -> None:
    ranker = SentenceRanker.load()
    assert SentenceRanker.PATH.stat().st_size < 4096
    assert 0.0 < ranker.threshold < 1.0
    assert "SQuAD v1.1 train" in ranker.trained_on


def test_fitting_the_wrong_number_of_features_is_refused() -> None:
    with pytest.raises(ValueError, match="takes 11 features"):
        SentenceRanker.fit(np.zeros((4, 3)), np.array([0, 1, 0, 1]))


def picks(default_rag: RAG, question: str, ranker: SentenceRanker | None) -> list[str]:
    """The sentences a reader picks for ``question``, in the order picked."""
    reader = ExtractiveAnswerer(default_rag.embeddings, ranker=ranker)
    reading = reader.read(question, default_rag.retrieve(question))
    return [reading.sentences[i].text for i in reading.picked]


GAIN = "What might the United States gain from the outline?"


def test_a_sure_ranker_picks_by_its_probabilities(default_rag: RAG) -> None:
    ranker = SentenceRanker.load()
    sure = picks(default_rag, GAIN, ranker.with_threshold(0.0))
    cosine = picks(default_rag, GAIN, None)
    assert len(sure) == 3
    assert sure[1] == cosine[0]  # the most similar sentence comes second
    assert sure != cosine


def test_an_unsure_ranker_leaves_the_rest_to_the_cosine_reader(default_rag: RAG) -> None:
    unsure = picks(default_rag, GAIN, SentenceRanker.load().with_threshold(1.0))
    cosine = picks(default_rag, GAIN, None)
    assert unsure[1:] == [s for s in cosine if s != unsure[0]][: len(unsure) - 1]


@pytest.fixture(scope="module")
def model_reader(tmp_path_factory: pytest.TempPathFactory) -> RAG:
    """The reading model as reader, over the article alone: with another document in the
    index the second hop may add its sentence, which the rules below do not cover."""
    docs = tmp_path_factory.mktemp("reader-corpus")
    shutil.copytree(CORPUS, docs, dirs_exist_ok=True)
    rag = RAG(
        corpus_dir=docs, index_dir=tmp_path_factory.mktemp("reader-index"), reader="crossencoder"
    )
    rag.ingest(progress=False)
    return rag


def test_the_ranker_reads_by_default(default_rag: RAG) -> None:
    assert isinstance(default_rag.answerer.ranker, SentenceRanker)
    assert default_rag.answerer.crossencoder is None


def test_the_reading_model_reads_the_candidates_the_ranker_and_similarity_propose(
    model_reader: RAG,
) -> None:
    assert isinstance(model_reader.answerer.ranker, SentenceRanker)
    assert isinstance(model_reader.answerer.crossencoder, CrossEncoder)
    question = "What would Ukraine receive in exchange for ceding territory?"
    found = model_reader.answer(question)
    reading = model_reader.answerer.read(question, found.passages)
    assert 0 < len(reading.answering) <= 2 * CANDIDATES
    top = max(reading.answering, key=reading.answering.get)
    assert top in reading.picked  # the likeliest sentence is quoted


@pytest.mark.parametrize("reader", ["ranker", "crossencoder"])
def test_the_reader_quotes_the_sentence_that_says_what_was_asked(
    default_rag: RAG, reader: str
) -> None:
    """Cosine's three best sentences are about the diplomacy around the outline and miss
    the one that repeats the question's words ("Moscow has long sought")."""
    rag = RAG(default_rag.settings.model_copy(update={"reader": reader}))
    found = rag.answer("What has Moscow long sought?")
    assert any("Moscow has long sought formal" in c.quote for c in found.citations)


def test_the_reading_model_leaves_out_sentences_that_do_not_answer(model_reader: RAG) -> None:
    """Each quoted sentence is the model's or the ranker's likeliest, or one the model
    finds close to the best: never a sentence only similar to the question."""
    question = "When did Reuters report on the US drafted outline?"
    found = model_reader.answer(question)
    reading = model_reader.answerer.read(question, found.passages)
    best = reading.confidence
    for i in reading.picked:
        chance = reading.answering.get(i, 0.0)
        assert (
            chance == best
            or chance >= MORE_SENTENCES * best
            or i == reading_ranker_top(model_reader, question, reading)
        )
    assert any("November 19, 2025" in c.quote for c in found.citations)


def reading_ranker_top(rag: RAG, question: str, reading) -> int:
    chance = rag.answerer.ranker.probability(
        ranker_inputs(question, reading.sentences, reading.cosines)
    )
    return int(np.argmax(chance))


class BridgeReader(CrossEncoder):
    """Plumbing around the real model (whose two-hop reading is tested in
    tests/test_crossencoder.py): a sentence alone never answers; the bridge and the fact
    read as one text do."""

    def __init__(self) -> None:
        card = Card(answer_threshold=0.17, support_threshold=0.4, contradict_threshold=0.5)
        super().__init__(lambda arrays: np.zeros(0), card, path="")

    def answers(self, question, sentences, contexts=None) -> np.ndarray:
        return np.array([0.9 if "written by" in s and "born" in s else 0.05 for s in sentences])


SONG = "Heroin is a song by the Velvet Underground, written by Lou Reed. It came out in 1967."
SINGER = "Lou Reed was an American musician. Lou Reed was born on March 2, 1942, in Brooklyn."


def test_a_two_hop_question_is_answered_from_the_bridge_and_the_hop_read_together(
    default_rag: RAG,
) -> None:
    reader = ExtractiveAnswerer(default_rag.embeddings, abstention=BridgeReader())
    passages = [
        Passage("song", "heroin.txt", SONG, 0, len(SONG), 0.6),
        Passage("singer", "reed.txt", SINGER, 0, len(SINGER), 0.5),
    ]
    answer = reader("When was the writer of the song Heroin born?", passages)
    assert not answer.abstained
    assert {c.source for c in answer.citations} == {"heroin.txt", "reed.txt"}
    # with no second passage there is no hop, and no sentence alone answers
    assert reader("When was the writer of the song Heroin born?", passages[:1]).abstained


def test_the_answer_leads_with_the_sentence_the_model_finds_likeliest_to_answer() -> None:
    """Document order would put the title first; the answering sentence leads instead,
    the others keep their passage's and document's order."""
    text = "Museum news. The museum opened in 1985. It is free on Sundays."
    passages = [Passage("a", "doc.txt", text, 0, len(text), 0.6)]
    sentences = sorted(passage_sentences(passages), key=lambda s: s.start)
    assert [s.text for s in sentences] == [
        "Museum news.",
        "The museum opened in 1985.",
        "It is free on Sundays.",
    ]
    picked = {0: 0.5, 1: 0.4, 2: 0.3}
    reading = Reading(sentences, np.zeros(3), picked, 0.5, {0: 0.2, 1: 0.9, 2: 0.4})
    assert answer_order(reading, passages) == [1, 0, 2]
    unread = Reading(sentences, np.zeros(3), picked, 0.5)  # no model read them: document order
    assert answer_order(unread, passages) == [0, 1, 2]


def test_the_lead_stays_in_the_document_retrieval_ranked_first() -> None:
    """A follow-up's document is the retrieval's call (it read the conversation): the
    model's likeliest sentence of another document does not jump ahead of it."""
    first, second = "The library lends bicycles.", "The museum lends audio guides."
    passages = [
        Passage("a", "library.txt", first, 0, len(first), 0.6),
        Passage("b", "museum.txt", second, 0, len(second), 0.5),
    ]
    sentences = passage_sentences(passages)
    at = {s.source: i for i, s in enumerate(sentences)}
    picked = {at["library.txt"]: 0.5, at["museum.txt"]: 0.5}
    answering = {at["library.txt"]: 0.3, at["museum.txt"]: 0.9}
    reading = Reading(sentences, np.zeros(2), picked, 0.5, answering)
    assert answer_order(reading, passages) == [at["library.txt"], at["museum.txt"]]
