"""The `rag` command, run for real in subprocesses."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import rag_cli

pytestmark = pytest.mark.slow


def test_ask_indexes_an_empty_index_then_answers_with_a_numbered_quote(cli_env) -> None:
    done = rag_cli(
        "ask", "What would Ukraine receive in exchange for ceding territory?", env=cli_env
    )
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stderr
    answer, sources = done.stdout.split("\nSources:\n")
    assert "[1]" in answer
    assert "in return for international security guarantees" in sources
    assert sources.startswith('[1] us-drafted-peace-framework.txt: "')


def test_ask_abstains_when_the_sources_do_not_say(cli_env) -> None:
    done = rag_cli("ask", "What is the boiling point of nitrogen?", env=cli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("The sources don't say")
    assert "Sources:" not in done.stdout


def test_ingest_reports_added_skipped_and_then_unchanged_files(cli_env, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "plan.md").write_text("# Plan\n\nThe launch is planned for March.")
    (folder / "drawing.svg").write_text("<svg></svg>")
    first = rag_cli("ingest", str(folder), env=cli_env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("1 added, 0 updated, 0 removed, 0 unchanged, 1 skipped")
    assert "drawing.svg: unsupported format '.svg'" in first.stdout
    last = first.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"1 file, 1 chunk embedded in [\d.]+ s, [\d.,]+ chunks/s, fp32", last)
    second = rag_cli("ingest", str(folder), env=cli_env)
    assert second.stdout.startswith("0 added, 0 updated, 0 removed, 1 unchanged, 1 skipped")
    assert re.search(r"\n1 file, 0 chunks embedded in [\d.]+ s$", second.stdout.strip())


def test_invalid_settings_exit_2_naming_the_variable(cli_env) -> None:
    done = rag_cli("ask", "anything", env={**cli_env, "RAG_K": "0"})
    assert done.returncode == 2
    assert "RAG_K" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_malformed_login_is_named_but_never_echoed(cli_env) -> None:
    done = rag_cli("ask", "anything", env={**cli_env, "RAG_AUTH": ":hunter2"})
    assert done.returncode == 2
    assert "RAG_AUTH" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout


def test_check_prints_each_sentence_verdict_and_exits_1_on_a_contradiction(cli_env) -> None:
    done = rag_cli("check", "Diplomats were meeting in Paris and Berlin.", env=cli_env)
    assert done.returncode == 1, done.stderr
    assert "✗ contradicted" in done.stdout
    assert "diplomats meet in Ankara and Kyiv" in done.stdout


def test_check_reads_a_file_and_exits_0_when_nothing_is_contradicted(
    cli_env, tmp_path: Path
) -> None:
    draft = tmp_path / "draft.md"
    draft.write_text("Reuters reported the outline on November 19, 2025.\n", encoding="utf-8")
    done = rag_cli("check", "--file", str(draft), env=cli_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("1 supported, 0 contradicted, 0 not found, of 1 sentences.")


def test_check_of_a_missing_file_says_so(cli_env, tmp_path: Path) -> None:
    done = rag_cli("check", "--file", str(tmp_path / "nope.md"), env=cli_env)
    assert done.returncode == 2
    assert "cannot read" in done.stderr


def test_a_collection_is_made_by_ingesting_into_it_then_listed_asked_and_deleted(
    cli_env, tmp_path: Path
) -> None:
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "us-drafted-peace-framework.txt").write_text(
        "The supply contract was signed by Acme Ltd on 3 June 2024."
    )  # the default corpus has a file of this name too
    made = rag_cli("ingest", "--collection", "contracts", str(folder), env=cli_env)
    assert made.returncode == 0, made.stderr
    assert f"made collection contracts (folder {folder})" in made.stderr
    listed = rag_cli("collections", env=cli_env).stdout.splitlines()
    assert listed[1] == f"contracts: 1 chunk, {folder}"
    asked = rag_cli("ask", "--collection", "contracts", "Who signed the contract?", env=cli_env)
    assert 'us-drafted-peace-framework.txt: "The supply contract was signed' in asked.stdout
    unknown = rag_cli("ask", "--collection", "nope-nope", "Who?", env=cli_env)
    assert unknown.returncode == 2
    assert "no collection named 'nope-nope'" in unknown.stderr
    refused = rag_cli("collections", "delete", "contracts", env=cli_env)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    gone = rag_cli("collections", "delete", "contracts", "--yes", env=cli_env)
    assert gone.stdout == "deleted collection contracts\n"
    assert "contracts" not in rag_cli("collections", env=cli_env).stdout
    assert (folder / "us-drafted-peace-framework.txt").exists()


def test_history_lists_and_exports_a_saved_conversation(cli_env, tmp_path: Path) -> None:
    import json

    from rag import RAG
    from rag.config import Settings

    settings = Settings(
        corpus_dir=Path(cli_env["RAG_CORPUS_DIR"]), index_dir=Path(cli_env["RAG_INDEX_DIR"])
    )
    local = RAG(settings)
    local.ingest(progress=False)
    answer = local.answer("What would Ukraine receive in exchange for ceding territory?")
    talk = local.history.start("ann", "rag", answer.question)
    local.history.add(talk.id, "ann", answer)
    assert rag_cli("history", env=cli_env).stdout == ""  # the anonymous user has none
    listed = rag_cli("history", "--user", "ann", env=cli_env).stdout
    assert talk.id in listed and answer.question in listed
    markdown = rag_cli("history", "--user", "ann", "export", talk.id, env=cli_env).stdout
    assert markdown.startswith(f"# {answer.question}\n")
    assert answer.citations[0].quote in markdown
    data = json.loads(
        rag_cli(
            "history", "--user", "ann", "export", talk.id, "--format", "json", env=cli_env
        ).stdout
    )
    assert data["turns"][0]["text"] == answer.text
    other = rag_cli("history", "--user", "bob", "export", talk.id, env=cli_env)
    assert other.returncode == 2 and "no saved conversation" in other.stderr


@pytest.mark.parametrize(
    ("command", "blocked", "extra"),
    [("serve", "gradio", "serve"), ("mcp", "mcp", "serve"), ("eval", "matplotlib", "eval")],
)
def test_a_command_whose_extra_is_missing_names_it(cli_env, command, blocked, extra) -> None:
    """The core install lacks the extras; the command says which to install, at once."""
    code = (
        f"import sys; sys.modules[{blocked!r}] = None; from rag.serve.cli import main;"
        f" sys.exit(main([{command!r}]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=cli_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert f"pip install 'rag[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr
