"""Reading: retrieved passages -> a cited answer, and texts -> verdicts.

- :mod:`.answer`: the :class:`~.answer.Answer` every answerer returns, and the question as
  each reads it; :mod:`.cite`: citations and their markers;
- :mod:`.extractive`: the default answerer, which quotes; :mod:`.ranker`,
  :mod:`.abstain` and :mod:`.logistic`: the small word-feature models it reads with;
  :mod:`.crossencoder`: the trained reading model (answers / supports / contradicts);
- :mod:`.judge`: the lexical support judge; :mod:`.check`: ``check()``, a text verified
  sentence by sentence;
- :mod:`.conversation`: follow-ups; :mod:`.generate` and :mod:`.llamacpp`: answers
  written by a language model and verified against their citations.

It may import :mod:`rag.retrieve`, :mod:`rag.index`, :mod:`rag.documents` and
:mod:`rag.config`, never :mod:`rag.pipeline`, serving or evaluation.
"""
