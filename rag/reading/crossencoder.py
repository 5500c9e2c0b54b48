"""Does this sentence answer the question, or support the claim? A cross-encoder trained here.

The word-level readers (:mod:`rag.reading.ranker`, :mod:`rag.reading.abstain`,
:mod:`rag.reading.judge`) see which words a question and a sentence share, not what they
mean: a faithful paraphrase scores low, and an on-topic question the sources cannot answer
scores high on a loosely related sentence. This model reads the two texts *together* (one
transformer pass over ``[CLS] question-or-claim [SEP] sentence [SEP] context [SEP]``) and
gives three probabilities: the sentence **supports** the claim (or answers the question),
says nothing about it (**neutral**), or **contradicts** it.

It is the packaged all-MiniLM-L6-v2 with its top layers and a three-way head fine-tuned by
``evals/train_reader.py`` (VitaminC claims, Disfl-QA questions with unanswerable ones,
SQuAD v1.1 train; the recipe, splits and seed are in its docstring). Only what training
changed ships, in ``rag/reading/crossencoder.npz`` (int8 matrices with a scale per row); the word
embeddings and the frozen bottom layers are the packaged model's own. At answer time it
runs in onnxruntime, exported once per machine and checked against torch (as the question
encoder is, :mod:`rag.index.embed`), so the chat starts without importing torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.index.embed import cache_dir, default_model_path, export_onnx, load_tokenizer, onnx_session
from rag.index.precision import cached, probe_file
from rag.reading.batching import Batcher, Encoded, length_buckets
from rag.reading.runtime import (
    SAMPLE,
    ReaderProbe,
    Runner,
    Setting,
    bf16_runner,
    probe,
    quantised,
    refuse_unfaithful,
    softmax,
)

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

WEIGHTS = Path(__file__).with_name("crossencoder.npz")
"""The trained layers and head (what ``evals/train_reader.py`` writes)."""
CARD = Path(__file__).with_name("crossencoder.json")
"""How it was trained, its held-out figures and its operating points."""

LABELS = ("supports", "neutral", "contradicts")
SUPPORTS, NEUTRAL, CONTRADICTS = range(3)

FROZEN_LAYERS = 0
"""Bottom transformer layers training keeps as packaged, by default (the word embeddings
always are); the weights file records its own count (``frozen_layers``)."""
MAX_FIRST = 64
"""Word pieces of the question or claim kept (a longer one is cut)."""
MAX_CONTEXT = 24
"""Word pieces of context (the sentence before, or a page title) read after the sentence."""
MAX_LENGTH = 160
"""Word pieces of one pair in all: the sentence gets what the other two leave."""
BATCH = 32
"""Pairs a training step reads (answering batches by length: :mod:`rag.reading.batching`)."""
ONNX_TOLERANCE = 1e-3
"""Largest difference in probability the ONNX export may show against torch."""


def pair_ids(
    first: str, second: str, context: str = "", path: str | None = None
) -> tuple[list[int], list[int]]:
    """Token ids and token types of one pair, as the model reads it (training and
    answering share this): the question or claim, the sentence, then its context."""
    return pairs_ids([first], [second], [context], path)[0]


def pairs_ids(
    firsts: Sequence[str],
    seconds: Sequence[str],
    contexts: Sequence[str],
    path: str | None = None,
) -> list[tuple[list[int], list[int]]]:
    tokenizer = load_tokenizer(path or default_model_path())
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    encode = tokenizer.encode_batch
    a = encode(list(firsts), add_special_tokens=False)
    b = encode(list(seconds), add_special_tokens=False)
    c = encode(list(contexts), add_special_tokens=False)
    out = []
    for ea, eb, ec in zip(a, b, c, strict=True):
        q = ea.ids[:MAX_FIRST]
        ctx = ec.ids[:MAX_CONTEXT]
        room = MAX_LENGTH - len(q) - 3 - (len(ctx) + 1 if ctx else 0)
        s = eb.ids[: max(room, 8)]
        tail = [*s, sep, *ctx, sep] if ctx else [*s, sep]
        ids = [cls, *q, sep, *tail]
        out.append((ids, [0] * (len(q) + 2) + [1] * len(tail)))
    return out


def batch_arrays(encoded: Sequence[tuple[list[int], list[int]]]) -> dict[str, np.ndarray]:
    """Padded ``input_ids``, ``attention_mask`` and ``token_type_ids`` (int64)."""
    width = max(len(ids) for ids, _ in encoded)
    ids = np.zeros((len(encoded), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for i, (tokens, kinds) in enumerate(encoded):
        ids[i, : len(tokens)] = tokens
        mask[i, : len(tokens)] = 1
        types[i, : len(kinds)] = kinds
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def torch_model(
    path: str | None = None, weights: Path | None = WEIGHTS, depth: int | None = None
) -> torch.nn.Module:
    """The model in torch: the packaged MiniLM with a three-way head, and the trained
    layers of ``weights`` over it (None: as packaged, an untrained head; for training).
    A reader trained smaller keeps as many layers as its weights say; ``depth`` keeps
    only the bottom ``depth`` layers of what was loaded (a student to train)."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(path or default_model_path(), local_files_only=True)

    class CrossEncoderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.head = torch.nn.Linear(bert.config.hidden_size, len(LABELS))

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            tokens = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )[0]
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            return self.head((tokens * mask).sum(1) / mask.sum(1))  # mean pooling, as packaged

    model = CrossEncoderNet()
    if weights is not None:
        with np.load(weights) as data:
            if "depth" in data.files:
                keep_layers(model, int(data["depth"]))
        load_trained(model, weights)
    if depth is not None:
        keep_layers(model, depth)
    return model.eval()


