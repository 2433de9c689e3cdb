"""Typed tools the graph can call, and the registry that runs them with timeouts."""
