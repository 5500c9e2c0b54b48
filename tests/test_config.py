"""Settings: one typed object, read from RAG_* variables, validated."""

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
from pydantic import ValidationError

from rag import RAG, Settings
from rag.config import SettingsGroup


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_K", "7")
    monkeypatch.setenv("RAG_PORT", "9001")
    monkeypatch.setenv("RAG_INDEX_DIR", "/tmp/some-index")
    settings = Settings()
    assert (settings.k, settings.port, settings.index_dir) == (7, 9001, Path("/tmp/some-index"))


def test_keyword_overrides_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_K", "7")
    assert Settings(k=2).k == 2


def test_defaults_serve_on_loopback_only() -> None:
    assert (Settings().host, Settings().port) == ("127.0.0.1", 7860)


def test_overlap_as_large_as_chunk_is_rejected() -> None:
    with pytest.raises(ValidationError, match="chunk_overlap"):
        Settings(chunk_size=50, chunk_overlap=50)


def test_chunk_larger_than_model_window_is_rejected() -> None:
    with pytest.raises(ValidationError, match="chunk_size"):
        Settings(chunk_size=300)


def test_unknown_setting_is_rejected() -> None:
    with pytest.raises(ValidationError, match="top_k"):
        Settings(top_k=3)


def test_collection_name_shorter_than_chroma_allows_is_rejected() -> None:
    with pytest.raises(ValidationError, match="collection"):
        Settings(collection="ab")


def test_rag_rejects_settings_and_overrides_together() -> None:
    with pytest.raises(ValueError, match="either settings or keyword overrides"):
        RAG(Settings(), k=3)


def test_the_chat_is_open_without_auth() -> None:
    assert Settings().credentials() is None


def test_auth_takes_one_user_and_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_AUTH", "ann:pass:with:colons")
    assert Settings().credentials() == [("ann", "pass:with:colons")]


def test_auth_takes_a_file_of_logins(tmp_path: Path) -> None:
    logins = tmp_path / "logins"
    logins.write_text("ann:one\n\nbob:two\n")
    assert Settings(auth=str(logins)).credentials() == [("ann", "one"), ("bob", "two")]


@pytest.mark.parametrize("value", ["nocolon", ":password", "user:", "/no/such/file"])
def test_malformed_auth_is_rejected(value: str) -> None:
    with pytest.raises(ValidationError, match=r"auth \(RAG_AUTH\) must be user:password"):
        Settings(auth=value)


def test_auth_is_hidden_from_reprs() -> None:
    assert "secret" not in repr(Settings(auth="ann:secret"))


@pytest.mark.parametrize(("name", "value"), [("max_file_mb", 0), ("max_question_chars", 0)])
def test_limits_must_be_positive(name: str, value: int) -> None:
    with pytest.raises(ValidationError, match=name):
        Settings(**{name: value})


@pytest.mark.parametrize(
    "option", [{"chroma_ssl": True}, {"chroma_token": "t"}, {"chroma_ca_file": "ca.pem"}]
)
def test_server_options_without_a_server_are_rejected(option: dict) -> None:
    with pytest.raises(ValueError, match="need RAG_CHROMA_HOST"):
        Settings(**option)


def test_a_ca_file_without_https_is_rejected() -> None:
    with pytest.raises(ValueError, match="needs RAG_CHROMA_SSL=true"):
        Settings(chroma_host="db", chroma_ca_file="ca.pem")


def test_reader_weights_must_be_a_file_with_its_card_beside(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"RAG_READER_WEIGHTS: .*missing\.npz is not a file"):
        Settings(reader_weights=tmp_path / "missing.npz")
    (tmp_path / "mine.npz").write_bytes(b"")
    with pytest.raises(ValueError, match=r"has no card .*mine\.json beside it"):
        Settings(reader_weights=tmp_path / "mine.npz")


