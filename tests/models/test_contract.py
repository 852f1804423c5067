"""One contract for every X model: the registry by modality, the Embedder base, scikit-learn's
clone and NotFittedError on every estimator, scorer and head, state without pickle, and
results that do not depend on which Python list holds the observations."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from skyfm.data.observations import LightCurve
from skyfm.discover.embed import as_list, load_embedder, save_embedder
from skyfm.discover.ensemble import ScoreEnsemble
from skyfm.discover.scorers import (
    IsolationForestScorer,
    KNNScorer,
    OpenSetScorer,
    ReconstructionScorer,
)
from skyfm.errors import DataFormatError
from skyfm.features.lightcurves import GradientBoostedBaseline
from skyfm.models import registry
from skyfm.models.base import BASELINE, Embedder, Encoder, FeatureSpec, fingerprint
from skyfm.models.heads import FineTuneClassifier, HybridClassifier, LinearProbe

sys.path.insert(0, str(Path(__file__).parents[1] / "discover"))
from discover_synth import make_images, make_lightcurves, make_spectra, make_table  # noqa: E402

DATA = {"lightcurve": lambda: make_lightcurves(24), "spectrum": make_spectra,
        "image": make_images, "table": lambda: as_list([make_table()])}
#: light curves without the encoder keep the tests fast; the encoder path is tested below
KWARGS = {"lightcurve": {"encoder": None}}


@pytest.fixture(scope="module", params=list(DATA))
def fitted(request):
    modality = request.param
    obs = DATA[modality]()
    emb = registry.make_embedder(modality, **KWARGS.get(modality, {})).fit(obs)
    return modality, obs, emb


def test_registry_knows_every_modality_and_its_observations():
    assert set(registry.modalities()) >= {"lightcurve", "spectrum", "image", "table"}
    for modality, make in DATA.items():
        assert registry.modality_of(make()) == modality
        assert issubclass(registry.embedder_class(modality), Embedder)
        assert registry.embedder_class(modality).modality == modality
    assert issubclass(registry.get_modality("lightcurve").encoder_class(), Encoder)
    assert registry.get_modality("catalog").name == "table"  # alias
    with pytest.raises(ValueError, match="unknown modality 'radio'.*lightcurve"):
        registry.make_embedder("radio")
    with pytest.raises(DataFormatError, match="mixed modalities"):
        registry.modality_of(make_lightcurves(2) + make_spectra()[:2])
    with pytest.raises(DataFormatError, match="cannot embed a str"):
        registry.modality_of(["not an observation"])


def test_a_new_modality_is_one_registration():
    class Counts:  # a toy observation type: a vector of counts
        def __init__(self, v, object_id):
            self.v, self.object_id = np.asarray(v, float), object_id

    class CountsEmbedder(Embedder):
        modality = "counts"

        def __init__(self, scale: float = 1.0):
            self.scale = scale

        def fit(self, obs, progress=None):
            self.feature_specs_ = [FeatureSpec("total", "ct", "total counts")]
            self.info_ = {"encoder": "log total counts"}
            self.uses_trained_model_ = False
            return self

        def features(self, obs):
            self.check_fitted()
            return np.array([[o.v.sum()] for o in obs])

        def transform(self, obs):
            return np.log1p(self.features(obs) * self.scale).astype(np.float32)

        def perturb(self, ob, rng, scale=1.0):
            return Counts(rng.poisson(ob.v), ob.object_id)

        def get_state(self):
            return {"scale": self.scale}, {}

        @classmethod
        def from_state(cls, params, arrays):
            emb = cls(params["scale"])
            emb.uses_trained_model_ = False
            return emb

    registry.register_modality("counts", observation_types=(Counts,), embedder=CountsEmbedder)
    try:
        obs = [Counts(np.full(5, i + 1.0), f"c{i}") for i in range(12)] + [
            Counts(np.full(5, 500.0), "odd")]
        from skyfm.discover import discover

        run = discover(obs, n_members=0, n_noise=0, report=False)
        assert run.candidates.iloc[0]["object_id"] == "odd"
        assert BASELINE in run.embedder.describe()
    finally:
        registry.unregister_modality("counts")
    assert "counts" not in registry.modalities()


def test_unfitted_embedder_raises_not_fitted_and_clones(fitted):
    modality, obs, emb = fitted
    new = registry.make_embedder(modality)
    for call in (lambda: new.transform(obs), lambda: new.features(obs),
                 lambda: new.reconstruction_error(obs), lambda: new.get_state(),
                 lambda: new.describe()):
        with pytest.raises(NotFittedError):
            call()
    twin = clone(emb)
    assert twin.get_params() == emb.get_params()
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(twin))
    X = emb.transform(obs)
    np.testing.assert_allclose(twin.fit(obs).transform(obs), X, atol=1e-6)


def test_feature_specs_name_every_column_with_a_unit(fitted):
    modality, obs, emb = fitted
    F = emb.features(obs)
    assert F.shape == (len(obs), len(emb.feature_specs_))
    assert emb.feature_names_ == [s.name for s in emb.feature_specs_]
    for spec in emb.feature_specs_:
        assert isinstance(spec, FeatureSpec) and spec.description
        u.Unit(spec.unit or "")  # every unit string parses
    if modality == "lightcurve":
        units = emb.feature_units()
        assert units["median_g"] == "mag" and units["log_period_g"] == "dex(d)"
        assert units["colour_g-r"] == "mag"


def test_baselines_say_so(fitted):
    modality, _, emb = fitted
    assert emb.uses_trained_model_ is False
    assert BASELINE in emb.describe()
    assert "placeholder" not in str(emb.info_)
    module = {"lightcurve": "lightcurve_embedder"}.get(modality, modality)
    assert type(emb).__module__ == f"skyfm.models.{module}"


def test_state_round_trip_without_pickle(fitted, tmp_path):
    modality, obs, emb = fitted
    save_embedder(emb, tmp_path)
    with np.load(tmp_path / "embedder.npz", allow_pickle=False) as z:
        assert all(z[k].dtype == float for k in z.files)
    back = load_embedder(tmp_path)
    assert type(back) is type(emb)
    assert back.feature_specs_ == emb.feature_specs_
    assert back.describe() == emb.describe()
    np.testing.assert_allclose(back.transform(obs), emb.transform(obs), atol=1e-5)


def test_results_do_not_depend_on_the_list_object(fitted):
    """Once `reconstruction_error(specs)` gave 0.104 and `reconstruction_error(list(specs))`
    0.086: a cache keyed on the list's identity. Now the fitted objects are known by content."""
    modality, obs, emb = fitted
    copies = [copy.deepcopy(o) for o in obs]
    for method in ("transform", "features", "reconstruction_error"):
        a = getattr(emb, method)(obs)
        if a is None:
            continue
        np.testing.assert_allclose(getattr(emb, method)(list(obs)), a, atol=1e-6)
        np.testing.assert_allclose(getattr(emb, method)(tuple(copies)), a, atol=1e-6)
        # a fitted object gets the same row whatever objects come with it
        mixed = getattr(emb, method)([copies[3], copies[0]])
        np.testing.assert_allclose(mixed, a[[3, 0]], atol=1e-6)


