"""Reading the passage, not the sentence: issue 38's first proposal, measured beside the
sentence reader on the same split before either is chosen.

One pair is a question and its whole paragraph (``[CLS] question [SEP] paragraph [SEP]``,
:data:`MAX_LENGTH` word pieces at most) read by the packaged MiniLM body, with two heads:
start and end logits over the paragraph's word pieces (the answer span; the sentence to
cite is the one that holds it), and one "no answer here" logit of the pair as a whole. A
sentence reader sees one sentence and the one before it, so it cannot tell "this
paragraph says nothing of that" from "this sentence does not"; the no-answer head reads
everything the paragraph says.

Training pairs (:func:`load_passages`): SQuAD 2.0's training articles (answerable with
their span; unanswerable with none), SQuAD v1.1 train questions against their own
paragraph, and as unanswerable: a SQuAD v1.1 question changed so that its paragraph no
longer answers it (:func:`evals.reader.synthetic.adversarial`) and a question against the
other paragraph of its article sharing most words with it (on-topic, as retrieval hands
the reader). The loop is :class:`evals.reader.loop.Trainer`'s, so a run checkpoints and
resumes the same way.

Figures (:func:`scores`) come in the sentence reader's shape (a score per sentence of the
question's paragraph: the answer probability on the span's sentence), so
:func:`evals.reader.figures.abstention_figures` measures both readers alike.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from evals.reader import data, synthetic
from evals.reader.data import Question, Splits
from evals.reader.loop import Trainer
from rag.documents.ingest import Splitter
from rag.evaluation.datasets import fetch_package_file
from rag.evaluation.metrics import normalize
from rag.index.embed import default_model_path, load_tokenizer
from rag.index.precision import Precision, autocast
from rag.reading import crossencoder as ce

if TYPE_CHECKING:
    import torch

MAX_LENGTH = 320
"""Word pieces of one pair in all (a SQuAD paragraph is about 150 words)."""
MAX_QUESTION = 48
MAX_SPAN = 30
"""Word pieces an answer span may cover."""


@dataclass(frozen=True)
class Passage:
    """A question and a whole paragraph; ``start``/``end`` the answer's characters in it
    (-1: it holds no answer). ``context`` and ``label`` keep the training loop's names."""

    first: str
    second: str
    start: int
    end: int
    source: str
    context: str = ""

    @property
    def label(self) -> int:
        return ce.SUPPORTS if self.start >= 0 else ce.NEUTRAL


@dataclass
class Encoded:
    ids: list[int]
    types: list[int]
    offsets: list[tuple[int, int] | None]
    """The paragraph characters of each word piece (None: question or special)."""
    start: int  # token targets; 0 where there is no answer (or it was cut off)
    end: int


def encode(passages: list[Passage], path: str | None = None) -> list[Encoded]:
    tokenizer = load_tokenizer(path or default_model_path())
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    qs = tokenizer.encode_batch([p.first for p in passages], add_special_tokens=False)
    ps = tokenizer.encode_batch([p.second for p in passages], add_special_tokens=False)
    out = []
    for p, eq, ep in zip(passages, qs, ps, strict=True):
        q = eq.ids[:MAX_QUESTION]
        room = MAX_LENGTH - len(q) - 3
        body, offsets = ep.ids[:room], ep.offsets[:room]
        first = len(q) + 2
        start = end = 0
        if p.start >= 0:
            inside = [i for i, (s, e) in enumerate(offsets) if s < p.end and e > p.start]
            if inside:
                start, end = first + inside[0], first + inside[-1]
        out.append(
            Encoded(
                [cls, *q, sep, *body, sep],
                [0] * first + [1] * (len(body) + 1),
                [None] * first + list(offsets) + [None],
                start,
                end,
            )
        )
    return out


def tensors(encoded: list[Encoded]) -> dict[str, torch.Tensor]:
    import torch

    width = max(len(e.ids) for e in encoded)
    ids = torch.zeros((len(encoded), width), dtype=torch.long)
    mask, types, span = torch.zeros_like(ids), torch.zeros_like(ids), torch.zeros_like(ids)
    for i, e in enumerate(encoded):
        n = len(e.ids)
        ids[i, :n], mask[i, :n], types[i, :n] = (torch.tensor(v) for v in (e.ids, [1] * n, e.types))
        span[i, :n] = torch.tensor([o is not None for o in e.offsets])
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "span": span}


def is_passage_reader(weights: Path) -> bool:
    with np.load(weights) as found:
        return "head_none.weight" in found.files


