"""Guards: guardrails-ai validators and the input/output guards built from them."""
