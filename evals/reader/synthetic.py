"""Hard cases made from SQuAD v1.1's answerable questions, of the kinds SQuAD 2.0's
writers made its unanswerable ones with, and claims for :meth:`RAG.check`.

- :func:`adversarial`: the question changed so that its own answer sentence no longer
  answers it (a neutral pair): a name swapped for another name of the same article, a
  number or year changed, or a negation put in ("What did the Normans *not* conquer?").
- :func:`claims`: the answer sentence as a claim against itself, shortened (supports);
  with its answer swapped for another of the same kind from the article, or its number
  changed (contradicts). With no VitaminC at hand these keep the contradiction head
  trained; SICK and Climate-FEVER measure it from outside.
"""

from __future__ import annotations

import random
import re

from evals.reader.data import Pair
from rag.evaluation.metrics import normalize
from rag.reading import crossencoder as ce
from rag.reading.abstain import expected_kind
from rag.reading.judge import STOPWORDS

NAME = re.compile(r"\b[A-Z][\w'’-]+(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'’-]+)*")
"""A run of capitalised words: a name ("Kingdom of England", "Rollo")."""
NUMBER = re.compile(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+(?:\.\d+)?\b")
AUXILIARY = re.compile(
    r"\b(is|was|were|are|did|does|do|can|could|has|have|had|will|would|should)\b(?= \w)"
)
VAGUE = {
    "number": ("several", "some", "a number of", "many"),
    "date": ("at one point", "at some time", "then", "earlier"),
    "name": ("someone", "an official", "others", "one of them"),
    "place": ("somewhere", "in one place", "there", "elsewhere"),
    None: ("something", "it", "that", "one of them"),
}
"""What stands in for a removed answer, by the kind of answer the question asks for
(:func:`rag.reading.abstain.expected_kind`, with "where" a place rather than a name)."""


def names(text: str) -> list[str]:
    """Capitalised runs of ``text`` that are not a sentence's first word alone."""
    found = []
    for m in NAME.finditer(text):
        name = m.group(0)
        first = m.start() == 0 or text[: m.start()].rstrip().endswith((".", "?", "!", '"'))
        if (first and " " not in name) or name.lower() in STOPWORDS:
            continue
        found.append(name)
    return found


def changed_number(number: str, rng: random.Random) -> str:
    """Another number of the same look: a year moved by 1-30, a count scaled."""
    plain = number.replace(",", "")
    if "." in plain:
        return f"{float(plain) * rng.choice((0.5, 2, 3)):.{len(plain.split('.')[1])}f}"
    value = int(plain)
    if 1000 <= value <= 2100 and "," not in number:
        return str(value + rng.choice((-1, 1)) * rng.randint(1, 30))
    new = max(value + rng.randint(1, 9), value * rng.choice((2, 3, 10)))
    return f"{new:,}" if "," in number else str(new)


def adversarial(
    question: str, sentence: str, context: str, pool: list[str], rng: random.Random
) -> Pair | None:
    """``question`` changed so that ``sentence`` (which answers it) no longer does, as a
    neutral pair; ``pool`` is the article's names to swap in. None when no change fits."""
    kinds = ["name", "number", "negation"]
    rng.shuffle(kinds)
    low = normalize(sentence)
    for kind in kinds:
        changed = None
        if kind == "name":
            mine = [n for n in names(question) if normalize(n) in low]
            other = [n for n in pool if normalize(n) not in low and n not in question]
            if mine and other:
                changed = question.replace(rng.choice(mine), rng.choice(other), 1)
        elif kind == "number":
            mine = [m for m in NUMBER.findall(question) if m in sentence]
            if mine:
                old = rng.choice(mine)
                changed = question.replace(old, changed_number(old, rng), 1)
        else:
            m = AUXILIARY.search(question)
            if m and " not " not in f" {question} " and "n't" not in question:
                changed = f"{question[: m.end()]} not{question[m.end() :]}"
        if changed and changed != question:
            return Pair(changed, sentence, context, ce.NEUTRAL, "adversarial")
    return None


def claims(
    sentence: str, answer: str, start: int, context: str, pool: list[str], rng: random.Random
) -> list[Pair]:
    """The sentence as a claim checked against itself: cut after its answer (supports),
    and with the answer ``sentence[start:start+len(answer)]`` swapped for another name of
    the article or another number (contradicts)."""
    out = []
    end = start + len(answer)
    cut = re.search(r"[,;]", sentence[end:])
    if cut and end + cut.start() < len(sentence) - 10:
        short = sentence[: end + cut.start()].rstrip() + "."
        out.append(Pair(short, sentence, context, ce.SUPPORTS, "claims"))
    swap = None
    if NUMBER.fullmatch(answer.strip()):
        swap = changed_number(answer.strip(), rng)
    elif answer[:1].isupper():
        other = [n for n in pool if normalize(n) not in normalize(sentence)]
        swap = rng.choice(other) if other else None
    if swap and swap != answer:
        wrong = f"{sentence[:start]}{swap}{sentence[end:]}"
        out.append(Pair(wrong, sentence, context, ce.CONTRADICTS, "claims"))
    return out


def without_answer(
    question: str, sentence: str, start: int, end: int, rng: random.Random
) -> str | None:
    """The sentence with its answer (``sentence[start:end]``) removed or made vague: it
    keeps every word the question shares with it and no longer says what was asked, the
    on-topic sentence that does not answer ("would cede portions of territory" to "which
    regions?"). Half the time the answer is dropped, half a vague phrase replaces it, so
    neither a gap nor a word becomes the tell. None when the answer is the whole
    sentence or is still in what is left."""
    kind = expected_kind(question)
    if kind == "name" and re.search(r"\bwhere\b", question, re.IGNORECASE):
        kind = "place"
    phrase = "" if rng.random() < 0.5 else rng.choice(VAGUE[kind])
    head = sentence[:start]
    if kind in ("date", "place"):  # "reported on <date>" goes whole: "reported earlier"
        head = re.sub(r"\b(on|in|at|during|since|by)\s*$", "", head)
    left = " ".join(f"{head} {phrase} {sentence[end:]}".split())
    left = re.sub(r"\s+([.,;:!?)])", r"\1", left)
    answer = normalize(sentence[start:end])
    if len(normalize(left).split()) < 4 or not answer or answer in normalize(left):
        return None
    return left[0].upper() + left[1:]