def torch_model(init: Path | None = ce.WEIGHTS) -> torch.nn.Module:
    """The packaged MiniLM and the passage heads, ``head`` (start, end) and
    ``head_none``: with the trained layers of ``init`` if given, a sentence reader's (new
    heads) or a passage reader's (to go on training it)."""
    import torch

    again = init is not None and is_passage_reader(init)
    bert = ce.torch_model(weights=None if again else init).bert

    class PassageNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.head = torch.nn.Linear(bert.config.hidden_size, 2)
            self.head_none = torch.nn.Linear(bert.config.hidden_size, 1)

        def forward(self, input_ids, attention_mask, token_type_ids, span):
            tokens = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )[0]
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            none = self.head_none((tokens * mask).sum(1) / mask.sum(1)).squeeze(-1)
            ends = self.head(tokens).float().masked_fill(~span.bool().unsqueeze(-1), -1e4)
            return ends[..., 0], ends[..., 1], none.float()

    model = PassageNet()
    if again:
        ce.load_trained(model, init)
    return model


def load(weights: Path) -> torch.nn.Module:
    """A trained passage reader (what ``evals/train_passage_reader.py`` writes)."""
    model = torch_model(init=None)
    ce.load_trained(model, weights)
    return model.eval()


def answer_sentence(text: str, start: int) -> str:
    """The sentence of ``text`` holding character ``start`` (what the answer quotes)."""
    spans = data.sentences_of(text)
    return next((t for s, e, t in spans if s <= start < e), spans[-1][2] if spans else text)


def loss(model, batch: list[Passage], precision: Precision):
    """Span cross-entropy where there is an answer, plus the no-answer head's log loss."""
    import torch
    import torch.nn.functional as F

    encoded = encode(batch)
    inputs = tensors(encoded)
    with autocast(precision):
        starts, ends, none = model(**inputs)
    unanswerable = torch.tensor([float(e.start == 0) for e in encoded])
    total = F.binary_cross_entropy_with_logits(none, unanswerable)
    has = unanswerable == 0
    if has.any():
        s = torch.tensor([e.start for e in encoded])[has]
        e = torch.tensor([e.end for e in encoded])[has]
        total = total + (F.cross_entropy(starts[has], s) + F.cross_entropy(ends[has], e)) / 2
    return total


class PassageTrainer(Trainer):
    """The resumable loop of :mod:`evals.reader.loop` with the passage reader's loss."""

    def batch_loss(self, batch: list[Passage], loss_fn):
        self.read += len(batch)
        return loss(self.model, batch, self.run.precision)


class Article:
    """Where a question of one of an article's paragraphs is read: that paragraph, or
    with ``splitter`` the chunk of the whole article (paragraphs joined by a blank line,
    as ``evals/squad2_eval.py`` indexes it) that ingest makes and retrieval hands the
    reader, holding the answer."""

    def __init__(self, paragraphs: list[str], splitter: Splitter | None = None) -> None:
        self.paragraphs = paragraphs
        self.chunks: list[tuple[int, int, str]] = []
        self.at = [0]
        for text in paragraphs[:-1]:
            self.at.append(self.at[-1] + len(text) + 2)
        if splitter is not None:
            whole = "\n\n".join(paragraphs)
            self.chunks = [(c.start, c.end, c.text) for c in splitter.split(whole, "article")]

    def place(self, n: int, start: int, end: int) -> tuple[str, int, int]:
        """The text read for characters ``start:end`` of paragraph ``n``, and where they
        are in it (in the first chunk holding them whole; a paragraph with no chunk
        holding them is read whole)."""
        if self.chunks:
            s, e = self.at[n] + start, self.at[n] + end
            for c_start, c_end, text in self.chunks:
                if c_start <= s and e <= c_end:
                    return text, s - c_start, e - c_start
        return self.paragraphs[n], start, end

    def closest(self, question: str, answer: str, n: int) -> str | None:
        """The other paragraph (or chunk) sharing most words with ``question`` that does
        not hold ``answer``."""
        if self.chunks:
            texts = [t for *_, t in self.chunks]
        else:
            texts = [t for i, t in enumerate(self.paragraphs) if i != n]
        best, score = None, 0
        for text in texts:
            shared = data.overlap(question, text)
            if shared > score and normalize(answer) not in normalize(text):
                best, score = text, shared
        return best


