"""Settings: one typed object, read from RAG_* variables, validated."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from rag import RAG, Settings


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


def test_the_server_answers_one_question_a_core_at_once_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert Settings().answer_slots == 6
    assert Settings(answers_at_once=3).answer_slots == 3


def test_answers_that_wait_on_the_network_get_more_slots() -> None:
    assert Settings(chroma_host="db.example").answer_slots == 32
    assert Settings(llm="ollama:llama3").answer_slots == 32
    assert Settings(llm="ollama:llama3", answers_at_once=4).answer_slots == 4


def test_answers_at_once_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="answers_at_once"):
        Settings(answers_at_once=0)
