"""``rag``: ingest documents, ask a question, or serve the web chat."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError


def _settings_error(err: ValidationError) -> str:
    fields = "; ".join(
        f"RAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in err.errors()
    )
    return f"rag: invalid settings: {fields}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rag", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="index files and folders (default: the corpus folder)")
    ingest.add_argument("paths", nargs="*", type=Path, help="files or folders (.txt, .md)")
    ask = sub.add_parser("ask", help="answer a question with numbered sources and quotes")
    ask.add_argument("question")
    sub.add_parser("serve", help="start the web chat (same as python app.py)")
    args = parser.parse_args(argv)

    from rag import RAG

    try:
        rag = RAG()
    except ValidationError as err:
        print(_settings_error(err), file=sys.stderr)
        return 2

    if args.command == "ingest":
        report = rag.ingest(args.paths or None, progress=None)
        print(report)
        return (
            1 if report.skipped and not (report.added or report.updated or report.unchanged) else 0
        )
    if args.command == "ask":
        if rag.count() == 0:
            print(f"Indexing {rag.settings.corpus_dir} ...", file=sys.stderr)
            print(rag.ingest(), file=sys.stderr)
        print(rag.answer(args.question))
        return 0
    from rag.ui import serve

    serve(rag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
