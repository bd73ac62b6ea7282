"""Highlighting marks terms in the history or indication and negated terms apart from the
procedure itself (labeling guideline, rules 1 and 6), and the pages say what the marks mean."""

import random

import pytest
from django.urls import reverse

from annotation.highlight import HISTORY, NEGATED, highlight, marks


def contexts(text):
    """{term: context} of every marked term (the last one wins for a repeated term)."""
    return {text[start:end]: context for start, end, _, context in marks(text)}


def context_of(text, term, nth=0):
    found = [(text[s:e], c) for s, e, _, c in marks(text) if text[s:e] == term]
    return found[nth][1]


# --- the two cases of issue 19 --------------------------------------------------------------

def test_it_marks_vertebral_in_the_clinical_history_apart():
    text = ("Clinical history: osteoporosis with old vertebral compression fractures.\n"
            "Procedure: CT-guided biopsy of the right upper lobe nodule.")
    assert contexts(text) == {"vertebral": HISTORY, "biopsy": "", "lobe": "", "nodule": ""}
    html = highlight(text)
    assert ('<mark class="hl-organ hl-history" title="mentioned in the history or indication">'
            'vertebral</mark>') in html
    assert '<mark class="hl-procedure">biopsy</mark>' in html


def test_it_marks_lung_in_aerated_lung_was_not_crossed_as_negated():
    text = "Biopsy of the anterior mediastinal mass. The aerated lung was not crossed."
    assert contexts(text) == {"Biopsy": "", "mediastinal": "", "lung": NEGATED}
    assert '<mark class="hl-organ hl-negated" title="negated">lung</mark>' in highlight(text)


# --- history and indication -----------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "History: lung cancer.\nProcedure: CT-guided biopsy of L1.",
    "INDICATION: LUNG CANCER STAGING\nEXAM: CT GUIDED BIOPSY OF L1",
    "Reason for exam: lung cancer\nTechnique: biopsy of L1 with an 11G needle",
    "Clinical information: lung cancer | Procedure: biopsy of L1",
    "REFERRAL QUESTION\nSTAGING OF LUNG CANCER.\n\nPROCEDURE\nBIOPSY OF L1.",
    "REFERRAL QUESTION\r\nSTAGING OF LUNG CANCER.\r\n\r\nPROCEDURE\r\nBIOPSY OF L1.",
    "Clinical history\nlung cancer,\nstaging\n\nProcedure\nbiopsy of L1",
    "indication staging of lung cancer\nbiopsy of L1",
])
def test_it_marks_a_history_or_indication_section_apart_and_ends_it_at_the_next(text):
    found = {text[s:e].lower(): c for s, e, _, c in marks(text)}
    assert found["lung"] == HISTORY
    assert found["biopsy"] == ""


def test_a_wrapped_indication_goes_on_to_the_next_heading():
    text = ("CLINICAL INDICATION: ENLARGING SOLID NODULE RIGHT UPPER LOBE ON\n"
            "SURVEILLANCE CT, OLD VERTEBRAL FRACTURES\nPROCEDURE: CT-GUIDED BIOPSY OF RUL.")
    assert contexts(text) == {"NODULE": HISTORY, "LOBE": HISTORY, "VERTEBRAL": HISTORY,
                              "BIOPSY": "", "RUL": ""}


def test_in_prose_an_indication_heads_only_its_own_sentence():
    text = ("CT-guided biopsy was performed. Indication: ? metastasis from renal cancer. "
            "The needle was advanced into the liver lesion and 3 cores were taken.")
    assert contexts(text) == {"biopsy": "", "renal": HISTORY, "liver": "", "cores": ""}


@pytest.mark.parametrize("text, term", [
    ("Biopsy of L2 vertebral body lytic lesion, 11G bone needle; history of lung cancer.",
     "lung"),
    ("Prior CT-guided lung biopsy was non-diagnostic; now a bone lesion.", "lung"),
    ("Known lung cancer treated with lobectomy; now new bone lesion.", "lung"),
    ("Previous drainage of a psoas abscess.", "drainage"),
    ("Adrenal biopsy in 2019 was benign.", "Adrenal"),
    ("CT-guided biopsy of a pancreatic mass 4 weeks ago.", "biopsy"),
    ("hx lung ca, lung bx 2017", "bx"),
    ("Known lung cancer, previously biopsied.", "lung"),
    ("Osteoporosis with old vertebral compression fractures.", "vertebral"),
    ("s/p liver biopsy", "liver"),
])
def test_past_procedure_phrasing_marks_the_term_as_history(text, term):
    assert contexts(text)[term] == HISTORY


def test_history_reaches_only_its_own_clause():
    text = "Known lung cancer; now new lytic lesion for bone biopsy."
    assert contexts(text) == {"lung": HISTORY, "bone": "", "biopsy": ""}
    text = "Known lung cancer, L2 lytic lesion for biopsy."
    assert contexts(text) == {"lung": HISTORY, "biopsy": ""}


