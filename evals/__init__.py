"""Measurement: benchmarks, evaluation sets, the injection trainer and the Slack double (on top of
every other package; its commands join `assistant` through an entry point)."""
