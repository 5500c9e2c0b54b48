"""One server, one port: the HTTP API (:mod:`rag.serve.api`) at ``/v1/...`` and its
docs at ``/docs``, the web chat mounted at ``/`` beside it, served by uvicorn.

API requests are taken on uvicorn's thread pool, many at a time; the chat's events go
through Gradio's queue, which runs :data:`CHAT_CONCURRENCY` of them at once. Both compute
their answers inside one :class:`~rag.serve.gate.Gate` (``RAG_ANSWERS_AT_ONCE`` slots):
the rest wait their turn in arrival order, so no answer starves behind the others.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr
import uvicorn
from fastapi import FastAPI

from rag.pipeline import RAG
from rag.serve.api import create_api
from rag.serve.gate import Gate
from rag.serve.mcp import create_mcp
from rag.serve.ui.app import SESSIONS_KEPT, build_demo
from rag.serve.ui.assets import BLANK_GUARD_JS, CSS

log = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
CHAT_CONCURRENCY = 8
"""Chat events answered at once (Gradio's default is one at a time: 50 users queued
behind each other waited 6.4 s for a 15 ms answer)."""


def sync_in_background(rag: RAG) -> None:
    """Bring every collection in line with its folders and print what changed, then load
    its BM25 index; a failure is logged (the chat keeps serving that collection as it
    is) and the next collection is checked."""
    for i, name in enumerate(rag.collection_names()):
        target = rag.collection(name)
        try:
            report = target.ingest(wait=600)
            print(report if i == 0 else f"{name}: {report}", file=sys.stderr)  # 0: the default
            target.warm_index()
        except Exception:
            log.exception("checking collection %s against its folders failed", name)


def serve(rag: RAG | None = None) -> None:
    """Serve the chat and the API on host:port, the index checked against the corpus folder.

    An empty index is filled before serving. An existing one is served at once while the
    folder is checked in the background (at 10,000 documents that check takes seconds),
    and changes become answerable when it ends. Another ingest running on the same index
    (the CLI, or a second app) is waited for. Without RAG_AUTH on an address other than
    loopback, a warning says the chat is open.
    """
    rag = rag or RAG()
    s = rag.settings
    print(f"Checking the index against {s.corpus_dir} ...", file=sys.stderr)
    filled = rag.fill_if_empty(wait=600)  # a failure to fill stops the start
    if filled is not None:
        print(filled, file=sys.stderr)
    else:
        threading.Thread(
            target=sync_in_background, args=(rag,), name="index-sync", daemon=True
        ).start()
    auth = s.credentials()
    if auth is None and s.host not in LOOPBACK:
        print(
            f"WARNING: the chat is served on {s.host} without a login; anyone who can reach "
            "this machine can query the documents. Set RAG_AUTH=user:password to require one.",
            file=sys.stderr,
        )
    print(
        f"Serving the chat on http://{s.host}:{s.port}/ and the API on /v1 (docs: /docs)",
        file=sys.stderr,
    )
    run(create_app(rag), s.host, s.port)


def create_app(rag: RAG, gate: Gate | None = None) -> FastAPI:
    """The API, MCP over streamable HTTP at ``/mcp``, and the web chat mounted at ``/``
    behind its login if set; the API and the chat compute their answers inside one
    ``gate`` (default: ``RAG_ANSWERS_AT_ONCE`` slots), as they share the cores."""
    tools = create_mcp(rag).streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, json_response=True, host=rag.settings.host
    )
    gate = gate or Gate(rag.settings.answer_slots)
    app = create_api(rag, lifespan=lambda _: tools.router.lifespan_context(tools), gate=gate)
    app.router.routes.extend(tools.routes)  # before the chat's mount takes every other path
    demo = build_demo(rag, gate)
    demo.queue(default_concurrency_limit=CHAT_CONCURRENCY)
    # Gradio keeps a copy of the page config per browser session (10,000 sessions by
    # default; about 40 KiB each, measured with tracemalloc); this bounds that memory.
    demo.state_session_capacity = SESSIONS_KEPT
    return gr.mount_gradio_app(
        app,
        demo,
        path="/",
        auth=rag.settings.credentials(),
        css=CSS,
        js=BLANK_GUARD_JS,
        max_file_size=rag.settings.max_file_bytes,
        ssr_mode=False,
    )


def run(app: FastAPI, host: str, port: int) -> None:
    """Serve ``app`` until interrupted."""
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)


@contextmanager
def running(app: FastAPI, host: str, port: int) -> Iterator[str]:
    """Serve ``app`` in a thread of this process while the block runs; yields its URL."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="rag-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
