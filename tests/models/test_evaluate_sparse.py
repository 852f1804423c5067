"""`skyfm evaluate` accounts for every curve: empty ones are listed as skipped, thin ones
counted; train/test in = used + skipped."""

from skyfm.data.observations import LightCurve


def test_evaluate_lists_empty_curves_and_counts_thin_ones():
    from skyfm.sim import simulate_lightcurves
    from skyfm.train.evaluate import evaluate, rich_table

    tr = list(simulate_lightcurves(6, classes=["rrab", "mira"], seed=0))
    te = list(simulate_lightcurves(3, classes=["rrab", "mira"], seed=1))
    tr.append(LightCurve([], [], object_id="empty_tr", label="mira"))
    te += [LightCurve([58000.0], [20.0], [0.1], upper_limit=[True], object_id="limit_only",
                      label="rrab"),
           LightCurve([1.0, 2.0], [15.0, 15.1], [0.02, 0.02], "g", object_id="two",
                      label="rrab")]
    res = evaluate(tr, te, ("all",), n_draws=1)
    assert res["n_in"] == {"train": 13, "test": 8}
    assert (res["n_train"], res["n_test"]) == (12, 7)
    assert res["skipped"]["train"] == [{"object_id": "empty_tr", "reason": "0 valid points"}]
    assert res["skipped"]["test"] == [{"object_id": "limit_only",
                                       "reason": "0 valid points (1 upper limit(s) only)"}]
    assert res["n_thin"]["test"] == 1
    assert "1 skipped" in rich_table(res).title
