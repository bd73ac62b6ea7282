from django import template

from annotation.highlight import highlight as _highlight

register = template.Library()


@register.filter
def highlight(text):
    return _highlight(text or "")


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)
