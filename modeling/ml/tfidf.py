"""The language-agnostic candidate: TF-IDF over character and word n-grams + logistic regression.

Character n-grams read any script (Japanese has no spaces between words) and survive
typos and abbreviations that a fixed word vocabulary does not; word n-grams beside them
keep short multi-word phrases. scikit-learn only, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .concepts import concept_texts
from .text import prepare_text

TFIDF_FILE = "tfidf.joblib"


# Word n-grams count half as much as character n-grams: in Japanese a space-separated
# "word" is a whole phrase, and at equal weight those rare features cost about two points
# of accuracy with 112 training reports (bench/styles.py notes in docs/benchmarks.md).
WORD_WEIGHT = 0.5
# The concept block (concepts.py: organ, lesion, procedure in English or Japanese, tagged by
# section and negation) is what carries a model across languages and house styles, where
# the n-grams of one hospital's spellings fire on nothing.
CONCEPT_WEIGHT = 0.5


def build_pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    concepts = make_pipeline(
        FunctionTransformer(concept_texts),
        TfidfVectorizer(token_pattern=r"\S+", lowercase=False, sublinear_tf=True),
    )
    features = FeatureUnion(
        [("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5), sublinear_tf=True)),
         ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
         ("concept", concepts)],
        transformer_weights={"char": 1.0, "word": WORD_WEIGHT, "concept": CONCEPT_WEIGHT},
    )
    return make_pipeline(
        features, LogisticRegression(C=20.0, class_weight="balanced", max_iter=3000)
    )


class TfidfModel:
    """Fitted pipeline plus the label order its logit columns follow."""

    def __init__(self, pipeline, labels: Sequence[int]):
        self.pipeline = pipeline
        self.labels = [int(c) for c in labels]

    @classmethod
    def fit(cls, texts: Sequence[str], codes: Sequence[int], labels: Sequence[int]) -> TfidfModel:
        pipeline = build_pipeline()
        pipeline.fit([prepare_text(t) for t in texts], [int(c) for c in codes])
        return cls(pipeline, labels)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """(n, labels) scores in project label order; softmax gives the model's probabilities."""
        if not len(texts):
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        classifier = self.pipeline[-1]
        scores = self.pipeline.decision_function([prepare_text(t) for t in texts])
        if scores.ndim == 1:  # binary: one score for the second class
            scores = np.stack([-scores / 2, scores / 2], axis=1)
        column = {int(c): i for i, c in enumerate(classifier.classes_)}
        return np.stack([scores[:, column[c]] for c in self.labels], axis=1)

    def save(self, folder: Path) -> None:
        import joblib

        joblib.dump({"pipeline": self.pipeline, "labels": self.labels}, folder / TFIDF_FILE)

    @classmethod
    def load(cls, folder: Path) -> TfidfModel:
        import joblib

        # Written by this project's own training job into its model folder, never uploaded.
        data = joblib.load(folder / TFIDF_FILE)
        return cls(data["pipeline"], data["labels"])
