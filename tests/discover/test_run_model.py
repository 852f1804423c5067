"""A discovery run is a model: its scorers are saved (no pickle), reloaded exactly, and
`skyfm discover score RUN NEW_DATA` ranks new objects against it without refitting."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from discover_synth import make_images, make_lightcurves, make_outlier_lc, make_spectra
from typer.testing import CliRunner

from skyfm.cli import _register, app
from skyfm.data.observations import LightCurve
from skyfm.discover import discover
from skyfm.discover.ensemble import ScoreEnsemble
from skyfm.discover.persist import ENSEMBLE_ARRAYS, ENSEMBLE_JSON, load_ensemble, save_ensemble
from skyfm.discover.run import SCORE_COLUMNS, DiscoveryRun, load_run
from skyfm.errors import DataFormatError, IncompleteOutputError, OutputExistsError

_register()
runner = CliRunner()
FAST = {"n_members": 3, "n_noise": 0, "top": 0, "report": False}


def _ensemble_data(seed=0, n=90):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    X[: n // 3] += 2.0
    y = np.array(["a"] * (n // 3) + ["b"] * (n // 3) + [None] * (n - 2 * (n // 3)), object)
    rec = np.column_stack([rng.lognormal(size=n), rng.normal(size=n), rng.normal(size=n)])
    return X, y, rec


@pytest.mark.parametrize("method", ["gaussian", "mahalanobis", "energy", "msp"])
def test_loaded_ensemble_scores_exactly_as_fitted(tmp_path, method):
    X, y, rec = _ensemble_data()
    fitted = ScoreEnsemble(n_members=3, n_estimators=40, openset_method=method).fit(X, y, rec)
    save_ensemble(fitted, tmp_path)
    with np.load(tmp_path / ENSEMBLE_ARRAYS, allow_pickle=False) as z:  # plain arrays only
        assert all(z[k].dtype != object for k in z.files)
    loaded = load_ensemble(tmp_path)
    assert loaded.active_ == ["knn", "iforest", "recon", "openset"]
    rng = np.random.default_rng(1)
    Xn = (rng.normal(size=(25, 5)) * 1.5).astype(np.float32)
    rn = np.column_stack([rng.lognormal(size=25), rng.normal(size=25), rng.normal(size=25)])
    exclude = np.r_[np.arange(10), np.full(15, -1)]  # 10 of them stand for reference objects
    for args in [(Xn, rn), (X, rec)]:
        for ex in (None, exclude if len(args[0]) == 25 else np.arange(len(X))):
            c1, s1 = fitted.score(*args, exclude=ex)
            c2, s2 = loaded.score(*args, exclude=ex)
            for name in c1:
                np.testing.assert_allclose(c2[name], c1[name], rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(s2, s1, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(loaded.member_scores_new(*args, exclude=ex),
                                       fitted.member_scores_new(*args, exclude=ex), atol=1e-12)
    np.testing.assert_array_equal(loaded.reference_fused_, fitted.reference_fused_)
    # the reference objects, scored as new with their own index excluded, get their own scores
    _, own = loaded.score(X, rec, exclude=np.arange(len(X)))
    np.testing.assert_allclose(own, fitted.reference_fused_, atol=1e-12)


@pytest.fixture(scope="module")
def lc_run(tmp_path_factory):
    """A saved run of 50 labelled sinusoids (open set active) and the observations."""
    out = tmp_path_factory.mktemp("runmodel") / "run"
    obs = make_lightcurves(50)
    found = discover(obs, out, **FAST)
    return out, obs, found


def test_discover_returns_a_run_that_keeps_the_old_dataframe_uses(lc_run):
    out, obs, found = lc_run
    assert isinstance(found, DiscoveryRun) and found.out_dir == out
    assert isinstance(found.candidates, pd.DataFrame) and len(found) == len(obs) == 50
    assert list(found["object_id"]) == list(found.candidates["object_id"])
    assert found.iloc[0]["rank"] == 1 and found.summary["n_scored"] == 50
    assert "openset" in found.ensemble.active_
    assert (out / ENSEMBLE_JSON).is_file() and (out / ENSEMBLE_ARRAYS).is_file()
    assert ENSEMBLE_JSON in json.loads((out / "run.json").read_text())["files"]


def test_saved_run_gives_its_own_objects_their_own_scores(lc_run):
    out, obs, found = lc_run
    bad = LightCurve([], [], object_id="EMPTY")
    res = load_run(out).score(list(obs) + [make_outlier_lc(), bad])
    assert res.n_in == 52 and len(res.scores) == 51 and list(res.skipped["object_id"]) == ["EMPTY"]
    assert list(res.scores.columns[:len(SCORE_COLUMNS)]) == SCORE_COLUMNS
    new = res.scores.set_index("object_id")
    cands = found.candidates.set_index("object_id")
    both = pd.merge(cands, new, left_index=True, right_index=True, suffixes=("_run", ""))
    assert len(both) == 50
    # deterministic embedding: exactly its own score (so certainly within its spread)
    np.testing.assert_allclose(both["score"], both["score_run"], atol=1e-12)
    assert (np.abs(both["score"] - both["score_run"]) <= both["epistemic_run"]).all()
    # rank_in_run: 1 + the run objects more unusual (ties share it; candidates.csv breaks them)
    more = (found.candidates["score"].to_numpy()[None, :] > both["score"].to_numpy()[:, None])
    np.testing.assert_array_equal(both["rank_in_run"], 1 + more.sum(axis=1))
    assert (both["rank_in_run"] <= both["rank"]).all()
    # and the in-memory run scores as the saved one does
    mem = found.score(obs[:10]).scores.set_index("object_id")
    np.testing.assert_allclose(mem["score"], new.loc[mem.index, "score"], atol=1e-12)
    np.testing.assert_allclose(mem["epistemic"], new.loc[mem.index, "epistemic"], atol=1e-12)
    # a new, odd object ranks first among the run's objects, with a finite spread
    odd = new.loc["OUTLIER"]
    assert odd["rank_in_run"] == 1 and odd["score"] > 0.9 and np.isfinite(odd["epistemic"])
    assert "lc" in odd["neighbours"]


@pytest.mark.parametrize("kind", ["images", "spectra", "images-skyfm-img-base"])
def test_saved_image_and_spectrum_runs_give_their_own_objects_their_own_scores(tmp_path, kind):
    """The PCA baselines give fitted objects a cross-fitted reconstruction error, and the
    trained encoder's vectors depend on the batch: the saved embedder keeps both for the
    run's own objects, so rescoring them reproduces the run."""
    from skyfm.models.image_embedder import ImageEncoderEmbedder

    obs = make_spectra() if kind == "spectra" else make_images(30)
    kw = {"embedder": ImageEncoderEmbedder()} if kind.endswith("img-base") else {}
    found = discover(obs, tmp_path / "run", **FAST, **kw)
    res = load_run(tmp_path / "run").score(list(obs))
    both = pd.merge(found.candidates.set_index("object_id"), res.scores.set_index("object_id"),
                    left_index=True, right_index=True, suffixes=("_run", ""))
    assert len(both) == len(found.candidates)
    for c in ("score_recon", "score_knn", "score"):
        np.testing.assert_allclose(both[c], both[f"{c}_run"], atol=1e-9, err_msg=c)


