"""discover(): the candidates.csv contract, the files other tools read, and the ranking."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from discover_synth import make_images, make_spectra, make_table

from skyfm.discover import CANDIDATE_COLUMNS, discover
from skyfm.discover.explain import safe_filename

FAST = {"n_members": 3, "n_noise": 1, "top": 3}


def _check_candidates(df: pd.DataFrame, ids: list[str]) -> None:
    assert list(df.columns[:len(CANDIDATE_COLUMNS)]) == CANDIDATE_COLUMNS
    assert sorted(df["object_id"]) == sorted(ids)  # every object exactly once
    assert sorted(df["rank"]) == list(range(1, len(ids) + 1))
    assert (np.diff(df["score"].to_numpy()) <= 1e-12).all()  # sorted by rank = by score
    assert df["score"].between(0, 1).all()
    assert df["reason"].str.len().gt(5).all()


def test_candidates_csv_schema_and_files(tmp_path, disc_lcs_with_outlier):
    obs = disc_lcs_with_outlier
    df = discover(obs, tmp_path, **FAST)
    ids = [o.object_id for o in obs]
    _check_candidates(df, ids)
    csv = pd.read_csv(tmp_path / "candidates.csv", dtype={"object_id": str})
    _check_candidates(csv, ids)
    # neighbours are real, ordinary, other objects
    for _, r in csv.head(5).iterrows():
        nbrs = r["neighbours"].split(";")
        assert len(nbrs) == 5 and r["object_id"] not in nbrs and set(nbrs) <= set(ids)
    # the search/web interface: embeddings.npy rows follow object_ids.txt
    emb = np.load(tmp_path / "embeddings.npy")
    order = (tmp_path / "object_ids.txt").read_text().split("\n")[:-1]
    assert emb.dtype == np.float32 and emb.shape[0] == len(order) == len(ids)
    assert sorted(order) == sorted(ids)
    for oid in csv["object_id"].head(3):
        assert (tmp_path / "plots" / f"{safe_filename(oid)}.png").stat().st_size > 1000
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n"] == len(ids) and "knn" in summary["scorers"]


def test_obvious_outlier_ranks_at_the_top(disc_lcs_with_outlier):
    df = discover(disc_lcs_with_outlier, None, **FAST)
    top = df.set_index("object_id").loc["OUTLIER"]
    assert top["rank"] <= 3 and top["score"] > 0.9  # top 4 %: the X-model recon dissents
    assert top["score_knn"] > 0.95 and top["score_iforest"] > 0.95
    # the reason names an interpretable difference (period, amplitude or colour)
    assert any(w in top["reason"] for w in ("period", "amplitude", "colour", "scatter",
                                            "brightness"))


def test_injected_twin_signal_ranks_high_on_a_sim_set():
    sim = pytest.importorskip("skyfm.sim")
    base = list(sim.simulate_lightcurves(15, classes=["rrab", "eb_contact", "cepheid"], seed=0))
    rng = np.random.default_rng(3)
    host = base.pop(0)
    odd = None
    for _ in range(20):  # an obvious one: a bright, long microlensing event
        cand = sim.inject_lightcurve(host, "microlensing", rng)
        if cand.meta["injected"]["u0"] < 0.3 and cand.meta["injected"]["t_E"] > 20:
            odd = cand
            break
    assert odd is not None
    odd.label = None
    odd.object_id = "INJECTED"
    df = discover(base + [odd], None, **FAST)
    assert int(df.loc[df.object_id == "INJECTED", "rank"].iloc[0]) <= 3


def test_report_html_has_top_candidates_and_images(tmp_path, disc_lcs_with_outlier):
    df = discover(disc_lcs_with_outlier, tmp_path, **FAST)
    html = (tmp_path / "report" / "index.html").read_text()
    for oid in df["object_id"].head(3):
        assert oid in html
    assert html.count("data:image/png;base64,") >= 2 + 3  # histogram, map, 3 candidate plots
    assert "<script src=" not in html and "http" not in html.split("<body>")[1][:2000]


@pytest.mark.parametrize("maker, odd", [(make_spectra, "sp_odd"), (make_images, "im_ring"),
                                        (lambda: [make_table()], "row_odd")])
def test_each_modality_finds_its_oddity(tmp_path, maker, odd):
    obs = maker()
    df = discover(obs, tmp_path, **FAST)
    assert df.iloc[0]["object_id"] == odd
    assert (tmp_path / "report" / "index.html").exists()
    assert (tmp_path / "plots" / f"{safe_filename(odd)}.png").exists()


def test_labels_switch_on_open_set_scorer(disc_lcs):
    with_labels = discover(disc_lcs, None, **FAST)
    assert "score_openset" in with_labels.columns
    without = discover(disc_lcs, None, use_labels=False, **FAST)
    assert "score_openset" not in without.columns and "label" not in without.columns


def test_mixed_modalities_are_refused(disc_lcs):
    from skyfm.errors import DataFormatError

    with pytest.raises(DataFormatError, match="mixed"):
        discover(disc_lcs[:5] + make_spectra(3), None)
