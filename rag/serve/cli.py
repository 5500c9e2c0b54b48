"""``rag``: ingest documents, ask a question, check a text, serve the web chat, manage
collections and saved conversations."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import threading
from pathlib import Path

from pydantic import ValidationError

from rag.history import ANONYMOUS
from rag.pipeline import RAG, IndexBusy


def _settings_error(err: ValidationError) -> str:
    """One line naming each bad variable; values are not echoed (RAG_AUTH holds a password)."""
    fields = "; ".join(
        f"RAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" if e["loc"] else e["msg"]
        for e in err.errors()
    )
    return f"rag: invalid settings: {fields}"


# What each command needs beyond the core, and the extra (pyproject.toml) that installs it.
# Those modules are imported only inside the commands, so `rag ask` and `rag check` run
# without them.
EXTRAS = {
    "serve": ("serve", ("gradio", "fastapi", "uvicorn")),
    "mcp": ("serve", ("mcp",)),
    "eval": ("eval", ("matplotlib",)),
}


def missing_extra(command: str) -> str | None:
    """The error line when a package ``command`` needs is not installed, naming the extra
    that installs it; None when all are there (looked up, not imported)."""
    extra, modules = EXTRAS.get(command, ("", ()))
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except ValueError:  # sys.modules holds None for it: importing it fails
            found = False
        if not found:
            return (
                f"rag {command}: {module} is not installed; it comes with the {extra} extra:"
                f" pip install 'rag[{extra}]'"
            )
    return None


def build_parser() -> argparse.ArgumentParser:
    """The command line: its commands and their options."""
    parser = argparse.ArgumentParser(prog="rag", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    within = argparse.ArgumentParser(add_help=False)
    within.add_argument(
        "--collection", help="the collection to use (default: RAG_COLLECTION); see rag collections"
    )
    ingest = sub.add_parser(
        "ingest",
        parents=[within],
        help="index files and folders (default: the collection's folders); a new "
        "--collection is made, indexing the folders given",
    )
    ingest.add_argument("paths", nargs="*", type=Path, help="files or folders: .txt .md .html .pdf")
    ingest.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="show a progress bar (default: only on a terminal)",
    )
    ask = sub.add_parser(
        "ask", parents=[within], help="answer a question with numbered sources and quotes"
    )
    ask.add_argument("question")
    chk = sub.add_parser(
        "check",
        parents=[within],
        help="verify a text against the sources: each sentence supported or not",
    )
    given = chk.add_mutually_exclusive_group(required=True)
    given.add_argument("text", nargs="?", help="the text to check")
    given.add_argument("--file", type=Path, help="check this file's text (- for stdin)")
    sub.add_parser("serve", help="start the web chat and the HTTP API (same as python app.py)")
    sub.add_parser(
        "mcp", parents=[within], help="serve the documents to an MCP client (an agent) over stdio"
    )
    _records_commands(sub)
    _eval_command(sub)
    return parser


def _records_commands(sub: argparse._SubParsersAction) -> None:
    """``rag collections`` and ``rag history``."""
    col = sub.add_parser("collections", help="list, create or delete collections")
    col_sub = col.add_subparsers(dest="action")
    made = col_sub.add_parser("create", help="make an empty collection")
    made.add_argument("name")
    made.add_argument(
        "--folder",
        action="append",
        type=Path,
        default=[],
        help="a folder it indexes (repeatable; default: a new folder of its own)",
    )
    gone = col_sub.add_parser(
        "delete", help="delete a collection's index (its folders and files stay)"
    )
    gone.add_argument("name")
    gone.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    his = sub.add_parser("history", help="list saved conversations, or export one")
    his.add_argument("--user", default=ANONYMOUS, help="whose (default: the chat without login)")
    his_sub = his.add_subparsers(dest="action")
    out = his_sub.add_parser("export", help="print a conversation as Markdown or JSON")
    out.add_argument("id", help="its id (rag history lists them)")
    out.add_argument("--format", choices=["markdown", "json"], default="markdown")


def _eval_command(sub: argparse._SubParsersAction) -> None:
    """``rag eval``."""
    ev = sub.add_parser("eval", help="measure retrieval, answers and citations; write a report")
    ev.add_argument(
        "--dataset",
        default="default",
        help="default (gold set), squad, halueval, or check (rag check's verdicts)",
    )
    ev.add_argument("--gold", type=Path, help="gold JSONL for the default dataset")
    ev.add_argument("--limit", type=int, help="ask at most this many questions (fixed seed)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--out", type=Path, help="report folder (default evals/reports/DATASET)")
    ev.add_argument(
        "--check", action="store_true", help="exit 1 when a floor in evals/thresholds.toml breaks"
    )
    ev.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="LLM",
        help="also answer with this RAG_LLM value (repeatable); reported side by side",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # `rag eval --dataset check` writes no plots
    missing = None if getattr(args, "dataset", None) == "check" else missing_extra(args.command)
    if missing:
        print(missing, file=sys.stderr)
        return 2
    try:
        rag = RAG()
    except ValidationError as err:
        print(_settings_error(err), file=sys.stderr)
        return 2

    try:
        if getattr(args, "collection", None):
            rag = open_collection(rag, args)
        return run(args, rag)
    except IndexBusy as err:
        print(f"rag: {err}", file=sys.stderr)
        return 3
    except (KeyError, ValueError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"rag: {message}", file=sys.stderr)
        return 2


def open_collection(rag: RAG, args: argparse.Namespace) -> RAG:
    """The collection ``--collection`` names. Only ``rag ingest`` makes one that does not
    exist (indexing the folders it is given, else a folder of its own)."""
    name = args.collection
    if name in rag.collection_names():
        return rag.collection(name)
    if args.command != "ingest":
        raise KeyError(f"no collection named {name!r}; rag collections lists them")
    folders = [p for p in args.paths if p.is_dir()]
    made = rag.create_collection(name, folders or None)
    print(f"made collection {name} (folder {made.corpus_dir})", file=sys.stderr)
    return made


def run(args: argparse.Namespace, rag: RAG) -> int:
    """Carry out one parsed command; the exit status."""
    if args.command == "ingest":
        report = rag.ingest(args.paths or None, progress=args.progress)
        print(report)
        print(report.summary)
        return (
            1 if report.skipped and not (report.added or report.updated or report.unchanged) else 0
        )
    if args.command == "eval":
        return evaluate_command(args, rag.settings)
    if args.command == "collections":
        return collections_command(args, rag)
    if args.command == "history":
        return history_command(args, rag)
    if args.command in ("ask", "check", "mcp") and rag.count() == 0:
        print(f"Indexing {rag.corpus_dir} ...", file=sys.stderr)
        print(rag.ingest(wait=600), file=sys.stderr)
    if args.command == "ask":
        print(rag.answer(args.question))
        return 0
    if args.command == "check":
        return check_command(args, rag)
    if args.command == "mcp":
        from rag.serve.mcp import create_mcp  # stdout is the protocol's: nothing else prints there

        create_mcp(rag).run("stdio")
        return 0
    warming = threading.Thread(target=rag.warm)
    warming.start()  # the question encoder loads while the web framework is imported
    from rag.serve.server import serve

    warming.join()
    serve(rag)
    return 0


def collections_command(args: argparse.Namespace, rag: RAG) -> int:
    """List the collections, or create or delete one."""
    if args.action == "create":
        made = rag.create_collection(args.name, args.folder or None)
        print(f"made collection {args.name}, indexing {', '.join(map(str, made.folders))}")
        print(f"fill it with: rag ingest --collection {args.name}")
        return 0
    if args.action == "delete":
        if not args.yes:
            if not sys.stdin.isatty():
                print("rag: deleting a collection needs --yes", file=sys.stderr)
                return 2
            reply = input(f"Delete collection {args.name} (its index; files stay)? [y/N] ")
            if reply.strip().lower() not in ("y", "yes"):
                return 1
        rag.delete_collection(args.name)
        print(f"deleted collection {args.name}")
        return 0
    for c in rag.collections():
        mark = " (default)" if c.default else ""
        chunks = f"{c.chunks:,} chunk{'' if c.chunks == 1 else 's'}"
        print(f"{c.name}{mark}: {chunks}, {', '.join(map(str, c.folders))}")
    return 0


def history_command(args: argparse.Namespace, rag: RAG) -> int:
    """List a user's saved conversations, or print one."""
    if args.action == "export":
        if args.format == "json":
            print(json.dumps(rag.history.export(args.id, args.user), indent=2, ensure_ascii=False))
        else:
            print(rag.history.markdown(args.id, args.user), end="")
        return 0
    for c in rag.history.conversations(args.user):
        print(f"{c.id}  {c.updated:%Y-%m-%d %H:%M}  [{c.collection}]  {c.title}")
    return 0