def test_the_server_answers_eight_questions_a_core_at_once_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert Settings().answer_slots == 48
    assert Settings(answers_at_once=3).answer_slots == 3


def test_answers_that_wait_on_the_network_get_more_slots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert Settings(chroma_host="db.example").answer_slots == 32
    assert Settings(llm="ollama:llama3").answer_slots == 32
    assert Settings(llm="ollama:llama3", answers_at_once=4).answer_slots == 4


def test_answers_at_once_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="answers_at_once"):
        Settings(answers_at_once=0)


# --- The groups: each section of the flat fields, as one layer sees it ---

SECTIONS = {
    "documents": ["corpus_dir", "index_dir", "collection"],
    "chroma": ["chroma_host", "chroma_port", "chroma_ssl", "chroma_ca_file", "chroma_token"],
    "embedding": ["embedding_model", "embedding_precision", "chunk_size", "chunk_overlap"],
    "search": ["k", "retrieval"],
    "reading": [
        "max_sentences",
        "min_score",
        "abstention",
        "min_confidence",
        "reader",
        "sentence_margin",
        "reader_precision",
        "reader_weights",
        "answer_cache",
    ],
    "generation": [
        "llm",
        "llm_base_url",
        "llm_api_key",
        "llm_timeout",
        "llm_retries",
        "llm_max_tokens",
        "verifier",
        "unsupported",
    ],
    "limits": ["max_file_mb", "max_question_chars", "max_check_chars"],
    "serving": ["host", "port", "auth", "uploads", "answers_at_once", "api_keys"],
    "history": ["history_db", "keep_versions", "feedback_file"],
}
"""Each group of ``Settings``, and the settings it shows, in order."""


def shown(group: SettingsGroup) -> list[str]:
    return list(type(group).settings_names().values())


@pytest.mark.parametrize("name", SECTIONS)
def test_each_group_shows_exactly_the_settings_of_its_section(name: str) -> None:
    settings = Settings(chroma_host="db", chroma_token="t", llm="ollama:m", auth="a:b")
    group = getattr(settings, name)
    assert shown(group) == SECTIONS[name]
    for field, setting in type(group).settings_names().items():
        assert getattr(group, field) == getattr(settings, setting)


def test_every_setting_is_in_exactly_one_group() -> None:
    """A new setting must be given a group (and a line in SECTIONS above)."""
    groups = [shown(getattr(Settings(), name)) for name in SECTIONS]
    assert sorted(s for group in groups for s in group) == sorted(Settings.model_fields)
    assert {type(getattr(Settings(), n)) for n in SECTIONS} == set(SettingsGroup.__subclasses__())


def test_the_sections_of_the_fields_are_the_groups_in_order() -> None:
    assert [s for name in SECTIONS for s in SECTIONS[name]] == list(Settings.model_fields)


def test_a_keyword_sets_its_group() -> None:
    assert Settings(k=3).search.k == 3
    assert RAG(k=3).settings.search.k == 3


def test_an_environment_variable_sets_its_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CHROMA_HOST", "db.example")
    monkeypatch.setenv("RAG_CHROMA_PORT", "9000")
    monkeypatch.setenv("RAG_LLM_TIMEOUT", "5")
    monkeypatch.setenv("RAG_MAX_FILE_MB", "1")
    settings = Settings()
    assert (settings.chroma.host, settings.chroma.port) == ("db.example", 9000)
    assert settings.generation.timeout == 5.0
    assert settings.limits.file_bytes == settings.max_file_bytes == 2**20


def test_a_copy_shows_its_own_values_in_its_groups() -> None:
    """Groups are made on each read: a copy never shows the original's."""
    settings = Settings()
    assert settings.documents.collection == "rag"
    assert settings.model_copy(update={"collection": "other"}).documents.collection == "other"


def test_groups_are_read_only() -> None:
    with pytest.raises(FrozenInstanceError):
        Settings().search.k = 9  # type: ignore[misc]
