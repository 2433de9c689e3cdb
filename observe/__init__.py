"""Observability: structured traces (JSON lines), redaction, stats read back from the trace log."""
