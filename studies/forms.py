"""Forms of the study pages: they check what an admin typed; the services write."""

import math

from django import forms

from annotation.forms import ChoiceOf, InputForm, MillisecondsField, WholeNumberField

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


class StudyUpdateForm(InputForm):
    """The study page's buttons: open, close or reopen; the model version compared with (empty:
    the active one, not fixed); time the model on the cases."""

    status = ChoiceOf(choices=ReaderStudy.Status.choices, required=False)
    model_version = WholeNumberField()
    measure_model = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        # Its select sends "" for "not fixed": the field was sent, so the choice is cleared.
        data["model_version_sent"] = "model_version" in self.data
        return data


class StudyPartForm(InputForm):
    """Which part of the study page an htmx poll asks for ("model": the model card)."""

    part = ChoiceOf(choices=[("model", "model")], required=False)


class DrawLinkForm(InputForm):
    """The power planner's "use N cases" link: N fills the new study's sample size in."""

    draw = WholeNumberField()


class PlannerNumberField(forms.Field):
    """A number of the power planner, from lowest to highest, in ASCII digits; a whole one
    has no fraction. None when missing or empty: the planner's default stands."""

    def __init__(self, *, lowest: float, highest: float, whole: bool = False, **kwargs):
        self.lowest, self.highest, self.whole = lowest, highest, whole
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        text = "" if value is None else str(value).strip()
        if not text:
            return None
        try:
            number = float(text) if text.isascii() else math.nan
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and self.lowest <= number <= self.highest) or (
                self.whole and number != int(number)):
            kind = "a whole number" if self.whole else "a number"
            raise forms.ValidationError(f"The {self.label} must be {kind} from {self.lowest} "
                                        f"to {self.highest}, not {text[:40]!r}", code="invalid")
        return int(number) if self.whole else number


# The planner's defaults: the study we follow (two readers at 92.2% and 94.0%, the model at
# 97.9%, 332 test cases) with a reader spread and case correlation typical of such studies.
POWER_DEFAULTS = {"reader_accuracy": 93.1, "model_accuracy": 97.9, "n_readers": 2,
                  "n_cases": 332, "reader_sd": 3.0, "case_correlation": 0.3, "target": 80.0}


class PowerForm(InputForm):
    """The power planner's query string; cleaned_data has every value, a default (given to the
    form: this project's own where it has them) where one is missing."""

    reader_accuracy = PlannerNumberField(label="expected reader accuracy (%)", lowest=0.1,
                                         highest=99.9)
    model_accuracy = PlannerNumberField(label="expected model accuracy (%)", lowest=0.1,
                                        highest=99.9)
    n_readers = PlannerNumberField(label="readers", lowest=2, highest=100, whole=True)
    n_cases = PlannerNumberField(label="cases", lowest=2, highest=100_000, whole=True)
    reader_sd = PlannerNumberField(label="spread of reader accuracy (SD, points)", lowest=0,
                                   highest=30)
    case_correlation = PlannerNumberField(label="case correlation", lowest=0, highest=0.95)
    target = PlannerNumberField(label="target power (%)", lowest=1, highest=99)

    def __init__(self, *args, defaults: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.defaults = defaults

    def clean(self):
        data = super().clean()
        return {name: self.defaults[name] if data.get(name) is None else data[name]
                for name in self.fields}


class ReadingActionForm(InputForm):
    """What the reading page sent besides an answer: pause or resume (the reader's button),
    hidden or visible (the page itself, when it is hidden or shown again), and the page's
    own id (StudyReader.page): only the session's current page counts."""

    action = ChoiceOf(required=False, choices=[(a, a) for a in (
        "hidden", "visible", "pause", "resume")])
    page = forms.CharField(required=False, strip=False)


class ReadingAnswerForm(InputForm):
    """A reader's answer: the category's code, the case's position in the reading order,
    and the time the case was on screen."""

    category = WholeNumberField()
    position = WholeNumberField()
    active_ms = MillisecondsField(required=False)
