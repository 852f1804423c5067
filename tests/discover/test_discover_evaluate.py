"""Evaluation metrics, and one real-data open-set benchmark (SDSS, seconds)."""

from __future__ import annotations

import numpy as np

from skyfm.discover.evaluate import format_table, grouped_metrics, recall_at


def test_recall_at():
    s = np.arange(100.0)
    y = np.zeros(100, bool)
    y[[99, 98, 0]] = True
    assert recall_at(s, y, 0.01) == 1 / 3
    assert recall_at(s, y, 0.05) == 2 / 3


def test_grouped_metrics_at_one_percent():
    rng = np.random.default_rng(0)
    normal, anomalies = rng.normal(0, 1, 990), rng.normal(10, 1, 40)
    m = grouped_metrics(normal, anomalies, rate=0.01)
    assert m["group_size"] == 10 and m["n_groups"] == 4
    assert m["recall_top1"] == 1.0 and m["auroc"] == 1.0
    m = grouped_metrics(normal, rng.normal(0, 1, 40))
    assert 0.3 < m["auroc"] < 0.7 and m["recall_top1"] < 0.5


def test_openset_sdss_beats_baseline(shared_data):
    from skyfm.discover.evaluate import eval_openset_sdss

    res = eval_openset_sdss(shared_data("catalog_sdss_dr14_skyserver10k"))
    by = {r.method: r for r in res}
    sky, base = by["skyfm combined"], by["baseline iforest(ugriz)"]
    assert sky.n_anomalies > 500
    assert sky.auroc > base.auroc and sky.recall_top5 > base.recall_top5
    assert "skyfm combined" in format_table(res)
