"""core.db.SearchIContains, the reports search's lookup: the same matches as Django's
icontains, written so that PostgreSQL folds only ASCII letters for an ASCII term."""

import random

import pytest
from django.db import connection
from django.db.models import F

from annotation.models import Project
from core.db import SearchIContains

pytestmark = pytest.mark.django_db

# Texts of letters in both cases, accented and Japanese letters, and LIKE's own characters
# (a term's % _ \ must match themselves). Not the dotless i or long s, whose upper case is
# an ASCII letter under a libc locale: the one documented difference.
ALPHABET = "aAbBeEzZ éÉüÜßｐＰ胸水ア%_\\0-"


def _matches(lookup, term):
    return set(Project.objects.filter(lookup(F("description"), term))
               .values_list("slug", flat=True))


def _icontains(description, term):
    return set(Project.objects.filter(description__icontains=term)
               .values_list("slug", flat=True))


def test_the_search_finds_what_icontains_finds():
    rng = random.Random(7)
    texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))
             for _ in range(300)]
    texts += ["Right PLEURAL effusion", "pleural", "Plèural", "胸水 pleural", "50% of it",
              "500 mL", "a_b", "axb", "back\\slash", "ÉPANCHEMENT", "épanchement",
              "右胸水 PLEURAL", "ｐｌｅｕｒａｌ", "ＰＬＥＵＲＡＬ"]
    Project.objects.bulk_create(Project(name="p", slug=f"p{n}", description=text)
                                for n, text in enumerate(texts))
    terms = ["pleural", "PLEURAL", "Pleural", "50%", "a_b", "\\", "%", "_", "É", "é",
             "épanchement", "胸水", "ü", "ss", "ß", "胸水 pleural", "ｐ", "Ｐ", "500", "-"]
    terms += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 3)))
              for _ in range(200)]
    for term in terms:
        assert _matches(SearchIContains, term) == _icontains("description", term), term
    # Worked examples, so that agreement is not agreement on nothing.
    slugs = {text: f"p{n}" for n, text in enumerate(texts)}
    assert _matches(SearchIContains, "Pleural") == {
        slugs["Right PLEURAL effusion"], slugs["pleural"], slugs["胸水 pleural"],
        slugs["右胸水 PLEURAL"]}
    assert _matches(SearchIContains, "50%") == {slugs["50% of it"]}
    assert slugs["axb"] not in _matches(SearchIContains, "a_b")
    accented = {slugs["épanchement"]}
    if connection.vendor == "postgresql":  # SQLite's LIKE folds ASCII letters alone
        accented.add(slugs["ÉPANCHEMENT"])
    assert accented <= _matches(SearchIContains, "é")
    both = {slugs["胸水 pleural"], slugs["右胸水 PLEURAL"]}
    assert _matches(SearchIContains, "胸水 Pleural") == both
    assert _matches(SearchIContains, "右胸水") == {slugs["右胸水 PLEURAL"]}
    if connection.vendor == "postgresql":
        assert {slugs["ｐｌｅｕｒａｌ"], slugs["ＰＬＥＵＲＡＬ"]} <= _matches(SearchIContains, "ｐ")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's collations")
def test_each_term_gets_the_cheapest_comparison_that_finds_the_same():
    def sql(term):
        return str(Project.objects.filter(SearchIContains(F("description"), term)).query)

    for term in ("pleural", "胸水 CT", "B-0999"):
        assert 'COLLATE "C" ILIKE' in sql(term) and "UPPER" not in sql(term), term
    for term in ("胸水", "0999", "右 - 胸水"):
        assert 'COLLATE "C" LIKE' in sql(term) and "UPPER" not in sql(term), term
    for term in ("é", "ｐleural", "胸水 é"):
        assert "UPPER" in sql(term) and "COLLATE" not in sql(term), term
