"""Stored vectors and the re-rank of a bounded candidate set: plain arithmetic, checked by hand."""

import numpy as np

from colloquy.semantic.vectors import cosine, from_blob, fused_order, to_blob


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_a_vector_survives_its_bytes() -> None:
    vector = unit(1, 2, 3)
    blob = to_blob(vector)
    assert len(blob) == 12
    assert np.array_equal(from_blob(blob), vector)


def test_cosine_of_each_candidate_and_none_for_a_vector_of_another_length() -> None:
    query = unit(1, 0, 0)
    blobs = {
        "same": to_blob(unit(1, 0, 0)),
        "orthogonal": to_blob(unit(0, 1, 0)),
        "diagonal": to_blob(unit(1, 1, 0)),
        "other model": to_blob(unit(1, 0, 0, 0)),
    }
    scores = cosine(query, blobs)
    assert set(scores) == {"same", "orthogonal", "diagonal"}
    assert scores["same"] == 1.0
    assert abs(scores["orthogonal"]) < 1e-7
    assert abs(scores["diagonal"] - 2**-0.5) < 1e-6
    assert cosine(query, {}) == {}


def test_fusion_lets_meaning_overtake_a_small_lexical_lead() -> None:
    lexical = {"a": 10.0, "b": 9.0, "c": 1.0}
    similarity = {"a": 0.1, "b": 0.9, "c": 0.5}
    # normalised: lexical a 1, b 0.889, c 0; cosine a 0, b 1, c 0.5
    assert fused_order(lexical, similarity, weight=0.5) == ["b", "a", "c"]
    assert fused_order(lexical, similarity, weight=0.0) == ["a", "b", "c"]
    assert fused_order(lexical, similarity, weight=1.0) == ["b", "c", "a"]


def test_a_candidate_without_a_vector_counts_as_the_least_similar_one() -> None:
    lexical = {"far": 5.0, "new": 5.0, "near": 5.0}
    # "new" (not embedded yet) ties with "far"; ties keep the lexical order
    assert fused_order(lexical, {"near": 0.9, "far": 0.1}) == ["near", "far", "new"]
    assert fused_order(lexical, {}) == ["far", "new", "near"]
    assert fused_order({}, {"x": 1.0}) == []
