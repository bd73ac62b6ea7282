"""Forms of the pages: they check input; the services write.

Two kinds. What a person types (a project's name, a category, a member) comes back as the
form with its errors, on the page. What the page itself sends (hidden fields, buttons, the
numbers in its links: `InputForm`) is never typed, so a value that does not validate is a
bad request: a 400 whose message names the field (ctir_site.errors.bad_request shows it).
"""

import math
import re
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core import signing
from django.core.exceptions import BadRequest

from .importing.columns import DATE_FORMATS, FIELDS, ColumnMapping
from .models import Category, Membership, Project, Role

MAX_INT = 2**31 - 1  # PostgreSQL integer; ids and positions stay far below it
RESERVED_KEYS = "szp?"  # skip, back, pause, guideline (annotate and read pages)
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


# --- What the page sends -----------------------------------------------------------------

def shown(value) -> str:
    """A posted value in a message: quoted, and cut short, whatever was sent."""
    text = str(value)
    return repr(text if len(text) <= 40 else text[:40] + "...")


class InputForm(forms.Form):
    """A form of hidden fields, buttons and link parameters: `checked()` is its cleaned data,
    or a BadRequest whose message names each bad field (a field's label is its name unless
    it is given one)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.label = field.label or name

    def checked(self) -> dict:
        if not self.is_valid():
            raise BadRequest("; ".join(str(error) for errors in self.errors.values()
                                       for error in errors))
        return self.cleaned_data


class WholeNumberField(forms.IntegerField):
    """A whole number in ASCII digits from 0 to max_value; None when missing or empty.

    IntegerField hands the text to int(), which also reads '２', and isdigit() alone is
    true of '²'; the length check comes before int() ever sees 5,000 digits."""

    default_error_messages = {
        "invalid": "%(name)s must be a whole number from 0 to %(maximum)s, not %(value)s"}

    def __init__(self, *, max_value: int = MAX_INT, required: bool = False, **kwargs):
        super().__init__(min_value=0, max_value=max_value, required=required, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()) or len(text) > len(str(self.max_value)) or (
                int(text) > self.max_value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid", params={
                "name": self.label, "maximum": self.max_value, "value": shown(value)})
        return int(text)


def whole_number(value, *, name: str, maximum: int = MAX_INT) -> int | None:
    """One value that no form holds (a header), checked as WholeNumberField checks a form's:
    BadRequest, naming it, when it is not a whole number from 0 to maximum."""
    try:
        return WholeNumberField(max_value=maximum, label=name).clean(value)
    except forms.ValidationError as exc:
        raise BadRequest(exc.messages[0]) from None


class MillisecondsField(forms.Field):
    """Time on screen measured by the page: a finite number of milliseconds, 0 or more, as a
    whole number (at most MAX_INT: the services clamp it to the time on screen anyway).
    None when missing or empty: without JavaScript the server's own times stand."""

    default_error_messages = {
        "invalid": "%(name)s must be a number of milliseconds (0 or more), not %(value)s"}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or number < 0:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid",
                                        params={"name": self.label, "value": shown(value)})
        return int(min(number, MAX_INT))


class _NamedChoice:
    """A choice the page offers: anything else is named in the message, with the choices."""

    default_error_messages = {
        "invalid_choice": "%(name)s must be one of %(choices)s, not %(value)s"}

    def validate(self, value):
        try:
            super().validate(value)
        except forms.ValidationError as exc:
            if exc.code != "invalid_choice":
                raise
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={
                    "name": self.label, "value": shown(exc.params["value"]),
                    "choices": ", ".join(str(key) for key, _ in self.choices if key)},
            ) from None


class ChoiceOf(_NamedChoice, forms.ChoiceField):
    pass


class ChoicesOf(_NamedChoice, forms.MultipleChoiceField):
    pass


class NavigationForm(InputForm):
    """The parameters of the pages' own links: back to an earlier answer, a page of a list."""

    back = forms.BooleanField(required=False)
    before = WholeNumberField()
    # Paginator.get_page turns anything that is not a page into the first or the last one.
    page = forms.CharField(required=False)


class ReportChoiceForm(InputForm):
    """The report a decision is about (the adjudication queue's rows)."""

    report = WholeNumberField()


class ImportCheckForm(InputForm):
    """The import page's link to the preview a worker's check kept."""

    check = WholeNumberField()


UPLOAD_SALT = "ctir.import.upload"
UPLOAD_MAX_AGE = 6 * 3600  # a staged upload older than this can no longer be confirmed


