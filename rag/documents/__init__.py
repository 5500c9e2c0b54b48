"""Documents: files -> text (one reader per format, :mod:`.formats`) -> chunks with exact
character offsets (:mod:`.ingest`), and the sentence splitting every layer above shares
(:mod:`.sentences`).

The bottom layer: it imports only :mod:`rag.config` and itself.
"""
