"""``assistant bench cache``: how often the semantic cache is right, and how fast it looks up.

Each pair row ``{"id", "a", "b", "same"}`` (``kind`` optional) gets a scope of its own: an
answer is stored for ``a`` and ``b`` is looked up, through the real ``AnswerCache`` (RedisVL on
Redis 8, MiniLM embeddings, the verification step). A hit is right only when ``same`` is true.
``--entries N`` first fills the index with N other questions (one shared scope), so the lookup
latency is measured against an index of that size; the lookups in that full scope are timed
too. Redis is the configured one, or an embedded server on a free port in a temporary
directory; the bench's entries live under an index of their own, deleted at the end.
"""

from __future__ import annotations

import random
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.progress import Progress

from graph.cache import AnswerCache, Entry
from graph.settings import load_settings
from knowledge.embeddings import get_embedder
from observe.errors import InputRejected
from observe.jsonl import json_rows
from observe.stats import percentile

FILL_SCOPE = "bench-fill"
_SUBJECTS = (
    "the VPN client",
    "a shared drive",
    "the staging cluster",
    "my laptop",
    "the expense tool",
    "a feature flag",
    "the payroll portal",
    "the build cache",
    "a service account",
    "the wiki",
    "a customer refund",
    "the on-call pager",
    "a database replica",
    "the office badge",
    "a pull request",
    "the release branch",
    "a vendor contract",
    "the guest network",
    "a Python virtual environment",
    "the metrics dashboard",
    "an API token",
    "the HR system",
)
_ACTIONS = (
    "set up",
    "reset",
    "request access to",
    "troubleshoot",
    "configure",
    "migrate",
    "back up",
    "restore",
    "audit",
    "rename",
    "monitor",
    "document",
    "renew",
    "transfer",
    "review",
)
_FRAMES = (
    "How do I {a} {s}?",
    "What is the policy to {a} {s}?",
    "Who can {a} {s}?",
    "How long does it take to {a} {s}?",
    "Where is the guide to {a} {s} for team {n}?",
    "Can I {a} {s} from home?",
    "What happens if I {a} {s} twice?",
)


def load_pairs(path: Path) -> list[dict[str, Any]]:
    """Rows of a pair file; a broken line or a row without ``a``/``b``/``same`` is an error
    naming the line."""
    rows = []
    for where, row in json_rows(path, hint='check --pairs: {"id", "a", "b", "same"} rows'):
        if not {"a", "b", "same"} <= row.keys():
            raise InputRejected(f'{where}: a row needs "a", "b" and "same"')
        row.setdefault("id", f"{path.stem}:{where.rsplit(':', 1)[1]}")
        rows.append(row)
    if not rows:
        raise InputRejected(f"{path} has no pairs")
    return rows


def fill_questions(count: int) -> list[str]:
    """``count`` distinct question-like texts (deterministic)."""
    rng = random.Random(0)
    found: dict[str, None] = {}
    while len(found) < count:
        frame = rng.choice(_FRAMES)
        text = frame.format(a=rng.choice(_ACTIONS), s=rng.choice(_SUBJECTS), n=rng.randrange(1000))
        found[text] = None
    return list(found)


@contextmanager
def _redis_url(configured: str | None) -> Iterator[str]:
    if configured:
        yield configured
        return
    from graph.services.embedded_redis import EmbeddedRedis, free_port

    with tempfile.TemporaryDirectory(prefix="bench-cache-") as data_dir:
        with EmbeddedRedis(Path(data_dir), free_port()) as server:
            yield server.url


def _ms(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": _round(percentile(values, 50)),
        "p95": _round(percentile(values, 95)),
        "n": len(values),
    }


async def bench_cache(
    files: list[Path], *, entries: int = 0, threshold: float | None = None, progress: bool = True
) -> dict[str, Any]:
    """Hit rates by ``same``, wrong decisions, verdict counts and lookup latency percentiles."""
    rows = [row for path in files for row in load_pairs(path)]
    settings = load_settings()
    embedder = get_embedder(settings.embedding_model)
    threshold = threshold if threshold is not None else settings.cache_distance_threshold
    with _redis_url(settings.redis_url) as url, Progress(disable=not progress) as bar:
        cache = AnswerCache(
            redis_url=url,
            embedder=embedder,
            scope=FILL_SCOPE,
            model_version="bench",
            distance_threshold=threshold,
            ttl_s=3600,
            max_age_s=3600,
            name=f"bench-cache-{secrets.token_hex(4)}",
        )
        try:
            fill = fill_questions(entries)
            task = bar.add_task("filling the cache", total=len(fill))
            for start in range(0, len(fill), 256):
                batch = fill[start : start + 256]
                vectors = await embedder.aembed(batch)
                for text, vector in zip(batch, vectors, strict=True):
                    await cache.astore(Entry(text, "(filler)", []), vector=vector)
                bar.advance(task, len(batch))
            stored = await embedder.aembed([str(r["a"]) for r in rows])
            task = bar.add_task("storing and looking up pairs", total=len(rows))
            decisions, lookup_ms, verdicts = [], [], Counter[str]()
            for row, vector in zip(rows, stored, strict=True):
                scope = f"pair-{secrets.token_hex(6)}"
                await cache.astore(Entry(str(row["a"]), "(answer)", []), scope=scope, vector=vector)
                started = time.perf_counter()
                found = await cache.alookup(str(row["b"]), scope=scope)
                lookup_ms.append((time.perf_counter() - started) * 1000)
                verdicts.update(found.verdicts or ("no candidate",))
                decisions.append((row, found.hit is not None))
                bar.advance(task)
            full_ms = []
            if entries:
                for row in rows[:200]:
                    started = time.perf_counter()
                    await cache.alookup(str(row["b"]), scope=FILL_SCOPE)
                    full_ms.append((time.perf_counter() - started) * 1000)
        finally:
            await cache.adelete()
            await cache.aclose()
    return _report(decisions, lookup_ms, full_ms, verdicts, entries=entries, threshold=threshold)


def _report(
    decisions: list[tuple[dict[str, Any], bool]],
    lookup_ms: list[float],
    full_ms: list[float],
    verdicts: Counter[str],
    *,
    entries: int,
    threshold: float,
) -> dict[str, Any]:
    same = [(r, hit) for r, hit in decisions if r["same"]]
    other = [(r, hit) for r, hit in decisions if not r["same"]]
    kinds: dict[str, list[bool]] = {}
    for row, hit in decisions:
        kinds.setdefault(
            str(row.get("kind") or ("paraphrase" if row["same"] else "other")), []
        ).append(hit)
    return {
        "n": len(decisions),
        "paraphrases": len(same),
        "near_misses": len(other),
        "paraphrase_hit_rate": round(sum(h for _, h in same) / len(same), 4) if same else None,
        "false_hit_rate": round(sum(h for _, h in other) / len(other), 4) if other else None,
        "false_hits": [r["id"] for r, hit in other if hit],
        "missed_paraphrases": [r["id"] for r, hit in same if not hit],
        "hit_rate_by_kind": {k: round(sum(v) / len(v), 4) for k, v in sorted(kinds.items())},
        "verdicts": dict(verdicts.most_common()),
        "lookup_ms": _ms(lookup_ms),
        "full_scope_lookup_ms": _ms(full_ms) if full_ms else None,
        "entries": entries + len(decisions),
        "distance_threshold": threshold,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
