"""Verify any text against the sources: which of its claims the documents back.

A person pastes a draft (theirs or another model's); each of its sentences is looked up
in the index like a question, and the reading model (:mod:`rag.reading.crossencoder`) reads it
against the retrieved sentences: a sentence that says the same is **supported**, one that
says otherwise **contradicts** it, and with neither the claim is **not found**. Every
verdict but the last comes with the exact quotes it rests on, as answers do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from rag.documents.sentences import sentence_spans
from rag.reading.cite import Citation, format_sources
from rag.reading.crossencoder import CONTRADICTS, SUPPORTS, CrossEncoder
from rag.reading.extractive import Sentence, SentenceVectors, passage_sentences, preceding
from rag.reading.judge import content_terms, judge
from rag.retrieve import Passage

Verdict = Literal["supported", "contradicted", "not found"]

CANDIDATES = 16
"""Retrieved sentences read against each claim: the most similar to it."""
MAX_CITATIONS = 2
"""Quotes shown per verdict at most (the strongest first)."""

_MARKS = {"supported": "✓", "contradicted": "✗", "not found": "?"}


@dataclass(frozen=True)
class CheckedSentence:
    """One sentence of the checked text and what the sources say about it.

    ``start``/``end`` are offsets into the checked text. ``score`` is the probability
    behind the verdict: P(supports) of the best supporting sentence, P(contradicts) of
    the best contradicting one, or for "not found" the best P(supports) there was.
    ``citations`` are the sources' sentences the verdict rests on (none for "not found").
    """

    text: str
    start: int
    end: int
    verdict: Verdict
    score: float
    citations: list[Citation] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        return self.verdict == "supported"

    def record(self) -> dict[str, Any]:
        """The verdict as plain data, for programs (``/check``, ``/v1/check``)."""
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "supported": self.supported,
            "verdict": self.verdict,
            "score": self.score,
            "citations": [c.record() for c in self.citations],
        }


@dataclass(frozen=True)
class Check:
    """The verdicts on a text, sentence by sentence (``sentences``)."""

    text: str
    sentences: list[CheckedSentence]

    def count(self, verdict: Verdict) -> int:
        return sum(s.verdict == verdict for s in self.sentences)

    def __str__(self) -> str:
        if not self.sentences:
            return "Nothing to check: the text has no sentences."
        lines = [
            f"{self.count('supported')} supported, {self.count('contradicted')} contradicted, "
            f"{self.count('not found')} not found, of {len(self.sentences)} sentences."
        ]
        for s in self.sentences:
            lines.append(f"\n{_MARKS[s.verdict]} {s.verdict} ({s.score:.2f}): {s.text}")
            if s.citations:
                lines.append("  " + format_sources(s.citations).replace("\n", "\n  "))
        return "\n".join(lines)


MIN_WORDS = 3
"""Shorter sentences are not claims worth checking (a heading, "OK.", "Notes")."""


def claims_of(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences worth checking: :data:`MIN_WORDS` words or more, one of
    them a content word."""
    return [
        (s, e)
        for s, e in sentence_spans(text)
        if len(text[s:e].split()) >= MIN_WORDS and content_terms(text[s:e])
    ]


class Checker:
    """Checks texts with ``retrieve`` (a claim -> passages) and the reading model."""

    def __init__(
        self,
        retrieve: Callable[[str], list[Passage]],
        model: CrossEncoder,
        vectors: SentenceVectors,
    ) -> None:
        self.retrieve = retrieve
        self.model = model
        self.vectors = vectors

    def __call__(self, text: str, progress: Callable[[int, int], None] | None = None) -> Check:
        spans = claims_of(text)
        checked = []
        for n, (start, end) in enumerate(spans):
            checked.append(self.sentence(text[start:end], start, end))
            if progress is not None:
                progress(n + 1, len(spans))
        return Check(text, checked)

    def candidates(self, claim: str) -> tuple[list[Sentence], list[str]]:
        """The retrieved sentences most similar to ``claim``, each with the sentence before
        it in its document, which the model reads with it. That context is taken from all
        retrieved sentences, not from the candidates alone: between two candidates of one
        passage there are usually others."""
        sentences = passage_sentences(self.retrieve(claim))
        if not sentences:
            return [], []
        before = preceding(sentences)
        cosines = self.vectors(sentences) @ np.asarray(self.vectors.embeddings.embed_query(claim))
        chosen = sorted(np.argsort(-cosines, kind="stable")[:CANDIDATES])
        return [sentences[i] for i in chosen], [before[i] for i in chosen]

    def sentence(self, claim: str, start: int = 0, end: int | None = None) -> CheckedSentence:
        """The verdict on one claim."""
        end = len(claim) if end is None else end
        found, before = self.candidates(claim)
        if not found:
            return CheckedSentence(claim, start, end, "not found", 0.0)
        probs = self.model.support([claim] * len(found), [s.text for s in found], before)
        card = self.model.card
        # A sentence more likely to contradict the claim than to support it never
        # supports it: "open since 1985" must not back "opened in 1990".
        leaning = np.where(probs[:, SUPPORTS] >= probs[:, CONTRADICTS], probs[:, SUPPORTS], 0.0)
        probs = probs.copy()
        probs[:, SUPPORTS] = leaning
        verdict: Verdict = "not found"
        column = SUPPORTS
        if probs[:, SUPPORTS].max() >= card.support_threshold:
            verdict, threshold = "supported", card.support_threshold
        elif probs[:, CONTRADICTS].max() >= card.contradict_threshold:
            verdict, column, threshold = "contradicted", CONTRADICTS, card.contradict_threshold
        score = float(probs[:, column].max())
        if verdict == "not found":
            return CheckedSentence(claim, start, end, verdict, score)
        ranked = [int(i) for i in np.argsort(-probs[:, column]) if probs[i, column] >= threshold]
        citations = [
            Citation.of(n, found[i].passage, found[i].start, found[i].end, float(probs[i, column]))
            for n, i in enumerate(ranked[:MAX_CITATIONS], start=1)
        ]
        return CheckedSentence(claim, start, end, verdict, score, citations)


def lexical_verdict(claim: str, passages: list[Passage]) -> Verdict:
    """What the word-level judge (:func:`rag.reading.judge.judge`) says, for comparison: supported
    when a passage supports the claim; contradicted when one covers its words but
    differs in a number or a negation; else not found."""
    verdicts = [judge(p.text, claim) for p in passages]
    if any(v.supported for v in verdicts):
        return "supported"
    if any(v.coverage >= 0.8 for v in verdicts):
        return "contradicted"
    return "not found"
