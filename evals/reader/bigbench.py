"""BIG-bench's VitaminC, Disfl-QA and CoQA task files, where a machine still holds them.

The registry stopped serving ``bigbench==1.0.0`` (their only packaged source) on
2026-12-04; the shipped reader's first training step read them (its card says so). Where
a copy is at hand (``--bigbench FOLDER``, each file checked against 1.0.0's sha256), they
add VitaminC claims and CoQA questions to training and Disfl-QA to the figures: Disfl-QA
rewrites SQuAD 2.0 dev questions, so it is evaluation only, and its paragraphs that are
also paragraphs of the SQuAD 2.0 articles are left out. They carry a canary asking never
to be in public training corpora: never committed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path

from evals.reader.data import Pair, Question, Splits, paragraph_pairs, sentences_of, split_of
from evals.reader.synthetic import without_answer
from rag.evaluation.datasets import DATA_DIR
from rag.reading import crossencoder as ce

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
SQUAD_EVAL_DRAWS = ((100, 0), (500, 0))
"""The (limit, seed) draws of SQuAD dev questions that the project's eval asks."""
VITAMINC_LABELS = {"True": ce.SUPPORTS, "Neither": ce.NEUTRAL, "False": ce.CONTRADICTS}


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


def squash(text: str) -> str:
    """For finding a tokenised answer in detokenised text: no spaces, lower case."""
    return re.sub(r"\s+", "", text).lower()


def letters(text: str) -> str:
    """Letters and digits alone, lower case: bigbench's tokenised copy of a paragraph
    and the original compare equal."""
    return re.sub(r"\W+", "", text).lower()


def bigbench_tasks(folder: Path | None = None) -> dict[str, Path] | None:
    """The :data:`TASKS` files: from ``folder`` (bigbench's package folder, as an unpacked
    sdist or a BIG-bench checkout has it), else from evals/data where an earlier download
    left them, else None: the registry stopped serving ``bigbench==1.0.0`` on 2026-12-04,
    so the recipe trains without them where a machine has no copy."""
    if folder is None:
        cached = DATA_DIR / "-".join(BIGBENCH) / "bigbench"
        if not all((cached / task).is_file() for task in TASKS):
            return None
        folder = cached
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
    path: Path,
    seed: int,
    rng: random.Random,
    remove_answers: bool = False,
    exclude: frozenset[str] = frozenset(),
) -> tuple[dict[str, list[Pair]], dict[str, list]]:
    """Disfl-QA's questions with their paragraphs; a paragraph the SQuAD eval asks about,
    or one of ``exclude`` (:func:`letters` of the SQuAD 2.0 articles' paragraphs), is
    left out whole."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    asked_by_eval = squad_eval_paragraphs() | exclude
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
    return capped(found, questions, rng, limit)


def capped(
    found: dict[str, list[tuple[Pair, ...]]],
    questions: Splits,
    rng: random.Random,
    limit: int,
) -> tuple[Splits, Splits]:
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
