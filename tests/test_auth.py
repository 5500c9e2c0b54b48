"""RAG_AUTH puts a login in front of the served chat (`python app.py`, for real)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.load_chat import App, ask, new_client, start_app

pytestmark = pytest.mark.slow
LOGIN = ("ann", "correct horse")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    log = tmp_path_factory.mktemp("auth") / "app.log"
    with start_app(log_path=log, auth=LOGIN) as running:
        yield running


def test_the_right_login_gets_answers(app: App) -> None:
    assert "[1]" in app.first_reply[0]["content"]


def test_no_login_is_refused(app: App) -> None:
    with pytest.raises(Exception, match="credentials were not provided"):
        client = new_client(app.url, timeout=10)
        ask(client, "Where are diplomats meeting?", timeout=30)


def test_a_wrong_password_is_refused(app: App) -> None:
    with pytest.raises(ValueError, match="Could not login"):
        new_client(app.url, timeout=10, auth=("ann", "wrong"))


def test_the_password_never_reaches_the_log(app: App) -> None:
    assert LOGIN[1] not in app.log()
