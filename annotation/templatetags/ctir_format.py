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


@register.filter
def named(code, names):
    """A category code as people read it, "3 Lung biopsy", from {code: name}; the code
    alone when the name is unknown."""
    name = get(names, code)
    if name is None and str(code).isdigit():
        name = get(names, int(code))
    return f"{code} {name}" if name else code


@register.filter
def pp(value, digits=1):
    """A difference of proportions in percentage points, signed: 0.049 -> '+4.9'."""
    if value is None or value == "":
        return "–"
    return f"{float(value) * 100:+.{int(digits)}f}".replace("-", "−")


@register.filter
def pvalue(value):
    """P as journals print it: three decimals, '< 0.001' below that, a dash when undefined."""
    if value is None or value == "":
        return "–"
    return "< 0.001" if float(value) < 0.001 else f"{float(value):.3f}"
