"""Feedback on the digital twin (small): labels lift the share of interesting objects shown."""

from __future__ import annotations

import numpy as np
import pytest

from skyfm.benchmarks import feedback as fbk


def test_constant_with_bad_points_adds_outliers():
    from skyfm.sim import simulate_lightcurves

    const = simulate_lightcurves(3, classes=["constant"], seed=5)
    bad = fbk.constant_with_bad_points(const, np.random.default_rng(0))
    for lc, b in zip(const, bad):
        moved = np.flatnonzero(np.abs(b.value - lc.value) >= 1.0)
        assert 2 <= len(moved) <= 5 and sorted(moved) == sorted(b.meta["bad_points"])
        assert b.label == "constant_outliers" and b.object_id.startswith("sim-constant-outliers")
        np.testing.assert_array_equal(b.time, lc.time)


@pytest.mark.slow
def test_twin_feedback_experiment_improves_what_is_shown():
    res = fbk.twin_feedback_experiment(n_common=40, n_rare=12, n_odd=15, rounds=4,
                                       per_round=10, top=40, seed=0)
    assert res["n"] == 40 * 10 + 12 * 3 + 15 and res["n_interesting"] == 24
    for name in ("discovery prior", "isolation forest"):
        r = res[name]
        assert r["found_per_round"][-1] >= 1
        # the objects actually shown, with the ranking refit after each round, hold more
        # interesting ones than the first ranking did
        assert r["shown"] > r["before"], (name, r)
    assert sum(res["prior_top_classes"].values()) == 40
