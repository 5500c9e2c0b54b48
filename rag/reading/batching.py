"""Pairs asked for at the same time, read together: one forward pass at a time, in
batches of like length.

On 2 cores the reading model is compute-bound; N answers reading at once each ran their
own forward pass, every pass's threads contending for the same cores. :class:`Batcher`
lets one pass run at a time, and the caller that gets the model next reads everything
queued meanwhile in that one pass: a question asked alone waits for nothing, and under
load throughput grows with the batch instead of queueing pass after pass.
:func:`length_buckets` then splits a batch so short pairs are not padded to the longest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Encoded = tuple[list[int], list[int]]
"""One pair's token ids and token types (:func:`rag.reading.crossencoder.pairs_ids`)."""

PADDING_WORTH = 32
"""Padded token rows worth one more forward pass: a pass costs about what reading this
many more tokens does (fewer, longer passes beyond it). Measured on the gold set's pairs:
7% faster than one padded batch a question, and than one pass a pair."""
MOST_ROWS = 64
"""Most pairs in one forward pass."""


def length_buckets(lengths: Sequence[int]) -> list[list[int]]:
    """Indices of ``lengths`` grouped for forward passes, shortest first: a pair starts a
    new group when padding the group to it would cost more than :data:`PADDING_WORTH`
    rows, or the group is full."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    for i in order:
        group = groups[-1] if groups else None
        if (
            group is None
            or len(group) == MOST_ROWS
            or len(group) * (lengths[i] - lengths[group[-1]]) > PADDING_WORTH
        ):
            groups.append([i])
        else:
            group.append(i)
    return groups


@dataclass(eq=False)
class _Job:
    pairs: Sequence[Encoded]
    result: np.ndarray | None = None
    error: BaseException | None = field(default=None, repr=False)


class Batcher:
    """``read`` (pairs -> one row of logits each) shared by threads: one call at a time,
    and each call reads every caller's pairs queued so far."""

    def __init__(self, read: Callable[[Sequence[Encoded]], np.ndarray]) -> None:
        self._read = read
        self._queue: list[_Job] = []
        self._queued = threading.Lock()
        self._model = threading.Lock()
        self.passes = 0
        """Calls of ``read`` so far (for tests and benchmarks)."""

    def __call__(self, pairs: Sequence[Encoded]) -> np.ndarray:
        job = _Job(pairs)
        with self._queued:
            self._queue.append(job)
        with self._model:
            if job.result is None and job.error is None:  # no earlier holder read it
                with self._queued:
                    jobs, self._queue = self._queue, []
                self._run(jobs)
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def _run(self, jobs: list[_Job]) -> None:
        self.passes += 1
        try:
            logits = self._read([pair for job in jobs for pair in job.pairs])
        except BaseException as err:  # each caller gets the error its pairs met
            for job in jobs:
                job.error = err
            return
        start = 0
        for job in jobs:
            job.result = logits[start : start + len(job.pairs)]
            start += len(job.pairs)
