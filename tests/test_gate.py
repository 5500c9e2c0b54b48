"""The server's gate: a fixed number of answers at once, the rest let in as they came."""

from __future__ import annotations

import threading
import time

import pytest

from rag.serve.gate import Gate
from tests.conftest import wait_until


def test_no_more_than_its_slots_are_inside_at_once() -> None:
    gate, inside, most, lock = Gate(2), [0], [0], threading.Lock()

    def work() -> None:
        with gate:
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.01)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 2


def test_waiters_are_let_in_the_order_they_came() -> None:
    gate, order = Gate(1), []
    gate.acquire()  # the slot is taken: everyone below waits

    def enter(number: int) -> None:
        with gate:
            order.append(number)

    threads = []
    for number in range(6):
        threads.append(threading.Thread(target=enter, args=(number,)))
        threads[-1].start()
        wait_until(lambda n=number: gate.waiting == n + 1)  # queued before the next comes
    gate.release()
    for t in threads:
        t.join()
    assert order == list(range(6))


def test_a_newcomer_does_not_overtake_a_waiter() -> None:
    gate, order = Gate(1), []
    gate.acquire()
    waiter = threading.Thread(target=lambda: (gate.acquire(), order.append("waiter")))
    waiter.start()
    wait_until(lambda: gate.waiting == 1)
    gate.release()  # handed to the waiter, not left free for whoever asks next
    waiter.join()
    newcomer = threading.Thread(target=lambda: (gate.acquire(), order.append("newcomer")))
    newcomer.start()
    wait_until(lambda: gate.waiting == 1)
    assert order == ["waiter"]
    gate.release()
    newcomer.join()
    assert order == ["waiter", "newcomer"]


def test_a_slot_taken_on_one_thread_can_be_freed_on_another() -> None:
    gate = Gate(1)
    gate.acquire()
    freer = threading.Thread(target=gate.release)
    freer.start()
    freer.join()
    assert gate.waiting == 0
    with gate:  # free again
        pass


def test_releasing_more_than_acquired_is_an_error() -> None:
    gate = Gate(1)
    with pytest.raises(RuntimeError, match="released more often"):
        gate.release()


def test_a_gate_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        Gate(0)


def test_each_step_of_a_stream_is_computed_inside_the_gate_and_none_held_between() -> None:
    gate = Gate(1)
    seen = []

    def steps():
        for n in range(3):
            seen.append(gate.free)
            yield n

    for _ in gate.through(steps()):
        assert gate.free == 1  # the consumer holds the item, not the slot
    assert seen == [0, 0, 0]  # while a step is computed, it holds the slot


def test_a_stream_dropped_half_way_keeps_no_slot() -> None:
    gate = Gate(1)
    stream = gate.through(iter(range(10)))
    assert next(stream) == 0
    del stream  # a closed page: the generator is never resumed
    assert gate.free == 1
