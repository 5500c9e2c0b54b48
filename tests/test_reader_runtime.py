"""How the reading model runs: batches of like length, callers read together, and the
arithmetic (fp32, bf16, int8) chosen by measuring, never at the cost of its decisions."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from rag.index.precision import UnfaithfulPrecision, cached, probe_file
from rag.reading import crossencoder as ce
from rag.reading.batching import MOST_ROWS, PADDING_WORTH, Batcher, Encoded, length_buckets
from rag.reading.crossencoder import CrossEncoder
from rag.reading.runtime import FAITHFUL, SAMPLE, ReaderProbe, refuse_unfaithful

QUESTION = "Since when has the museum been open?"
SENTENCES = [
    "The museum has been open to visitors since 1985.",
    "Its board voted in March to lend the collection to three regional galleries, "
    "which had asked for it for years after the regional council cut their budgets.",
    "Rainfall fell.",
    "Kyiv would receive security guarantees in return for a freeze along the front line.",
]


@pytest.fixture(scope="module")
def fp32() -> CrossEncoder:
    return CrossEncoder.load()


# --- batches of like length ---


def test_buckets_hold_every_pair_once_shortest_first() -> None:
    lengths = [50, 12, 90, 13, 48, 91]
    groups = length_buckets(lengths)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    flat = [lengths[i] for g in groups for i in g]
    assert flat == sorted(lengths)


def test_a_pair_much_longer_than_its_group_starts_another() -> None:
    lengths = [10, 11, 12, 10 + PADDING_WORTH]  # padding three pairs to it costs 3x
    assert length_buckets(lengths) == [[0, 1, 2], [3]]


def test_pairs_of_one_length_fill_groups_up_to_the_most_rows() -> None:
    groups = length_buckets([40] * (MOST_ROWS + 1))
    assert [len(g) for g in groups] == [MOST_ROWS, 1]


def test_reading_in_buckets_gives_what_one_padded_batch_gives(fp32: CrossEncoder) -> None:
    pairs = ce.pairs_ids([QUESTION] * len(SENTENCES), SENTENCES, [""] * len(SENTENCES))
    assert len(length_buckets([len(ids) for ids, _ in pairs])) > 1  # the case at hand
    one_batch = fp32._run(ce.batch_arrays(pairs))
    np.testing.assert_allclose(fp32._read(pairs), one_batch, atol=1e-4)


# --- callers read together ---


class SlowReader:
    """Plumbing stand-in for the model: a pair's 'logit' is its first token id."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, pairs: Sequence[Encoded]) -> np.ndarray:
        self.batches.append(len(pairs))
        time.sleep(0.05)
        return np.array([[ids[0]] for ids, _ in pairs], dtype=np.float32)


def ask_at_once(batcher: Batcher, callers: int) -> dict[int, np.ndarray]:
    got: dict[int, np.ndarray] = {}

    def ask(n: int) -> None:
        got[n] = batcher([([n * 10 + k], [0]) for k in range(3)])

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got


def test_each_caller_gets_the_rows_of_its_own_pairs() -> None:
    got = ask_at_once(Batcher(SlowReader()), 8)
    for n, rows in got.items():
        assert rows.ravel().tolist() == [n * 10, n * 10 + 1, n * 10 + 2]


def test_callers_arriving_while_the_model_reads_are_read_in_one_pass() -> None:
    reader = SlowReader()
    batcher = Batcher(reader)
    ask_at_once(batcher, 8)
    assert sum(reader.batches) == 8 * 3
    assert batcher.passes == len(reader.batches) < 8
    assert max(reader.batches) > 3


def test_a_caller_alone_is_read_at_once() -> None:
    reader = SlowReader()
    Batcher(reader)([([7], [0])])
    assert reader.batches == [1]


def test_an_error_reaches_every_caller_of_its_pass_and_not_the_next() -> None:
    calls = []

    def failing_once(pairs: Sequence[Encoded]) -> np.ndarray:
        calls.append(len(pairs))
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return np.zeros((len(pairs), 1), dtype=np.float32)

    batcher = Batcher(failing_once)
    with pytest.raises(RuntimeError, match="out of memory"):
        batcher([([1], [0])])
    assert batcher([([1], [0])]).shape == (1, 1)


