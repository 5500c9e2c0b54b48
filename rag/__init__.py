"""rag: answers from your documents, every claim backed by an exact, checkable quote.

>>> from rag import answer, check
>>> a = answer("What would Ukraine get in return?")  # doctest: +SKIP
>>> print(a.text)            # every sentence ends with [n] markers
>>> a.citations[0].quote     # exact text of a.citations[0].source at [start:end]
>>> print(check("Ukraine drafted the plan."))  # doctest: +SKIP
"""

import os
from collections.abc import Iterable

# Nothing may reach a model hub at run time: set before any Hugging Face import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rag.config import Settings
from rag.errors import AlreadyExists, BadInput, Forbidden, IndexBusy, NotFound, RagError, TooLarge
from rag.pipeline import RAG
from rag.reading.answer import Answer
from rag.reading.check import Check, CheckedSentence
from rag.reading.cite import Citation
from rag.reading.conversation import Turn
from rag.retrieve import Passage

__all__ = [
    "RAG",
    "AlreadyExists",
    "Answer",
    "BadInput",
    "Check",
    "CheckedSentence",
    "Citation",
    "Forbidden",
    "IndexBusy",
    "NotFound",
    "Passage",
    "RagError",
    "Settings",
    "TooLarge",
    "answer",
    "check",
    "default_rag",
]

_default: RAG | None = None


def default_rag() -> RAG:
    """The process-wide instance on the default corpus, indexed (or brought up to date) on
    first use; an ingest already running on the same index (the chat, the CLI) is waited for."""
    global _default
    if _default is None:
        instance = RAG()
        instance.ingest(wait=600)
        _default = instance
    return _default


def answer(question: str, history: Iterable[Turn] | None = None) -> Answer:
    """Answer ``question`` from the default corpus with default settings (``RAG_*``);
    ``history`` makes it a follow-up (see :meth:`RAG.answer`)."""
    return default_rag().answer(question, history=history)


def check(text: str) -> Check:
    """Verify ``text`` against the default corpus, sentence by sentence (see
    :meth:`RAG.check`)."""
    return default_rag().check(text)