def test_cross_fitted_error_for_fitted_spectra_only():
    specs = make_spectra()
    emb = registry.make_embedder("spectrum").fit(specs)
    fitted_err = emb.reconstruction_error(specs)
    fresh = registry.make_embedder("spectrum").fit(specs[1:])
    # a spectrum the model never saw gets the in-sample error of that model; the same spectrum
    # inside the fitted set gets the error of a model fitted without it (5-fold)
    assert np.isfinite(fresh.reconstruction_error(specs[:1])).all()
    assert np.isfinite(fitted_err).all()
    redraw = [emb.perturb(s, np.random.default_rng(1)) for s in specs[:3]]
    assert fingerprint(redraw[0]) != fingerprint(specs[0])
    assert not np.allclose(emb.reconstruction_error(redraw), fitted_err[:3])


def test_lightcurve_embedder_with_the_shipped_encoder_is_a_trained_model():
    lcs = make_lightcurves(20)
    emb = registry.make_embedder("lightcurve").fit(lcs)
    assert emb.uses_trained_model_ and "trained model skyfm-lc-base" in emb.describe()
    np.testing.assert_allclose(emb.reconstruction_error(list(lcs)),
                               emb.reconstruction_error(lcs), atol=1e-9)
    enc = emb.model_
    assert isinstance(enc, Encoder) and enc.modality == "lightcurve"
    assert enc.embed(lcs[:2]).shape == (2, enc.embed_dim)


