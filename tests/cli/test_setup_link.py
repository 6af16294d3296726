"""The host that ``serve``'s setup link names: one a browser can open."""

import pytest

from colloquy.cli.commands import _browsable_host


@pytest.mark.parametrize(
    ("bound", "shown"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("0.0.0.0", "localhost"),
        ("::", "localhost"),
        ("::1", "[::1]"),
        ("colloquy.example.org", "colloquy.example.org"),
        ("", "localhost"),
    ],
)
def test_the_link_names_a_host_a_browser_can_open(bound: str, shown: str) -> None:
    assert _browsable_host(bound) == shown
