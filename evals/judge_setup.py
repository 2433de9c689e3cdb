"""What the ``eval`` commands share: the judge model a spec names, where calibrations live, and
the judges ``--judge-name`` names."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evals.judges import Judge

JUDGE_TOKENS = 48
"""A verdict and one sentence of reason."""


def judge_model(spec: str | None, grammar: str | None = None) -> tuple[object, str]:
    """The chat model a judge runs on: ``spec`` (``local``, ``openai:gpt-4o-mini`` …) or the
    configured chat model; the model's name for the record. A local model is constrained by
    ``grammar`` (default: a YES/NO verdict and one line)."""
    from evals.judges import VERDICT_GRAMMAR
    from graph.llm import LocalLlamaChat, build_chat_model
    from graph.settings import load_settings

    overrides: dict[str, object] = {"max_answer_tokens": JUDGE_TOKENS}
    if spec:
        overrides["chat_model"] = spec
    settings = load_settings(**overrides)
    model = build_chat_model(settings)
    if isinstance(model, LocalLlamaChat):  # constrain it: a tiny model often forgets the verdict
        model = model.model_copy(update={"grammar": grammar or VERDICT_GRAMMAR})
    return model, settings.chat_model


def judges_file() -> Path:
    """Where calibrations are kept: ``<data dir>/evals/judges.json``."""
    from graph.settings import load_settings

    return load_settings().data_dir / "evals" / "judges.json"


def judges_named(names: list[str]) -> list[Judge]:
    """The judges ``--judge-name`` names (``all``: every one); unknown names are an error."""
    from evals.judges import JUDGES
    from observe.errors import ConfigError

    wanted = list(JUDGES) if "all" in names else list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in JUDGES]
    if unknown:
        raise ConfigError(f"no judge {unknown[0]!r}", hint=f"one of {sorted(JUDGES)} or all")
    return [JUDGES[n] for n in wanted]
