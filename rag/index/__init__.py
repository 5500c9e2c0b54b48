"""The index: embedding (:mod:`.embed`), the Chroma store of chunks and their sentence
vectors (:mod:`.store`), and the lexical BM25 index of hybrid retrieval (:mod:`.bm25`).

It may import :mod:`rag.documents` and :mod:`rag.config`, never reading, serving or
evaluation.
"""
