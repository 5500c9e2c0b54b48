"""The support judge: pairs that must pass and pairs that must fail."""

import pytest

from rag.reading.judge import judge

PREMISE = (
    "A United States drafted outline for a settlement to the war between Russia and Ukraine "
    "would ask Kyiv to cede portions of territory and to reduce key elements of its military "
    "capability in return for international security guarantees, Reuters reported on "
    "November 19, 2025. According to sources cited by the news agency, Ukraine was not "
    "involved in preparing the framework."
)

SUPPORTED = [
    PREMISE.split(". ")[0] + ".",  # the sentence itself
    "Kyiv would cede territory in return for international security guarantees [1].",
    "Reuters reported the outline on November 19, 2025.",
    "Ukraine was not involved in preparing the framework.",
    "The outline would ask Kyiv to reduce its military capability.",
]
UNSUPPORTED = [
    "Reuters reported the outline on November 21, 2025.",  # wrong number
    "Ukraine was involved in preparing the framework.",  # negation dropped
    "Kyiv would receive NATO membership and billions in reconstruction aid.",  # new facts
    "The boiling point of nitrogen is minus 196 degrees.",  # unrelated
    "[1]",  # nothing claimed
]


@pytest.mark.parametrize("claim", SUPPORTED)
def test_claims_the_premise_states_are_supported(claim: str) -> None:
    verdict = judge(PREMISE, claim)
    assert verdict.supported, verdict.reason


@pytest.mark.parametrize("claim", UNSUPPORTED)
def test_claims_the_premise_does_not_state_are_not_supported(claim: str) -> None:
    assert not judge(PREMISE, claim).supported


def test_a_faithful_paraphrase_with_other_words_fails_a_documented_limit() -> None:
    claim = "Washington wants Ukraine to give up land for protection pledges."
    assert not judge(PREMISE, claim).supported


def test_the_verdict_says_why() -> None:
    assert "number" in judge(PREMISE, "Reuters reported the outline on November 21, 2025.").reason
