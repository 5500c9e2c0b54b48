"""The training loop, resumable: a run of hours survives being stopped at any moment.

Every ``checkpoint_minutes`` (and when asked to stop: SIGINT, SIGTERM, or the time
budget of this process) the loop writes a :class:`Checkpoint` (trained weights, the
optimiser and schedule, the step reached, every random state) into its folder, atomically.
A resumed run rebuilds the same plan from the same seed, loads the checkpoint and goes
on from the next step, so a run stopped and resumed any number of times ends with the
weights a single run gives (``tests/test_train_reader.py`` checks it bit for bit).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evals.reader.data import Pair, Question, overlap
from rag.index.precision import Precision, autocast, resolve
from rag.reading import crossencoder as ce

STOPPED = 3
"""Exit status of a training script whose run stopped at a checkpoint (resume it)."""
GROUP = 8
"""Sentences of a question read together at most (``listwise``)."""
CHECKPOINT = "checkpoint.pt"


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every training script shares: arithmetic, checkpoints, stopping, resuming."""
    add = parser.add_argument
    add(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="forward passes in bf16 where this CPU is faster and faithful in it (auto)",
    )
    add("--checkpoints", type=Path, help="checkpoint folder (default ~/.cache/rag/training/RUN)")
    add("--checkpoint-minutes", type=float, default=10.0)
    add(
        "--minutes",
        type=float,
        default=float("inf"),
        help="stop at a checkpoint after this long (resume later with --resume)",
    )
    add("--resume", action="store_true", help="go on from this run's checkpoint")


def run_precision(setting: str) -> Precision:
    """The arithmetic of a run's forward passes: ``auto`` as ingest's probe decides."""
    from rag.index.embed import SentenceEmbeddings

    probe = None if setting == "fp32" else SentenceEmbeddings().probe
    precision = resolve(setting, probe)
    print(f"forward passes in {precision}" + (f" ({probe})" if probe else ""), file=sys.stderr)
    return precision


def batches(pairs: list[Pair], rng: random.Random, size: int) -> list[list[Pair]]:
    """Shuffled batches of pairs of similar length (sorted within windows of 50 batches)."""
    order = pairs[:]
    rng.shuffle(order)
    window = size * 50
    out = []
    for n in range(0, len(order), window):
        chunk = sorted(order[n : n + window], key=lambda p: len(p.first) + len(p.second))
        out += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(out)
    return out


def arrays(pairs: list[Pair]) -> dict[str, np.ndarray]:
    encoded = ce.pairs_ids(
        [p.first for p in pairs], [p.second for p in pairs], [p.context for p in pairs]
    )
    return ce.batch_arrays(encoded)


def group(q: Question, rng: random.Random) -> tuple[list[int], int]:
    """The sentences of ``q`` read together (the gold one and the others sharing most
    words, :data:`GROUP` at most, in random order) and the target's position in them
    (``len``: "none of them", an unanswerable question)."""
    gold = [i for i, g in enumerate(q.gold) if g]
    others = sorted(
        (i for i in range(len(q.sentences)) if not q.gold[i]),
        key=lambda i: (-overlap(q.question, q.sentences[i]), rng.random()),
    )
    chosen = (gold[:1] + others)[:GROUP]
    rng.shuffle(chosen)
    return chosen, chosen.index(gold[0]) if gold else len(chosen)


def listwise_loss(model, questions: list[Question], none, rng: random.Random, precision):
    """Each question read whole: the cross-entropy of a softmax over its sentences' answer
    log-odds (supports minus neutral logit) and a learned "none of them" score, the
    target the gold sentence or "none". Pairs alone never see that no sentence of a
    paragraph answers, which is what abstaining on an on-topic question takes."""
    import torch

    firsts, seconds, contexts, spans, targets = [], [], [], [], []
    for q in questions:
        chosen, target = group(q, rng)
        spans.append((len(firsts), len(chosen)))
        targets.append(target)
        firsts += [q.question] * len(chosen)
        seconds += [q.sentences[i] for i in chosen]
        contexts += [q.contexts[i] for i in chosen]
    encoded = ce.batch_arrays(ce.pairs_ids(firsts, seconds, contexts))
    with autocast(precision):
        logits = model(**{k: torch.from_numpy(v) for k, v in encoded.items()}).float()
    odds = logits[:, ce.SUPPORTS] - logits[:, ce.NEUTRAL]
    options = [torch.cat([odds[a : a + k], none.view(1)]) for a, k in spans]
    return torch.stack(
        [
            torch.nn.functional.cross_entropy(o.view(1, -1), torch.tensor([t]))
            for o, t in zip(options, targets, strict=True)
        ]
    ).mean()


