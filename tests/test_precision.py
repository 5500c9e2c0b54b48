"""RAG_EMBEDDING_PRECISION: bulk encoding in bf16 where the CPU makes it faster and the
vectors stay interchangeable with fp32's, decided by a probe measured once per machine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydantic
import pytest

from rag import RAG, Settings
from rag.documents.sentences import sentence_spans
from rag.index import precision as precision_module
from rag.index.embed import SentenceEmbeddings
from rag.index.precision import FAITHFUL, Probe, UnfaithfulPrecision, bf16_units, resolve
from rag.index.store import TORCH_FROM
from tests.conftest import LONG_TEXT

FAST_AND_FAITHFUL = Probe(30.0, 80.0, 0.99998, 0.99999, True)
NO_BF16_UNITS = Probe(30.0, 9.0, 0.99998, 0.99999, False)  # emulated bf16: slower
UNFAITHFUL = Probe(30.0, 80.0, 0.998, 0.999, True)


# --- what auto decides, from the probe's answer ---


def test_auto_picks_bf16_where_it_is_faster_and_faithful():
    assert resolve("auto", FAST_AND_FAITHFUL) == "bf16"


def test_auto_keeps_fp32_on_a_cpu_without_bf16_units():
    assert resolve("auto", NO_BF16_UNITS) == "fp32"


def test_auto_keeps_fp32_where_bf16_vectors_drift():
    assert UNFAITHFUL.min_cosine < FAITHFUL
    assert resolve("auto", UNFAITHFUL) == "fp32"


def test_bf16_asked_for_where_it_drifts_is_refused_with_the_setting_named():
    with pytest.raises(UnfaithfulPrecision, match="RAG_EMBEDDING_PRECISION=bf16"):
        resolve("bf16", UNFAITHFUL)
    assert resolve("bf16", NO_BF16_UNITS) == "bf16"  # slower, but what was asked for


def test_fp32_needs_no_probe():
    assert resolve("fp32", None) == "fp32"


def test_an_unknown_precision_is_a_settings_error():
    with pytest.raises(pydantic.ValidationError, match="embedding_precision"):
        Settings(embedding_precision="fp16")


# --- the probe on this machine ---


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "rag" / "precision"


@pytest.mark.skipif(not bf16_units(), reason="this CPU reports no bf16 matrix units")
def test_the_probe_picks_bf16_on_this_cpu_and_is_measured_once(
    own_cache: Path, monkeypatch: pytest.MonkeyPatch
):
    first = SentenceEmbeddings()
    assert first.precision == "bf16"
    assert first.probe.speedup >= 1.2 and first.probe.min_cosine >= FAITHFUL
    assert len(list(own_cache.glob("*.json"))) == 1

    def measured_again(model):
        raise AssertionError("the probe ran again instead of reading its verdict")

    monkeypatch.setattr(precision_module, "probe", measured_again)
    assert SentenceEmbeddings().probe == first.probe


def test_a_machine_whose_probe_says_slower_encodes_in_fp32(
    own_cache: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(precision_module, "probe", lambda model: NO_BF16_UNITS)
    assert SentenceEmbeddings().precision == "fp32"


# --- the vectors ---


@pytest.mark.skipif(not bf16_units(), reason="this CPU reports no bf16 matrix units")
def test_bf16_chunk_and_sentence_vectors_are_interchangeable_with_fp32():
    texts = [LONG_TEXT[:900], LONG_TEXT[900:2000]]
    spans = [sentence_spans(t) for t in texts]
    fp32 = SentenceEmbeddings(precision="fp32").encode_with_spans(texts, spans, torch=True)
    bf16 = SentenceEmbeddings(precision="bf16").encode_with_spans(texts, spans, torch=True)
    assert (np.sum(fp32[0] * bf16[0], axis=1) >= FAITHFUL).all()
    for a, b in zip(fp32[1], bf16[1], strict=True):
        assert (np.sum(a * b, axis=1) >= FAITHFUL).all()


# --- the index records what its vectors were made in ---


def write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)


def test_the_index_records_the_precisions_of_its_vectors(make_rag: Callable[..., RAG]):
    rag = make_rag(embedding_precision="bf16")
    docs = rag.settings.corpus_dir
    write(docs, "a.txt", LONG_TEXT)
    report = rag.ingest()
    assert report.precision == "bf16" and rag.store.precisions() == {"bf16"}
    assert report.summary.startswith(f"1 file, {report.chunks_added} chunks embedded in ")
    assert report.summary.endswith(", bf16")

    later = make_rag(embedding_precision="fp32", collection=rag.settings.collection)
    write(docs, "b.txt", "The harbour festival opens with a lantern parade along the old quay.")
    assert later.ingest().precision == "fp32"
    assert later.store.precisions() == {"bf16", "fp32"}
    hits = later.retrieve("Which parade opens the harbour festival?", k=1)
    assert hits[0].source == "b.txt"


def test_a_small_ingest_on_auto_needs_no_torch_and_no_probe(
    make_rag: Callable[..., RAG], monkeypatch: pytest.MonkeyPatch
):
    def no_probe(model):
        raise AssertionError("probed for a batch ONNX encodes faster")

    monkeypatch.setattr(precision_module, "probe", no_probe)
    rag = make_rag()
    assert rag.store.encoder_for(10) == (False, "fp32")
    assert rag.store.encoder_for(int(TORCH_FROM["bf16"]) - 1) == (False, "fp32")


@pytest.mark.skipif(not bf16_units(), reason="this CPU reports no bf16 matrix units")
def test_once_the_torch_model_is_loaded_any_batch_is_encoded_in_bf16(
    make_rag: Callable[..., RAG],
):
    rag = make_rag()
    _ = rag.embeddings.model  # torch's import already paid (a large ingest came before)
    assert rag.store.encoder_for(3) == (True, "bf16")
