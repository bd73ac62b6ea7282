"""Writing-style augmentation for fine-tuning: the same report as another hospital might write it.

Other departments write the same procedure in capitals or lower case, with or without
section headers, in another order, abbreviated, or through speech recognition with its
slips. Each transform keeps the facts (and so the category) and changes only the surface,
so the model learns the facts. The abbreviations are common radiology shorthand, not the
demo generator's phrases. Pure Python; every draw goes through the given random.Random.
"""

from __future__ import annotations

import random
import re

_HEADER = re.compile(r"^\s*[^\W\d_][^:\n]{0,40}:\s*", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.;!?。])\s*")
_WORD = re.compile(r"[A-Za-z]{4,}")
# Both directions are used: long -> short and short -> long.
_SHORTHAND = (
    ("biopsy", "bx"), ("right", "rt"), ("left", "lt"), ("with", "w/"), ("without", "w/o"),
    ("patient", "pt"), ("history", "hx"), ("complications", "compl"), ("approximately", "approx"),
    ("millilitres", "mL"), ("centimetres", "cm"), ("needle", "ndl"), ("procedure", "proc"),
    ("diagnosis", "dx"), ("lesion", "lsn"), ("under", "u/"), ("and", "&"), ("lower", "lwr"),
    ("upper", "upr"), ("local anaesthesia", "LA"), ("computed tomography", "CT"),
)
_SHORTHAND_RE = [(re.compile(rf"\b{re.escape(a)}\b", re.I), a, b) for a, b in _SHORTHAND]


def _case(rng: random.Random, text: str) -> str:
    return text.upper() if rng.random() < 0.5 else text.lower()


def _drop_headers(rng: random.Random, text: str) -> str:
    return "\n".join(_HEADER.sub("", line) for line in text.split("\n"))


def _one_paragraph(rng: random.Random, text: str) -> str:
    return " ".join(line.strip() for line in text.split("\n") if line.strip())


def _sentence_lines(rng: random.Random, text: str) -> str:
    return "\n".join(s for s in _SENTENCE.split(text) if s.strip())


def _reorder(rng: random.Random, text: str) -> str:
    # The first line (title or procedure line) stays first: rule 1 of the guideline.
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) < 3:
        return text
    rest = lines[1:]
    rng.shuffle(rest)
    return "\n".join([lines[0], *rest])


def _drop_sentence(rng: random.Random, text: str) -> str:
    sentences = [s for s in _SENTENCE.split(text) if s.strip()]
    if len(sentences) < 4:
        return text
    del sentences[rng.randrange(1, len(sentences))]
    return " ".join(sentences)


def _shorthand(rng: random.Random, text: str) -> str:
    for pattern, long, short in _SHORTHAND_RE:
        if rng.random() < 0.5:
            text = pattern.sub(short, text)
        elif short != "&" and rng.random() < 0.3:
            text = re.sub(rf"\b{re.escape(short)}\b", long, text)
    return text


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # swap
    if kind == 1:
        return word[:i] + word[i + 1:]  # drop
    if kind == 2:
        return word[:i] + word[i] + word[i:]  # double
    return word[:i] + rng.choice("aeiou") + word[i + 1:]  # wrong vowel


def _typos(rng: random.Random, text: str) -> str:
    return _WORD.sub(lambda m: _typo(rng, m.group()) if rng.random() < 0.06 else m.group(), text)


def _no_punctuation(rng: random.Random, text: str) -> str:
    return re.sub(r"[.,;:]", "", text)


# Word-level rewrites first and the change of case last, so an all-capitals report has
# its abbreviations and typos in capitals too.
TRANSFORMS = (
    (_shorthand, 0.35), (_typos, 0.35), (_drop_headers, 0.3), (_one_paragraph, 0.2),
    (_sentence_lines, 0.15), (_reorder, 0.2), (_drop_sentence, 0.2), (_no_punctuation, 0.1),
    (_case, 0.25),
)


def augment(text: str, rng: random.Random) -> str:
    """The report with a random subset of the transforms applied, in a fixed order."""
    for transform, p in TRANSFORMS:
        if rng.random() < p:
            text = transform(rng, text)
    return text
