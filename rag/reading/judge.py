"""Does a passage support a claim? A lexical judge that runs offline, with known limits.

No natural-language-inference model ships inside a PyPI package for offline use, so
support is judged on the words themselves. A claim is supported by a premise when

1. coverage: at least ``threshold`` (default 0.8) of the claim's content words (stop
   words dropped, crudely stemmed) occur in the premise;
2. numbers: every number in the claim occurs in the premise;
3. negation: the claim is negated ("not", "no", "never", "n't", ...) exactly when the
   premise sentence that covers it best is.

Limits, by construction: it cannot see paraphrase (synonyms lower coverage, so a faithful
rewording can fail), and it cannot see structure (a claim that swaps who did what to whom
with the same words passes). It suits extractive answers and close paraphrases; it is a
lower bound for fluent generative answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.documents.sentences import sentence_spans

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as into onto over under about
    than then that this these those there here it its it's is are was were be been being
    has have had do does did will would shall should can could may might must which who whom
    whose what when where why how i you he she we they them his her their our your my me us
    also so such some any each other more most very just only own same too s""".split()
)
NEGATIONS = frozenset("not no never none nor nobody nothing neither without cannot".split())
WORD = re.compile(r"\w+(?:'\w+)?")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MARKER = re.compile(r"\s*\[\d+\]")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s")


def stem(word: str) -> str:
    """Crude suffix stripping: enough for "guarantees"/"guarantee", "ceding"/"cede"."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)].rstrip("e")
    return word.rstrip("e") if len(word) > 3 else word


def content_words(text: str) -> list[str]:
    """Stemmed words of ``text`` in order, stop words and negations dropped."""
    words = WORD.findall(text.lower())
    return [stem(w) for w in words if w not in STOPWORDS and w not in NEGATIONS]


def content_terms(text: str) -> set[str]:
    """Stemmed content words of ``text``, citation markers ignored."""
    return set(content_words(_MARKER.sub(" ", text)))


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(_MARKER.sub(" ", text))}


def negated(text: str) -> bool:
    words = WORD.findall(text.lower())
    return any(w in NEGATIONS or w.endswith("n't") for w in words)


@dataclass(frozen=True)
class Support:
    """The judge's verdict with its evidence, so reports can say why."""

    supported: bool
    coverage: float
    reason: str


def judge(premise: str, claim: str, threshold: float = 0.8) -> Support:
    """Whether ``premise`` supports ``claim`` (see the module doc for the rules)."""
    claim_terms = content_terms(claim)
    if not claim_terms:
        return Support(False, 0.0, "claim has no content words")
    premise_terms = content_terms(premise)
    coverage = len(claim_terms & premise_terms) / len(claim_terms)
    if coverage < threshold:
        return Support(False, coverage, f"covers {coverage:.0%} of the claim's words")
    missing = numbers(claim) - numbers(premise)
    if missing:
        return Support(False, coverage, f"number(s) {', '.join(sorted(missing))} not in premise")
    closest = max(
        (premise[s:e] for s, e in sentence_spans(premise)),
        key=lambda sentence: len(claim_terms & content_terms(sentence)),
        default=premise,
    )
    if negated(claim) != negated(closest):
        return Support(False, coverage, "negation differs")
    return Support(True, coverage, "supported")
