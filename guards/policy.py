"""What to do when a guard fires: one action per check, set globally and per channel.

Actions:

* ``block`` — the turn stops; the user gets a friendly message saying why (never silence).
* ``redact`` — the offending spans are replaced (personal data, secrets) and the turn goes on.
* ``warn`` — the turn goes on; the answer carries a short notice and the trace a flag.
* ``log`` — the turn goes on unchanged; only the trace records the verdict.

Every verdict is recorded on the trace whatever the action. Answers are always fixed (secrets and
personal data the asker did not write, system-prompt text, abuse) and checked for grounding: no
channel may opt out of those.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["block", "redact", "warn", "log"]
DetectAction = Literal["block", "warn", "log"]
RedactAction = Literal["redact", "block", "log"]


class GuardPolicy(BaseModel):
    """Per-check actions. Defaults suit a company workspace: attacks are blocked, personal data
    and secrets redacted, severe abuse blocked and milder abuse answered with a notice."""

    model_config = ConfigDict(extra="forbid")

    injection: DetectAction = "block"
    """A message that tries to override the assistant's instructions."""
    toxicity: DetectAction = "warn"
    """Abusive language at or above ``toxicity_severity``."""
    toxicity_block_severity: int = Field(default=3, ge=1, le=4)
    """Abuse of this severity (1 mild … 3 severe) is blocked even when ``toxicity`` is ``warn``;
    4 never blocks."""
    pii: RedactAction = "redact"
    """Personal data (e-mail, phone, card, IBAN, ids, IPs) in a message."""
    secrets: Literal["redact", "block"] = "redact"
    """Credentials (API keys, tokens, private keys): never passed on as they are."""


DEFAULT_POLICY = GuardPolicy()
