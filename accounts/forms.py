"""The token page's form: it checks the name; the service makes the token."""

from django import forms

from .models import ApiToken


class TokenCreateForm(forms.Form):
    """A token's name: something to know it by later, plain text, as long as its column."""

    name = forms.CharField(
        required=True, max_length=ApiToken._meta.get_field("name").max_length,
        error_messages={
            "required": "Give the token a name, so you know later what uses it",
            "max_length": "The name is longer than %(limit_value)s characters",
            "null_characters_not_allowed": "The name holds a control character; use plain "
                                           "text"})

    def clean_name(self):
        name = self.cleaned_data["name"]
        if any(ord(ch) < 32 for ch in name):
            raise forms.ValidationError("The name holds a control character; use plain text")
        return name

    def error_text(self) -> str:
        return "; ".join(str(error) for errors in self.errors.values() for error in errors)
