"""The training loop, resumable: a run of hours survives being stopped at any moment.

Every ``checkpoint_minutes`` (and when asked to stop: SIGINT, SIGTERM, or the time
budget of this process) the loop writes a :class:`Checkpoint` (trained weights, the
optimiser and schedule, the step reached, every random state) into its folder, atomically.
A resumed run rebuilds the same plan from the same seed, loads the checkpoint and goes
on from the next step, so a run stopped and resumed any number of times ends with the
weights a single run gives (``tests/test_train_reader.py`` checks it bit for bit).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evals.reader.data import Pair, Question, overlap
from rag.index.precision import Precision, autocast
from rag.reading import crossencoder as ce

GROUP = 8
"""Sentences of a question read together at most (``listwise``)."""
CHECKPOINT = "checkpoint.pt"


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

    def fingerprint(self) -> str:
        """Names the plan's data and settings: a checkpoint resumes only its own run."""
        h = hashlib.sha256()
        for p in self.pairs:
            h.update(f"{p.first}\0{p.second}\0{p.context}\0{p.label}\n".encode())
        for q in self.questions:
            h.update(f"{q.question}\0{q.gold}\n".encode())
        h.update(f"{self.lr} {self.layers} {self.per_step} {self.epochs}".encode())
        return h.hexdigest()[:16]


@dataclass
class Stop:
    """When this process stops at a checkpoint before the plan ends: after ``minutes``
    or ``steps`` (for tests), or on SIGINT/SIGTERM."""

    minutes: float = float("inf")
    steps: int | None = None
    asked: bool = field(default=False, init=False)

    def listen(self) -> None:
        def ask(signum, frame) -> None:  # finish the step, save, then stop
            print(f"signal {signum}: stopping at the next checkpoint", file=sys.stderr)
            self.asked = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, ask)


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


def train(
    model,
    run: Run,
    rng: random.Random,
    checkpoints: Path | None = None,
    every_minutes: float = 10.0,
    stop: Stop | None = None,
    resume: bool = False,
) -> dict:
    """``run.epochs`` passes over ``run.pairs`` in batches; with ``run.per_step``, each step
    also reads that many of ``run.questions`` whole (:func:`listwise_loss`). Checkpoints
    go to ``checkpoints`` every ``every_minutes``; ``resume`` goes on from the one there.
    Raises :class:`Stopped` (after a checkpoint) when ``stop`` says so before the end."""
    import torch

    stop = stop or Stop()
    trained = [(n, p) for n, p in model.named_parameters() if not ce.frozen(n, run.layers)]
    for n, p in model.named_parameters():
        p.requires_grad = not ce.frozen(n, run.layers)
    none = torch.nn.Parameter(torch.zeros(()))
    groups = [
        {"params": [p for n, p in trained if not n.startswith("head")], "lr": run.lr},
        {"params": [p for n, p in trained if n.startswith("head")] + [none], "lr": 1e-3},
    ]
    optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
    plan = [b for _ in range(run.epochs) for b in batches(run.pairs, rng, ce.BATCH)]
    asked = list(run.questions) if run.per_step else []
    rng.shuffle(asked)
    warmup = max(1, int(0.06 * len(plan)))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(
            (step + 1) / warmup, max(0.0, (len(plan) - step) / max(1, len(plan) - warmup))
        ),
    )
    fingerprint = run.fingerprint()
    done, read, before, processes, losses = 0, 0, 0.0, 1, []
    state = Checkpoint.load(checkpoints) if resume and checkpoints else None
    if resume and state is None:
        print(f"no checkpoint in {checkpoints}: starting from the beginning", file=sys.stderr)
    if state is not None:
        if state.fingerprint != fingerprint:
            raise SystemExit(
                f"the checkpoint in {checkpoints} is of another run (other data or settings):"
                " resume with the command that started it, or start afresh without --resume"
            )
        if state.precision != run.precision:
            print(
                f"warning: the run started in {state.precision}, goes on in {run.precision}:"
                " its weights will differ from a single run's",
                file=sys.stderr,
            )
        model.load_state_dict(state.model, strict=False)
        with torch.no_grad():
            none.copy_(state.none)
        optimizer.load_state_dict(state.optimizer)
        schedule.load_state_dict(state.schedule)
        rng.setstate(state.rng)
        torch.set_rng_state(state.torch_rng)
        done, read, before = state.step, state.read, state.seconds
        processes, losses = state.processes + 1, state.losses
        print(f"resumed at step {done}/{len(plan)} ({before / 60:.1f} min trained)", file=sys.stderr)

    def save(step: int, elapsed: float) -> None:
        if checkpoints is None:
            return
        Checkpoint(
            step=step,
            fingerprint=fingerprint,
            model={n: p.detach().clone() for n, p in trained},
            none=none.detach().clone(),
            optimizer=optimizer.state_dict(),
            schedule=schedule.state_dict(),
            rng=rng.getstate(),
            torch_rng=torch.get_rng_state(),
            read=read,
            seconds=before + elapsed,
            processes=processes,
            losses=losses[-100:],
            precision=run.precision,
        ).save(checkpoints)

    stop.listen()
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    started = last_save = time.perf_counter()
    step, steps_here = done, 0
    for step in range(done + 1, len(plan) + 1):
        batch = plan[step - 1]
        inputs = {k: torch.from_numpy(v) for k, v in arrays(batch).items()}
        labels = torch.tensor([p.label for p in batch])
        with autocast(run.precision):
            logits = model(**inputs)
        loss = loss_fn(logits.float(), labels)
        read += len(batch)
        if asked:
            chunk = [asked[(step * run.per_step + i) % len(asked)] for i in range(run.per_step)]
            loss = loss + listwise_loss(model, chunk, none, rng, run.precision)
            read += sum(min(GROUP, len(q.sentences)) for q in chunk)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in trained], 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        steps_here += 1
        now = time.perf_counter()
        elapsed = now - started
        if step % 50 == 0 or step == len(plan):
            total = before + elapsed
            print(
                f"step {step}/{len(plan)}  loss {np.mean(losses[-50:]):.4f}  "
                f"{read / max(total, 1e-9):.1f} pairs/s  {total / 60:.1f} min"
                + (f"  none {none.item():.2f}" if asked else ""),
                file=sys.stderr,
                flush=True,
            )
        if step == len(plan):
            break
        wants_stop = (
            stop.asked
            or elapsed > stop.minutes * 60
            or (stop.steps is not None and steps_here >= stop.steps)
        )
        if wants_stop or now - last_save > every_minutes * 60:
            save(step, elapsed)
            last_save = now
            if wants_stop:
                print(f"stopped at step {step}/{len(plan)}; checkpoint in {checkpoints}",
                      file=sys.stderr)
                raise Stopped(step)
    model.eval()
    elapsed = time.perf_counter() - started
    total = before + elapsed
    save(step, elapsed)
    return {
        "steps": step,
        "planned_steps": len(plan),
        "epochs": run.epochs,
        "pairs_seen": min(step * ce.BATCH, len(plan) * ce.BATCH),
        "seconds": round(total, 1),
        "processes": processes,
        "pairs_per_second": round(read / max(total, 1e-9), 1),
        "final_loss": round(float(np.mean(losses[-100:])), 4),
        "precision": run.precision,
    } | ({"questions_read_whole": min(step * run.per_step, len(asked))} if asked else {})
