"""How many answers the server (the API and the chat together) computes at once, and in
what order the rest wait.

Fifty users at once on two cores, each answer on a thread of its own, share the
interpreter unfairly: some answers wait three times as long as the median. Letting a few
answers a core run and the rest wait their turn in arrival order keeps the slowest near
the median (`docs/performance.md`, "The HTTP API under load"); a few rather than one,
since the reading model reads the pairs of the answers inside together.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")


class Gate:
    """At most ``slots`` holders at once; the others are let in first come, first served.

    A freed slot is handed to the longest waiter, so a newcomer never overtakes it (a
    ``threading.Semaphore`` lets newcomers barge in). Acquire and release may happen on
    different threads, as a streamed answer's steps do.
    """

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"a gate needs at least one slot, not {slots}")
        self.slots = slots
        self._free = slots
        self._waiting: deque[threading.Event] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # the releaser hands its slot over: nothing to take here

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            elif self._free < self.slots:
                self._free += 1
            else:
                raise RuntimeError("the gate was released more often than acquired")

    def through(self, steps: Iterable[T]) -> Iterator[T]:
        """``steps``' items, each computed inside the gate, which is left while the
        consumer holds the item: a slow reader or a closed page never keeps a slot, and
        the steps of streamed answers take turns."""
        iterator = iter(steps)
        while True:
            with self:
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item

    @property
    def free(self) -> int:
        """How many slots are free now."""
        with self._lock:
            return self._free

    @property
    def waiting(self) -> int:
        """How many are waiting for a slot now."""
        with self._lock:
            return len(self._waiting)

    def __enter__(self) -> Gate:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
