"""Concept features: one vocabulary for English, its shorthand and Japanese."""

import numpy as np

from modeling.ml.candidates import ensemble_probabilities
from modeling.ml.concepts import concept_text
from modeling.ml.coverage import unreadable_reports
from modeling.ml.tfidf import TfidfModel


def tokens(text):
    return set(concept_text(text).split())


def test_english_shorthand_and_japanese_name_the_same_concepts():
    full = tokens("CT-guided biopsy of a right lower lobe lung nodule.")
    short = tokens("CT bx RLL nodule")
    japanese = tokens("右肺下葉結節に対するCTガイド下生検")
    for bag in (full, short, japanese):
        assert {"key:lung", "key:biopsy", "key:nodule"} <= bag, bag


def test_bone_and_drainage_in_both_languages():
    assert {"key:vertebra", "key:biopsy"} <= tokens("Biopsy of L2 vertebral body lesion")
    assert {"key:vertebra", "key:biopsy"} <= tokens("第2腰椎椎体病変の生検")
    assert {"key:abscess", "key:drainage"} <= tokens("Drainage of liver abscess, 10 Fr pigtail")
    assert {"key:abscess", "key:drainage", "key:liver"} <= tokens("肝膿瘍ドレナージ")


def test_longest_japanese_term_wins():
    bag = tokens("副腎腫瘤の生検")
    assert "key:adrenal" in bag and "key:kidney" not in bag


def test_negation_in_english_and_japanese():
    assert "neg:drainage" in tokens("Lung biopsy. No drain was left.")
    assert "neg:pneumothorax" in tokens("Biopsy of the nodule. There was no pneumothorax.")
    assert "neg:drainage" in tokens("肺生検。ドレーン留置なし。")
    assert "neg:drainage" not in tokens("Liver abscess. A drain was left.")


def test_history_is_background_and_the_procedure_line_is_key():
    bag = tokens("History: lung biopsy in 2019.\nProcedure: drainage of a pelvic abscess.")
    assert {"bg:lung", "bg:biopsy", "key:drainage", "key:abscess"} <= bag
    assert "key:lung" not in bag
    japanese = tokens("【既往歴】肺生検\n【手技】骨盤内膿瘍ドレナージ")
    assert {"bg:lung", "key:drainage", "key:abscess"} <= japanese
    assert "key:lung" not in japanese


def test_neighbouring_concepts_are_paired():
    assert "key:abscess+lung" in tokens("Drainage of right lower lobe lung abscess.")


ENGLISH = [
    ("CT-guided drainage of a liver abscess, 10 Fr pigtail catheter left.", 1),
    ("Pelvic abscess drained with an 8 Fr catheter; pus aspirated.", 1),
    ("Core biopsy of a pancreatic mass, 18G needle, 3 cores.", 2),
    ("Biopsy of an adrenal lesion; 4 cores taken.", 2),
    ("Biopsy of a right upper lobe lung nodule, 18G, 3 cores.", 3),
    ("Lung mass in the left lower lobe sampled, 2 cores.", 3),
    ("Biopsy of a lytic L3 vertebral body lesion with an 11G bone needle.", 4),
    ("Iliac bone lesion sampled with a bone biopsy needle through the cortex.", 4),
]
JAPANESE = [
    ("肝膿瘍に対しCTガイド下ドレナージを施行、8Frカテーテルを留置した。", 1),
    ("膵腫瘤に対しCTガイド下生検を施行、18G針で3本採取した。", 2),
    ("右肺上葉結節のCTガイド下生検を施行した。", 3),
    ("第3腰椎椎体の溶骨性病変に対し骨生検針で生検を施行した。", 4),
]


def test_a_model_trained_on_english_reads_japanese_through_the_concepts():
    model = TfidfModel.fit([t for t, _ in ENGLISH], [c for _, c in ENGLISH], [1, 2, 3, 4])
    predicted = np.array([1, 2, 3, 4])[model.logits([t for t, _ in JAPANESE]).argmax(axis=1)]
    assert predicted.tolist() == [c for _, c in JAPANESE]


def test_unreadable_reports_are_flagged_by_their_unk_share():
    unk = 100
    encoded = [[101, 5, 6, 7, 8, 102], [101, unk, 6, unk, 8, 102], [101, 102]]
    assert unreadable_reports(encoded, unk).tolist() == [False, True, False]
    assert unreadable_reports(encoded, None).tolist() == [False, False, False]


def test_the_ensemble_leaves_an_unreadable_report_to_tfidf():
    bert = np.array([[0.9, 0.1], [0.9, 0.1]])
    tfidf = np.array([[0.2, 0.8], [0.2, 0.8]])
    out = ensemble_probabilities(bert, tfidf, np.array([False, True]))
    assert np.allclose(out[0], [0.55, 0.45])
    assert np.allclose(out[1], [0.2, 0.8])


def test_misspelt_glossary_words_are_read_one_edit_away():
    bag = tokens("CT guided biospy of rigth lung nodle, no pneumothroax")
    assert {"key:biopsy", "key:lung", "key:nodule", "key:neg:pneumothorax"} <= bag
    assert {"key:abscess", "key:drainage"} <= tokens("absess drainge, 8 Fr pigtial")


def test_short_words_and_other_first_letters_are_not_stretched():
    assert tokens("The patient lives alone.") == set()  # "lives" is not "liver"
    assert "drainage" not in tokens("brainage")  # not the same first letter