def test_sparse_lightcurves_get_feature_specs_in_their_flux_unit():
    lcs = [LightCurve(np.arange(30.0), 100 + np.sin(np.arange(30.0)) * (i + 1), np.ones(30),
                      "g", kind="flux", flux_unit="nJy", object_id=f"f{i}") for i in range(8)]
    emb = registry.make_embedder("lightcurve", encoder=None).fit(lcs)
    assert emb.feature_units()["median_g"] == "nJy"


ESTIMATORS = [KNNScorer(), IsolationForestScorer(), ReconstructionScorer(), OpenSetScorer(),
              ScoreEnsemble(scorers=["knn", "iforest"]), LinearProbe(), FineTuneClassifier(),
              HybridClassifier(), GradientBoostedBaseline()]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_scorers_and_heads_follow_the_sklearn_contract(est):
    name = type(est).__name__
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    check_no_attributes_set_in_init(name, est)
    check_get_params_invariance(name, est)
    check_set_params(name, est)
    check_parameters_default_constructible(name, est)


def test_unfitted_scorers_and_heads_raise_not_fitted():
    X = np.random.default_rng(0).normal(size=(6, 3))
    lcs = make_lightcurves(3)
    for call in (lambda: KNNScorer().score_samples(X), lambda: IsolationForestScorer()
                 .score_samples(X), lambda: ReconstructionScorer().score_samples(X[:, 0]),
                 lambda: OpenSetScorer().predict(X), lambda: ScoreEnsemble().score(X),
                 lambda: LinearProbe().predict_proba_embeddings(X),
                 lambda: FineTuneClassifier().predict(lcs), lambda: HybridClassifier()
                 .predict(lcs), lambda: GradientBoostedBaseline().predict_proba_features(X)):
        with pytest.raises(NotFittedError):
            call()


def test_fitted_scorers_clone_to_unfitted_copies():
    X = np.random.default_rng(0).normal(size=(40, 3))
    knn = KNNScorer(k=3).fit(X)
    twin = clone(knn)
    assert twin.k == 3 and "nn_" not in vars(twin)
    np.testing.assert_allclose(twin.fit(X).score_samples(X), knn.score_samples(X))


def test_every_output_of_a_baseline_run_says_so(tmp_path):
    import json

    from typer.testing import CliRunner

    from skyfm.cli import _register, app
    from skyfm.data import write_dataset
    from skyfm.discover import discover

    specs = make_spectra()
    discover(specs, tmp_path / "run", n_members=0, n_noise=0, top=2)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["trained_model"] is False
    assert summary["embedder"].startswith(f"SpectrumPCABaseline: {BASELINE}")
    assert f"SpectrumPCABaseline: {BASELINE}" in (
        tmp_path / "run" / "report" / "index.html").read_text()
    write_dataset(specs, tmp_path / "data")
    _register()
    res = CliRunner().invoke(app, ["discover", "run", str(tmp_path / "data"), "--out",
                                   str(tmp_path / "cli"), "--n-members", "0", "--n-noise", "0",
                                   "--top", "2"])
    assert res.exit_code == 0, res.output
    assert BASELINE in " ".join(res.output.split())
