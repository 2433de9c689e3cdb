"""Graph logic: every intent reaches its branch, guards and memory behave, citations map to sources.

The chat model is a scripted fake and the intent is fixed per test (the classifier has its own
tests); Chroma, the embedder, the guards and the tools are the real ones.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver

from graph.context import BotContext
from graph.graph import builder
from graph.intents import IntentPrediction
from graph.prompts import NO_SOURCES_ANSWER
from graph.settings import Settings
from graph.tools.builtin import default_registry
from guards.redaction import REDACTOR
from knowledge.chunking import Chunk
from knowledge.embeddings import get_embedder
from knowledge.index import KnowledgeIndex
from knowledge.lexical import LexicalIndex
from knowledge.retrieval import Retriever
from observe.tracing import Tracer


@dataclass
class FixedIntent:
    """Stands in for the classifier: always predicts ``intent``."""

    intent: str

    async def apredict(self, text: str) -> IntentPrediction:
        return IntentPrediction(intent=self.intent, confidence=0.99, method="embedding")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeIndex:
    idx = KnowledgeIndex(get_embedder(), path=tmp_path_factory.mktemp("chroma"))
    docs = {
        "it/vpn.md": (
            "VPN > Reset",
            "To reset the VPN certificate, open vpn.example.com and click Reset certificate.",
        ),
        "hr/leave.md": ("Leave > Vacation", "Employees get 25 vacation days per year."),
    }
    for source, (heading, text) in docs.items():
        chunk = Chunk(
            id=source.replace("/", "-") + "-0",
            text=text,
            source=source,
            heading=heading,
            scope="default",
            position=0,
        )
        idx.upsert_source(source, "default", [chunk])
    return idx


def make_context(
    tmp_path: Path, index: KnowledgeIndex, intent: str, reply: str, answer_mode: str = "generate"
) -> BotContext:
    settings = Settings(data_dir=tmp_path, cache_enabled=False, answer_mode=answer_mode)
    return BotContext(
        settings=settings,
        tracer=Tracer(settings.traces_path, redactor=REDACTOR),
        llm=GenericFakeChatModel(messages=iter([AIMessage(reply)] * 3)),
        classifier=FixedIntent(intent),  # type: ignore[arg-type]
        index=index,
        retriever=Retriever(index, LexicalIndex.from_store(index)),
        tools=default_registry(),
    )


async def run_turn(
    context: BotContext, question: str, thread: str = "t1", saver: InMemorySaver | None = None
) -> tuple[dict[str, Any], list[str]]:
    graph = builder.compile(checkpointer=saver or InMemorySaver())
    visited: list[str] = []
    config = {"configurable": {"thread_id": thread}}
    async for update in graph.astream(
        {"question": question, "trace_id": "a" * 32}, config, context=context, stream_mode="updates"
    ):
        visited.extend(update)
    state = await graph.aget_state(config)
    return dict(state.values), visited


async def test_question_retrieves_and_cites_the_right_source(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    ctx = make_context(tmp_path, index, "question", "Open vpn.example.com and click Reset [1].")
    state, visited = await run_turn(ctx, "How do I reset the VPN certificate?")
    assert visited == [
        "check_input",
        "user_memory",
        "contextualize",
        "lookup_cache",
        "load_memory",
        "classify_intent",
        "retrieve",
        "generate",
        "check_output",
        "store_cache",
        "save_memory",
    ]
    assert state["docs"][0]["source"] == "it/vpn.md"
    assert [c["source"] for c in state["citations"]] == ["it/vpn.md"]
    assert state["answer"].endswith("[1].")


async def test_uncited_answer_gets_citations_from_the_output_guard(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    ctx = make_context(tmp_path, index, "question", "Open vpn.example.com and click Reset.")
    state, _ = await run_turn(ctx, "How do I reset the VPN certificate?")
    assert state["citations"], "the output guard must attach citations"
    assert state["citations"][0]["source"] == "it/vpn.md"
    assert state["guard_problems"]


async def test_a_weak_models_unsupported_answer_becomes_the_quoted_passage(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    made_up = "The VPN certificate renews itself every 90 days through the Zurich office [1]."
    ctx = make_context(tmp_path, index, "question", made_up)
    state, visited = await run_turn(ctx, "How do I reset the VPN certificate?")
    assert visited.count("generate") == 2 and visited.count("check_output") == 2
    passage = "To reset the VPN certificate, open vpn.example.com and click Reset certificate."
    assert state["answer"] == f"From the docs [1]:\n\n> {passage}"
    assert "Zurich" not in state["answer"]
    assert [c["source"] for c in state["citations"]] == ["it/vpn.md"]
    assert state["grounding_attempts"] == 1
    assert any("not supported by the retrieved sources" in p for p in state["guard_problems"])
    assert state["verbatim"] and state["grounded"], "the quote is the sources' words: cacheable"


async def test_an_unsupported_answer_with_no_passage_close_enough_names_the_closest_sources(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    made_up = "The VPN certificate renews itself every 90 days through the Zurich office [1]."
    ctx = make_context(tmp_path, index, "question", made_up)
    ctx.settings.quote_min_similarity = ctx.settings.quote_heading_similarity = 0.99
    state, _ = await run_turn(ctx, "How do I reset the VPN certificate?")
    assert state["answer"].startswith("I couldn't find a reliable answer")
    assert "`it/vpn.md`" in state["answer"] and "Zurich" not in state["answer"]
    assert state["citations"] == [] and not state["grounded"], "never cached"


async def test_in_quote_mode_a_question_gets_the_passage_without_the_model(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    ctx = make_context(tmp_path, index, "question", "MODEL MUST NOT ANSWER", answer_mode="quote")
    state, visited = await run_turn(ctx, "How do I reset the VPN certificate?")
    assert "MODEL" not in state["answer"]
    assert state["answer"].startswith("From the docs [1]:\n\n> To reset the VPN certificate")
    quoted = [line[2:] for line in state["answer"].splitlines() if line.startswith("> ")]
    source = " ".join(state["docs"][0]["text"].split())
    assert source.startswith("To reset the VPN certificate, open vpn.example.com")
    assert quoted and all(line in source for line in quoted), "the source's words, exactly"
    assert [c["source"] for c in state["citations"]] == ["it/vpn.md"]
    assert visited.count("generate") == 1 and state["guard_problems"] == []


async def test_in_quote_mode_a_question_no_passage_answers_gets_the_honest_couldnt_find(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    ctx = make_context(tmp_path, index, "question", "MODEL MUST NOT ANSWER", answer_mode="quote")
    state, _ = await run_turn(ctx, "What is the best pizza topping?")
    assert state["answer"].startswith(("I couldn't find", NO_SOURCES_ANSWER[:20]))
    assert "MODEL" not in state["answer"] and state["citations"] == []


async def test_a_regenerated_answer_that_is_grounded_is_kept(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    ctx = make_context(tmp_path, index, "question", "unused")
    ctx.llm = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage("The certificate renews itself every 90 days in Zurich [1]."),
                AIMessage("Open vpn.example.com and click Reset certificate [1]."),
            ]
        )
    )
    state, visited = await run_turn(ctx, "How do I reset the VPN certificate?")
    assert visited.count("generate") == 2
    assert state["answer"] == "Open vpn.example.com and click Reset certificate [1]."
    assert state["citations"][0]["source"] == "it/vpn.md"


async def test_question_without_relevant_sources_says_so_without_the_model(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    ctx = make_context(tmp_path, index, "question", "MADE UP")
    ctx.settings.min_relevance = 0.99
    state, visited = await run_turn(ctx, "What's the capital of Mongolia?")
    assert state["answer"] == NO_SOURCES_ANSWER
    assert state["citations"] == []
    assert "retrieve" in visited


@pytest.mark.parametrize(
    ("intent", "question", "tool", "expected"),
    [
        ("summarize", "summarize this thread", "summarize_conversation", "nothing to summarise"),
        ("escalate", "get me a human please", "escalate", "Please contact"),
        ("ops_stats", "how many questions today?", "ops_stats", "Today so far"),
        ("feedback", "that answer was wrong", "record_feedback", "no earlier answer"),
    ],
    ids=["summarize", "escalate", "ops_stats", "feedback"],
)
async def test_tool_intents_route_to_their_tool(
    tmp_path: Path, index: KnowledgeIndex, intent: str, question: str, tool: str, expected: str
) -> None:
    ctx = make_context(tmp_path, index, intent, "MODEL SHOULD NOT BE USED")
    state, visited = await run_turn(ctx, question)
    assert "call_tool" in visited and "retrieve" not in visited
    assert state["tool_name"] == tool
    assert expected in state["answer"]
    assert "MODEL SHOULD NOT BE USED" not in state["answer"]


async def test_chitchat_goes_straight_to_the_model(tmp_path: Path, index: KnowledgeIndex) -> None:
    ctx = make_context(tmp_path, index, "chitchat", "Hi there! How can I help?")
    state, visited = await run_turn(ctx, "hey 👋")
    assert "retrieve" not in visited and "call_tool" not in visited
    assert state["answer"] == "Hi there! How can I help?"
    assert state["citations"] == []


@pytest.mark.parametrize(
    "question",
    ["", "   ", "x" * 5000, "\x00\x01\x02binary\x03" * 10],
    ids=["empty", "blank", "huge", "binary"],
)
async def test_rejected_input_is_refused_and_not_remembered(
    tmp_path: Path, index: KnowledgeIndex, question: str
) -> None:
    ctx = make_context(tmp_path, index, "question", "MODEL SHOULD NOT BE USED")
    state, visited = await run_turn(ctx, question)
    assert visited == ["check_input", "refuse"]
    assert state["answer"].startswith("I can't process that message")
    assert state["messages"] == []


async def test_memory_accumulates_and_feedback_targets_the_previous_answer(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    saver = InMemorySaver()
    ctx = make_context(tmp_path, index, "question", "Open vpn.example.com [1].")
    first, _ = await run_turn(
        ctx, "How do I reset the VPN certificate? mail me at a@b.com", saver=saver
    )
    assert "a@b.com" not in first["messages"][0].content  # PII redacted before memory
    ctx.classifier = FixedIntent("feedback")  # type: ignore[assignment]
    second, _ = await run_turn(ctx, "that was wrong", saver=saver)
    assert second["previous_trace_id"] == "a" * 32
    assert "flagged" in second["answer"]
    assert len(second["messages"]) == 4


async def test_memory_keeps_only_the_newest_messages(tmp_path: Path, index: KnowledgeIndex) -> None:
    saver = InMemorySaver()
    ctx = make_context(tmp_path, index, "chitchat", "Hello!")
    ctx.settings.memory_max_messages = 4
    for i in range(3):
        state, _ = await run_turn(ctx, f"hello number {i}", saver=saver)
    assert [m.content for m in state["messages"]] == [
        "hello number 1",
        "Hello!",
        "hello number 2",
        "Hello!",
    ]


async def test_a_follow_up_is_searched_with_the_question_it_follows(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    saver = InMemorySaver()
    ctx = make_context(tmp_path, index, "question", "Open vpn.example.com and click Reset [1].")
    await run_turn(ctx, "How do I reset the VPN certificate?", saver=saver)
    state, visited = await run_turn(ctx, "and where do I click?", saver=saver)
    assert "contextualize" in visited
    assert state["query"] == "How do I reset the VPN certificate? and where do I click?"
    assert state["docs"][0]["source"] == "it/vpn.md"
    assert state["messages"][-2].content == "and where do I click?", "memory keeps the words said"
    assert state["messages"][-1].response_metadata["query"] == state["query"]
    ctx.classifier = FixedIntent("feedback")  # type: ignore[assignment]
    feedback, _ = await run_turn(ctx, "that was wrong", saver=saver)
    assert feedback["query"] == "that was wrong", "feedback is not glued to the question"


async def test_a_follow_up_after_small_talk_stays_as_it_is(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    saver = InMemorySaver()
    ctx = make_context(tmp_path, index, "chitchat", "Hi!")
    await run_turn(ctx, "hello there", saver=saver)
    ctx.classifier = FixedIntent("question")  # type: ignore[assignment]
    state, _ = await run_turn(ctx, "and how do I reset the VPN certificate?", saver=saver)
    assert state["query"] == "and how do I reset the VPN certificate?"


async def test_a_capable_model_rewrites_the_follow_up(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    saver = InMemorySaver()
    ctx = make_context(tmp_path, index, "question", "25 days [1].")
    await run_turn(ctx, "How many vacation days do employees get?", saver=saver)
    ctx.settings.rewrite_follow_ups = "model"
    ctx.llm = GenericFakeChatModel(
        messages=iter([AIMessage("How many vacation days do contractors get?"), AIMessage("x")])
    )
    state, _ = await run_turn(ctx, "what about contractors?", saver=saver)
    assert state["query"] == "How many vacation days do contractors get?"
    assert state["docs"][0]["source"] == "hr/leave.md"


async def test_a_hung_rewrite_falls_back_to_joining(tmp_path: Path, index: KnowledgeIndex) -> None:
    saver = InMemorySaver()
    ctx = make_context(tmp_path, index, "question", "25 days [1].")
    await run_turn(ctx, "How many vacation days do employees get?", saver=saver)

    class Hung(GenericFakeChatModel):
        async def ainvoke(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            await asyncio.sleep(5)  # far past the timeout; a late answer must not be used
            return AIMessage("How many vacation days do interns get?")

    ctx.settings.rewrite_follow_ups = "model"
    ctx.settings.model_timeout_s = 0.2
    ctx.llm = Hung(messages=iter([AIMessage("25 days [1].")]))
    state, _ = await run_turn(ctx, "what about contractors?", saver=saver)
    assert state["query"] == "How many vacation days do employees get? what about contractors?"


class LengthCappedChat(GenericFakeChatModel):
    """Streams its reply word by word and reports that the token limit stopped it."""

    async def _astream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any):  # type: ignore[override]
        from langchain_core.messages import AIMessageChunk
        from langchain_core.outputs import ChatGenerationChunk

        words = str(next(self.messages).content).split(" ")
        for n, word in enumerate(words):
            last = n == len(words) - 1
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content=word if last else word + " ",
                    response_metadata={"finish_reason": "length"} if last else {},
                )
            )
            await asyncio.sleep(0.01)


async def test_an_answer_cut_by_the_token_limit_keeps_what_already_streamed(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    reply = (
        "To reset the VPN certificate, open vpn.example.com [1]. Then:\n"
        "- click Reset certificate [1]\n- open vpn.example.com again [1]\n- and then the thi"
    )
    ctx = make_context(tmp_path, index, "question", "unused")
    ctx.llm = LengthCappedChat(messages=iter([AIMessage(reply)] * 2))
    ctx.stream_answers = True
    state, _ = await run_turn(ctx, "How do I reset the VPN certificate?")
    assert state["shown"], "part of the answer streamed"
    assert state["answer"].startswith(state["shown"]), "what streamed is never taken back"
