"""The HTML page of ``assistant eval report``: one self-contained file (styles, Chart.js and the
report's data inline), so it can be mailed, attached to a CI run or opened offline."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

import observe.dashboard

TEMPLATES = Path(__file__).parent / "templates"
CHART_JS = Path(observe.dashboard.__file__).parent / "static" / "vendor" / "chart.umd.min.js"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def usd(value: float | None) -> str:
    return "–" if value is None else f"${value:.4f}"


def level(rate: float | None) -> str:
    if rate is None:
        return ""
    return "lvl0" if rate < 0.6 else "lvl1" if rate < 0.85 else "lvl2"


def kappa_word(kappa: float | None) -> str:
    if kappa is None:
        return "unknown"
    if kappa < 0.2:
        return "no better than chance" if kappa < 0.05 else "slight"
    return "moderate" if kappa < 0.6 else "substantial" if kappa < 0.8 else "strong"


def kappa_level(kappa: float | None) -> str:
    return "bad" if kappa is None or kappa < 0.2 else "warn" if kappa < 0.6 else "ok"


def _period(data: dict[str, Any]) -> str:
    if not data["turns"]:
        return "no turns"
    first, last = (
        datetime.fromtimestamp(data[k] / 1e9, UTC).strftime("%Y-%m-%d %H:%M")
        for k in ("first_ns", "last_ns")
    )
    return f"{first} – {last} UTC"


def render(data: dict[str, Any], *, dashboard_url: str | None = None) -> str:
    """The report page for ``evals.report.build_report``'s data."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["basename"] = lambda path: PurePath(str(path or "")).name

    def uncorrected(name: str) -> str:
        saved = data["calibrations"].get(name)
        judge = next(j for j in data["judges"] if j["name"] == name)
        if not isinstance(saved, dict):
            return "not calibrated"
        if saved.get("prompt_version") != judge["version"] or saved.get("model") != judge["model"]:
            return "calibrated for another prompt or model"
        if saved.get("tpr") is None or saved.get("tnr") is None:
            return "calibration lacked positives or negatives"
        return "judge no better than chance"

    def facet_keys(facet: str) -> list[str]:
        return sorted({k for j in data["judges"] for k in j[facet]})

    return env.get_template("report.html.j2").render(
        data=data,
        period=_period(data),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        dashboard_url=dashboard_url,
        chartjs=CHART_JS.read_text(encoding="utf-8"),
        pct=pct,
        ms=ms,
        num=num,
        usd=usd,
        level=level,
        kappa_word=kappa_word,
        kappa_level=kappa_level,
        uncorrected=uncorrected,
        facet_keys=facet_keys,
    )
