"""Evaluation: datasets (:mod:`.datasets`), the measures (:mod:`.metrics`), running an
evaluation (:mod:`.evaluate`) and writing its report (:mod:`.report`); ``rag check``'s
own evaluation (:mod:`.check_eval`).

It sits beside serving, on top of :mod:`rag.pipeline`; one way inside: metrics <- report
<- evaluate. Nothing below imports it.
"""
