"""The errors rag raises on purpose, as one family: a caller catches :class:`RagError`
for all of them, or one kind; the HTTP API answers each kind with its own status
(:mod:`rag.serve.api.errors`), so no layer has to read a message to know what went wrong.

Each kind also subclasses the built-in exception rag raised before the family existed
(``KeyError``, ``ValueError``, ``RuntimeError``), so code that catches those still
works. ``code`` names the error for programs (the API's ``error.code``); the message is
for people.
"""

from __future__ import annotations


class RagError(Exception):
    """Something rag refused or could not do, with a ``code`` that names it."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        # KeyError's own str() would quote the message; the family reads the same everywhere.
        return str(self.args[0]) if self.args else ""


class NotFound(RagError, KeyError):
    """No such document, collection or saved conversation."""

    code = "not_found"


class AlreadyExists(RagError, ValueError):
    """The name is taken (a collection)."""

    code = "already_exists"


class IndexBusy(RagError, RuntimeError):
    """Another ingest is writing the same index (or another evaluation is using it);
    the message names it."""

    code = "index_busy"


class BadInput(RagError, ValueError):
    """A request rag cannot act on as given: a name not allowed, a blank title, the
    default collection asked to be deleted."""

    code = "invalid_request"


class TooLarge(RagError, ValueError):
    """The input is over a configured limit (the text to check)."""

    code = "too_large"


class Forbidden(RagError):
    """The action is turned off by the server's settings (``RAG_UPLOADS=false``)."""

    code = "forbidden"