class StagedUploadForm(forms.Form):
    """The token of a previewed upload (annotation.views._preview_context signs it): valid
    while it has not expired, for the admin and the project it was previewed for, while its
    staged file is still there. cleaned_data: the token's contents and the staged path."""

    token = forms.CharField(required=False, strip=False)

    def __init__(self, *args, project: Project, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.project, self.user = project, user

    def clean_token(self):
        try:
            return signing.loads(self.cleaned_data["token"], salt=UPLOAD_SALT,
                                 max_age=UPLOAD_MAX_AGE)
        except signing.BadSignature:
            raise forms.ValidationError(
                "This upload has expired; please upload the file again.") from None

    def clean(self):
        token = self.cleaned_data.get("token")
        if token is None:
            return self.cleaned_data
        if token.get("project") != self.project.pk or token.get("user") != self.user.pk:
            # Left in place: the upload still belongs to whoever previewed it, where they did.
            raise forms.ValidationError("This upload was previewed by another user or in "
                                        "another project; upload the file again here to "
                                        "import it.")
        staged = Path(settings.CTIR_UPLOAD_DIR) / Path(token["file"]).name
        if not staged.exists():
            raise forms.ValidationError("This upload was already imported or has expired.")
        self.cleaned_data["staged"] = staged
        return self.cleaned_data

    def error_text(self) -> str:
        return " ".join(str(error) for errors in self.errors.values() for error in errors)


class ColumnMappingForm(InputForm):
    """The column mapping chosen in the preview: for each field, columns of this file (the
    text may join several); a column the file does not have is a bad request."""

    date_format = ChoiceOf(choices=list(DATE_FORMATS.items()), required=False)

    def __init__(self, *args, header: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.header = header
        columns = [("", "(none)")] + [(column, column) for column in header]
        for name in FIELDS:
            field = (ChoicesOf if name == "text" else ChoiceOf)(
                choices=columns, required=False, label=f"map_{name}", error_messages={
                    "invalid_choice": "%(name)s: %(value)s is not a column of this file"})
            self.fields[f"map_{name}"] = field
        self.fields["date_format"] = self.fields.pop("date_format")  # checked after the columns

    def mapping(self) -> ColumnMapping:
        data = self.checked()
        columns = {}
        for name in FIELDS:
            value = data[f"map_{name}"]
            chosen = [c for c in (value if isinstance(value, list) else [value]) if c]
            if chosen:
                columns[name] = tuple(sorted(set(chosen), key=self.header.index))
        return ColumnMapping(columns, data["date_format"] or "iso")


# --- What a person types ------------------------------------------------------------------

class ProjectForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].required = False
            self.fields["slug"].help_text = "Left empty: made from the name."

    def clean(self):
        data = super().clean()
        if "slug" in self.fields and not data.get("slug") and data.get("name"):
            from django.utils.text import slugify

            slug = slugify(data["name"])[:50]
            if not slug:
                self.add_error("slug", "Give a slug: the name has no letters for one.")
            elif Project.objects.filter(slug=slug).exists():
                self.add_error("slug", f"{slug!r} is taken; choose another.")
            data["slug"] = slug
        return data

    class Meta:
        model = Project
        fields = ["name", "slug", "description", "guideline"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2}),
                   "guideline": forms.Textarea(attrs={"rows": 8})}


