"""One typed settings object, read from ``RAG_*`` environment variables.

Every knob of the pipeline lives here so that the CLI, the web chat and library
users configure the same thing the same way::

    >>> from rag.config import Settings
    >>> Settings(k=3).k
    3
    >>> # or: RAG_K=3 python app.py

The fields are flat, one a variable, as chromadb's ``Settings`` are: ``RAG_<FIELD>``,
``Settings(field=...)``, ``RAG(field=...)`` and ``settings.field`` are the contract with
users' environments and code, and stay as they are. Each layer, though, reads one concern,
so the fields come in groups, one a section of :class:`Settings`: ``settings.chroma`` is a
:class:`ChromaSettings` (``host``, ``port``, ...), ``settings.generation`` the LLM's, and
so on. A group is a read-only view made from the flat fields; code that needs one concern
takes its group, which says what it depends on and what it cannot see.

    >>> Settings(k=3).search.k
    3
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self, dataclass_transform

from pydantic import AfterValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.errors import BadInput

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout the package runs from; the default corpus and index live beside it."""

MODEL_MAX_TOKENS = 256
"""all-MiniLM-L6-v2 silently truncates input past this many word pieces."""

ANSWERS_PER_CORE = 8
"""Answers the server computes at once per core, by default: the reading model reads the
pairs of answers waiting together in one pass (:mod:`rag.reading.batching`), so more at
once served more a second (50 conversations through the API, 2 cores: 6.6 answers/s at
one a core, 9.4 at 2, 11.2 at 8, 11.6 at 24; p95/p50 1.26, 1.25, 1.33, 1.51)."""

SERVED_LLMS = ("openai:", "ollama:")
"""``RAG_LLM`` kinds reached over the network (``RAG_LLM_BASE_URL``, ``RAG_LLM_API_KEY``)."""


COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")
"""What a collection may be called: Chroma's rule, kept short enough for file names."""


def _collection_name(name: str) -> str:
    if not COLLECTION_NAME.fullmatch(name) or ".." in name:
        raise BadInput(
            f"{name!r} is not a collection name: 3 to 63 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit",
            code="invalid_collection",
        )
    return name


CollectionName = Annotated[str, AfterValidator(_collection_name)]


def _reader_weights(weights: Path | None) -> Path | None:
    if weights is not None:
        if not weights.is_file():
            raise ValueError(f"RAG_READER_WEIGHTS: {weights} is not a file")
        if not weights.with_suffix(".json").is_file():
            raise ValueError(
                f"RAG_READER_WEIGHTS: {weights} has no card {weights.with_suffix('.json')}"
                " beside it (evals/train_reader.py writes both)"
            )
    return weights


ReaderWeights = Annotated[Path | None, AfterValidator(_reader_weights)]
"""A reading model trained here: its weights, with the card its training wrote beside them."""


def collection_name(name: str) -> str:
    """``name`` when it may name a collection; else :class:`BadInput` (a ValueError)
    saying what may."""
    return _collection_name(str(name))


def _lines(secret: SecretStr, sep: str | None = None) -> list[str]:
    """The lines of the file ``secret`` names, else its value (split at ``sep``, if given)."""
    value = secret.get_secret_value()
    path = Path(value)
    if path.is_file():
        return path.read_text(encoding="utf-8").splitlines()
    return value.split(sep) if sep else [value]


@dataclass_transform(frozen_default=True)
class SettingsGroup:
    """A read-only view of one section of :class:`Settings`: what one layer reads.

    Each subclass is a frozen dataclass. Its field ``name`` is the setting ``prefix +
    name`` where :class:`Settings` has one, else the setting ``name``
    (``class ChromaSettings(SettingsGroup, prefix="chroma_")``: ``host`` is ``chroma_host``).
    """

    prefix: ClassVar[str] = ""

    def __init_subclass__(cls, prefix: str = "") -> None:
        cls.prefix = prefix
        dataclass(frozen=True)(cls)

    @classmethod
    def settings_names(cls) -> dict[str, str]:
        """Each field's name, and the name of the setting it shows."""
        names = {}
        for f in fields(cls):
            prefixed = cls.prefix + f.name
            names[f.name] = prefixed if prefixed in Settings.model_fields else f.name
        return names

    @classmethod
    def of(cls, settings: Settings) -> Self:
        """The group of ``settings``. Made on each read, not cached: ``model_copy(update=)``
        copies an instance's cache with it, which would then show the old values."""
        names = cls.settings_names().items()
        return cls(**{name: getattr(settings, setting) for name, setting in names})