def keep_layers(model: torch.nn.Module, depth: int) -> None:
    """Only the bottom ``depth`` transformer layers: each layer dropped from the top cuts
    a sixth of the reading cost (the top ones are the first to go, as they carry the
    least that fine-tuning cannot restore)."""
    layers = model.bert.encoder.layer
    if not 0 < depth <= len(layers):
        raise ValueError(f"a reader of {len(layers)} layers cannot keep {depth}")
    model.bert.encoder.layer = layers[:depth]
    model.bert.config.num_hidden_layers = depth


def frozen(name: str, layers: int = FROZEN_LAYERS) -> bool:
    """Whether a parameter stays as packaged (so it is neither trained nor shipped), with
    the bottom ``layers`` transformer layers kept."""
    if name.startswith(("bert.embeddings.word_embeddings", "bert.pooler")):
        return True
    layer = re.match(r"bert\.encoder\.layer\.(\d+)\.", name)
    return layer is not None and int(layer.group(1)) < layers


def save_trained(model: torch.nn.Module, target: Path, layers: int = FROZEN_LAYERS) -> None:
    """The trained parameters at ``target`` (the bottom ``layers`` were kept as
    packaged): matrices as int8 with a float16 scale per row (weights move by at most
    half a step of 1/127 of their row's largest), the rest as float16."""
    arrays: dict[str, np.ndarray] = {
        "frozen_layers": np.array(layers),
        "depth": np.array(len(model.bert.encoder.layer)),
    }
    for name, tensor in model.state_dict().items():
        if frozen(name, layers):
            continue
        value = tensor.detach().float().numpy()
        if value.ndim == 2:
            scale = np.abs(value).max(axis=1, keepdims=True) / 127
            scale[scale == 0] = 1.0
            arrays[name] = np.round(value / scale).astype(np.int8)
            arrays[name + ":scale"] = scale.astype(np.float16)
        else:
            arrays[name] = value.astype(np.float16)
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".npz", delete=False) as f:
        np.savez_compressed(f, **arrays)
    os.replace(f.name, target)


def load_trained(model: torch.nn.Module, weights: Path) -> None:
    import torch

    with np.load(weights) as data:
        if "frozen_layers" not in data.files:
            raise ValueError(
                f"{weights} is not a trained reader: retrain it (evals/train_reader.py)"
            )
        layers = int(data["frozen_layers"])
        state = {}
        for name in data.files:
            if name.endswith(":scale") or name in ("frozen_layers", "depth"):
                continue
            value = data[name].astype(np.float32)
            if name + ":scale" in data.files:
                value = value * data[name + ":scale"].astype(np.float32)
            state[name] = torch.from_numpy(value)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or any(not frozen(name, layers) for name in missing):
        raise ValueError(f"{weights} does not fit the model: retrain it (evals/train_reader.py)")


PROBE = [
    ("What would Ukraine receive in return?", "Kyiv would get security guarantees.", ""),
    ("The plan was drafted by Ukraine.", "Ukraine was not involved in the plan.", "The plan."),
    ("Who won?", "It rained all day. " * 30, "Weather"),
]
"""Pairs the export is checked on: short, with context, and long enough to be cut."""


