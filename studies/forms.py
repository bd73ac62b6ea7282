"""Forms of the study pages: they check what an admin typed; the services write."""

from django import forms

from .models import ReaderStudy
from .selectors import CASE_SETS

# The instructions are shown on every reader's first page: a page of text, not a book.
INSTRUCTIONS_MAX = 10_000


class StudyCreateForm(forms.Form):
    """A new study. Django's CharField already refuses NUL; max_length keeps every text to
    what its column holds, so a long name is a message, not a database error."""

    name = forms.CharField(max_length=ReaderStudy._meta.get_field("name").max_length,
                           required=False, strip=True)
    cases = forms.ChoiceField(choices=[(key, name) for key, (name, _) in CASE_SETS.items()],
                              required=False)
    mode = forms.ChoiceField(choices=ReaderStudy.Mode.choices)
    model_version = forms.ModelChoiceField(queryset=None, required=False, error_messages={
        "invalid_choice": "no such trained model version in this project"})
    readers = forms.ModelMultipleChoiceField(queryset=None, required=False)
    instructions = forms.CharField(max_length=INSTRUCTIONS_MAX, required=False)
    # A sample of the case set: N reports stratified by reference category, drawn with a
    # seed (recorded on the study, so the same cases can be drawn again).
    sample_size = forms.IntegerField(min_value=2, max_value=100_000, required=False)
    date_from = forms.DateField(required=False)
    date_to = forms.DateField(required=False)
    draw_seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, required=False)

    def __init__(self, *args, readers, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["readers"].queryset = readers
        self.fields["model_version"].queryset = versions

    def clean_name(self):
        return self.cleaned_data["name"] or "Reader study"

    def clean_cases(self):
        return self.cleaned_data["cases"] or "test"

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The range ends before it starts.")
        return data

    def error_text(self) -> str:
        """Every problem in one line, field named, for the flash message."""
        return "; ".join(f"{self.fields[name].label or name.replace('_', ' ')}: {error}"
                         if name != "__all__" else str(error)
                         for name, errors in self.errors.items() for error in errors)
