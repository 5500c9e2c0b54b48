"""A local GGUF model in this process, as a LangChain chat model (``RAG_LLM=llamacpp:<path>``).

llama.cpp's Python bindings (the ``llamacpp`` extra) run the model on the CPU with no
server to start; the model loads on first use and one answer is written at a time (a
llama.cpp context is not safe to share between threads).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages import convert_to_openai_messages as openai_messages
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr, field_validator


class LlamaCppChat(BaseChatModel):
    """A GGUF chat model run by llama.cpp in this process.

    Example:
        >>> llm = LlamaCppChat(model_path="/models/gemma-3-270m-q4_k_m.gguf")  # doctest: +SKIP
        >>> llm.invoke("Say hello.").text  # doctest: +SKIP
    """

    model_path: str
    n_ctx: int = 4096
    """Tokens of prompt and answer together: five passages of 256 tokens, with room."""
    max_tokens: int = 400
    temperature: float = 0.0
    n_threads: int = os.cpu_count() or 1
    """llama.cpp's own default is half the cores."""

    _llama: Any = PrivateAttr(None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @field_validator("model_path")
    @classmethod
    def _model_exists(cls, path: str) -> str:
        if not Path(path).is_file():
            raise ValueError(f"no GGUF model file at {path}")
        return path

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def _model(self) -> Any:
        if self._llama is None:
            from llama_cpp import Llama

            self._llama = Llama(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                verbose=False,
            )
        return self._llama

    def _complete(self, messages: list[BaseMessage], stop: list[str] | None, stream: bool) -> Any:
        return self._model().create_chat_completion(
            messages=openai_messages(messages),
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            stop=stop or [],
            stream=stream,
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            reply = self._complete(messages, stop, stream=False)
        text = reply["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with self._lock:
            for part in self._complete(messages, stop, stream=True):
                token = part["choices"][0]["delta"].get("content")
                if token:  # (BaseChatModel.stream tells the callbacks of each chunk)
                    yield ChatGenerationChunk(message=AIMessageChunk(content=token))
