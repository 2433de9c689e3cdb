"""Interface names: which hosts count as loopback for the dashboard."""

from __future__ import annotations

import pytest

from observe.dashboard.server import is_loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("127.evil.example", False),
        ("::", False),
    ],
)
def test_only_loopback_addresses_count(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
