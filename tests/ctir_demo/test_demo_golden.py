"""The demo generators' output, pinned byte for byte.

Benchmarks and tests compare runs on the same generated reports, so a refactoring of
ctir_demo must not change a single character of any generator's rows for a given seed.
"""

import dataclasses
import hashlib
import json

import pytest

from bench.heldout.unseen import generate_unseen_reports
from ctir_demo.cohort import generate_cohort, generate_reports
from ctir_demo.japanese import (
    generate_japanese_cohort,
    generate_japanese_reports,
    generate_mixed_cohort,
)

# sha256 of json.dumps([asdict(row)], default=str), recorded before the ctir_demo clean-up.
GOLDEN = [
    (generate_cohort, (2025,),
     "bcac9cf24460f0c96bca97a4ba2f7a8f727e8422d469ece7a26af39459f97b5a"),
    (generate_reports, (300, 5),
     "02f5ba149c604874a0ba14725117f6e91983fb7a50724bb751936ea8ff106e65"),
    (generate_japanese_cohort, (2025,),
     "ae0aae41ebeec6be033b8d33773b3e454386a0ed0820eb3d7adfc6f4d6980a76"),
    (generate_japanese_reports, (200, 3),
     "e639e7bacd03e9b595c96ec607c5c9e73458d95812dfa45d9974c973d8cc4669"),
    (generate_mixed_cohort, (2025,),
     "31a3defaf7fc13437dfc7cbc68f61c874003e6c7f61f6f2cf3d696500a0106ab"),
    (generate_unseen_reports, (300, 7),
     "cf21b8be33dd04d5b772a143fa5af0ccec0a0c6be97c2616adb69a39499cc897"),
]


def digest(rows) -> str:
    payload = json.dumps([dataclasses.asdict(row) for row in rows], default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


@pytest.mark.parametrize(("generate", "args", "expected"), GOLDEN,
                         ids=[f"{g.__name__}{a}" for g, a, _ in GOLDEN])
def test_it_generates_the_same_reports_as_before(generate, args, expected):
    assert digest(generate(*args)) == expected
