"""The annotate page's input: an answer (or a skip) to the report it served."""

from django import forms

from ..forms import ChoiceOf, InputForm, MillisecondsField, WholeNumberField, shown


class AnswerForm(InputForm):
    """The served report's token, a category of the project that takes answers (not needed
    for a skip), and the time the report was on screen. cleaned_data["category"] is the
    Category."""

    token = forms.CharField(required=False, strip=False)
    action = ChoiceOf(required=False, choices=[("skip", "skip")])
    category = WholeNumberField()
    active_ms = MillisecondsField(required=False)

    def __init__(self, *args, categories, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = categories

    def clean(self):
        data = super().clean()
        if data.get("action") == "skip" or "category" in self.errors:
            return data
        code = data.get("category")
        data["category"] = next((c for c in self.categories if c.code == code), None)
        if data["category"] is None:
            self.add_error("category", f"category {shown(self.data.get('category', ''))} is "
                           "not a category of this project that takes answers")
        return data
