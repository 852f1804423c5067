"""Every object accounted for: thin objects are scored with a flag and high uncertainty, empty
ones are listed in skipped.csv with the reason; objects in = scored + skipped."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from skyfm.data.observations import Catalog, LightCurve, Spectrum
from skyfm.discover import discover
from skyfm.discover.pipeline import score_observations
from skyfm.discover.quality import THIN_UNCERTAINTY, triage
from skyfm.discover.scorers import ReconstructionScorer
from skyfm.errors import DataFormatError

FAST = {"n_noise": 1, "n_members": 2, "report": False, "top": 3}


def _two_point_curves(n=30, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        t0 = rng.uniform(0, 100)
        out.append(LightCurve([t0, t0 + 1.0], 18 + rng.normal(0, 0.1, 2), [0.05, 0.05], "g",
                              object_id=f"o{i}"))
    return out


def _check_files(out, n_in, n_scored, n_skipped):
    cands = pd.read_csv(out / "candidates.csv")
    skipped = pd.read_csv(out / "skipped.csv")
    info = json.loads((out / "summary.json").read_text())
    assert (len(cands), len(skipped)) == (n_scored, n_skipped)
    assert (info["n_in"], info["n_scored"], info["n_skipped"]) == (n_in, n_scored, n_skipped)
    assert not set(cands["object_id"].astype(str)) & set(skipped["object_id"].astype(str))
    return cands, skipped


def test_thirty_two_point_curves_are_all_scored_as_thin(tmp_path):
    """Used to die in ReconstructionScorer.fit ('Input X contains NaN'): the noise covariates
    of curves with < 5 points per band were all NaN."""
    df = discover(_two_point_curves(), tmp_path, **FAST)
    cands, _ = _check_files(tmp_path, 30, 30, 0)
    assert (cands["quality"] == "few_points").all()
    assert np.isfinite(df["score"]).all()
    assert (df["epistemic"] >= THIN_UNCERTAINTY - 1e-12).all()
    assert (df["aleatoric"] >= THIN_UNCERTAINTY - 1e-12).all()
    assert df["reason"].str.startswith("Thin data").all()


def test_reconstruction_scorer_ignores_a_covariate_no_object_has():
    rng = np.random.default_rng(0)
    E = np.column_stack([rng.uniform(0.5, 2, 40), rng.normal(0, 1, 40), np.full(40, np.nan)])
    s = ReconstructionScorer().fit_score_samples(E)
    assert np.isfinite(s).all()
    assert ReconstructionScorer().fit(E).c_keep_.tolist() == [True, False]


def test_sparse_curves_have_finite_noise_covariates():
    from skyfm.models.lightcurve_embedder import LightCurveEmbedder

    lcs = _two_point_curves(12)
    emb = LightCurveEmbedder(encoder=None).fit(lcs)
    C = emb.noise_covariates(lcs)
    assert np.isfinite(C).all()


def _cut(lc, k, rng, stray_band=None):
    """The first ``k`` detections of ``lc`` plus one point in a stray band."""
    det = np.flatnonzero(~lc.upper_limit)[:k]
    t, v, e = lc.time[det], lc.value[det], lc.error[det]
    b = lc.band[det].astype(str)
    if stray_band is not None:
        t = np.append(t, t[-1] + 0.37)
        v, e, b = np.append(v, v[-1] + 0.2), np.append(e, 0.1), np.append(b, stray_band)
    return LightCurve(t, v, e, b, object_id=f"{lc.object_id}_cut{k}", label=lc.label)


def test_real_ztf_curves_cut_to_one_to_three_points(shared_data, tmp_path):
    from skyfm.data import read

    rng = np.random.default_rng(1)
    sne = [o for o in read(shared_data("lc_alerce_ztf_sne30")) if isinstance(o, LightCurve)]
    alerts = [o for o in read(shared_data("ztf_alerts_sample")) if isinstance(o, LightCurve)
              and (~o.upper_limit).sum() >= 3]
    lcs = [_cut(lc, 1 + i % 3, rng, "i" if i % 2 else None)
           for i, lc in enumerate(sne + alerts[:10])]
    full = sne[:20]  # a few well-sampled curves among them
    empty = LightCurve([58000.0, 58001.0], [20.0, 20.1], [np.nan, np.nan], "g",
                       upper_limit=[True, True], object_id="only_limits")
    nothing = LightCurve([], [], object_id="no_points")
    obs = lcs + full + [empty, nothing]
    df = discover(obs, tmp_path, kind="general", **FAST)
    n_in = len(obs)
    cands, skipped = _check_files(tmp_path, n_in, n_in - 2, 2)
    assert dict(zip(skipped["object_id"], skipped["reason"])) == {
        "only_limits": "0 valid points (2 upper limit(s) only)", "no_points": "0 valid points"}
    q = dict(zip(cands["object_id"], cands["quality"]))
    assert all(q[lc.object_id] == "few_points" for lc in lcs)
    assert np.isfinite(df["score"]).all()


def test_desi_coadd_with_all_masked_fibres(shared_data, tmp_path):
    """Used to crash with 'zero-size array to reduction operation minimum'."""
    from skyfm.data import read

    obs = read(shared_data("spectra_desi_edr_specutils_testdata"))
    masked = {o.object_id for o in obs if (o.mask | ~np.isfinite(o.flux)).all()}
    assert masked  # the sky fibres of this coadd
    discover(obs, tmp_path, **FAST)
    _, skipped = _check_files(tmp_path, len(obs), len(obs) - len(masked), len(masked))
    assert set(skipped["object_id"].astype(str)) == masked
    assert skipped["reason"].str.startswith("all pixels masked").all()


def test_a_set_where_nothing_can_be_scored_still_writes_the_accounting(tmp_path):
    specs = [Spectrum(np.linspace(4000, 5000, 20), np.full(20, np.nan), mask=np.ones(20, bool),
                      object_id=f"sky{i}") for i in range(3)]
    df = discover(specs, tmp_path, **FAST)
    assert df.empty
    _check_files(tmp_path, 3, 0, 3)


def test_table_rows_without_values_are_skipped():
    tab = pd.DataFrame({"object_id": ["a", "b", "c", "d"], "x": [1.0, np.nan, 2.0, 3.0],
                        "y": [1.0, np.nan, np.nan, 4.0]})
    from skyfm.discover.embed import as_list

    tri = triage(as_list([Catalog(tab)]), "table")
    assert tri.keep.tolist() == [True, False, True, True]
    assert tri.quality[2] == "missing_values" and tri.reason[1] == "no finite values"


def test_score_observations_reports_the_counts():
    obs = _two_point_curves(12) + [LightCurve([], [], object_id="empty")]
    res = score_observations(obs, n_noise=0, n_members=0, kind="general")
    assert (res["n_in"], len(res["ids"]), len(res["skipped"])) == (13, 12, 1)


def test_index_query_with_a_file_of_another_modality(tmp_path):
    from skyfm.discover.index import check_query_modality, index_modality

    (tmp_path / "embedder.json").write_text(json.dumps({"modality": "spectrum"}))
    assert index_modality(tmp_path) == "spectrum"
    assert index_modality(tmp_path / "nowhere") == "lightcurve"
    cat = Catalog(pd.DataFrame({"object_id": ["a"], "mag": [1.0]}))
    with pytest.raises(DataFormatError, match=r"my\.csv.*read as table.*lightcurve"):
        check_query_modality([cat], "lightcurve", "my.csv")
    check_query_modality(_two_point_curves(2), "lightcurve", "ok.csv")


def test_index_query_cli_names_file_and_modalities(tmp_path):
    """`skyfm index query --file` on a light-curve index with a catalogue file: a clear
    DataFormatError, not "AttributeError: 'Catalog' object has no attribute 'upper_limit'"."""
    from typer.testing import CliRunner

    from skyfm.cli import _register, app

    _register()
    try:  # vectors of the encoder's size: the query gets past the dimension check
        from skyfm.models.lightcurve import LightCurveEncoder

        dim = int(LightCurveEncoder.from_pretrained("skyfm-lc-base").embed_dim)
    except Exception:  # noqa: BLE001 - no encoder: the modality check comes first anyway
        dim = 4
    rng = np.random.default_rng(0)
    np.save(tmp_path / "emb.npy", rng.normal(size=(6, dim)).astype(np.float32))
    (tmp_path / "object_ids.txt").write_text("".join(f"s{i}\n" for i in range(6)))
    runner = CliRunner()
    res = runner.invoke(app, ["index", "build", str(tmp_path / "emb.npy"), "--out",
                              str(tmp_path / "ix")])
    assert res.exit_code == 0, res.output
    f = tmp_path / "my.csv"
    pd.DataFrame({"object_id": ["a", "b"], "ra": [1.0, 2.0], "dec": [3.0, 4.0],
                  "gmag": [18.0, 19.0]}).to_csv(f, index=False)
    res = runner.invoke(app, ["index", "query", str(tmp_path / "ix"), "--file", str(f)])
    assert res.exit_code != 0
    assert not isinstance(res.exception, AttributeError)
    assert isinstance(res.exception, DataFormatError), res.output
    msg = str(res.exception)
    assert "my.csv" in msg and "table" in msg and "lightcurve" in msg


def test_index_query_skips_objects_it_cannot_embed():
    from skyfm.discover.index import queryable

    obs = _two_point_curves(2) + [LightCurve([], [], object_id="empty")]
    kept, skipped = queryable(obs, "lightcurve")
    assert [o.object_id for o in kept] == ["o0", "o1"]
    assert skipped == [("empty", "0 valid points")]


def test_single_point_curves_have_no_reconstruction_error():
    """The encoder reports 0 for a one-point curve (nothing to mask): undefined, not 'ideal'."""
    from skyfm.models.lightcurve_embedder import LightCurveEmbedder

    lcs = [LightCurve([1.0], [18.0], [0.05], "g", object_id="one"),
           LightCurve([1.0, 2.0, 3.0], [18.0, 18.2, 18.1], [0.05] * 3, "g", object_id="three")]
    emb = LightCurveEmbedder().fit(lcs)
    if emb.model_ is None:
        pytest.skip("skyfm-lc-base not available")
    err = emb.reconstruction_error(lcs)
    assert np.isnan(err[0]) and np.isfinite(err[1]) and err[1] > 0


def test_a_set_with_one_scorable_object_is_accounted_for_not_a_traceback():
    """Found by the fuzz suite: one image / spectrum / table row reached NearestNeighbors
    ('Input X contains NaN', '0 feature(s)'). A ranking needs two objects: the one object is
    listed as skipped, and nothing escapes."""
    from skyfm.data.observations import LightCurve
    from skyfm.discover import discover

    t = np.linspace(0, 50, 40)
    lc = LightCurve(t, 18 + 0.3 * np.sin(t), np.full(t.size, 0.05), np.array(["g"] * t.size),
                    object_id="alone")
    df = discover([lc], None, n_members=2, n_noise=0, top=1)
    assert len(df) == 0
    assert list(df.attrs["skipped"]["object_id"]) == ["alone"]
    assert "at least 2" in df.attrs["skipped"]["reason"].iloc[0]
