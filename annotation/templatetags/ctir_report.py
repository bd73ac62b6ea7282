from django import template

from annotation.highlight import highlight as _highlight

register = template.Library()


@register.filter
def highlight(text):
    return _highlight(text or "")

