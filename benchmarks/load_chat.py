"""Many concurrent chat conversations against a real `python app.py`, round after round.

    .venv/bin/python benchmarks/load_chat.py [--conversations 50] [--turns 3] [--rounds 3]
        [--client gradio_client|http] [--app-dir CHECKOUT]

Starts the app on a free loopback port with a temporary index over corpus/ (or
``--corpus``), waits until ``/chat`` answers, then runs ``--rounds`` rounds: each round
opens ``--conversations`` conversations at once (a thread and a gradio_client.Client
each, or with ``--client http`` an HTTP client speaking Gradio's protocol, which leaves
the cores to the server) that ask ``--turns`` questions about the default article in
turn. ``--app-dir`` serves another checkout's app.py (a ``git worktree`` of an older
commit) to measure it side by side with the same client. After each round
it reads the resident memory of the server (with its children). Prints one Markdown row
per round: requests, failures, replies citing a source (all questions are answerable, so
a shortfall means error or abstention replies), wall time, throughput, p50/p95 latency,
server RSS and its change from the previous round.

Every request has a timeout and the whole run a deadline (``--deadline``), so it always
stops by itself. The pieces (``start_app``, ``run_round``, ``run_load``) are importable:
tests/test_load.py and tests/test_restart.py use them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# gradio_client phones home unless this is "False", whatever its analytics_enabled says.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import psutil
from gradio_client import Client

REPO = Path(__file__).resolve().parents[1]
CLIENTS = ("gradio_client", "http")
"""How conversations reach ``/chat``: see :func:`chat_client`."""
CORPUS = REPO / "corpus"
HOST = "127.0.0.1"
QUESTIONS = (Path(__file__).parent / "questions-answered.txt").read_text().splitlines()
"""Questions the default corpus answers, so every reply should cite."""
"""On-topic questions about the default article; conversation i starts at question i."""

MIB = 1024 * 1024
READY_TIMEOUT = 180.0
REQUEST_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0


def free_port() -> int:
    """A port nobody listens on right now, on loopback."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def new_client(url: str, timeout: float = 30.0, auth: tuple[str, str] | None = None) -> Client:
    """A quiet client whose HTTP calls time out, so a stuck server cannot hang us."""
    return Client(
        url,
        auth=auth,
        verbose=False,
        max_workers=2,  # one conversation asks one question at a time
        download_files=False,
        analytics_enabled=False,
        httpx_kwargs={"timeout": timeout},
    )


def close_client(client: Client) -> None:
    """Stop the client's heartbeat and thread pools (``close()`` alone keeps the pools)."""
    client.close()
    for pool in (client.executor, client.helper_executor, client.stream_executor):
        pool.shutdown(wait=False, cancel_futures=True)


def ask(client: Client, question: str, timeout: float) -> Any:
    """One ``/chat`` call that gives up after ``timeout`` seconds."""
    job = client.submit(question, api_name="/chat")
    try:
        return job.result(timeout=timeout)
    except BaseException:
        job.cancel()
        raise


