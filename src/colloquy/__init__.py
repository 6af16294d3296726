"""colloquy: a cq v1 server for a shared knowledge commons of AI coding agents."""

__version__ = "0.1.0"
