"""Answers kept for a question asked again: on a collection unchanged since, it gets the
answer already computed, with no retrieval and no reading (a hit reads the generation
token alone, one cheap call to the index).

An answer is kept under what determines it within one collection: the question as the
pipeline asks it (:class:`rag.reading.conversation.Asked`: cleaned, and for a follow-up
rewritten with the earlier questions it follows) and the collection's generation token
(:meth:`rag.index.store.Store.generation`), which every ingest or delete changes, by
this process or any other client of the index. The settings and the reader are fixed
for a collection, so they need no place in the key. A generative reader's answer is kept
too: asked again, the question gets the text the model wrote the first time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from rag.reading.answer import Answer
from rag.reading.conversation import Asked


@dataclass(frozen=True)
class CacheKey:
    """A question as asked, on the collection as it was when it was asked."""

    generation: str
    asked: Asked


class AnswerCache:
    """The ``size`` answers of one collection asked for last; ``size`` 0 keeps none (and
    reads no generation). Safe to share between threads: the HTTP server answers from
    several. Two threads missing the same question at once both compute it.

    The generation is read by :meth:`key`, before retrieval: an answer computed while an
    ingest writes is then kept under the generation the ingest ends, never looked up again.
    """

    def __init__(self, size: int, generation: Callable[[], str]) -> None:
        self.size = size
        self._generation = generation
        self._answers: OrderedDict[CacheKey, Answer] = OrderedDict()
        self._current = ""
        self._lock = threading.Lock()

    def key(self, asked: Asked) -> CacheKey:
        """``asked`` on the collection as it is now (one cheap call to the index)."""
        return CacheKey(self._generation() if self.size else "", asked)

    def get(self, key: CacheKey) -> Answer | None:
        """The answer kept for ``key``, as a copy the caller may change; else None."""
        if not self.size:
            return None
        with self._lock:
            if key.generation != self._current:  # the collection changed: all are stale
                self._answers.clear()
                self._current = key.generation
                return None
            answer = self._answers.get(key)
            if answer is None:
                return None
            self._answers.move_to_end(key)
        return _copy(answer)

    def put(self, key: CacheKey, answer: Answer) -> None:
        """Keep ``answer`` for ``key``, forgetting the least recently used beyond ``size``.

        Not kept: an answer with a note (the language model was down, so it quotes the
        sources), which says something of that moment rather than of the collection; and
        one for a generation no longer current (the collection changed while it was read).
        """
        if not self.size or answer.note is not None:
            return
        with self._lock:
            if key.generation != self._current:
                return
            self._answers[key] = _copy(answer)
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)

    def clear(self) -> None:
        """Forget every answer kept."""
        with self._lock:
            self._answers.clear()

    def __len__(self) -> int:
        return len(self._answers)


NO_CACHE = AnswerCache(0, lambda: "")
"""Keeps nothing: what a collection without a cache of its own answers through."""


def _copy(answer: Answer) -> Answer:
    """``answer`` with lists of its own: its citations and passages are frozen, the lists
    and the Answer are not, so a caller changing its copy cannot change the one kept."""
    return replace(answer, citations=list(answer.citations), passages=list(answer.passages))