def test_discover_score_cli_writes_scores_and_skipped(lc_run, tmp_path):
    from skyfm.data.layout import write_dataset

    out, obs, _ = lc_run
    data = write_dataset([make_outlier_lc(), *obs[:4]], tmp_path / "new")
    dest = tmp_path / "scores"
    res = runner.invoke(app, ["discover", "score", str(out), str(data), "--out", str(dest),
                              "--n-noise", "1"])
    assert res.exit_code == 0, res.output
    scores = pd.read_csv(dest / "scores.csv", dtype={"object_id": str})
    assert (scores["aleatoric"] >= 0).all()  # re-drawn within the curves' errors
    assert list(scores.columns[:len(SCORE_COLUMNS)]) == SCORE_COLUMNS
    assert scores["object_id"].iloc[0] == "OUTLIER" and scores["rank_in_run"].iloc[0] == 1
    assert (dest / "skipped.csv").is_file() and (dest / "run.json").is_file()
    assert json.loads((dest / "summary.json").read_text())["n_in"] == 5
    # a non-empty --out is refused unless --overwrite
    res = runner.invoke(app, ["discover", "score", str(out), str(data), "--out", str(dest)])
    assert res.exit_code != 0 and isinstance(res.exception, OutputExistsError)
    res = runner.invoke(app, ["discover", "score", str(out), str(data), "--out", str(dest),
                              "--overwrite"])
    assert res.exit_code == 0, res.output


def test_run_without_saved_scorers_is_refused(lc_run, tmp_path):
    out = tmp_path / "old"
    shutil.copytree(lc_run[0], out)
    for name in (ENSEMBLE_JSON, ENSEMBLE_ARRAYS):
        (out / name).unlink()
    with pytest.raises(IncompleteOutputError, match="file missing"):  # run.json lists them
        load_run(out)
    (out / "run.json").unlink()  # as an older skyfm wrote it: no marker, no scorers
    with pytest.raises(IncompleteOutputError, match="no saved model.*ensemble.json"):
        load_run(out)
    res = runner.invoke(app, ["discover", "score", str(out), str(out), "--out",
                              str(tmp_path / "s")])
    assert res.exit_code != 0 and isinstance(res.exception, IncompleteOutputError)
    assert not (tmp_path / "s").exists()


def test_new_data_of_another_modality_is_refused(lc_run):
    with pytest.raises(DataFormatError, match="spectrum.*lightcurve"):
        load_run(lc_run[0]).score(make_spectra(3))