def load_passages(
    seed: int,
    rng: random.Random,
    squad: int,
    adversarial: float,
    elsewhere: float,
    squad_from: int = 0,
    chunks: Splitter | None = None,
) -> Splits:
    """Training and held-out passages: SQuAD 2.0's articles by their split, and ``squad``
    SQuAD v1.1 training questions (split by article as the sentence reader's are; from
    the ``squad_from``-th of their seeded order, so a run going on from another reads
    questions it has not), with an ``adversarial`` share of them changed to be
    unanswerable and an ``elsewhere`` share read against the closest other paragraph of
    their article. With ``chunks`` (a splitter) each is read in the chunk of its whole
    article holding its (or, unanswerable, its plausible) answer (:class:`Article`)."""
    out = data.splits()
    articles = data.squad2_articles()
    split = data.squad2_split([a["title"] for a in articles], seed)
    for article in articles:
        where = Article([p["context"] for p in article["paragraphs"]], chunks)
        for n, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                a = (
                    qa["answers"]
                    or qa.get("plausible_answers")
                    or [{"answer_start": 0, "text": ""}]
                )[0]
                text, start, end = where.place(
                    n, a["answer_start"], a["answer_start"] + len(a["text"])
                )
                if qa["is_impossible"]:
                    start = end = -1
                out[split[article["title"]]].append(
                    Passage(qa["question"], text, start, end, "squad2")
                )
    raw = json.loads(fetch_package_file(*data.SQUAD_TRAIN).read_text(encoding="utf-8"))["data"]
    drawn = [
        (a, n, qa)
        for a, article in enumerate(raw)
        if data.split_of(article["title"], seed) == "train"
        for n, paragraph in enumerate(article["paragraphs"])
        for qa in paragraph["qas"]
    ]
    rng.shuffle(drawn)
    made: dict[int, Article] = {}
    for a, n, qa in drawn[squad_from : squad_from + squad]:
        paragraphs = raw[a]["paragraphs"]
        if a not in made:
            made[a] = Article([p["context"] for p in paragraphs], chunks)
        where = made[a]
        answer = qa["answers"][0]
        at = answer["answer_start"]
        text, start, end = where.place(n, at, at + len(answer["text"]))
        out["train"].append(Passage(qa["question"], text, start, end, "squad"))
        if rng.random() < adversarial:
            held = [t for s, e, t in data.sentences_of(paragraphs[n]["context"]) if s <= at < e]
            if held:
                names = synthetic.names(" ".join(p["context"] for p in paragraphs))
                changed = synthetic.adversarial(qa["question"], held[0], "", names, rng)
                if changed:
                    out["train"].append(Passage(changed.first, text, -1, -1, "adversarial"))
        if rng.random() < elsewhere:
            other = where.closest(qa["question"], answer["text"], n)
            if other:
                out["train"].append(Passage(qa["question"], other, -1, -1, "elsewhere"))
    return out


def best_spans(starts: np.ndarray, ends: np.ndarray, span: np.ndarray) -> list[tuple[int, int]]:
    """The highest start+end span of each row within :data:`MAX_SPAN` pieces."""
    out = []
    for s, e, m in zip(starts, ends, span, strict=True):
        allowed = np.where(m)[0]
        best, at = -np.inf, (0, 0)
        for i in allowed:
            j = min(i + MAX_SPAN, len(e))
            k = i + int(np.argmax(e[i:j]))
            if s[i] + e[k] > best:
                best, at = s[i] + e[k], (int(i), k)
        out.append(at)
    return out


def read(
    model, pairs: list[tuple[str, str]], precision: Precision = "fp32"
) -> list[tuple[float, int, int]]:
    """For each (question, paragraph): the probability that the paragraph answers it and
    the characters of its best answer span."""
    import torch

    encoded = encode([Passage(q, text, -1, -1, "") for q, text in pairs])
    out = []
    model.eval()
    for n in range(0, len(encoded), 32):
        chunk = encoded[n : n + 32]
        inputs = tensors(chunk)
        with torch.inference_mode(), autocast(precision):
            starts, ends, none = model(**inputs)
        answer = 1 - torch.sigmoid(none).numpy()
        picked = best_spans(starts.numpy(), ends.numpy(), inputs["span"].numpy())
        for p, e, (s, t) in zip(answer, chunk, picked, strict=True):
            first, last = e.offsets[s] or (0, 0), e.offsets[t] or (0, 0)
            out.append((float(p), first[0], last[1]))
    return out


def scores(model, questions: list[Question], precision: Precision = "fp32") -> list[np.ndarray]:
    """For each question (its paragraph being its sentences joined), the probability that
    the paragraph answers it, on the sentence holding the best span (0 elsewhere)."""
    out = []
    pairs = [(q.question, " ".join(q.sentences)) for q in questions]
    for q, (p, start, _) in zip(questions, read(model, pairs, precision), strict=True):
        row, at = np.zeros(len(q.sentences), dtype=np.float32), 0
        for k, sentence in enumerate(q.sentences):
            if start <= at + len(sentence) or k == len(row) - 1:
                row[k] = p
                break
            at += len(sentence) + 1
        out.append(row)
    return out