def _export_key(path: str, weights: Path) -> str:
    import onnxruntime

    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    files = sorted((f.name, f.stat().st_size) for f in Path(path).resolve().iterdir())
    key = f"{digest}{files}{onnxruntime.__version__}{MAX_LENGTH}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _probe_arrays(
    path: str, pairs: Sequence[tuple[str, str, str]] = PROBE
) -> dict[str, np.ndarray]:
    """``pairs`` (question, sentence, context) padded into one batch: the export's
    check (:data:`PROBE`) or the precision probe's sample."""
    return batch_arrays(pairs_ids(*zip(*pairs, strict=True), path=path))


def _export(model: torch.nn.Module, path: str, target: Path) -> None:
    """The model as an optimised ONNX file at ``target`` (written atomically)."""
    import torch

    sample = {k: torch.from_numpy(v) for k, v in _probe_arrays(path).items()}
    export_onnx(model, sample, {"logits": {0: "batch"}}, target)


def _onnx_runner(file: Path) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    session = onnx_session(file)
    return lambda arrays: session.run(None, arrays)[0]


def _torch_runner(model: torch.nn.Module) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    import torch

    def run(arrays: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            return model(**{k: torch.from_numpy(v) for k, v in arrays.items()}).float().numpy()

    return run


def _fp32(path: str, weights: Path, info: Card, folder: Path) -> CrossEncoder:
    """The model in fp32: through the ONNX export in ``folder`` (made and checked against
    torch here the first time), else through torch."""
    target = folder / "model.onnx"
    if target.exists():
        return CrossEncoder(_onnx_runner(target), info, path)
    model = torch_model(path, weights)
    reference = _torch_runner(model)
    try:
        if not (folder / "mismatch").exists():
            folder.mkdir(parents=True, exist_ok=True)
            _export(model, path, target)
            run = _onnx_runner(target)
            probe_arrays = _probe_arrays(path)
            difference = np.abs(softmax(run(probe_arrays)) - softmax(reference(probe_arrays)))
            if difference.max() <= ONNX_TOLERANCE:
                return CrossEncoder(run, info, path)
            target.unlink()
            (folder / "mismatch").touch()
    except Exception:  # no export is a slower start, never a failure
        log.warning("no ONNX export of the cross-encoder; running it in torch", exc_info=True)
    return CrossEncoder(reference, info, path, runtime="torch")


@dataclass(frozen=True)
class Card:
    """What ``rag/reading/crossencoder.json`` says: the operating points training chose (the
    eval of the default corpus may move them) and how the model was made."""

    answer_threshold: float
    """P(supports) a sentence needs to answer a question; below it for every sentence,
    the answer abstains."""
    support_threshold: float
    """P(supports) a sentence needs to back a claim (generated answers, :meth:`RAG.check`)."""
    contradict_threshold: float
    """P(contradicts) a sentence needs to refute a claim."""
    temperature: float = 1.0
    """Logits are divided by it: fitted on held-out pairs so probabilities are calibrated."""
    trained_on: str = ""
    figures: dict[str, Any] | None = None

    @classmethod
    def load(cls, path: Path = CARD) -> Card:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class CrossEncoder:
    """The trained model, ready to score pairs; :func:`load` gives the shared one.

    Example:
        >>> model = CrossEncoder.load()  # doctest: +SKIP
        >>> model.support(["The plan was drafted in Washington."], ["The US drafted it."])
    """

    def __init__(
        self,
        run: Callable[[dict[str, np.ndarray]], np.ndarray],
        card: Card,
        path: str,
        runtime: str = "onnx",
    ) -> None:
        self._run = run
        self.card = card
        self.path = path
        self.runtime = runtime
        """``onnx`` or ``torch``: what runs the model."""
        self.precision = "fp32"
        """``fp32``, ``bf16`` or ``int8``: the arithmetic it reads in (:meth:`settled`)."""
        self._moving: threading.Thread | None = None
        self._batcher = Batcher(self._read)

    @staticmethod
    def load(
        path: str | None = None,
        weights: Path = WEIGHTS,
        card: Path = CARD,
        precision: Setting = "fp32",
    ) -> CrossEncoder:
        """The model over the packaged MiniLM at ``path``: through its ONNX export
        (made on first use on this machine, a few seconds with torch), or through torch
        when no export reproduces torch's output. ``precision`` (``RAG_READER_PRECISION``,
        :mod:`rag.reading.runtime`): ``int8`` and ``bf16`` are in place on return;
        ``auto`` starts in fp32 and moves to bf16 in the background where the probe (once
        per machine) finds it faster and faithful, so no answer waits for torch to load
        (:meth:`settled` waits). Calls that name the same reader, with defaults or spelled out,
        share one model."""
        return CrossEncoder._loaded(path or default_model_path(), weights, card, precision)

    @staticmethod
    @lru_cache(maxsize=4)
    def _loaded(path: str, weights: Path, card: Path, precision: Setting) -> CrossEncoder:
        folder = cache_dir() / "crossencoder" / _export_key(path, weights)
        model = _fp32(path, weights, Card.load(card), folder)
        if precision == "int8":
            model._use_int8(folder / "model.onnx")
        elif precision == "bf16":
            model._use_bf16(weights, folder, asked=True)
        elif precision == "auto":
            model._moving = threading.Thread(
                target=model._use_bf16, args=(weights, folder), daemon=True
            )
            model._moving.start()
        return model

    def settled(self, timeout: float | None = 120) -> str:
        """The precision this model reads in, once ``auto`` has made its choice (waiting
        up to ``timeout`` seconds for it): ``fp32``, ``bf16`` or ``int8``."""
        if self._moving is not None:
            self._moving.join(timeout)
        return self.precision

    def _use_int8(self, fp32_file: Path) -> None:
        if self.runtime != "onnx":
            log.warning("no ONNX export of the cross-encoder to quantise; reading in fp32")
            return
        self._run, self.precision = _onnx_runner(quantised(fp32_file)), "int8"

    def _use_bf16(self, weights: Path, folder: Path, asked: bool = False) -> None:
        """Read in bf16 from now on where the probe (its verdict cached in ``folder``)
        finds it faithful and, unless it was ``asked`` for, faster."""
        made: list[Runner] = []

        def bf16() -> Runner:
            if not made:
                made.append(bf16_runner(torch_model(self.path, weights)))
            return made[0]

        def measure() -> ReaderProbe:
            return probe(self._run, bf16(), _probe_arrays(self.path, SAMPLE))

        try:
            file = probe_file(folder, "reader")
            what = "bf16 against fp32 reading"
            measured = cached(file, ReaderProbe, measure, what, keep=lambda m: m.steady)
            if asked:
                refuse_unfaithful(measured)
            if asked or measured.choice == "bf16":
                self._run, self.precision, self.runtime = bf16(), "bf16", "torch"
        except Exception:
            if asked:
                raise
            log.warning("the reading model stays in fp32", exc_info=True)

    def probabilities(
        self,
        firsts: Sequence[str],
        seconds: Sequence[str],
        contexts: Sequence[str] | None = None,
    ) -> np.ndarray:
        """``(n, 3)``: P(supports), P(neutral), P(contradicts) of each pair; read
        together with any other thread's pairs waiting meanwhile."""
        if not len(seconds):
            return np.zeros((0, len(LABELS)))
        contexts = contexts if contexts is not None else [""] * len(seconds)
        encoded = pairs_ids(firsts, seconds, contexts, self.path)
        return softmax(self._batcher(encoded) / self.card.temperature)

    def _read(self, pairs: Sequence[Encoded]) -> np.ndarray:
        """Logits of ``pairs``, read in batches of like length (:mod:`rag.reading.batching`
        calls it with every waiting caller's pairs)."""
        logits = np.zeros((len(pairs), len(LABELS)), dtype=np.float32)
        for rows in length_buckets([len(ids) for ids, _ in pairs]):
            logits[rows] = self._run(batch_arrays([pairs[i] for i in rows]))
        return logits

    def answers(
        self, question: str, sentences: Sequence[str], contexts: Sequence[str] | None = None
    ) -> np.ndarray:
        """P(the sentence answers the question), one per sentence."""
        return self.probabilities([question] * len(sentences), sentences, contexts)[:, SUPPORTS]

    def support(
        self, claims: Sequence[str], sentences: Sequence[str], contexts: Sequence[str] | None = None
    ) -> np.ndarray:
        """``(n, 3)`` probabilities of each claim against the sentence beside it."""
        return self.probabilities(claims, sentences, contexts)