@dataclass
class Run:
    """What a training run is: its plan and its settings (all from the command line)."""

    pairs: list[Pair]
    lr: float = 5e-5
    layers: int = ce.FROZEN_LAYERS
    questions: Sequence[Question] = ()
    per_step: int = 0
    epochs: int = 1
    precision: Precision = "fp32"
    depth: int | None = None
    """Transformer layers the trained model keeps (None: all)."""
    teacher: str = ""
    """The sha256 of the weights whose probabilities are learned instead of the labels
    (distillation; "": the labels)."""

    def fingerprint(self) -> str:
        """Names the plan's data and settings: a checkpoint resumes only its own run."""
        h = hashlib.sha256()
        for p in self.pairs:
            h.update(f"{p.first}\0{p.second}\0{p.context}\0{p.label}\n".encode())
        for q in self.questions:
            h.update(f"{q.question}\0{q.gold}\n".encode())
        h.update(f"{self.lr} {self.layers} {self.per_step} {self.epochs}".encode())
        if self.depth is not None or self.teacher:  # runs before these settings keep their names
            h.update(f" {self.depth} {self.teacher}".encode())
        return h.hexdigest()[:16]


@dataclass
class Stop:
    """When this process stops at a checkpoint before the plan ends: after ``minutes``
    or ``steps`` (for tests), or on SIGINT/SIGTERM."""

    minutes: float = float("inf")
    steps: int | None = None
    asked: bool = field(default=False, init=False)

    @contextmanager
    def listening(self) -> Iterator[None]:
        """SIGINT and SIGTERM ask for a stop at the next step while inside (the
        handlers before are put back after)."""

        def ask(signum, frame) -> None:  # finish the step, save, then stop
            print(f"signal {signum}: stopping at the next checkpoint", file=sys.stderr)
            self.asked = True

        kept = {sig: signal.signal(sig, ask) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in kept.items():
                signal.signal(sig, handler)


@dataclass
class Checkpoint:
    """Everything a resumed run needs to go on exactly where it stopped."""

    step: int
    fingerprint: str
    model: dict[str, Any]
    none: Any
    optimizer: dict[str, Any]
    schedule: dict[str, Any]
    rng: Any
    torch_rng: Any
    read: int
    seconds: float
    processes: int
    losses: list[float]
    precision: str

    def save(self, folder: Path) -> None:
        import torch

        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{CHECKPOINT}.{os.getpid()}"
        torch.save(self.__dict__, tmp)
        os.replace(tmp, folder / CHECKPOINT)

    @classmethod
    def load(cls, folder: Path) -> Checkpoint | None:
        import torch

        path = folder / CHECKPOINT
        if not path.exists():
            return None
        return cls(**torch.load(path, weights_only=False))


class Stopped(Exception):
    """The run stopped at a checkpoint before its plan ended; resume it later."""


class Trainer:
    """One run's model, optimiser, schedule and plan; :meth:`run` trains it to the end of
    the plan or to a stop, checkpointing on the way."""

    def __init__(
        self, model, run: Run, rng: random.Random, checkpoints: Path | None, teacher=None
    ) -> None:
        import torch

        self.model, self.run, self.rng, self.checkpoints = model, run, rng, checkpoints
        self.teacher = teacher
        self.trained = [(n, p) for n, p in model.named_parameters() if not ce.frozen(n, run.layers)]
        for n, p in model.named_parameters():
            p.requires_grad = not ce.frozen(n, run.layers)
        self.none = torch.nn.Parameter(torch.zeros(()))
        heads = [p for n, p in self.trained if n.startswith("head")]
        self.optimizer = torch.optim.AdamW(
            [
                {"params": [p for n, p in self.trained if not n.startswith("head")], "lr": run.lr},
                {"params": [*heads, self.none], "lr": 1e-3},
            ],
            weight_decay=0.01,
        )
        self.plan = [b for _ in range(run.epochs) for b in batches(run.pairs, rng, ce.BATCH)]
        self.asked = list(run.questions) if run.per_step else []
        rng.shuffle(self.asked)
        total, warmup = len(self.plan), max(1, int(0.06 * len(self.plan)))
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda step: min(
                (step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup))
            ),
        )
        self.fingerprint = run.fingerprint()
        self.step, self.read, self.before, self.processes = 0, 0, 0.0, 1
        self.losses: list[float] = []

    def resume(self) -> None:
        """Go on from the checkpoint of this run, if there is one."""
        import torch

        state = Checkpoint.load(self.checkpoints) if self.checkpoints else None
        if state is None:
            print(
                f"no checkpoint in {self.checkpoints}: starting from the beginning", file=sys.stderr
            )
            return
        if state.fingerprint != self.fingerprint:
            raise SystemExit(
                f"the checkpoint in {self.checkpoints} is of another run (other data or"
                " settings): resume with the command that started it, or start afresh"
            )
        if state.precision != self.run.precision:
            print(
                f"warning: the run started in {state.precision}, goes on in"
                f" {self.run.precision}: its weights will differ from a single run's",
                file=sys.stderr,
            )
        self.model.load_state_dict(state.model, strict=False)
        with torch.no_grad():
            self.none.copy_(state.none)
        self.optimizer.load_state_dict(state.optimizer)
        self.schedule.load_state_dict(state.schedule)
        self.rng.setstate(state.rng)
        torch.set_rng_state(state.torch_rng)
        self.step, self.read, self.before = state.step, state.read, state.seconds
        self.processes, self.losses = state.processes + 1, state.losses
        print(
            f"resumed at step {self.step}/{len(self.plan)} ({self.before / 60:.1f} min trained)",
            file=sys.stderr,
        )

    def save(self, elapsed: float) -> None:
        import torch

        if self.checkpoints is None:
            return
        Checkpoint(
            step=self.step,
            fingerprint=self.fingerprint,
            model={n: p.detach().clone() for n, p in self.trained},
            none=self.none.detach().clone(),
            optimizer=self.optimizer.state_dict(),
            schedule=self.schedule.state_dict(),
            rng=self.rng.getstate(),
            torch_rng=torch.get_rng_state(),
            read=self.read,
            seconds=self.before + elapsed,
            processes=self.processes,
            losses=self.losses[-100:],
            precision=self.run.precision,
        ).save(self.checkpoints)

    def batch_loss(self, batch: list[Pair], loss_fn):
        """The loss of one step's batch (counting what was read): what a trainer of
        another kind of reader changes."""
        import torch

        run = self.run
        inputs = {k: torch.from_numpy(v) for k, v in arrays(batch).items()}
        with autocast(run.precision):
            logits = self.model(**inputs)
        if self.teacher is None:
            loss = loss_fn(logits.float(), torch.tensor([p.label for p in batch]))
        else:
            loss = soft_loss(logits.float(), self.teacher(inputs))
        self.read += len(batch)
        if self.asked:
            n = self.step * run.per_step
            chunk = [self.asked[(n + i) % len(self.asked)] for i in range(run.per_step)]
            loss = loss + listwise_loss(self.model, chunk, self.none, self.rng, run.precision)
            self.read += sum(min(GROUP, len(q.sentences)) for q in chunk)
        return loss

    def train_step(self, batch: list[Pair], loss_fn) -> None:
        import torch

        loss = self.batch_loss(batch, loss_fn)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in self.trained], 1.0)
        self.optimizer.step()
        self.schedule.step()
        self.losses.append(loss.item())

    def report(self, elapsed: float) -> None:
        total = self.before + elapsed
        print(
            f"step {self.step}/{len(self.plan)}  loss {np.mean(self.losses[-50:]):.4f}  "
            f"{self.read / max(total, 1e-9):.1f} pairs/s  {total / 60:.1f} min"
            + (f"  none {self.none.item():.2f}" if self.asked else ""),
            file=sys.stderr,
            flush=True,
        )

    def train(self, every_minutes: float, stop: Stop) -> float:
        """Steps to the end of the plan (the seconds they took), or :class:`Stopped`."""
        import torch

        loss_fn = torch.nn.CrossEntropyLoss()
        self.model.train()
        started = last_save = time.perf_counter()
        steps_here, elapsed = 0, 0.0
        while self.step < len(self.plan):
            self.train_step(self.plan[self.step], loss_fn)
            self.step += 1
            steps_here += 1
            now = time.perf_counter()
            elapsed = now - started
            if self.step % 50 == 0 or self.step == len(self.plan):
                self.report(elapsed)
            if self.step == len(self.plan):
                break
            wants_stop = (
                stop.asked
                or elapsed > stop.minutes * 60
                or (stop.steps is not None and steps_here >= stop.steps)
            )
            if wants_stop or now - last_save > every_minutes * 60:
                self.save(elapsed)
                last_save = now
            if wants_stop:
                print(
                    f"stopped at step {self.step}/{len(self.plan)}; checkpoint in"
                    f" {self.checkpoints}",
                    file=sys.stderr,
                )
                raise Stopped(self.step)
        self.model.eval()
        return elapsed

    def figures(self, elapsed: float) -> dict:
        total = self.before + elapsed
        run = self.run
        found = {
            "steps": self.step,
            "planned_steps": len(self.plan),
            "epochs": run.epochs,
            "pairs_seen": min(self.step * ce.BATCH, len(self.plan) * ce.BATCH),
            "seconds": round(total, 1),
            "processes": self.processes,
            "pairs_per_second": round(self.read / max(total, 1e-9), 1),
            "final_loss": round(float(np.mean(self.losses[-100:])), 4) if self.losses else None,
            "precision": run.precision,
        }
        if self.asked:
            found["questions_read_whole"] = min(self.step * run.per_step, len(self.asked))
        if run.depth is not None:
            found["depth"] = run.depth
        if run.teacher:
            found["teacher_sha256"] = run.teacher
        return found


