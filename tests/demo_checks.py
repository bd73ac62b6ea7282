"""Checks the demo generator tests share: the naive keyword rule they must defeat, how to
score a rule, and the labels each hard case gets."""


def keyword_rule(text: str) -> int:
    """Drain / lung / bone words, else soft tissue: what a generator must not give away."""
    text = text.lower()
    if "drain" in text:
        return 1
    if "lung" in text:
        return 3
    if "bone" in text:
        return 4
    return 2


def accuracy(rule, rows) -> float:
    return sum(rule(r.text) == r.label for r in rows) / len(rows)


def accuracy_by(rule, rows, attribute: str) -> dict:
    """The rule's accuracy within each group of rows sharing a value (split, style)."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(getattr(row, attribute), []).append(row)
    return {key: accuracy(rule, group) for key, group in groups.items()}


def labels_by_hard_case(rows) -> dict[str, set[int]]:
    """Hard-case kind ("" for none) -> every label its rows have."""
    by_kind: dict[str, set[int]] = {}
    for r in rows:
        by_kind.setdefault(r.hard_case, set()).add(r.label)
    return by_kind
