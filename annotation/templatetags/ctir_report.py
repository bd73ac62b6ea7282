from django import template

from annotation.highlight import TITLES
from annotation.highlight import highlight as _highlight

register = template.Library()


@register.filter
def highlight(text):
    return _highlight(text or "")


@register.inclusion_tag("annotation/_highlight_legend.html")
def highlight_legend(where="below"):
    """What the marks of `highlight` mean, in plain words: under the report text, or
    ("above") once above a list of reports."""
    return {"titles": TITLES, "where": where}
