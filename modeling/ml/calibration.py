"""Temperature scaling and calibration error, numpy and scipy only.

Calibrated on the validation split so the probabilities shown to annotators and the
uncertainty order of the queue mean what they say; the test split is never used to fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# A validation set the model gets entirely right pushes the fitted temperature towards 0
# (ever sharper probabilities); the bounds keep one lucky split from making every later
# suggestion look certain.
MIN_TEMPERATURE = 0.5
MAX_TEMPERATURE = 20.0
# A fine-tuned network is only ever softened, never sharpened: such networks are
# overconfident (Guo et al., 2017), most of all on writing they never saw, and averaged
# with a sharpened BERT the ensemble simply follows BERT's confident mistakes (measured:
# docs/benchmarks.md, unseen styles).
MIN_NETWORK_TEMPERATURE = 1.0
ECE_BINS = 15


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _nll(logits: np.ndarray, targets: np.ndarray, temperature: float) -> float:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(scaled).sum(axis=1))
    return float(np.mean(log_norm - scaled[np.arange(len(targets)), targets]))


def fit_temperature(logits: np.ndarray, targets: Sequence[int],
                    minimum: float = MIN_TEMPERATURE) -> float:
    """The temperature T minimising validation NLL of softmax(logits / T), within bounds."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    if len(targets) == 0:
        return 1.0
    found = minimize_scalar(
        lambda log_t: _nll(logits, targets, float(np.exp(log_t))),
        bounds=(np.log(minimum), np.log(MAX_TEMPERATURE)), method="bounded",
    )
    return float(np.exp(found.x))


def expected_calibration_error(probabilities: np.ndarray, targets: Sequence[int],
                               bins: int = ECE_BINS) -> float | None:
    """ECE with equal-width confidence bins: sum over bins of |accuracy - confidence| x share."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    if len(targets) == 0:
        return None
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == targets
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin i holds confidences in (edges[i], edges[i + 1]]; a confidence of 0 joins bin 0.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)
