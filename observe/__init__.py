"""Observability, the bottom layer: structured traces (JSON lines), application logging, stats read
back from the trace log, and the error hierarchy every package raises."""