class ProjectEditForm(ProjectForm):
    """The settings page: the project's words, and how its reports are read (double reading,
    how long a served report is held), which before could be set only in the Django admin."""

    annotations_per_report = forms.IntegerField(
        min_value=1, max_value=5, label="Readings per report",
        help_text="1 for single reading; 2 for double reading.")
    double_read_fraction = forms.FloatField(
        min_value=0, max_value=100, label="Share read twice, %",
        help_text="With 2+ readings: the share of reports (chosen at random) read more than "
        "once; the rest need one.")
    claim_minutes = forms.IntegerField(
        min_value=1, max_value=240, label="Hold a served report for, minutes",
        help_text="Another annotator is not served it meanwhile.")

    fast_retrain_every = forms.IntegerField(
        min_value=0, max_value=10_000, label="Retrain the fast model every, labels",
        required=False,
        help_text="A TF-IDF model trains in seconds after this many new labels and replaces "
        "the suggestions' model only if at least as good on validation. 0: off.")

    class Meta(ProjectForm.Meta):
        fields = ["name", "description", "guideline", "annotations_per_report",
                  "double_read_fraction", "claim_minutes", "fast_retrain_every"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["double_read_fraction"] = round(
                self.instance.double_read_fraction * 100, 1)

    def clean_fast_retrain_every(self):
        # Left out (a script posting the older form): the setting stays as it is.
        value = self.cleaned_data["fast_retrain_every"]
        return self.instance.fast_retrain_every if value is None else value

    def clean_double_read_fraction(self):
        return self.cleaned_data["double_read_fraction"] / 100


class CategoryForm(forms.ModelForm):
    """One category. The key is one character, stored in lower case as the pages read it."""

    class Meta:
        model = Category
        fields = ["code", "name", "description", "key", "colour"]
        widgets = {"colour": forms.TextInput(attrs={"type": "color"}),
                   "code": forms.NumberInput(attrs={"min": 0, "max": 999})}

    def __init__(self, *args, project: Project | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        if self.instance.pk:
            # Models and exports name categories by code: it is fixed once created.
            self.fields["code"].disabled = True

    def validate_unique(self):
        """clean() says which code or key is taken, in words; the database still enforces it."""

    def clean_key(self):
        key = self.cleaned_data["key"].strip().lower()
        if len(key) != 1 or key.isspace():
            raise forms.ValidationError("One character: a digit or a letter.")
        if key in RESERVED_KEYS:
            raise forms.ValidationError(
                f"{key!r} is taken by the labeling pages (S skip, Z back, P pause, ? guideline).")
        return key

    def clean_colour(self):
        colour = self.cleaned_data["colour"]
        if not _COLOUR.fullmatch(colour or ""):
            raise forms.ValidationError("A colour as #rrggbb.")
        return colour.lower()

    def clean(self):
        data = super().clean()
        if self.project is None:
            return data
        siblings = Category.objects.filter(project=self.project).exclude(pk=self.instance.pk)
        if "code" in data and siblings.filter(code=data["code"]).exists():
            self.add_error("code", f"Code {data['code']} is already used in this project.")
        if data.get("key") and siblings.filter(key=data["key"]).exists():
            self.add_error("key", f"Key {data['key']!r} is already used in this project.")
        return data


# Offered to the rows of a new project's category form, in order.
PALETTE = ["#0ea5e9", "#f59e0b", "#10b981", "#8b5cf6", "#ef4444", "#64748b"]


class BaseCategoryFormSet(forms.BaseFormSet):
    """The categories of a new project: at least two, codes and keys unique among them."""

    def get_form_kwargs(self, index):
        # Suggested values for each row, as the row's own initial (not the formset's, which
        # would make every row required): a row left without a name is skipped.
        kwargs = super().get_form_kwargs(index)
        if index is not None:
            kwargs["initial"] = {"code": index + 1, "key": str(index + 1),
                                 "colour": PALETTE[index % len(PALETTE)]}
        return kwargs

    def clean(self):
        if any(self.errors):
            return
        filled = [f.cleaned_data for f in self.forms if f.cleaned_data]
        if len(filled) < 2:
            raise forms.ValidationError("A project needs at least two categories.")
        for field in ("code", "key", "name"):
            values = [c[field] for c in filled]
            if len(set(values)) != len(values):
                raise forms.ValidationError(f"Two categories have the same {field}.")


CategoryFormSet = forms.formset_factory(CategoryForm, formset=BaseCategoryFormSet, extra=6,
                                        max_num=50, absolute_max=50)


class MemberAddForm(forms.Form):
    """Add an existing user. A project admin may add only people who are already members of
    a project they administer: any active user by name would let the admin of one project
    pull a new user of another project in, then make that user's set-password link."""

    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ANNOTATOR)

    def __init__(self, *args, admin: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.admin = admin

    def clean_username(self):
        name = self.cleaned_data["username"].strip()
        users = User.objects.filter(username=name, is_active=True)
        if not self.admin.is_superuser:
            # The same message whether the user exists elsewhere or not: names do not leak.
            administered = Membership.objects.filter(user=self.admin, role=Role.ADMIN)
            users = users.filter(memberships__project__in=administered.values("project"))
        user = users.first()
        if user is None:
            raise forms.ValidationError(
                f"No user {name!r} among the members of your projects; create one below "
                "instead.")
        return user


class MemberCreateForm(forms.Form):
    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = forms.EmailField(required=False, help_text="Optional; no mail is sent.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ANNOTATOR)

    def clean_username(self):
        name = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=name).exists():
            raise forms.ValidationError(f"{name!r} already exists; add them above instead.")
        return name


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AdjudicationForm(forms.Form):
    """The adjudication page's and the report page's decision: a category of the project that
    still takes labels, and a reason for the label history."""

    category = forms.CharField(max_length=6)
    reason = forms.CharField(max_length=2000, help_text="Kept in the label history.",
                             error_messages={"required": "Give a reason for the adjudication; "
                                             "it is kept in the label history."})

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_category(self):
        text = self.cleaned_data["category"]
        category = Category.objects.filter(
            project=self.project, code=int(text)).first() if text.isascii() and (
                text.isdigit()) else None
        if category is None:
            raise forms.ValidationError(f"No category {text!r} in {self.project.slug}.")
        if category.retired:
            raise forms.ValidationError(
                f"Category {category} is retired: it keeps its labels but takes no new ones.")
        return category


class SettingsActionForm(InputForm):
    """Which form of the settings page was sent, and the category its row buttons are for."""

    action = ChoiceOf(required=False, choices=[(a, a) for a in (
        "project", "category_add", "retire", "restore", "delete")])
    category = WholeNumberField()


class MembersActionForm(InputForm):
    """Which form of the members page was sent, and the membership its row buttons are for."""

    action = ChoiceOf(required=False, choices=[(a, a) for a in (
        "add", "create", "role", "remove", "link")])
    membership = WholeNumberField()


class ExportForm(InputForm):
    """The export's one option: the Hugging Face dataset with patient ids and dates."""

    # A choice, not a BooleanField: its checkbox widget reads "0" as ticked.
    identifiers = forms.TypedChoiceField(choices=[("0", "no"), ("1", "yes")], required=False,
                                         coerce=lambda value: value == "1", empty_value=False,
                                         error_messages={"invalid_choice":
                                                         "identifiers must be 0 or 1"})