class DocumentSettings(SettingsGroup):
    """Where the documents and the embedded index are, and the collection answered from."""

    corpus_dir: Path
    index_dir: Path
    collection: str


class ChromaSettings(SettingsGroup, prefix="chroma_"):
    """A Chroma server (``RAG_CHROMA_*``); ``host`` None: the embedded index instead."""

    host: str | None
    port: int
    ssl: bool
    ca_file: Path | None
    token: SecretStr | None


class EmbeddingSettings(SettingsGroup, prefix="embedding_"):
    """The embedding model, the precision of bulk encoding and the chunks it encodes."""

    model: str | None
    precision: Literal["auto", "fp32", "bf16"]
    chunk_size: int
    chunk_overlap: int


class SearchSettings(SettingsGroup):
    """How many passages are retrieved per question, and how."""

    k: int
    retrieval: Literal["dense", "hybrid"]


class ReadingSettings(SettingsGroup):
    """How the answer's sentences are picked from the passages, or the answer abstains."""

    max_sentences: int
    min_score: float
    abstention: Literal["crossencoder", "model", "cosine"]
    min_confidence: float | None
    reader: Literal["ranker", "crossencoder", "cosine"]
    sentence_margin: float
    reader_precision: Literal["auto", "fp32", "bf16", "int8"]
    reader_weights: Path | None
    answer_cache: int


class GenerationSettings(SettingsGroup, prefix="llm_"):
    """The language model that writes answers (``RAG_LLM_*``) and how they are checked."""

    llm: str
    base_url: str | None
    api_key: SecretStr | None
    timeout: float
    retries: int
    max_tokens: int
    verifier: Literal["crossencoder", "lexical"]
    unsupported: Literal["drop", "flag"]


class LimitSettings(SettingsGroup, prefix="max_"):
    """The largest inputs taken: files, questions, texts to check."""

    file_mb: float
    question_chars: int
    check_chars: int

    @property
    def file_bytes(self) -> int:
        """``file_mb`` in bytes: what ingest, upload and the web server compare to."""
        return int(self.file_mb * 2**20)


class ServingSettings(SettingsGroup):
    """The web chat and HTTP API: address, logins and keys, uploads, answers at once."""

    host: str
    port: int
    auth: SecretStr | None
    uploads: bool
    answers_at_once: int | None
    api_keys: SecretStr | None

    def credentials(self) -> list[tuple[str, str]] | None:
        """The web chat's logins from ``auth``; None when the chat is open to all.

        Raises ValueError for an entry that is not ``user:password``.
        """
        if self.auth is None:
            return None
        pairs = []
        for line in filter(str.strip, _lines(self.auth)):
            user, colon, password = line.strip().partition(":")
            if not (user and colon and password):
                raise ValueError(
                    "must be user:password (both non-empty) or the path of a file of such lines"
                )
            pairs.append((user, password))
        if not pairs:
            raise ValueError("the auth file holds no user:password line")
        return pairs

    def api_key_list(self) -> list[str]:
        """The API's keys from ``api_keys``; [] when the API needs none."""
        if self.api_keys is None:
            return []
        return [k.strip() for k in _lines(self.api_keys, ",") if k.strip()]


class HistorySettings(SettingsGroup, prefix="history_"):
    """What is kept: saved conversations, document versions, feedback."""

    db: Path | None
    keep_versions: int
    feedback_file: Path


