"""Softmax cross-entropy, the lecture's nn.CrossEntropyLoss (mean over the batch)."""

from __future__ import annotations

import numpy as np

from engine.errors import CnnError


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """logits (N, K), labels (N,) of class indices -> (mean loss, dlogits (N, K)).

    loss = mean over items of −log softmax(logits)[label]; dlogits = (softmax − one_hot) / N.
    Shifting each row by its maximum keeps exp() from overflowing.
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise CnnError(f"cross_entropy needs logits (N, K) and labels (N,), got {logits.shape} and {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or (
        labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1])
    ):
        raise CnnError(f"labels must be class indices 0..{logits.shape[1] - 1}")
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels]))
    dlogits = exp / total
    dlogits[rows, labels] -= 1
    dlogits /= n
    return loss, dlogits.astype(logits.dtype, copy=False)


def softmax(logits: np.ndarray) -> np.ndarray:
    """(N, K) or (K,) scores -> probabilities along the last axis (each row sums to 1), float64."""
    logits = np.asarray(logits, dtype=np.float64)
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)
