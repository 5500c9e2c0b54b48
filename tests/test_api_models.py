"""The API's wire models are the domain's records, not copies of them: a citation's and
a passage's JSON is its ``record()``, field for field and in order, and /openapi.json
still types every field."""

from __future__ import annotations

from rag.documents.formats import Layout
from rag.reading.cite import Citation
from rag.retrieve import Passage
from rag.serve.api.models import CitationOut, PassageOut

CITATION = Citation(
    2, "report.pdf", "costs rose", 10, 20, "p1", 0.9, 3, "Report > Costs", "page", "ab12"
)
PASSAGE = Passage(
    "p1", "report.pdf", "The costs rose.", 6, 21, 0.71, layout=Layout(((0, 3),), ((0, "Costs"),))
)


def test_a_citation_goes_out_as_its_record() -> None:
    assert CitationOut(**CITATION.record()).model_dump() == CITATION.record()
    assert list(CitationOut.model_fields) == list(CITATION.record())


def test_a_passage_goes_out_as_its_record() -> None:
    assert PassageOut(**PASSAGE.record()).model_dump() == PASSAGE.record()
    assert list(PassageOut.model_fields) == list(PASSAGE.record())
    assert PASSAGE.record()["page"] == 3 and PASSAGE.record()["section"] == "Costs"


def test_what_the_reader_keeps_for_itself_stays_off_the_wire() -> None:
    assert not {"passage_id", "score", "unit"} & set(CitationOut.model_fields)
    assert not {"sentence_vectors", "layout", "version"} & set(PassageOut.model_fields)


def test_the_schema_types_every_field() -> None:
    citation = CitationOut.model_json_schema()
    assert citation["required"] == ["number", "source", "quote", "start", "end"]
    assert citation["properties"]["start"]["type"] == "integer"
    assert citation["properties"]["version"]["description"]
    passage = PassageOut.model_json_schema()
    assert passage["required"] == ["id", "source", "text", "start", "end", "score"]
    assert passage["properties"]["score"]["type"] == "number"
    assert passage["properties"]["page"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