class Connection:
    """One keep-alive HTTP/1.1 connection of the standard library, for load generators:
    they share the cores with the server, and an ``httpx.Client`` costs ~20 ms of CPU to
    create (its TLS context; measured: 50 users x 4 requests took 4.0-5.0 s of client
    CPU through httpx, 0.1-0.3 s through this)."""

    def __init__(self, url: str, timeout: float) -> None:
        where = urllib.parse.urlsplit(url)
        self.http = http.client.HTTPConnection(where.hostname, where.port, timeout=timeout)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def send(self, method: str, path: str, body: Any = None) -> http.client.HTTPResponse:
        """The response to ``method path`` with ``body`` as JSON; an error status raises
        (its body read, so the connection serves the next request)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {} if data is None else {"Content-Type": "application/json"}
        self.http.request(method, "/" + path.lstrip("/"), data, headers)
        response = self.http.getresponse()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status} {response.read()[:300]!r}")
        return response

    def post(self, path: str, body: Any) -> Any:
        """The JSON that ``POST path`` answers ``body`` with."""
        return json.loads(self.send("POST", path, body).read())


def gradio_call(connection: Connection, endpoint: str, data: list, session: str) -> Any:
    """``POST gradio_api/call/<endpoint>`` starts an event; its result is the ``complete``
    event of ``GET gradio_api/call/<endpoint>/<event_id>`` (server-sent events).

    ``session`` names the Gradio session: without one, each call is a new session, which
    costs the server a copy of the whole page's configuration (~20 ms of its event loop,
    measured with py-spy), a cost a browser pays once per page.
    """
    started = connection.post(
        f"gradio_api/call/{endpoint}", {"data": data, "session_hash": session}
    )
    events = connection.send("GET", f"gradio_api/call/{endpoint}/{started['event_id']}")
    try:
        kind = ""
        for raw in iter(events.readline, b""):
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event:"):
                kind = line.removeprefix("event:").strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                payload = line.removeprefix("data:").strip()
                if kind == "error":
                    raise RuntimeError(f"the event failed: {payload}")
                return json.loads(payload)[0]
        raise RuntimeError("the event's stream ended without a result")
    finally:
        events.read()  # to its end, so the connection can be used again


@contextmanager
def chat_client(url: str, kind: str, number: int, timeout: float) -> Iterator[Callable[..., Any]]:
    """``ask(question, timeout)`` for conversation ``number``: through ``gradio_client``
    (a ``Client`` of its own) or, with ``kind="http"``, Gradio's HTTP protocol with one
    :class:`Connection` and one Gradio session, as a browser's page asks. ``gradio_client``
    polls every 50 ms per pending job from threads of its own: with 50 users on the
    server's cores it takes more CPU than the server (issue 20's notes)."""
    if kind == "http":
        with Connection(url, timeout) as connection:
            session = f"conversation-{number}-{os.getpid()}"
            yield lambda question, _timeout: gradio_call(connection, "chat", [question], session)
        return
    client = new_client(url, timeout=timeout)
    try:
        yield lambda question, timeout: ask(client, question, timeout)
    finally:
        close_client(client)


def is_answer(reply: Any) -> bool:
    """A chat reply: a list of message dicts, the first holding the answer text."""
    return (
        isinstance(reply, list)
        and bool(reply)
        and all(isinstance(m, dict) for m in reply)
        and isinstance(reply[0].get("content"), str)
        and bool(reply[0]["content"].strip())
    )


def process_tree(pid: int) -> list[psutil.Process]:
    """A process and all its descendants (the app's model or OCR workers)."""
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


def rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    total = 0
    for p in process_tree(pid):
        with suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total / MIB


@dataclass
class App:
    """A running ``python app.py``: where it serves, its process and its log file."""

    url: str
    process: subprocess.Popen
    log_path: Path
    index_dir: Path
    auth: tuple[str, str] | None = None
    first_reply: list[dict] = field(default_factory=list)

    def log(self) -> str:
        """stdout and stderr of the app so far (the ingest report is on stderr)."""
        return self.log_path.read_text(errors="replace")

    def rss_mib(self) -> float:
        return rss_mib(self.process.pid)

    def wait_until_serving(
        self, timeout: float = READY_TIMEOUT, question: str = QUESTIONS[0]
    ) -> list[dict]:
        """Ask ``question`` until ``/chat`` answers; the reply is kept in ``first_reply``.

        Raises RuntimeError with the app's log when it exits or does not answer in time.
        """
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"app.py exited with {self.process.returncode} before serving:\n{self.log()}"
                )
            client = None
            try:
                client = new_client(self.url, timeout=10, auth=self.auth)
                reply = ask(client, question, max(1.0, deadline - time.monotonic()))
                if is_answer(reply):
                    self.first_reply = reply
                    return reply
                last_error = f"unexpected reply {reply!r}"
            except Exception as err:  # not listening yet, or still starting
                last_error = f"{type(err).__name__}: {err}"
            finally:
                if client is not None:
                    close_client(client)
            time.sleep(0.5)
        raise RuntimeError(
            f"app.py did not serve /chat within {timeout:.0f} s ({last_error}):\n{self.log()}"
        )