def soft_loss(logits, wanted):
    """Cross-entropy against another model's probabilities (``wanted``), not labels:
    distillation at temperature 1, so the student learns the very probabilities the
    teacher's decisions are thresholds on."""
    import torch

    return -(wanted * torch.log_softmax(logits, dim=-1)).sum(-1).mean()


class Teacher:
    """A trained reader's calibrated probabilities for a batch (what a student learns)."""

    def __init__(self, model, temperature: float, precision: Precision) -> None:
        self.model, self.temperature, self.precision = model.eval(), temperature, precision

    def __call__(self, inputs: dict):
        import torch

        with torch.inference_mode(), autocast(self.precision):
            logits = self.model(**inputs).float()
        return torch.softmax(logits / self.temperature, dim=-1).clone()


def train(
    model,
    run: Run,
    rng: random.Random,
    checkpoints: Path | None = None,
    every_minutes: float = 10.0,
    stop: Stop | None = None,
    resume: bool = False,
    teacher: Teacher | None = None,
    kind: type[Trainer] = Trainer,
) -> dict:
    """``run.epochs`` passes over ``run.pairs`` in batches; with ``run.per_step``, each step
    also reads that many of ``run.questions`` whole (:func:`listwise_loss`). Checkpoints
    go to ``checkpoints`` every ``every_minutes`` and at the end; ``resume`` goes on from
    the one there. Raises :class:`Stopped` (after a checkpoint) when ``stop`` says so
    before the end. With a ``teacher`` (``run.teacher`` naming it), the model learns its
    probabilities instead of the labels. ``kind`` is the trainer (another reader's loss:
    :class:`evals.reader.passage.PassageTrainer`). Returns the run's figures for the card."""
    if (teacher is None) != (not run.teacher):
        raise ValueError("a teacher is given exactly when the run names one (run.teacher)")
    if teacher is not None and run.per_step:
        raise ValueError("distillation reads pairs only: no questions read whole (listwise)")
    stop = stop or Stop()
    trainer = kind(model, run, rng, checkpoints, teacher)
    if resume:
        trainer.resume()
    with stop.listening():
        elapsed = trainer.train(every_minutes, stop)
    trainer.save(elapsed)
    return trainer.figures(elapsed)
