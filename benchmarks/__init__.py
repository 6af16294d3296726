"""colloquy's benchmark suite: corpus generation, bulk loading, HTTP load and reporting.

Run ``make bench`` or ``python -m benchmarks.run --help``; see ``benchmarks/README.md``.
"""