@pytest.mark.parametrize("text, term", [
    ("A 67-year-old man with a lung nodule.", "lung"),           # "old" inside a word
    ("30 mL of old blood was aspirated.", "aspirated"),          # "old" not right before
    ("The needle was advanced past the rib.", "rib"),
    ("Liver biopsy 2019-03-12, 3 cores.", "biopsy"),             # a date, not a year
    ("Post-procedure chest drain for pneumothorax.", "chest drain"),
])
def test_words_that_only_look_like_history_leave_the_term_plain(text, term):
    assert contexts(text)[term] == ""


# --- negation -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, term", [
    ("No drain was left.", "drain"),
    ("No pneumothorax, so no chest tube was needed.", "chest tube"),
    ("There is no lung involvement; the lesion is purely osseous.", "lung"),
    ("A drain was not required.", "drain"),
    ("The needle path avoided the pleura.", "pleura"),
    ("Subcarinal node reached; the lung was avoided.", "lung"),
    ("Biopsy of the adjacent soft-tissue thickening was deferred.", "Biopsy"),
    ("Drainage was performed instead of biopsy.", "biopsy"),
    ("Aspiration rather than drainage.", "drainage"),
    ("The patient declined bone biopsy.", "biopsy"),
    ("Sampled without traversing aerated lung.", "lung"),
    ("no bx; collection aspirated", "bx"),
    ("NO DRAIN LEFT.", "DRAIN"),
])
def test_a_negation_trigger_near_the_term_marks_it_negated(text, term):
    assert contexts(text)[term] == NEGATED


@pytest.mark.parametrize("text, term", [
    ("No pneumothorax, 8 Fr drain left in the cavity.", "drain"),    # another clause
    ("No complications. Lung biopsy with 3 cores.", "Lung"),         # another sentence
    ("No significant bleeding was seen during the whole of the lung biopsy.", "lung"),  # far
    ("Aspiration rather than drainage of the renal cyst.", "renal"),  # not the alternative
    ("Biopsy negative for malignancy.", "Biopsy"),
    ("The drain was not removed.", "drain"),
    ("No change in the lung nodule.", "lung"),                       # pseudo-negation
    ("The biopsy was abandoned after the introducer.", "biopsy"),    # aborted still counts
])
def test_a_term_out_of_a_negations_reach_stays_plain(text, term):
    assert contexts(text)[term] == ""


def test_the_history_wins_over_a_negation_in_it():
    assert contexts("History: no prior lung biopsy.\nProcedure: drainage.") == {
        "lung": HISTORY, "biopsy": HISTORY, "drainage": ""}


def test_plain_terms_keep_their_plain_mark_and_everything_is_escaped():
    html = highlight('<b>no</b> "drain" left. Lung & biopsy')
    assert "<b>" not in html and "&lt;b&gt;no&lt;/b&gt;" in html
    assert '<mark class="hl-drain hl-negated" title="negated">drain</mark>' in html
    assert ('<mark class="hl-organ">Lung</mark> &amp; <mark class="hl-procedure">biopsy</mark>'
            in html)


def test_terms_are_whole_words():
    assert contexts("Informed consent after discussion; ribbon; effusions; discs") == {
        "effusions": "", "discs": ""}


def test_the_marks_make_sense_on_generated_reports():
    """On 200 demo reports: the procedure line (the title sentence) is never marked apart,
    and reports with a history sentence of another category get a history mark."""
    from ctir_demo.cohort import generate_cohort

    rows = random.Random(19).sample(generate_cohort(2025), 200)
    history_rows = [r for r in rows if r.hard_case == "history_other_category"]
    assert history_rows
    for row in history_rows:
        assert any(c == HISTORY for *_, c in marks(row.text)), row.text
    apart = sum(c != "" for r in rows for *_, c in marks(r.text))
    total = sum(1 for r in rows for _ in marks(r.text))
    assert 0.01 < apart / total < 0.25  # marked apart sometimes, never most of the time


# --- the legend ------------------------------------------------------------------------------

def test_the_annotate_page_explains_the_marks_under_the_report(login, project, annotator):
    from tests.support import add_reports

    add_reports(project, 2, label=False)
    page = login(annotator).get(reverse("annotate", args=[project.slug])).content.decode()
    text_at, legend_at = page.index('id="report-text"'), page.index('id="highlight-legend"')
    assert text_at < legend_at < page.index('id="annotate-form"')
    legend = page[legend_at:page.index("</p>", legend_at)]
    for words in ("procedure", "organ or site", "in the history or indication", "negated"):
        assert words in legend
    assert 'class="hl-organ hl-history"' in legend and 'class="hl-organ hl-negated"' in legend


def test_the_report_page_explains_the_marks(login, project, admin_user):
    from annotation.models import Report
    from tests.support import add_reports

    add_reports(project, 1)
    report = Report.objects.get(project=project)
    page = login(admin_user).get(reverse("report_detail", args=[project.slug, report.pk]))
    assert 'id="highlight-legend"' in page.content.decode()
