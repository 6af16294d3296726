"""The HTTP API: the cq v1 routes plus colloquy's additive account routes."""
