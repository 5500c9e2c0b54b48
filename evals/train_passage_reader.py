"""Train a passage reader (question + whole paragraph, a span head and a no-answer head:
:mod:`evals.reader.passage`) and measure it beside sentence readers on SQuAD 2.0's own
split, each question against its own paragraph.

    .venv/bin/python evals/train_passage_reader.py --out /tmp/passage           # the run
    .venv/bin/python evals/train_passage_reader.py --sample 64 --out /tmp/p     # a smoke run
    .venv/bin/python evals/train_passage_reader.py ... --minutes 60  # stop at a checkpoint
    .venv/bin/python evals/train_passage_reader.py ... --resume      # go on from it

Data recipe (seed 0; files named by sha256 in :mod:`evals.reader.data`): SQuAD 2.0's 9
training articles read ``--squad2-epochs`` times (answerable questions with their span,
unanswerable ones with none); ``--squad`` SQuAD v1.1 training questions with their span,
``--adversarial`` of them also changed so their paragraph no longer answers them and
``--elsewhere`` of them also read against the closest other paragraph of their article
(both unanswerable). Init: the sentence reader ``--init`` (its transformer layers; new
heads). Checkpoints and ``--resume`` as ``evals/train_reader.py``'s.

Figures: on SQuAD 2.0's dev articles each reader's answer threshold (the highest refusing
at most 5% of answerable questions), then on the test articles AUC, the share of
answerable questions whose top sentence holds the answer, abstention recall and wrong
abstentions (:func:`evals.reader.figures.abstention_figures`), for the passage reader and
every ``--compare`` sentence reader.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evals.reader import data, figures, passage
from evals.reader.loop import STOPPED, Run, Stop, Stopped, add_run_arguments, run_precision, train
from rag.config import Settings
from rag.documents.ingest import Splitter
from rag.index.embed import cache_dir, default_model_path, load_tokenizer
from rag.reading import crossencoder as ce


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--seed", type=int, default=0)
    add("--squad", type=int, default=12_000, help="SQuAD v1.1 train questions")
    add("--squad-from", type=int, default=0, help="skip the first N of them (read before)")
    add(
        "--chunks",
        action="store_true",
        help="read each question in the chunk of its article that ingest makes, not its paragraph",
    )
    add("--squad2-epochs", type=int, default=2, help="reads of the SQuAD 2.0 train articles")
    add("--adversarial", type=float, default=0.3, help="share of SQuAD questions also changed")
    add("--elsewhere", type=float, default=0.2, help="share also read against another paragraph")
    add(
        "--init",
        type=Path,
        default=ce.WEIGHTS,
        help="weights to start from: a sentence reader's, or a passage reader's to go on",
    )
    add("--lr", type=float, default=5e-5)
    add("--sample", type=int, default=0, help="a smoke run: N passages, N/4 questions scored")
    add("--out", type=Path, required=True, help="folder for passage.npz and figures.json")
    add("--compare", type=Path, nargs="*", default=[ce.WEIGHTS], help="other readers")
    add_run_arguments(parser)
    return parser.parse_args(argv)


def measured(name: str, dev_scores, test_scores, dev, test) -> dict:
    t = figures.answer_threshold(dev_scores, dev)
    found = {"reader": name, "threshold": t} | figures.abstention_figures(test_scores, test, t)
    print(json.dumps(found), flush=True)
    return found


def reader_scores(weights: Path, dev, test, precision) -> tuple[list, list]:
    """Dev and test scores of a trained reader, a passage reader's or a sentence reader's."""
    if passage.is_passage_reader(weights):
        model = passage.load(weights)
        return passage.scores(model, dev, precision), passage.scores(model, test, precision)
    reader = ce.torch_model(weights=weights)
    t = ce.Card.load(weights.with_suffix(".json")).temperature
    return (
        figures.question_scores(reader, dev, t, precision),
        figures.question_scores(reader, test, t, precision),
    )


def splitter(args: argparse.Namespace) -> Splitter | None:
    """Ingest's splitter with the default settings (``--chunks``), else None."""
    if not args.chunks:
        return None
    chosen = Settings().embedding
    return Splitter(load_tokenizer(default_model_path()), chosen.chunk_size, chosen.chunk_overlap)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    import torch

    precision = run_precision(args.precision)
    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    rng = random.Random(args.seed)
    sets = passage.load_passages(
        args.seed,
        rng,
        args.squad,
        args.adversarial,
        args.elsewhere,
        args.squad_from,
        splitter(args),
    )
    train_set = sets["train"] + [p for p in sets["train"] if p.source == "squad2"] * (
        args.squad2_epochs - 1
    )
    if args.sample:
        rng.shuffle(train_set)
        train_set = train_set[: args.sample]
    kinds = {s: sum(p.source == s for p in train_set) for s in {p.source for p in train_set}}
    unanswerable = sum(p.start < 0 for p in train_set)
    print(f"# {len(train_set)} training passages {kinds}, {unanswerable} unanswerable")

    plan = Run(train_set, args.lr, 0, precision=precision)
    checkpoints = args.checkpoints or cache_dir() / "training" / f"passage-{plan.fingerprint()}"
    print(f"checkpoints in {checkpoints}; forward passes in {precision}", file=sys.stderr)
    model = passage.torch_model(args.init)
    started = time.perf_counter()
    try:
        run = train(
            model,
            plan,
            rng,
            checkpoints,
            args.checkpoint_minutes,
            Stop(minutes=args.minutes),
            args.resume,
            kind=passage.PassageTrainer,
        )
    except Stopped:
        print("stopped at a checkpoint: run the same command with --resume to go on")
        return STOPPED
    args.out.mkdir(parents=True, exist_ok=True)
    ce.save_trained(model, args.out / "passage.npz", 0)
    print(f"# Training\n{json.dumps(run)} ({time.perf_counter() - started:.0f} s here)")

    _, questions = data.load_squad2(args.seed, random.Random(args.seed))
    dev, test = questions["dev"], questions["test"]
    if args.sample:
        dev, test = dev[: args.sample // 4], test[: args.sample // 4]
    found = [
        measured(
            "passage",
            passage.scores(model, dev, precision),
            passage.scores(model, test, precision),
            dev,
            test,
        )
    ]
    for weights in args.compare:
        found.append(
            measured(str(weights), *reader_scores(weights, dev, test, precision), dev, test)
        )
    (args.out / "figures.json").write_text(
        json.dumps({"training": run, "squad2_test": found}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
