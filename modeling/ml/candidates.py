"""Which candidate a training job serves: BERT, TF-IDF, or their ensemble.

Chosen on the validation split. Rules, in order:
1. never serve a candidate less accurate on validation than another of the same job;
2. among the most accurate, prefer the more robust choice: the ensemble, then TF-IDF
   (language-agnostic), then BERT alone, because a validation split from the same
   hospital and period cannot show which one holds up on other writing styles;
3. when the base tokenizer reads the reports poorly, candidates that need BERT are
   served only if strictly more accurate than TF-IDF.
Plain Python; no torch.
"""

from __future__ import annotations

import numpy as np

from .calibration import softmax

BERT, TFIDF, ENSEMBLE = "bert", "tfidf", "ensemble"
CANDIDATES = (BERT, TFIDF, ENSEMBLE)
# Tie preference, most robust first.
PREFERENCE = (ENSEMBLE, TFIDF, BERT)
NEEDS_BERT = {BERT, ENSEMBLE}
LABELS = {BERT: "Fine-tuned BERT", TFIDF: "TF-IDF (n-grams + concepts)",
          ENSEMBLE: "Ensemble (BERT + TF-IDF)"}
SHORT_LABELS = {BERT: "BERT", TFIDF: "TF-IDF", ENSEMBLE: "Ensemble"}


def ensemble_probabilities(bert_probs: np.ndarray, tfidf_probs: np.ndarray,
                           unreadable: np.ndarray | None = None,
                           bert_weight: float = 0.5) -> np.ndarray:
    """Weighted mean of the two calibrated probability vectors (``bert_weight`` for BERT,
    the rest for TF-IDF; fitted on validation by calibration.fit_ensemble_weight); TF-IDF's
    alone for a report the BERT tokenizer cannot read (``unreadable``, one flag per report).

    A department whose model was trained on English reports and that then imports Japanese
    ones would otherwise get part of every vote from an encoder that sees mostly [UNK]."""
    mean = bert_weight * np.asarray(bert_probs) + (1.0 - bert_weight) * np.asarray(tfidf_probs)
    if unreadable is None or not np.any(unreadable):
        return mean
    return np.where(np.asarray(unreadable, dtype=bool)[:, None], np.asarray(tfidf_probs), mean)


def candidate_probabilities(name: str, logits: dict[str, np.ndarray],
                            temperatures: dict[str, float],
                            unreadable: np.ndarray | None = None,
                            bert_weight: float = 0.5) -> np.ndarray:
    """Calibrated probabilities of one candidate from its members' raw logits."""
    if name == ENSEMBLE:
        return ensemble_probabilities(
            candidate_probabilities(BERT, logits, temperatures),
            candidate_probabilities(TFIDF, logits, temperatures),
            unreadable, bert_weight,
        )
    return softmax(np.asarray(logits[name], dtype=np.float64) / temperatures.get(name, 1.0))


def select_served(val_accuracy: dict[str, float | None], *, poor_coverage: bool = False) -> str:
    """The candidate to serve, from validation accuracies (see the module's rules)."""
    scored = {name: acc for name, acc in val_accuracy.items() if acc is not None}
    if not scored:
        raise ValueError("no candidate has a validation accuracy")
    best = max(scored.values())
    tied = [name for name in PREFERENCE if scored.get(name) == best]
    if poor_coverage and TFIDF in scored:
        tied = [n for n in tied if n not in NEEDS_BERT or scored[n] > scored[TFIDF]] or [TFIDF]
    return tied[0]
