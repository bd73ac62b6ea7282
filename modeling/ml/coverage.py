"""How well the base model's tokenizer can read a project's reports.

A BERT whose vocabulary lacks the project's script (all-MiniLM-L6-v2 on Japanese turns
about a third of the tokens into [UNK]) cannot learn from them, however long it trains.
Measured at training time, shown on the Models page and in ``train``'s output.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .text import prepare_text

# Beyond these the tokenizer is losing the words that decide the category.
POOR_UNK_RATE = 0.02
POOR_CHARS_PER_TOKEN = 1.3
# One report with more [UNK] than this is not left to the encoder's vote (the ensemble uses
# TF-IDF alone for it); English reports have next to none, Japanese ones about a third.
UNREADABLE_UNK_RATE = 0.05
SAMPLE = 500


def tokenizer_coverage(tokenizer, texts: Sequence[str]) -> dict:
    """[UNK] share of tokens and characters per token over (a sample of) the reports."""
    sample = [prepare_text(t) for t in list(texts)[:SAMPLE]]
    unk_id = tokenizer.unk_token_id
    tokens = unknown = chars = 0
    if sample:
        for ids in tokenizer(sample, add_special_tokens=False)["input_ids"]:
            tokens += len(ids)
            unknown += sum(1 for i in ids if i == unk_id)
        chars = sum(len(t.replace(" ", "").replace("\n", "")) for t in sample)
    unk_rate = unknown / tokens if tokens else 0.0
    chars_per_token = chars / tokens if tokens else 0.0
    poor = bool(tokens) and (unk_rate > POOR_UNK_RATE or chars_per_token < POOR_CHARS_PER_TOKEN)
    return {
        "reports": len(sample), "tokens": tokens, "unk_rate": round(unk_rate, 4),
        "chars_per_token": round(chars_per_token, 3), "poor": poor,
        "warning": _warning(unk_rate, chars_per_token) if poor else "",
    }


def _warning(unk_rate: float, chars_per_token: float) -> str:
    return (
        f"The base model's tokenizer reads these reports poorly: {unk_rate:.0%} of tokens are "
        f"unknown ([UNK]) and a token covers {chars_per_token:.1f} characters. The fine-tuned "
        "BERT cannot learn what it cannot read, so the language-agnostic TF-IDF candidate is "
        "preferred. For reports in this language set CTIR_BASE_MODEL to a local BERT "
        "folder for it (see README, 'Other languages')."
    )


def unreadable_reports(encoded: Sequence[Sequence[int]], unk_id: int | None) -> np.ndarray:
    """One flag per encoded report: does [UNK] make up more than UNREADABLE_UNK_RATE of it?"""
    flags = np.zeros(len(encoded), dtype=bool)
    if unk_id is None:
        return flags
    for i, ids in enumerate(encoded):
        body = max(len(ids) - 2, 1)  # [CLS] and [SEP] are not the report's
        flags[i] = sum(1 for t in ids if t == unk_id) / body > UNREADABLE_UNK_RATE
    return flags
