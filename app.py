"""The web chat: ``python app.py`` serves it on RAG_HOST:RAG_PORT (127.0.0.1:7860)."""

import sys

from rag.serve.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve"]))
