"""Pure Block Kit builders and user-facing text for the Slack bot (no I/O, no Slack client)."""
