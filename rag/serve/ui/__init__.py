"""The web chat: Gradio Blocks over :meth:`RAG.stream`, and ``/chat`` for programs.

The page has a Chat tab (answers with their sources in context, a panel that opens the
whole cited document with the quotes highlighted, thumbs up/down, copy), a Check tab
(paste a text: each sentence supported, contradicted or not found, with its quotes) and a
Documents tab (what is indexed, upload, re-index). One module per part:

- :mod:`.app`: the page put together, the endpoints for programs, launching the server;
- :mod:`.chat`: the question box and the conversation; :mod:`.sources`: the source panel;
- :mod:`.feedback`: ratings; :mod:`.check`: the Check tab; :mod:`.documents`: the
  Documents tab;
- :mod:`.render`: answers as escaped HTML for the page and as text for programs;
  :mod:`.assets`: the page's CSS and JavaScript.
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: we run offline
# Gradio asks matplotlib for its backend around every call; left to resolve it, matplotlib
# imports pyplot during the first answer (about 0.6 s). A server draws nothing on screen.
os.environ.setdefault("MPLBACKEND", "agg")

from rag.serve.ui.app import build_demo, launch

__all__ = ["build_demo", "launch"]