def launch_app(
    env: Mapping[str, str], port: int, log_path: Path, app_dir: Path = REPO
) -> subprocess.Popen:
    """``python app.py`` from ``app_dir`` (this repository, or a checkout of another commit
    to measure it side by side), stdout and stderr into ``log_path``."""
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=app_dir,
            env={**env, "RAG_HOST": HOST, "RAG_PORT": str(port)},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop_app(process: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    """Terminate the app and anything it started; kill what does not exit in time."""
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
    for child in children:
        with suppress(psutil.NoSuchProcess):
            child.kill()


def benchmark_env() -> dict[str, str]:
    """This environment, with the answer cache off unless ``RAG_ANSWER_CACHE`` is set: the
    rounds ask the same questions again, so a cache would measure itself, not answering."""
    return {**os.environ, "RAG_ANSWER_CACHE": os.environ.get("RAG_ANSWER_CACHE", "0")}


@contextmanager
def start_app(
    corpus_dir: Path | None = None,
    index_dir: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    log_path: Path | None = None,
    wait: bool = True,
    ready_timeout: float = READY_TIMEOUT,
    question: str = QUESTIONS[0],
    auth: tuple[str, str] | None = None,
    app_dir: Path = REPO,
) -> Iterator[App]:
    """Run ``python app.py`` for the duration of the ``with`` block, then stop it.

    Explicit ``corpus_dir``/``index_dir`` win over ``env`` (default ``os.environ``),
    which wins over the defaults: the repository's corpus/ and a temporary index removed
    afterwards. With ``wait=False`` it yields as soon as the process is launched and the
    caller calls ``app.wait_until_serving()`` (to start several apps at the same time).
    Ready means ``/chat`` answered ``question``; that reply is ``app.first_reply``.
    With ``auth`` the app requires that login (``RAG_AUTH``) and the readiness check logs in.
    ``app_dir`` is the checkout whose ``app.py`` runs (default this one).
    """
    base = dict(os.environ if env is None else env)
    with ExitStack() as stack:
        if index_dir is None and "RAG_INDEX_DIR" not in base:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rag-load-")))
            index_dir = tmp / "index"
        if log_path is None:
            logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rag-log-")))
            log_path = logs / "app.log"
        if corpus_dir is not None:
            base["RAG_CORPUS_DIR"] = str(corpus_dir)
        base.setdefault("RAG_CORPUS_DIR", str(CORPUS))
        if index_dir is not None:
            base["RAG_INDEX_DIR"] = str(index_dir)
        base |= {"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
        base.pop("RAG_AUTH", None)
        if auth is not None:
            base["RAG_AUTH"] = ":".join(auth)
        port = port or free_port()
        process = launch_app(base, port, log_path, app_dir)
        stack.callback(stop_app, process)
        app = App(f"http://{HOST}:{port}/", process, log_path, Path(base["RAG_INDEX_DIR"]), auth)
        if wait:
            app.wait_until_serving(ready_timeout, question)
        yield app


@dataclass
class RoundResult:
    """What one round of concurrent conversations measured."""

    conversations: int
    requests: int  # planned: conversations x turns
    latencies_ms: list[float]  # of the successful requests
    wall_s: float
    errors: list[str] = field(default_factory=list)  # one per failed or unsent request
    cited: int = 0  # successful replies whose answer carries a [1] citation marker
    rss_mib: float | None = None  # of the server after the round, when measured

    @property
    def failures(self) -> int:
        return self.requests - len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        """Successful replies per second of wall time."""
        return len(self.latencies_ms) / self.wall_s if self.wall_s else 0.0

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of the successful latencies (NaN when none)."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1]


@dataclass
class _Tally:
    """What the conversations of one round report, shared between their threads."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cited: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _conversation(
    url: str,
    number: int,
    turns: int,
    questions: list[str],
    request_timeout: float,
    deadline: float,
    tally: _Tally,
    client: str,
) -> None:
    """One user: a client of its own asking ``turns`` questions one after the other."""
    done = 0
    try:
        with chat_client(url, client, number, min(30.0, request_timeout)) as ask_one:
            for turn in range(turns):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                question = questions[(number + turn) % len(questions)]
                start = time.perf_counter()
                try:
                    reply = ask_one(question, min(request_timeout, remaining))
                except Exception as err:
                    reply, problem = None, f"{type(err).__name__}: {err}"
                else:
                    problem = "" if is_answer(reply) else f"not an answer: {reply!r:.200}"
                elapsed = (time.perf_counter() - start) * 1000
                done += 1
                with tally.lock:
                    if problem:
                        tally.errors.append(f"conversation {number} turn {turn}: {problem}")
                    else:
                        tally.latencies_ms.append(elapsed)
                        tally.cited += "[1]" in reply[0]["content"]
    except Exception as err:  # the client could not even connect
        with tally.lock:
            tally.errors.append(f"conversation {number}: {type(err).__name__}: {err}")
            done += 1  # this message stands for the turn it was on
    finally:
        with tally.lock:
            tally.errors.extend(
                f"conversation {number} turn {t}: not sent" for t in range(done, turns)
            )


def run_round(
    url: str,
    conversations: int,
    turns: int,
    *,
    questions: list[str] = QUESTIONS,
    request_timeout: float = REQUEST_TIMEOUT,
    deadline: float | None = None,
    client: str = "gradio_client",
) -> RoundResult:
    """``conversations`` users at once, each asking ``turns`` questions in sequence, each
    through a ``client`` of :data:`CLIENTS`.

    Every request gives up after ``request_timeout`` s and no request starts after
    ``deadline`` (a ``time.monotonic()`` value; default: enough for every turn to time
    out). Threads still running shortly after the deadline are abandoned (they are
    daemons) and their requests counted as failures.
    """
    if deadline is None:
        deadline = time.monotonic() + turns * request_timeout + 30
    tally = _Tally()
    threads = [
        threading.Thread(
            target=_conversation,
            args=(url, n, turns, questions, request_timeout, deadline, tally, client),
            name=f"conversation-{n}",
            daemon=True,
        )
        for n in range(conversations)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    give_up = deadline + 10  # requests time out by the deadline; closing clients is quick
    for t in threads:
        t.join(timeout=max(0.0, give_up - time.monotonic()))
    wall = time.perf_counter() - start
    with tally.lock:
        stuck = sum(t.is_alive() for t in threads)
        result = RoundResult(
            conversations,
            conversations * turns,
            list(tally.latencies_ms),
            wall,
            errors=list(tally.errors),
            cited=tally.cited,
        )
    missing = result.failures - len(result.errors)
    if missing > 0:  # requests of threads still stuck after the deadline
        result.errors += [f"{stuck} conversations still running after the deadline"] * missing
    return result


def run_load(
    app: App,
    rounds: int,
    conversations: int,
    turns: int,
    *,
    request_timeout: float = REQUEST_TIMEOUT,
    deadline: float | None = None,
    on_round: Any = None,
    client: str = "gradio_client",
) -> list[RoundResult]:
    """``rounds`` rounds against ``app``, each followed by a reading of the server's RSS.

    ``on_round(number, result, previous)`` is called after each round (to print it).
    """
    results: list[RoundResult] = []
    for number in range(1, rounds + 1):
        if deadline is not None and time.monotonic() >= deadline:
            break
        result = run_round(
            app.url,
            conversations,
            turns,
            request_timeout=request_timeout,
            deadline=deadline,
            client=client,
        )
        time.sleep(1)  # let the server finish closing the sessions before reading RSS
        result.rss_mib = app.rss_mib()
        if on_round is not None:
            on_round(number, result, results[-1] if results else None)
        results.append(result)
    return results


TABLE_HEADER = (
    "| Round | Requests | Failures | Cited | Wall (s) | Throughput (req/s) | p50 (ms) "
    "| p95 (ms) | Server RSS (MiB) | RSS change (MiB) |\n"
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def table_row(number: int, result: RoundResult, previous: RoundResult | None) -> str:
    """One Markdown row; the RSS change is against the previous round ("-" for the first)."""
    rss = result.rss_mib
    change = "-"
    if previous is not None and previous.rss_mib is not None and rss is not None:
        change = f"{rss - previous.rss_mib:+.1f}"
    return (
        f"| {number} | {result.requests} | {result.failures} | {result.cited} "
        f"| {result.wall_s:.1f} "
        f"| {result.throughput:.1f} | {result.percentile(50):.0f} | {result.percentile(95):.0f} "
        f"| {'-' if rss is None else f'{rss:.1f}'} | {change} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder to index")
    parser.add_argument("--request-timeout", type=float, default=REQUEST_TIMEOUT)
    parser.add_argument("--deadline", type=float, default=900, help="seconds for the whole run")
    parser.add_argument(
        "--client", choices=CLIENTS, default="gradio_client", help="how users reach /chat"
    )
    parser.add_argument("--app-dir", type=Path, default=REPO, help="checkout whose app.py to serve")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.deadline

    def report(number: int, result: RoundResult, previous: RoundResult | None) -> None:
        print(table_row(number, result, previous), flush=True)
        for error in result.errors[:5]:
            print(f"  {error}", file=sys.stderr)

    start = time.perf_counter()
    ready = min(READY_TIMEOUT, args.deadline)
    with start_app(
        args.corpus, env=benchmark_env(), ready_timeout=ready, app_dir=args.app_dir
    ) as app:
        print(
            f"app.py served its first answer after {time.perf_counter() - start:.1f} s "
            f"(RSS {app.rss_mib():.1f} MiB); {args.conversations} conversations x "
            f"{args.turns} turns per round, through {args.client}\n",
            flush=True,
        )
        print(TABLE_HEADER, flush=True)
        results = run_load(
            app,
            args.rounds,
            args.conversations,
            args.turns,
            request_timeout=args.request_timeout,
            deadline=deadline,
            on_round=report,
            client=args.client,
        )
    failed = len(results) < args.rounds or any(r.failures for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
