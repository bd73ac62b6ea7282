"""The candidates a training job fits and a model folder serves, by name: BERT, TF-IDF and
their ensemble; which one to serve; how the ensemble combines its members.

This is the catalogue the web pages read (names, display names), so it stays plain Python:
no torch. How each candidate is fit, scores reports, is saved and loaded is in registry.py,
which training and inference iterate over. A new candidate is a CandidateInfo in CATALOGUE
and a class in registry.REGISTRY; modeling's ready() hands the phrases to annotation's
suggestion line (annotation sits below modeling and cannot import this).

Which candidate a job serves is chosen on the validation split. Rules, in order:
1. never serve a candidate less accurate on validation than another of the same job;
2. among the most accurate, prefer the more robust choice: the ensemble, then TF-IDF
   (language-agnostic), then BERT alone, because a validation split from the same
   hospital and period cannot show which one holds up on other writing styles;
3. when the base tokenizer reads the reports poorly, candidates that need BERT are
   served only if strictly more accurate than TF-IDF.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calibration import scaled_softmax


@dataclass(frozen=True)
class CandidateInfo:
    name: str  # as stored in metrics and label_map.json: never rename one
    label: str  # on the Models page
    short_label: str
    phrase: str  # in the annotator's suggestion line: "Model v3 (<phrase>) suggests 2"
    needs_encoder: bool  # loads the fine-tuned BERT encoder and its tokenizer
    tie_rank: int  # among equally accurate candidates the lowest is served (rule 2)
    built_from: tuple[str, ...] = ()  # the candidates it combines, earlier in CATALOGUE


BERT, TFIDF, ENSEMBLE = "bert", "tfidf", "ensemble"
CATALOGUE = (
    CandidateInfo(BERT, "Fine-tuned BERT", "BERT", "fine-tuned BERT", needs_encoder=True,
                  tie_rank=2),
    CandidateInfo(TFIDF, "TF-IDF (n-grams + concepts)", "TF-IDF", "TF-IDF", needs_encoder=False,
                  tie_rank=1),
    CandidateInfo(ENSEMBLE, "Ensemble (BERT + TF-IDF)", "Ensemble", "BERT + TF-IDF",
                  needs_encoder=True, tie_rank=0, built_from=(BERT, TFIDF)),
)
# The candidate reported under "baseline" in a job's metrics, its historical name.
BASELINE = TFIDF

INFO = {info.name: info for info in CATALOGUE}
CANDIDATES = tuple(INFO)
LABELS = {info.name: info.label for info in CATALOGUE}
SHORT_LABELS = {info.name: info.short_label for info in CATALOGUE}
PHRASES = {info.name: info.phrase for info in CATALOGUE}
NEEDS_BERT = {info.name for info in CATALOGUE if info.needs_encoder}
# Tie preference, most robust first.
PREFERENCE = tuple(sorted(CANDIDATES, key=lambda name: INFO[name].tie_rank))


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


def decided_without_bert(tfidf_probs: np.ndarray, bert_weight: float) -> np.ndarray:
    """Per report, whether TF-IDF's vote alone fixes the ensemble's category, whatever BERT
    says: TF-IDF's lead over its runner-up, at its share (1 - w), is larger than the most
    BERT's share w can move two categories apart (w, a probability of 1 against 0). The
    ensemble asks BERT only about the other reports (``skip_decided``): on a CPU the
    encoder costs nearly all of a report's time, and most reports are clear cases.

    Exact: for every such report the weighted mean's top category is TF-IDF's, so the
    category served is the one the full ensemble would give. The small margin keeps
    rounding from deciding a tie."""
    probs = np.asarray(tfidf_probs, dtype=np.float64)
    if probs.shape[1] < 2:
        return np.ones(len(probs), dtype=bool)
    top_two = np.sort(probs, axis=1)[:, -2:]
    lead = top_two[:, 1] - top_two[:, 0]
    return (1.0 - bert_weight) * lead > bert_weight + 1e-9


def candidate_probabilities(name: str, logits: dict[str, np.ndarray],
                            temperatures: dict[str, float],
                            unreadable: np.ndarray | None = None,
                            bert_weight: float = 0.5) -> np.ndarray:
    """Calibrated probabilities of one candidate from its members' raw logits (the same
    arithmetic as the registry's candidates, on plain arrays)."""
    if name == ENSEMBLE:
        return ensemble_probabilities(
            candidate_probabilities(BERT, logits, temperatures),
            candidate_probabilities(TFIDF, logits, temperatures),
            unreadable, bert_weight,
        )
    return scaled_softmax(logits[name], temperatures.get(name, 1.0))


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