def check_command(args: argparse.Namespace, rag: RAG) -> int:
    """Print the verdicts; exit 1 when a sentence is contradicted, 2 for bad input."""
    if args.file is None:
        text = args.text
    else:
        try:
            text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as err:
            print(f"rag check: cannot read {args.file}: {err}", file=sys.stderr)
            return 2
    try:
        result = rag.check(text, progress=_progress if sys.stderr.isatty() else None)
    except ValueError as err:
        print(f"rag check: {err}", file=sys.stderr)
        return 2
    print(result)
    return 1 if result.count("contradicted") else 0


def _progress(done: int, total: int) -> None:
    print(f"\rchecked {done}/{total} sentences", end="\n" if done == total else "", file=sys.stderr)


def evaluate_command(args: argparse.Namespace, settings) -> int:
    from rag.evaluation.datasets import GOLD
    from rag.evaluation.evaluate import check_floors, evaluate

    if args.dataset == "check":
        return check_eval_command(args, settings)
    run, report = evaluate(
        args.dataset,
        limit=args.limit,
        seed=args.seed,
        gold=args.gold or GOLD,
        out_dir=args.out,
        settings=settings,
        compare=args.compare,
    )
    data = run.to_json()
    split = "test" if "test" in data["metrics"] else "all"
    retrieval = ("recall@1", f"recall@{run.k}", "mrr", "bm25_recall@1", f"bm25_recall@{run.k}")
    answers = (
        "contains_answer",
        "citation_recall",
        "citation_precision",
        "gold_coverage",
        "quote_exactness",
        "abstention_recall",
        "wrong_abstention_rate",
    )
    for i, answered in enumerate([data, *(other.to_json() for other in run.compared)]):
        print(f"{split} split, answered by {answered['answerer']}:")
        for key in (retrieval if i == 0 else ()) + answers:
            value = answered["metrics"][split].get(key)
            print(f"{key:>24}: {'–' if value is None else round(value, 3)}")
    print(f"report: {report}")
    if not args.check:
        return 0
    broken = check_floors(data, args.dataset)
    for line in broken:
        print(f"FLOOR BROKEN: {line}", file=sys.stderr)
    return 1 if broken else 0


def check_eval_command(args: argparse.Namespace, settings) -> int:
    from rag.evaluation.check_eval import evaluate_check
    from rag.evaluation.evaluate import check_floors

    data, report = evaluate_check(settings, args.out)
    split = "test"
    print(f"{split} split, rag check against the word-level judge:")
    for key, value in data["metrics"][split].items():
        if not isinstance(value, dict):
            print(f"{key:>24}: {round(value, 3)}")
    print(f"report: {report}")
    if not args.check:
        return 0
    broken = check_floors(data, "check")
    for line in broken:
        print(f"FLOOR BROKEN: {line}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
