"""The fuzz/torture suite's CI budget: a fixed number of mutated cuts of the real shared files
(skyfm.testing.fuzz) read with read()'s safety net off. The long run is
``python bench/fuzz.py --n 10000 --seed 0``. Every 100th input also goes through a minimal
``discover``. No escape, no silent acceptance, no hang, no error that does not name its file.
"""

import os

import pytest

from skyfm.testing.fuzz import fuzz
from skyfm.testing.fuzz_seeds import build_seeds

pytestmark = pytest.mark.shared_data

N_INPUTS = int(os.environ.get("SKYFM_FUZZ_INPUTS", "700"))

@pytest.fixture(scope="module")
def report():
    root = os.environ.get("SKYFM_DATA_DIR")
    if not root or not os.path.isdir(root):
        pytest.skip("needs the shared data sets: SKYFM_DATA_DIR is not set")
    seeds = build_seeds(root)
    if len(seeds) < 10:
        pytest.skip(f"only {len(seeds)} seed files under SKYFM_DATA_DIR={root}")
    return fuzz(N_INPUTS, 0, data_dir=root, seeds=seeds, discover_every=100, time_limit=20.0)


def test_fuzz_budget_tries_enough_inputs(report):
    assert len(report.results) == N_INPUTS
    counts = report.counts()
    assert counts["ok"] > 100 and counts["clean"] > 100  # both paths are really exercised
    assert len({r.seed for r in report.results}) >= 20  # every kind of real file


def test_fuzz_budget_no_escapes_or_silent_acceptance(report):
    bad = report.bad()
    assert not bad, "\n" + "\n".join(
        f"{r.outcome} #{r.index} {r.seed}/{r.mutator} [{r.stage}] {r.error[:300]} at {r.where}"
        f" ({r.note[:100]})" for r in bad[:20])


def test_fuzz_budget_no_hangs_or_unnamed_errors(report):
    counts = report.counts()
    assert counts["hang"] == 0 and counts["unnamed"] == 0


def test_fuzz_is_deterministic():
    from skyfm.testing.fuzz import make_case, pairs

    root = os.environ.get("SKYFM_DATA_DIR")
    if not root or not os.path.isdir(root):
        pytest.skip("needs the shared data sets: SKYFM_DATA_DIR is not set")
    seeds = build_seeds(root)
    all_pairs = pairs(seeds)
    for i in (0, 7, 123):
        a, b = make_case(all_pairs, i, 5), make_case(all_pairs, i, 5)
        assert a[1] == b[1] and a[2].files == b[2].files and a[2].target == b[2].target
