"""Vectors as stored (little-endian float32 bytes) and the re-rank of a bounded candidate set.

Plain numpy over the candidates' stored bytes: no database extension, so it works the same on
SQLite's standard library driver and on PostgreSQL. About 0.1 ms for 200 candidates.
"""

from collections.abc import Mapping

import numpy as np

_FLOAT32 = np.dtype("<f4")
FUSION_WEIGHT = 0.5
"""The cosine's share in ``fused_order``: the middle of the three settings measured on the
labelled set (0.3, 0.5, 0.7), not the best of them, to avoid fitting 126 queries."""


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=_FLOAT32).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=_FLOAT32)


def cosine(query: np.ndarray, blobs: Mapping[str, bytes]) -> dict[str, float]:
    """Cosine similarity of the unit-length ``query`` with each stored (unit-length) vector;
    a vector of another length (another model's) is left out."""
    size = query.shape[0] * _FLOAT32.itemsize
    keys = [key for key, blob in blobs.items() if len(blob) == size]
    if not keys:
        return {}
    matrix = np.frombuffer(b"".join(blobs[key] for key in keys), dtype=_FLOAT32)
    scores = matrix.reshape(len(keys), -1) @ np.asarray(query, dtype=_FLOAT32)
    return dict(zip(keys, scores.tolist(), strict=True))


def _min_max(scores: Mapping[str, float], keys: list[str]) -> np.ndarray:
    values = np.array([scores.get(key, 0.0) for key in keys], dtype=np.float64)
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.ones_like(values)


def fused_order(
    lexical: Mapping[str, float],
    similarity: Mapping[str, float],
    weight: float = FUSION_WEIGHT,
) -> list[str]:
    """``lexical``'s candidates (the ranker's scores, higher is better) re-ordered by
    ``(1 - weight) * lexical + weight * cosine``, each min-max normalised over the candidates.
    A candidate without a vector (not embedded yet) counts as the least similar of them;
    ties keep ``lexical``'s order."""
    keys = list(lexical)
    if not keys:
        return []
    floor = min((similarity[key] for key in keys if key in similarity), default=0.0)
    cosines = {key: similarity.get(key, floor) for key in keys}
    fused = (1 - weight) * _min_max(lexical, keys) + weight * _min_max(cosines, keys)
    order = np.argsort(-fused, kind="stable")
    return [keys[i] for i in order]
