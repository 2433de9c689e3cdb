"""``assistant guard check``: every guardrail's verdict on one text."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.support import JsonOption, out, print_json, run_command

guard_app = typer.Typer(help="Run the guardrails on a text.", no_args_is_help=True)


@guard_app.command("check")
def guard_check(
    text: Annotated[str, typer.Argument(help="The text to check (a message, or an answer).")],
    stage: Annotated[
        str, typer.Option("--stage", help="input (a user's message) or output (an answer).")
    ] = "input",
    as_json: JsonOption = False,
) -> None:
    """Each validator's verdict on TEXT: passed or not, why, its fix, and its time."""
    from graph.settings import load_settings
    from guards.verdicts import check_text

    if stage not in ("input", "output"):
        raise typer.BadParameter("must be 'input' or 'output'", param_hint="--stage")
    max_chars = run_command(load_settings).max_input_chars
    report = run_command(lambda: check_text(text, stage=stage, max_chars=max_chars))  # type: ignore[arg-type]
    if as_json:
        print_json(report)
        return
    for verdict in report["verdicts"]:
        mark = "pass" if verdict["passed"] else "FAIL"
        note = f": {verdict['message']}" if verdict["message"] else ""
        out.print(f"{mark}  {verdict['validator']} ({verdict['ms']} ms){note}", highlight=False)
    out.print("passed" if report["passed"] else "flagged", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``guard`` group to the ``assistant`` command."""
    app.add_typer(guard_app, name="guard")
