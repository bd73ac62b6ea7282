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
# The ensemble's share for BERT (the rest is TF-IDF's) is fitted on validation, but each
# member keeps at least a quarter of the vote: a validation split that both members get
# right cannot tell which one holds up on other hospitals' writing, so neither is dropped.
# With equal shares fixed, two confident members that disagree split the vote near 50/50
# and the answer is a coin toss (measured: docs/benchmarks.md, leave-one-style-out).
MIN_MEMBER_WEIGHT = 0.25


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def scaled_softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities of temperature-scaled logits: what a calibrated candidate serves."""
    return softmax(np.asarray(logits, dtype=np.float64) / temperature)


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


def fit_ensemble_weight(bert_probs: np.ndarray, tfidf_probs: np.ndarray,
                        targets: Sequence[int]) -> float:
    """BERT's weight w in w * bert + (1 - w) * tfidf minimising validation NLL (stacking of
    the calibrated members, Breiman 1996), within [MIN_MEMBER_WEIGHT, 1 - MIN_MEMBER_WEIGHT].

    Pass only the reports BERT can read: on the others the ensemble is TF-IDF alone."""
    from scipy.optimize import minimize_scalar

    targets = np.asarray(targets, dtype=np.int64)
    if len(targets) == 0:
        return 0.5
    rows = np.arange(len(targets))
    right_bert = np.asarray(bert_probs, dtype=np.float64)[rows, targets]
    right_tfidf = np.asarray(tfidf_probs, dtype=np.float64)[rows, targets]

    def nll(w: float) -> float:
        return float(-np.mean(np.log(np.clip(w * right_bert + (1 - w) * right_tfidf,
                                             1e-12, None))))

    found = minimize_scalar(nll, bounds=(MIN_MEMBER_WEIGHT, 1 - MIN_MEMBER_WEIGHT),
                            method="bounded")
    return float(found.x)


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
