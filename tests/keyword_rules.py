"""The naive keyword rule the demo generators must defeat, and how to score a rule."""


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
