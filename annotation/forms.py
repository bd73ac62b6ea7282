"""Forms of the project set-up pages: they check input; the services write."""

import re

from django import forms
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator

from .models import Category, Membership, Project, Role

RESERVED_KEYS = "szp?"  # skip, back, pause, guideline (annotate and read pages)
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


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
