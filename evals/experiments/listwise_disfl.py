"""Experiment (stop 36): fine-tune the shipped reading model listwise on question groups,
so that "no sentence of this paragraph answers" is learned as such.

The shipped model (evals/train_reader.py) learns pairs: each sentence alone is "answers"
or "says nothing". Its question-level abstention (the best sentence's P(answers)) then
separates Disfl-QA's on-topic unanswerable questions poorly (test AUC 0.59). Here each
training example is one question with its paragraph's sentences plus a "none of them"
option (a learned bias); the loss is the cross-entropy of a softmax over the sentences'
answer log-odds (supports minus neutral logit) and that option, the target being the gold
sentence or "none". Questions: Disfl-QA train (unanswerable ones included) and SQuAD v1.1
train (the training script's loaders, seed and splits; SQuAD eval paragraphs excluded).

    .venv/bin/python evals/experiments/listwise_disfl.py --out /tmp/listwise   # ~30-60 min

Prints the Disfl-QA and SQuAD question-level test figures (Disfl-QA's rates at a threshold
chosen on those same test questions: only its AUC is a fair figure) and VitaminC's 3-way
accuracy on its first 2,000 test pairs, before and after, and writes the weights to
--out (never into rag/reading).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).parents[2]
sys.path.insert(0, str(REPO))

from evals.reader import bigbench, data, loop  # noqa: E402
from evals.reader import figures as fig  # noqa: E402
from rag.index.embed import SentenceEmbeddings  # noqa: E402
from rag.index.precision import resolve  # noqa: E402
from rag.reading import crossencoder as ce  # noqa: E402


def figures(model, questions, vitaminc, temperature: float, precision) -> dict:
    out = {}
    for name, qs in questions.items():
        scores = fig.question_scores(model, qs, temperature, precision)
        t = fig.answer_threshold(scores, qs) if name == "disfl" else 0.5
        out[name] = fig.abstention_figures(scores, qs, t)
    logits = fig.pair_logits(model, vitaminc, precision)
    labels = np.array([p.label for p in vitaminc])
    out["vitaminc_argmax_accuracy"] = round(float((logits.argmax(1) == labels).mean()), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--squad", type=int, default=2000, help="SQuAD train questions")
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--per-step", type=int, default=4, help="questions per step")
    parser.add_argument("--minutes", type=float, default=45.0)
    parser.add_argument("--sample", type=int, default=0, help="smoke run: N questions each")
    parser.add_argument("--out", type=Path, required=True)
    bigbench.bigbench_option(parser)
    args = parser.parse_args(argv)
    tasks = bigbench.bigbench_tasks(args.bigbench)
    if tasks is None:
        raise SystemExit("this experiment reads Disfl-QA and VitaminC: pass --bigbench FOLDER")
    precision = resolve("auto", SentenceEmbeddings().probe)  # fp32 on a CPU without bf16
    print(f"forward passes in {precision}", file=sys.stderr)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    _, disfl_q = bigbench.load_disfl(tasks[bigbench.DISFL_QA], args.seed, rng)
    _, squad_q = data.load_squad(args.seed, rng, args.squad)
    vitaminc = bigbench.load_vitaminc(tasks[bigbench.VITAMINC], args.seed)["test"][:2000]
    train = disfl_q["train"] + squad_q["train"]
    tests = {"disfl": disfl_q["test"], "squad": squad_q["test"]}
    if args.sample:
        train = train[: args.sample]
        tests = {k: v[: args.sample // 4] for k, v in tests.items()}
        vitaminc = vitaminc[: args.sample // 4]
    rng.shuffle(train)
    card = ce.Card.load()
    model = ce.torch_model()
    print(
        "# before\n" + json.dumps(figures(model, tests, vitaminc, card.temperature, precision)),
        flush=True,
    )

    none = torch.nn.Parameter(torch.zeros(()))
    params = [p for n, p in model.named_parameters() if not ce.frozen(n, 0)]
    for n, p in model.named_parameters():
        p.requires_grad = not ce.frozen(n, 0)
    optimizer = torch.optim.AdamW([*params, none], lr=args.lr, weight_decay=0.01)
    model.train()
    started, losses = time.perf_counter(), []
    steps = range(0, len(train), args.per_step)
    for step, n in enumerate(steps, start=1):
        loss = loop.listwise_loss(model, train[n : n + args.per_step], none, rng, precision)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        losses.append(loss.item())
        elapsed = time.perf_counter() - started
        if step % 50 == 0:
            print(
                f"step {step}/{len(steps)} loss {np.mean(losses[-50:]):.4f} none {none.item():.2f}"
                f" {elapsed / 60:.1f} min",
                file=sys.stderr,
                flush=True,
            )
        if elapsed > args.minutes * 60:
            print(f"stopped at the time budget after {step} steps", file=sys.stderr)
            break
    model.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    ce.save_trained(model, args.out / ce.WEIGHTS.name, 0)
    print(f"# trained {time.perf_counter() - started:.0f} s", flush=True)
    print(
        "# after\n" + json.dumps(figures(model, tests, vitaminc, card.temperature, precision)),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