# --- the arithmetic ---


def test_auto_takes_bf16_only_where_faster_and_faithful() -> None:
    assert ReaderProbe(100.0, 60.0, 0.005, True).choice == "bf16"
    assert ReaderProbe(100.0, 95.0, 0.005, True).choice == "fp32"  # not faster enough
    assert ReaderProbe(100.0, 60.0, FAITHFUL * 2, True).choice == "fp32"  # reads otherwise


def test_bf16_asked_for_where_it_reads_otherwise_is_refused() -> None:
    with pytest.raises(UnfaithfulPrecision, match="use auto or fp32"):
        refuse_unfaithful(ReaderProbe(100.0, 60.0, 0.1, True))


def test_bf16_reads_within_the_faithful_bound_of_fp32(fp32: CrossEncoder) -> None:
    bf16 = CrossEncoder.load(precision="bf16")
    assert bf16.precision == "bf16"
    pairs = list(zip(*SAMPLE, strict=True))
    difference = np.abs(bf16.probabilities(*pairs) - fp32.probabilities(*pairs))
    assert difference.max() <= FAITHFUL


def test_int8_is_a_quantised_model_that_still_reads_the_obvious(fp32: CrossEncoder) -> None:
    int8 = CrossEncoder.load(precision="int8")
    assert int8.precision == "int8"
    chance = int8.answers(QUESTION, SENTENCES)
    assert int(np.argmax(chance)) == 0 and chance[0] > 0.5
    assert not np.allclose(chance, fp32.answers(QUESTION, SENTENCES), atol=1e-4)


def test_auto_settles_on_what_this_machines_probe_found() -> None:
    auto = CrossEncoder.load(precision="auto")
    settled = auto.settled()
    folder = ce.cache_dir() / "crossencoder" / ce._export_key(auto.path, ce.WEIGHTS)
    measured = cached(probe_file(folder, "reader"), ReaderProbe, _unmeasured, "unused")
    assert settled == measured.choice
    assert auto.answers(QUESTION, SENTENCES[:1])[0] > 0.5


def _unmeasured() -> ReaderProbe:
    raise AssertionError("settled() must have measured and cached the probe")


def test_the_setting_reaches_the_reading_model(tmp_path) -> None:
    from rag import RAG

    rag = RAG(index_dir=tmp_path / "index", reader_precision="int8")
    assert rag.crossencoder.precision == "int8"
    assert rag.crossencoder.answers(QUESTION, SENTENCES[:1])[0] > 0.5


def test_the_shipped_reader_is_one_model_however_it_is_asked_for(tmp_path) -> None:
    from rag import RAG

    rag = RAG(index_dir=tmp_path / "index")
    assert rag.crossencoder is CrossEncoder.load() is CrossEncoder.load(weights=ce.WEIGHTS)


def test_a_reader_trained_here_answers_in_place_of_the_shipped_one(tmp_path) -> None:
    import dataclasses
    import json

    from rag import RAG

    weights = tmp_path / "mine.npz"
    ce.save_trained(ce.torch_model(depth=1), weights)
    card = dataclasses.replace(ce.Card.load(), answer_threshold=0.42)
    weights.with_suffix(".json").write_text(json.dumps(dataclasses.asdict(card)))
    rag = RAG(index_dir=tmp_path / "index", reader_weights=weights)
    assert rag.crossencoder.card.answer_threshold == rag.answerer.min_confidence == 0.42
    mine = rag.crossencoder.answers(QUESTION, SENTENCES)
    assert not np.allclose(mine, CrossEncoder.load().answers(QUESTION, SENTENCES), atol=0.01)


def test_a_verdict_measured_on_busy_cores_serves_once_and_is_not_kept(tmp_path) -> None:
    busy = ReaderProbe(100.0, 60.0, 0.005, True, drift=2.0)
    file = tmp_path / "verdict.json"
    got = cached(file, ReaderProbe, lambda: busy, "a probe", keep=lambda m: m.steady)
    assert got == busy and not file.exists()
    steady = ReaderProbe(100.0, 60.0, 0.005, True, drift=1.05)
    cached(file, ReaderProbe, lambda: steady, "a probe", keep=lambda m: m.steady)
    assert cached(file, ReaderProbe, _unmeasured, "a probe") == steady
