from django import template

register = template.Library()


@register.filter
def pct(value, digits=1):
    """0.9789 -> '97.9%'; missing values show as a dash, never as 0."""
    if value is None or value == "":
        return "–"
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def acc_ci(metrics):
    """'97.9% (95.7–99.1)' from a metrics block."""
    if not metrics or metrics.get("accuracy") is None:
        return "–"
    lo, hi = metrics["accuracy_ci"]
    return f"{metrics['accuracy'] * 100:.1f}% ({lo * 100:.1f}–{hi * 100:.1f})"


@register.filter
def seconds(value):
    if value is None:
        return "–"
    value = int(round(float(value)))
    return f"{value // 60} min {value % 60:02d} s" if value >= 60 else f"{value} s"


@register.filter
def get(mapping, key):
    """mapping[key], or mapping[str(key)]: JSON objects have string keys, codes are ints."""
    mapping = mapping or {}
    return mapping[key] if key in mapping else mapping.get(str(key))
