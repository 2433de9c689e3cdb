"""Guards: guardrails-ai validators, the input/output and streaming guards built from them, and
the detection of personal data and secrets."""
