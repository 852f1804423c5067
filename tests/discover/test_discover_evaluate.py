"""Evaluation metrics, and one real-data open-set benchmark (SDSS, seconds)."""

from __future__ import annotations

import numpy as np

from skyfm.benchmarks.discovery import format_table, grouped_metrics, recall_at


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
    from skyfm.benchmarks.discovery import eval_openset_sdss

    res = eval_openset_sdss(shared_data("catalog_sdss_dr14_skyserver10k"))
    by = {r.method: r for r in res}
    sky, base = by["skyfm combined"], by["baseline iforest(ugriz)"]
    assert sky.n_anomalies > 500
    assert sky.auroc > base.auroc and sky.recall_top5 > base.recall_top5
    assert "skyfm combined" in format_table(res)


def test_openset_split_keeps_the_class_out_of_the_fitted_half():
    from skyfm.benchmarks.discovery import openset_split

    labels = np.array(["a"] * 50 + ["b"] * 30 + ["mira"] * 7)
    fit, ev = openset_split(labels, "mira", seed=0)
    assert not set(fit) & set(ev) and len(fit) + len(ev) == len(labels)
    assert (labels[fit] != "mira").all() and (labels[ev] == "mira").sum() == 7
    assert abs((labels[fit] == "a").sum() - 25) <= 1  # stratified halves
    np.testing.assert_array_equal(openset_split(labels, "mira", 0)[0], fit)


def test_clean_openset_encoder_never_sees_the_class(tmp_path):
    """A tiny build: the twin-class head has no 'mira', the record names the real curves,
    the cache is reused, and a Mira among the fitted curves is refused."""
    import json

    import pytest

    from skyfm.benchmarks.discovery import build_openset_encoder, openset_encoder
    from skyfm.sim import simulate_lightcurves

    real = list(simulate_lightcurves(3, classes=["rrab", "eb_detached"], survey="eros", seed=5))
    for i, c in enumerate(real):
        c.meta.pop("simulated", None)  # stand-ins for unlabelled real curves
        c.object_id = f"real{i}"
    small = {"sim_per_class": 2, "sim_surveys": ("eros",), "epochs": 1, "batch_size": 8}
    logs: list[str] = []
    d = openset_encoder(real, "mira", seed=0, root=tmp_path, log=logs.append, **small)
    cfg = json.loads((d / "config.json").read_text())
    assert "mira" not in cfg["twin_classes"] and "rrab" in cfg["twin_classes"]
    rec = cfg["training"]["openset"]
    assert rec["excluded_class"] == "mira" and rec["n_real"] == len(real)
    assert any("pretraining" in m for m in logs)
    logs.clear()
    assert openset_encoder(real, "mira", seed=0, root=tmp_path, log=logs.append, **small) == d
    assert not any("pretraining" in m for m in logs)  # cached
    assert len(rec["twin_digest"]) == 16
    cfg["training"]["openset"]["twin_digest"] = "0" * 16  # as if the digital twin had changed
    (d / "config.json").write_text(json.dumps(cfg))
    assert openset_encoder(real, "mira", seed=0, root=tmp_path, log=logs.append, **small) == d
    assert any("pretraining" in m for m in logs)  # stale: rebuilt
    real[0].label = "mira"
    with pytest.raises(ValueError, match="never see the left-out class"):
        build_openset_encoder(tmp_path / "x", real, "mira", **small)
