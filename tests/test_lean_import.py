"""The core stays lean: answering a question imports none of the packages that only
serving (``rag[serve]``: gradio, fastapi) or the eval report (``rag[eval]``: matplotlib)
need, so ``pip install rag`` alone answers and checks. Run in a fresh interpreter, as a
user's script would, with an index of its own (the default corpus indexed on first use)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

CHECK = (
    "import rag, sys; rag.answer('What would Ukraine get in return?');"
    " assert not {'gradio','fastapi','matplotlib'} & set(sys.modules),"
    " sorted({'gradio','fastapi','matplotlib'} & set(sys.modules))"
)


@pytest.mark.slow
def test_answering_imports_no_serving_or_report_package(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
