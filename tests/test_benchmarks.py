"""The benchmarks run from a checkout and print the figures they promise."""

import json
from pathlib import Path

import pytest

from tests.conftest import run_script

PIPELINES = ["rag", "rag-fp32", "rag-before", "langchain", "encode", "encode-bf16"]


@pytest.mark.slow
def test_the_scale_benchmark_measures_every_pipeline_on_the_default_corpus(
    tmp_path: Path,
) -> None:
    out = run_script("benchmarks/scale.py", "--sizes", "default", "--results", str(tmp_path))
    rows = [line.split(" | ")[0] for line in out.splitlines() if line.startswith("| ")]
    assert rows[2:] == [f"| {name}" for name in PIPELINES]
    figures = json.loads((tmp_path / "scale.json").read_text())["default"]
    assert figures["rag"]["chunks"] > 0
    assert figures["rag"]["peak_rss_mib"] > 0
    assert figures["rag"]["cold_start_s"] > 0
    assert (tmp_path / "scale.png").stat().st_size > 0


@pytest.mark.slow
def test_the_memory_benchmark_times_every_setting_side_by_side() -> None:
    out = run_script("benchmarks/encoder_memory.py", "--articles", "2", "--rounds", "1")
    settings = [line.split(" | ")[1] for line in out.splitlines() if line.startswith("| 1 ")]
    assert settings == ["pinned", "glibc", "trim"]
    ratios = [line for line in out.splitlines() if " / glibc: " in line]
    assert [r.split(" / ")[0] for r in ratios] == ["pinned", "trim"]
    assert all(float(r.split(": ")[1]) > 0 for r in ratios)


@pytest.mark.slow
def test_the_formats_benchmark_times_every_format_with_ocr() -> None:
    out = run_script("benchmarks/formats.py", "--pages", "2", "--scans", "1", "--runs", "1")
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| ")][1:]
    assert [r[0].removeprefix("| ") for r in rows] == [
        "pdf",
        "docx",
        "pptx",
        "xlsx",
        "csv",
        "epub",
        "md",
        "pdf, scanned (OCR)",
        "png (OCR)",
    ]
    assert all(float(r[4].replace(",", "")) > 0 and float(r[6].rstrip(" |")) > 0 for r in rows)


@pytest.mark.slow
def test_the_api_load_benchmark_sets_the_api_beside_in_process_answers() -> None:
    out = run_script("-m", "benchmarks.api_load", "--conversations", "3", "--turns", "2")
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| ")][1:]
    assert [r[0] for r in rows] == [
        "| in-process RAG.answer",
        "| API /v1/chat/completions",
        "| chat /chat (Gradio HTTP)",
        "| chat /chat (gradio_client)",
    ]
    assert all(r[2] == "0" and r[3] == "6" for r in rows)  # no errors, every answer cites
    assert all(float(r[9]) > 0 for r in rows)  # the server's (or the answerer's) CPU seconds


@pytest.mark.slow
def test_the_api_load_benchmark_sets_checkouts_side_by_side() -> None:
    out = run_script(
        "-m", "benchmarks.api_load", "--conversations", "2", "--turns", "1",
        "--app-dir", ".", "--app-dir", ".",
    )  # fmt: skip
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| ")][1:]
    assert [r[0].split(" at ")[0] for r in rows] == [
        "| in-process RAG.answer",
        "| API /v1/chat/completions",
        "| API /v1/chat/completions",
    ]
    assert all(r[2] == "0" for r in rows)


@pytest.mark.slow
def test_the_answer_speed_benchmark_sets_answers_beside_langchain_and_fp32(
    tmp_path: Path,
) -> None:
    import shutil

    from rag.reading import crossencoder as ce

    smaller = tmp_path / "smaller" / "crossencoder.npz"
    smaller.parent.mkdir()
    ce.save_trained(ce.torch_model(depth=1), smaller)
    shutil.copy(ce.CARD, smaller.with_suffix(".json"))
    out = run_script(
        "benchmarks/answer_speed.py", "--size", "default", "--precisions", "fp32,int8",
        "--rounds", "1", "--weights", str(smaller),
    )  # fmt: skip
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| ")]
    calls = [r[0].removeprefix("| ") for r in rows if r[0].startswith("| LangChain")]
    assert calls == ["LangChain similarity_search(k=5)"]
    readers = {r[0].removeprefix("| "): r for r in rows if r[0].startswith("| answer()")}
    assert "answer() fp32->fp32" in readers and "answer() int8->int8" in readers
    decided = [r for r in rows if len(r) > 6 and r[0] == "| answer() fp32->fp32"]
    assert decided[0][1] == "1.000"  # fp32 decides as fp32
    assert float(decided[0][4]) > 0.5  # and its gold coverage is a real figure
    beside = "| answer() fp32->fp32 smaller/crossencoder.npz"
    other = [r for r in rows if len(r) > 6 and r[0] == beside]
    assert other and float(other[0][1]) < 1.0  # a one-layer cut of it decides otherwise


@pytest.mark.slow
def test_the_soak_reads_the_servers_memory_as_it_goes() -> None:
    out = run_script(
        "-m", "benchmarks.soak_api", "--minutes", "0.3", "--every", "0.1", "--conversations", "2"
    )
    readings = [line.split(" | ") for line in out.splitlines() if line.startswith("| ")][1:]
    assert len(readings) >= 3
    assert int(readings[-1][1]) > 0 and readings[-1][2] == "0"
    assert all(float(r[-1].rstrip(" |")) > 0 for r in readings)


@pytest.mark.slow
def test_the_history_benchmark_times_versions_and_saved_conversations() -> None:
    out = run_script("benchmarks/history.py", "--documents", "50", "--turns", "3", "--runs", "1")
    figures = [line.split()[-2] for line in out.splitlines() if line.endswith((" s", " ms"))]
    assert len(figures) == 7 and all(float(f) >= 0 for f in figures)
    assert "save one answer" in out and "check one citation's version" in out


@pytest.mark.slow
def test_the_ingest_profile_times_each_step_of_an_ingest() -> None:
    out = run_script("benchmarks/profile_ingest.py", "default")
    steps = {line.split("  ")[1].strip() for line in out.splitlines() if line.endswith("%")}
    assert {"encode (model + spans)", "chroma upsert", "split", "BM25 build"} <= steps
