"""The forms of the pages' own input (hidden fields, buttons, link parameters): a value the
page would never send is a BadRequest whose message names the field and what was sent."""

from types import SimpleNamespace

import pytest
from django.core.exceptions import BadRequest
from django.urls import reverse

from accounts.forms import TokenCreateForm
from annotation.forms import (
    MAX_INT,
    ColumnMappingForm,
    NavigationForm,
    SettingsActionForm,
    whole_number,
)
from annotation.labeling.forms import AnswerForm
from studies.forms import POWER_DEFAULTS, PowerForm, ReadingAnswerForm, StudyUpdateForm


def problem(form) -> str:
    with pytest.raises(BadRequest) as raised:
        form.checked()
    return str(raised.value)


@pytest.mark.parametrize("value", ["abc", "\uff12", "\u00b2", "-1", "1.0", "9" * 5000,
                                   str(MAX_INT + 1), "  "])
def test_a_whole_number_is_ascii_digits_up_to_its_maximum(value):
    message = problem(NavigationForm({"before": value}))
    assert message.startswith(f"before must be a whole number from 0 to {MAX_INT}, not '")
    assert len(message) < 120  # 5,000 digits are cut short


@pytest.mark.parametrize(("value", "number"), [("12", 12), (" 7 ", 7), ("", None),
                                                (str(MAX_INT), MAX_INT)])
def test_a_whole_number_and_an_empty_one(value, number):
    assert NavigationForm({"before": value}).checked()["before"] == number


def test_a_header_is_checked_like_a_field():
    assert whole_number("12", name="Content-Length", maximum=2**62) == 12
    with pytest.raises(BadRequest, match="Content-Length must be a whole number"):
        whole_number("\uff11\uff12", name="Content-Length", maximum=2**62)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", "-5", "abc"])
def test_milliseconds_are_finite_and_not_negative(value):
    assert "active_ms must be a number of milliseconds (0 or more), not " in problem(
        ReadingAnswerForm({"active_ms": value}))


def test_milliseconds_are_capped_and_may_be_missing():
    assert ReadingAnswerForm({"active_ms": "1e12"}).checked()["active_ms"] == MAX_INT
    assert ReadingAnswerForm({"active_ms": "1500.7"}).checked()["active_ms"] == 1500
    assert ReadingAnswerForm({}).checked()["active_ms"] is None


def test_a_button_the_page_does_not_have_is_named():
    assert problem(SettingsActionForm({"action": "rename"})) == (
        "action must be one of project, category_add, retire, restore, delete, not 'rename'")
    assert SettingsActionForm({}).checked()["action"] == ""


CATEGORIES = [SimpleNamespace(code=1), SimpleNamespace(code=2)]


def test_an_answer_is_a_category_that_takes_answers():
    answer = AnswerForm({"token": "t", "category": "2"}, categories=CATEGORIES).checked()
    assert answer["category"] is CATEGORIES[1] and answer["active_ms"] is None
    assert problem(AnswerForm({"category": "3"}, categories=CATEGORIES)) == (
        "category '3' is not a category of this project that takes answers")
    assert "category must be a whole number" in problem(
        AnswerForm({"category": "\uff11"}, categories=CATEGORIES))


def test_a_skip_needs_no_category():
    skip = AnswerForm({"action": "skip"}, categories=CATEGORIES).checked()
    assert skip["action"] == "skip" and skip["category"] is None


def test_the_column_mapping_names_a_column_the_file_lacks():
    header = ["Accession", "Findings", "Impression"]
    form = ColumnMappingForm({"map_accession": "Accession",
                              "map_text": ["Impression", "", "Findings"],
                              "date_format": "dmy"}, header=header)
    mapping = form.mapping()
    assert mapping.date_format == "dmy"
    assert mapping.to_dict() == ColumnMappingForm(
        {"map_accession": "Accession", "map_text": ["Findings", "Impression"],
         "date_format": "dmy"}, header=header).mapping().to_dict()
    with pytest.raises(BadRequest, match="map_text: 'Nope' is not a column of this file"):
        ColumnMappingForm({"map_text": ["Findings", "Nope"]}, header=header).mapping()
    with pytest.raises(BadRequest, match="date_format must be one of iso, dmy, mdy, not 'ydm'"):
        ColumnMappingForm({"date_format": "ydm"}, header=header).mapping()


def test_the_planner_fills_in_its_defaults_and_refuses_wide_digits():
    values = PowerForm({"n_cases": "150", "target": ""}, defaults=POWER_DEFAULTS).checked()
    assert values == {**POWER_DEFAULTS, "n_cases": 150}
    assert problem(PowerForm({"n_readers": "\uff13"}, defaults=POWER_DEFAULTS)) == (
        "The readers must be a whole number from 2 to 100, not '\uff13'")
    assert PowerForm({"n_readers": "3.0"}, defaults=POWER_DEFAULTS).checked()["n_readers"] == 3


def test_an_empty_model_version_clears_the_choice():
    cleared = StudyUpdateForm({"model_version": ""}).checked()
    assert cleared["model_version_sent"] and cleared["model_version"] is None
    untouched = StudyUpdateForm({"status": "open"}).checked()
    assert not untouched["model_version_sent"] and untouched["status"] == "open"
    assert problem(StudyUpdateForm({"status": "gone"})) == (
        "status must be one of draft, open, closed, not 'gone'")


@pytest.mark.parametrize(("name", "message"), [
    ("", "Give the token a name, so you know later what uses it"),
    ("   ", "Give the token a name, so you know later what uses it"),
    ("a\x00b", "The name holds a control character; use plain text"),
    ("a\tb", "The name holds a control character; use plain text"),
    ("n" * 101, "The name is longer than 100 characters"),
])
def test_a_token_name_is_plain_text_of_its_column_length(name, message):
    form = TokenCreateForm({"name": name})
    assert not form.is_valid() and form.error_text() == message


@pytest.mark.django_db
def test_a_settings_button_the_page_does_not_have_is_a_400(login, project, admin_user):
    response = login(admin_user).post(reverse("project_settings", args=[project.slug]),
                                      {"action": "rename"})
    assert response.status_code == 400
    assert "action must be one of project, category_add" in response.content.decode()


@pytest.mark.django_db
def test_an_answer_with_a_retired_category_is_a_400_that_says_so(login, project, annotator):
    from annotation.models import Annotation, Category
    from tests.support import add_reports

    add_reports(project, 2, label=False)
    client = login(annotator)
    token = client.get(reverse("annotate", args=[project.slug])).context["token"]
    Category.objects.filter(project=project, code=1).update(retired=True)
    response = client.post(reverse("annotate", args=[project.slug]),
                           {"token": token, "category": "1"})
    assert response.status_code == 400
    assert "category &#x27;1&#x27; is not a category of this project that takes answers" in (
        response.content.decode())
    assert not Annotation.objects.exists()
