"""The web chat: ``python app.py`` serves it on RAG_HOST:RAG_PORT (127.0.0.1:7860)."""

from rag.ui import serve

if __name__ == "__main__":
    serve()
