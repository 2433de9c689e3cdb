"""The user-facing surfaces: the `assistant` CLI (terminal chat, ask, ingest, doctor) and Slack."""
