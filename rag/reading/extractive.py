"""Passages -> answer: the source sentences that best answer the question, each cited.

The extractive reader quotes; it never writes. Candidate sentences come from cosine
similarity and the trained ranker (:mod:`rag.reading.ranker`); the abstention judge
(:mod:`rag.reading.abstain` or the reading model, :mod:`rag.reading.crossencoder`)
decides whether any of them answers.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from rag.documents.sentences import sentence_spans
from rag.index.embed import SentenceEmbeddings
from rag.reading.abstain import AbstentionModel, features
from rag.reading.answer import Answer, question_parts
from rag.reading.cite import Citation, attach_marker
from rag.reading.crossencoder import CrossEncoder
from rag.reading.judge import STOPWORDS
from rag.reading.ranker import SentenceRanker, sentence_features
from rag.retrieve import Passage

SUBJECT_WORDS = 6
"""How far into a passage its subject is looked for ("BellSouth Corporation was an
American telecommunications company ..."): the second hop of :meth:`ExtractiveAnswerer.read`."""

_NAME = re.compile(r"\b[A-Z][\w'-]{2,}")
"""A capitalised word of three letters or more: part of a name."""

CONTEXT_WEIGHT = 0.1
"""Weight of a follow-up's earlier questions in the vector its sentences are scored by:
enough to put first, of two documents' sentences that answer "what does it lend?" about
equally, the one the conversation is about; little enough not to crowd out what the
follow-up asks (at 0.25, "and what did Russia say about it?" on the default corpus lost
its one sentence on the Russian response to sentences the first answer was made of).
"""


@dataclass(frozen=True)
class Sentence:
    """A sentence of a passage, with offsets into its whole document."""

    source: str
    start: int
    end: int
    text: str
    passage: Passage
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Embedding computed at ingest, in the passage's context; None: encode it now."""


def passage_sentences(passages: list[Passage]) -> list[Sentence]:
    """Sentences of all passages; where overlapping chunks repeat a sentence (or part of
    one), the longest copy is kept once."""
    found = []
    for p in passages:
        spans = sentence_spans(p.text)
        vectors = p.sentence_vectors
        if vectors is None or len(vectors) != len(spans):
            vectors = [None] * len(spans)
        found += [
            Sentence(p.source, p.start + s, p.start + e, p.text[s:e], p, v)
            for (s, e), v in zip(spans, vectors, strict=True)
        ]
    kept: list[Sentence] = []
    for cand in sorted(found, key=lambda c: c.start - c.end):
        if not any(
            k.source == cand.source and k.start < cand.end and cand.start < k.end for k in kept
        ):
            kept.append(cand)
    return kept


def preceding(sentences: list[Sentence]) -> list[str]:
    """The text of the sentence before each one in its document, as far as the passages
    show it ("" when none of them does)."""

    def place(i: int) -> tuple[str, int]:
        return sentences[i].source, sentences[i].start

    in_order = sorted(range(len(sentences)), key=place)
    before = [""] * len(sentences)
    for a, b in pairwise(in_order):
        if sentences[a].source == sentences[b].source:
            before[b] = sentences[a].text
    return before


def ranker_inputs(question: str, sentences: list[Sentence], cosines: np.ndarray) -> np.ndarray:
    """The :class:`~rag.reading.ranker.SentenceRanker`'s features of each sentence."""
    return sentence_features(
        question,
        [s.text for s in sentences],
        cosines,
        np.array([s.passage.score for s in sentences]),
        preceding(sentences),
    )


CANDIDATES = 8
"""Sentences the cross-encoder reads per question: the most similar ones and the ranker's
likeliest, this many of each (fewer where they coincide). Each costs a forward pass of the
model (~8 ms here); five passages hold 30 to 40 sentences."""

MORE_SENTENCES = 0.5
"""A further sentence joins a cross-encoder reader's answer when its probability of
answering is at least this share of the best one's (and reaches the answer threshold)."""


class SentenceVectors:
    """Each sentence's vector: the one stored at ingest, else encoded now (once per
    distinct sentence, kept in an LRU cache of ``cache_size``)."""

    def __init__(self, embeddings: SentenceEmbeddings, cache_size: int = 50_000) -> None:
        self.embeddings = embeddings
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def __call__(self, sentences: list[Sentence]) -> np.ndarray:
        texts = [s.text for s in sentences if s.vector is None]
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            self._cache.update(zip(missing, self.embeddings.encode(missing), strict=True))
        vectors = np.stack(
            [self._cache[s.text] if s.vector is None else s.vector for s in sentences]
        )
        for t in texts:
            self._cache.move_to_end(t)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vectors


@dataclass(frozen=True)
class Reading:
    """What the answerer read in the passages: their sentences, each one's cosine
    similarity to the (whole) question, the ones it picked (index -> cosine similarity),
    the best similarity of any sentence to the question or a part of it, and, where a
    cross-encoder read them, each candidate's probability of answering (index ->
    probability; the best over the question and its parts), and the :func:`second_hop`
    sentence when there is one."""

    sentences: list[Sentence]
    cosines: np.ndarray
    picked: dict[int, float]
    best: float
    answering: dict[int, float] = field(default_factory=dict)
    hop: int | None = None

    @property
    def confidence(self) -> float:
        """The cross-encoder's best probability that a sentence answers (0: none read)."""
        return max(self.answering.values(), default=0.0)

    def evidence(self, question: str, passages: list[Passage]) -> np.ndarray:
        """The abstention model's features (:func:`rag.reading.abstain.features`) of this
        reading."""
        top = max(self.picked, key=self.picked.__getitem__)
        return features(
            question,
            [self.sentences[i].text for i in sorted(self.picked)],
            self.sentences[top].passage.text,
            [p.text for p in passages],
            self.best,
            max(p.score for p in passages),
        )


def answer_order(reading: Reading, passages: list[Passage]) -> list[int]:
    """The picked sentences in the order the answer quotes them: by their passage's rank
    and their place in the document, except that the first document's sentence the
    reading model finds likeliest to answer leads (where it read them). Document order
    alone put a sentence first only because it came earlier (often a title) ahead of the
    one that answers: on SQuAD 2.0 test articles the first quote held the answer in 0.467
    of answers, 0.800 with the likeliest first. The lead stays within the best-ranked
    document: which document a follow-up means is the retrieval's call (it read the
    conversation), not the model's (it reads the bare question)."""
    sentences, picked = reading.sentences, reading.picked
    source_rank = {p.source: i for i, p in reversed(list(enumerate(passages)))}
    order = sorted(picked, key=lambda i: (source_rank[sentences[i].source], sentences[i].start))
    first = [i for i in order if sentences[i].source == sentences[order[0]].source] if order else []
    read = [i for i in first if i in reading.answering]
    if read:
        lead = max(read, key=reading.answering.__getitem__)
        order = [lead, *(i for i in order if i != lead)]
    return order


def second_hop(
    question: str,
    sentences: list[Sentence],
    scores: np.ndarray,
    picked: dict[int, float],
    passages: list[Passage],
    min_score: float,
) -> int | None:
    """The sentence that answers the second half of a two-hop question, if any.

    "When was the writer of Heroin born?": the passage about the song says Lou Reed
    wrote it, but his birth date is in another passage, about Lou Reed, that scores
    lower. So: the first retrieved passage from a source not yet quoted whose subject (a
    name in its first :data:`SUBJECT_WORDS` words) the question or the passages of the
    picked sentences name, and whose best sentence reaches ``min_score``, gives that
    sentence. (The passages, not just the picked sentences: the sentence naming the
    bridge, "It was written by Lou Reed", is seldom the one that reads best.)
    """
    quoted = {sentences[i].source for i in picked}
    quoted_passages = {sentences[i].passage.text for i in picked}
    named = set(_NAME.findall(" ".join([question, *quoted_passages])))
    for passage in passages:
        if passage.source in quoted:
            continue
        opening = " ".join(passage.text.split()[:SUBJECT_WORDS])
        subject = {w for w in _NAME.findall(opening) if w.lower() not in STOPWORDS}
        own = [i for i, s in enumerate(sentences) if s.source == passage.source]
        if subject & named and own:
            best = max(own, key=lambda i: scores[i])
            if scores[best] >= min_score:
                return best
    return None


class ExtractiveAnswerer:
    """Answers with the passages' sentences most similar to the question; no LLM needed.

    No sentence reaching ``min_score`` cosine similarity means abstaining. Further
    sentences are added while they score within ``margin`` of the best one, up to
    ``max_sentences``, in document order. Then ``abstention`` (a trained
    :class:`~rag.reading.abstain.AbstentionModel`) judges whether the evidence answers the
    question at all, on more than cosine: words of the question missing from the
    passages, an answer of the wrong kind (no number for "how many"). Its confidence
    is the Answer's ``score``; below ``min_confidence`` (default: the model's own
    threshold) the answer abstains. With ``abstention=None`` cosine alone decides.

    ``crossencoder`` (:mod:`rag.reading.crossencoder`) reads the candidate sentences with the
    question and picks by their probability of answering instead; it may also be the
    ``abstention`` judge: no candidate reaching ``min_confidence`` (default: its trained
    answer threshold) means abstaining, whatever the cosine similarity.
    """

    def __init__(
        self,
        embeddings: SentenceEmbeddings,
        *,
        min_score: float = 0.3,
        max_sentences: int = 3,
        margin: float = 0.1,
        abstention: AbstentionModel | CrossEncoder | None = None,
        min_confidence: float | None = None,
        ranker: SentenceRanker | None = None,
        crossencoder: CrossEncoder | None = None,
        cache_size: int = 50_000,
    ) -> None:
        if abstention is None and min_confidence is not None:
            raise ValueError("min_confidence needs an abstention model")
        self.embeddings = embeddings
        self.min_score = min_score
        self.max_sentences = max_sentences
        self.margin = margin
        self.abstention = abstention
        if isinstance(abstention, CrossEncoder) and min_confidence is None:
            min_confidence = abstention.card.answer_threshold
        elif abstention is not None and min_confidence is None:
            min_confidence = abstention.threshold
        self.min_confidence = min_confidence
        self.ranker = ranker
        self.crossencoder = crossencoder
        self._sentence_vectors = SentenceVectors(embeddings, cache_size)

    def __call__(self, question: str, passages: list[Passage], context: str = "") -> Answer:
        reading = self.read(question, passages, context)
        model = self.abstention
        score = reading.best if reading.sentences else None
        if isinstance(model, CrossEncoder) and reading.sentences:
            score = reading.confidence
            if score < self.min_confidence and reading.hop is not None:
                score = max(score, self._bridge_confidence(question, reading))
        elif model is not None and reading.sentences:
            # on the model's scale; with no usable sentence, no confidence at all
            score = (
                model.confidence(reading.evidence(question, passages)) if reading.picked else 0.0
            )
        if not reading.picked or (model is not None and score < self.min_confidence):
            return Answer.sources_dont_say(question, passages, score)
        sentences, picked = reading.sentences, reading.picked
        order = answer_order(reading, passages)
        citations = [
            Citation.of(n, s.passage, s.start, s.end, picked[i])
            for n, (i, s) in enumerate(((i, sentences[i]) for i in order), start=1)
        ]
        text = " ".join(attach_marker(c.quote, c.marker) for c in citations)
        return Answer(question, text, citations, abstained=False, passages=passages, score=score)

    def read(self, question: str, passages: list[Passage], context: str = "") -> Reading:
        """The passages' sentences scored against the question, and the ones to answer
        with: up to ``max_sentences`` for the whole question (read by the cross-encoder
        when there is one), plus the best one for each part of a compound one ("what
        does X ask, and how did Y react?", by the ranker or cosine: the model reads the
        whole question only, which keeps its cost to one batch), plus a
        :func:`second_hop` sentence from a passage about what those name."""
        sentences = passage_sentences(passages)
        if not sentences:
            return Reading([], np.zeros(0), {}, -1.0)
        vectors = self._sentence_vectors(sentences)
        picked: dict[int, float] = {}
        answering: dict[int, float] = {}
        best, hop = -1.0, None
        cosines = vectors @ self._query_vector(question, context)
        for n, asked in enumerate([question, *question_parts(question)]):
            scores = cosines if n == 0 else vectors @ self._query_vector(asked, context)
            best = max(best, float(scores.max()))
            if n == 0 and self._reading_model is not None:
                by_ranker = self._by_ranker(asked, sentences, scores)
                answering = self._answering(asked, sentences, scores, by_ranker)
            if n == 0 and self.crossencoder is not None:
                chosen = self._pick_read(answering, scores, by_ranker, self.max_sentences)
            else:  # a part of a compound question: the best sentence for it, read cheaply
                chosen = self._pick(asked, sentences, scores, self.max_sentences if n == 0 else 1)
            for i in chosen:
                picked[i] = max(picked.get(i, -1.0), float(scores[i]))
            if n == 0 and picked:
                hop = second_hop(question, sentences, scores, picked, passages, self.min_score)
                if hop is not None:
                    picked[hop] = float(scores[hop])
        return Reading(sentences, cosines, picked, best, answering, hop)

    def _bridge_confidence(self, question: str, reading: Reading) -> float:
        """P(answers) of the likeliest sentence and the second hop's read as one text: a
        two-hop question ("When was the writer of Heroin born?") is answered by neither
        alone ("It was written by Lou Reed." / "Lou Reed was born in 1942."), so neither
        reaches the answer threshold, but the two together do."""
        model = self._reading_model
        assert model is not None and reading.hop is not None
        if not reading.answering:
            return 0.0
        first = max(reading.answering, key=reading.answering.__getitem__)
        if first == reading.hop:
            return reading.confidence
        sentences = reading.sentences
        both = f"{sentences[first].text} {sentences[reading.hop].text}"
        (probability,) = model.answers(question, [both], [preceding(sentences)[first]])
        return float(probability)

    @property
    def _reading_model(self) -> CrossEncoder | None:
        if self.crossencoder is not None:
            return self.crossencoder
        return self.abstention if isinstance(self.abstention, CrossEncoder) else None

    def _by_ranker(
        self, question: str, sentences: list[Sentence], cosines: np.ndarray
    ) -> list[int]:
        """Sentence indices, likeliest first by the ranker ([] without one)."""
        if self.ranker is None:
            return []
        chance = self.ranker.probability(ranker_inputs(question, sentences, cosines))
        return [int(i) for i in np.argsort(-chance, kind="stable")]

    def _answering(
        self, question: str, sentences: list[Sentence], cosines: np.ndarray, by_ranker: list[int]
    ) -> dict[int, float]:
        """The cross-encoder's probability of answering ``question`` for each candidate
        (:data:`CANDIDATES` by similarity, as many by the ranker)."""
        model = self._reading_model
        assert model is not None
        ranked = [int(i) for i in np.argsort(-cosines, kind="stable")[:CANDIDATES]]
        candidates = list(dict.fromkeys([*ranked, *by_ranker[:CANDIDATES]]))
        before = preceding(sentences)
        probabilities = model.answers(
            question, [sentences[i].text for i in candidates], [before[i] for i in candidates]
        )
        return {i: float(p) for i, p in zip(candidates, probabilities, strict=True)}

    def _pick_read(
        self, chance: dict[int, float], cosines: np.ndarray, by_ranker: list[int], most: int
    ) -> list[int]:
        """The cross-encoder reader's picks: its likeliest sentence, the ranker's
        likeliest (two readers that err differently: on the gold set's dev half the answers
        citing a gold sentence went from 0.72 to 0.84 with it, at the same abstentions),
        then any other within :data:`MORE_SENTENCES` of the best that reaches the answer
        threshold; loosely related sentences are left out. With cosine abstention, only
        sentences reaching ``min_score`` are candidates."""
        if self.abstention is None:
            chance = {i: p for i, p in chance.items() if cosines[i] >= self.min_score}
        if not chance:
            return []
        second = [i for i in by_ranker[:1] if i in chance]
        ranked = sorted(chance, key=lambda i: -chance[i])
        answer_threshold = (
            self.min_confidence
            if self.abstention is self.crossencoder
            else self.crossencoder.card.answer_threshold
        )
        floor = max(chance[ranked[0]] * MORE_SENTENCES, answer_threshold or 0.0)
        more = [i for i in ranked[1:] if chance[i] >= floor]
        return list(dict.fromkeys([ranked[0], *second, *more]))[:most]

    def _pick(
        self, question: str, sentences: list[Sentence], cosines: np.ndarray, most: int
    ) -> list[int]:
        """Up to ``most`` sentences that answer ``question``, in the order picked, among
        those reaching ``min_score`` cosine. The cosine reader's: the most similar, then any
        within ``margin`` of it. With a ranker: its likeliest sentence, the most similar
        one, any other the ranker gives at least its threshold, then the cosine reader's.
        The ranker weighs the question's words, so where they differ from the answer's
        ("what might the United States gain?" against "for Washington, ... a pragmatic
        exit"; "what did Russia say?" against "the Russian response") similarity keeps
        its say."""
        usable = np.flatnonzero(cosines >= self.min_score)
        if not len(usable):
            return []
        by_cosine = [int(i) for i in usable[np.argsort(-cosines[usable], kind="stable")]]
        similar = [i for i in by_cosine if cosines[i] >= cosines[by_cosine[0]] - self.margin]
        if self.ranker is None:
            return similar[:most]
        chance = self.ranker.probability(ranker_inputs(question, sentences, cosines))
        ranked = [int(i) for i in usable[np.argsort(-chance[usable], kind="stable")]]
        likely = [i for i in ranked[1:] if chance[i] >= self.ranker.threshold]
        return list(dict.fromkeys([ranked[0], by_cosine[0], *likely, *similar]))[:most]

    def _query_vector(self, question: str, context: str) -> np.ndarray:
        """The question's vector; for a follow-up, nudged towards the earlier questions
        by :data:`CONTEXT_WEIGHT`."""
        vector = np.asarray(self.embeddings.embed_query(question))
        if not context:
            return vector
        vector = vector + CONTEXT_WEIGHT * np.asarray(self.embeddings.embed_query(context))
        return vector / np.linalg.norm(vector)