class Settings(BaseSettings):
    """Settings of one RAG instance; each field can be set as ``RAG_<FIELD>``.

    Flat, as the environment and ``RAG(...)`` see them; each section below is also a
    read-only group (``settings.chroma.host``), as one layer sees it (module doc).
    """

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="forbid", frozen=True)

    # --- Documents and index: settings.documents ---
    corpus_dir: Path = Field(
        PROJECT_ROOT / "corpus", description="Folder of source documents indexed on first use."
    )
    index_dir: Path = Field(
        PROJECT_ROOT / ".rag" / "index", description="Where the persistent Chroma index is kept."
    )
    collection: CollectionName = Field(
        "rag",
        description="The collection answered from: its Chroma collection and BM25 index "
        "(`rag collections` lists them). Letters, digits, `.`, `_`, `-`; 3 to 63 characters.",
    )

    # --- Chroma server: settings.chroma (optional; default: an embedded index in index_dir) ---
    chroma_host: str | None = Field(
        None, description="Host of a Chroma server (`chroma run`); unset: embedded index_dir."
    )
    chroma_port: int = Field(8000, gt=0, lt=65536, description="Port of the Chroma server.")
    chroma_ssl: bool = Field(False, description="Reach the Chroma server over HTTPS.")
    chroma_ca_file: Path | None = Field(
        None, description="CA certificate(s) to verify the server's HTTPS certificate with."
    )
    chroma_token: SecretStr | None = Field(
        None,
        description="Sent as `Authorization: Bearer <token>` (Chroma's token auth or a proxy's).",
    )

    # --- Chunking and embedding: settings.embedding ---
    embedding_model: str | None = Field(
        None,
        description="Folder of a sentence-transformers model; default: packaged all-MiniLM-L6-v2.",
    )
    embedding_precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description="What bulk encoding (ingest, the eval) runs in: `auto` measures once per "
        "machine and picks `bf16` where the CPU's matrix units make it faster with vectors "
        "at cosine >= 0.9999 to fp32's, else `fp32`. Questions are encoded in fp32.",
    )
    chunk_size: int = Field(
        200,
        gt=0,
        le=MODEL_MAX_TOKENS - 2,
        description="Chunk length in model word pieces (the model's limit minus [CLS]/[SEP]).",
    )
    chunk_overlap: int = Field(40, ge=0, description="Word pieces shared by neighbouring chunks.")

    # --- Retrieval: settings.search ---
    k: int = Field(5, gt=0, le=100, description="Passages retrieved per question.")
    retrieval: Literal["dense", "hybrid"] = Field(
        "hybrid",
        description="`dense` (embedding only) or `hybrid` (embedding and BM25, fused by rank).",
    )

    # --- Reading: settings.reading ---
    max_sentences: int = Field(3, gt=0, le=20, description="Most sentences in an answer.")
    min_score: float = Field(
        0.3,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity a sentence needs to be used; below it the answer "
        "abstains (with RAG_ABSTENTION=cosine or model).",
    )
    abstention: Literal["crossencoder", "model", "cosine"] = Field(
        "crossencoder",
        description="Who decides that the sources don't say: `crossencoder` (the reading model "
        "finds no candidate likely enough to answer), `model` (a logistic model over word "
        "features; rag/reading/abstention.json) or `cosine` (RAG_MIN_SCORE alone).",
    )
    min_confidence: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Confidence the abstention judge (`crossencoder` or `model`) needs to "
        "answer; default: its trained operating point.",
    )
    reader: Literal["ranker", "crossencoder", "cosine"] = Field(
        "ranker",
        description="How answer sentences are picked: `ranker` (a logistic model over "
        "similarity and the question's words; rag/reading/ranker.json), `crossencoder` (the "
        "reading model reads the candidates) or `cosine` (similarity alone).",
    )
    sentence_margin: float = Field(
        0.1,
        ge=0.0,
        le=2.0,
        description="Sentences picked for their similarity must score within this margin "
        "of the most similar one.",
    )
    reader_precision: Literal["auto", "fp32", "bf16", "int8"] = Field(
        "fp32",
        description="Reading model arithmetic: `fp32` (ONNX, no torch), `auto` (bf16 where a "
        "probe here finds it faster and faithful), `bf16` or `int8` (fastest; decisions "
        "differ on a few questions in a hundred). See docs/performance.md.",
    )
    reader_weights: ReaderWeights = Field(
        None, description="A reader evals/train_reader.py trained (.npz, card beside); unset: ours."
    )
    answer_cache: int = Field(
        256,
        ge=0,
        description="Answers kept for a question asked again on an unchanged collection; 0: none.",
    )

    # --- Generative answers: settings.generation (optional; default: extractive, offline) ---
    llm: str = Field(
        "extractive",
        pattern=r"^(extractive|(openai|ollama|llamacpp):.+)$",
        description="Who writes answers: `extractive` (quotes, no model), `openai:<model>` "
        "(any OpenAI-compatible server), `ollama:<model>` or `llamacpp:<path to .gguf>` "
        "(in this process).",
    )
    llm_base_url: str | None = Field(
        None, description="Address of the LLM server, e.g. `http://127.0.0.1:8080/v1`."
    )
    llm_api_key: SecretStr | None = Field(None, description="API key of the LLM server.")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds to wait for the LLM server.")
    llm_retries: int = Field(2, ge=0, le=10, description="Retries (with backoff) of a failed call.")
    llm_max_tokens: int = Field(
        400, gt=0, le=32_768, description="Most tokens the model may write per answer."
    )
    verifier: Literal["crossencoder", "lexical"] = Field(
        "crossencoder",
        description="Who checks that a generated sentence's cited passage supports it: "
        "`crossencoder` (the trained reading model, which sees paraphrase and "
        "contradiction) or `lexical` (shared words, numbers and negation; rag/reading/judge.py).",
    )
    unsupported: Literal["drop", "flag"] = Field(
        "drop",
        description="A generated sentence its cited passage does not support: `drop` it, "
        "or `flag` it (shown as not verified, without a citation).",
    )

    # --- Limits: settings.limits ---
    max_file_mb: float = Field(
        20.0, gt=0, description="Files larger than this many MiB are skipped with a reason."
    )
    max_question_chars: int = Field(
        2000, gt=0, le=100_000, description="Longer questions are refused with a message."
    )
    max_check_chars: int = Field(
        50_000,
        gt=0,
        le=1_000_000,
        description="Longest text `rag check` (and the chat's check panel) takes, in characters.",
    )

    # --- Web chat and HTTP API: settings.serving ---
    host: str = Field("127.0.0.1", description="Address the web chat binds to.")
    port: int = Field(7860, gt=0, lt=65536, description="Port of the web chat.")
    auth: SecretStr | None = Field(
        None,
        description="Login for the web chat: `user:password`, or the path of a file of such lines.",
    )
    uploads: bool = Field(
        True, description="Let the web chat's users (and the API's) add and remove documents."
    )
    answers_at_once: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="Answers (and checks) the server computes at once, the API's and the "
        "chat's together; the others wait their turn in arrival order. Unset: 8 per CPU "
        "core (the reading model reads theirs together), at least 32 with a Chroma server "
        "or a served LLM, whose answers mostly wait on the network.",
    )
    api_keys: SecretStr | None = Field(
        None,
        description="Keys the HTTP API (`/v1/...`) requires as `Authorization: Bearer <key>`: "
        "comma-separated, or the path of a file of one key a line. Unset: no key needed.",
    )

    # --- Kept records: settings.history ---
    history_db: Path | None = Field(
        None,
        description="SQLite file of saved conversations and of the document versions "
        "citations are pinned to; default: `history.db` in RAG_INDEX_DIR.",
    )
    keep_versions: int = Field(
        3,
        ge=0,
        le=1000,
        description="How many latest versions of each document keep their text, so an old "
        "answer's quotes can be shown as they were after the document changed.",
    )
    feedback_file: Path = Field(
        PROJECT_ROOT / ".rag" / "feedback.jsonl",
        description="Where the web chat appends thumbs up/down on answers (JSON lines).",
    )

    # --- The groups: each section above, read-only, as one layer sees it ---
    documents = property(DocumentSettings.of)
    chroma = property(ChromaSettings.of)
    embedding = property(EmbeddingSettings.of)
    search = property(SearchSettings.of)
    reading = property(ReadingSettings.of)
    generation = property(GenerationSettings.of)
    limits = property(LimitSettings.of)
    serving = property(ServingSettings.of)
    history = property(HistorySettings.of)

    @property
    def history_path(self) -> Path:
        """Where saved conversations and document versions are kept."""
        return self.history_db or self.index_dir / "history.db"

    @property
    def collections_dir(self) -> Path:
        """Where a collection made without a folder of its own keeps its documents."""
        return self.index_dir.parent / "collections"

    @property
    def answer_slots(self) -> int:
        """``answers_at_once``, or its default for where the answers are computed."""
        if self.answers_at_once is not None:
            return self.answers_at_once
        local = ANSWERS_PER_CORE * (os.cpu_count() or 1)
        if self.chroma_host or self.llm.startswith(SERVED_LLMS):
            return max(32, local)
        return local

    @property
    def max_file_bytes(self) -> int:
        """``max_file_mb`` in bytes (:attr:`LimitSettings.file_bytes`)."""
        return self.limits.file_bytes

    def credentials(self) -> list[tuple[str, str]] | None:
        """The web chat's logins (:meth:`ServingSettings.credentials`)."""
        return self.serving.credentials()

    def api_key_list(self) -> list[str]:
        """The API's keys (:meth:`ServingSettings.api_key_list`)."""
        return self.serving.api_key_list()

    @model_validator(mode="after")
    def _server_options_need_a_server(self) -> Settings:
        if self.chroma_host is None:
            given = [
                f"RAG_{name.upper()}"
                for name in ("chroma_ssl", "chroma_ca_file", "chroma_token")
                if getattr(self, name)
            ]
            if given:
                raise ValueError(f"{', '.join(given)} need RAG_CHROMA_HOST (a Chroma server)")
        if self.chroma_ca_file is not None and not self.chroma_ssl:
            raise ValueError("RAG_CHROMA_CA_FILE needs RAG_CHROMA_SSL=true")
        return self

    def with_llm(self, llm: str) -> Settings:
        """These settings with another answerer (``RAG_LLM`` value), validated; a server's
        address and key are kept only for an answerer that has a server."""
        update: dict[str, Any] = {"llm": llm}
        if not llm.startswith(SERVED_LLMS):
            update |= {"llm_base_url": None, "llm_api_key": None}
        return type(self).model_validate(self.model_dump() | update)

    @model_validator(mode="after")
    def _confidence_needs_the_model(self) -> Settings:
        if self.min_confidence is not None and self.abstention == "cosine":
            raise ValueError(
                "RAG_MIN_CONFIDENCE needs RAG_ABSTENTION=crossencoder or model (cosine "
                "abstention is set by RAG_MIN_SCORE)"
            )
        return self

    @model_validator(mode="after")
    def _llm_options_need_a_served_llm(self) -> Settings:
        if not self.llm.startswith(SERVED_LLMS) and (self.llm_base_url or self.llm_api_key):
            raise ValueError(
                "RAG_LLM_BASE_URL and RAG_LLM_API_KEY are for a server: they need "
                f"RAG_LLM=openai:<model> or ollama:<model>, not {self.llm}"
            )
        return self

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                f"chunk_size ({self.chunk_size})"
            )
        return self

    @model_validator(mode="after")
    def _auth_is_usable(self) -> Settings:
        try:
            self.credentials()
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"auth (RAG_AUTH): cannot read the file: {err}") from None
        except ValueError as err:
            raise ValueError(f"auth (RAG_AUTH) {err}") from None
        return self
