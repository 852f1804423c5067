import numpy as np
from lcmodel_helpers import make_lc

from skyfm.features.lightcurves import (
    GradientBoostedBaseline,
    choose_bands,
    lightcurve_feature_names,
    lightcurve_features,
)


def test_features_shape_names_and_missing_bands():
    lcs = [make_lc(80, seed=i) for i in range(3)] + [make_lc(40, bands=("g",), seed=9)]
    bands = choose_bands(lcs)
    assert bands == ["g", "r"]
    X = lightcurve_features(lcs, bands=bands)
    names = lightcurve_feature_names(bands)
    assert X.shape == (4, len(names)) and len(set(names)) == len(names)
    assert np.isfinite(X[:3]).mean() > 0.95
    assert np.isnan(X[3, names.index("r_amplitude")])
    period = X[0, names.index("period")]
    assert abs(period - 0.7) < 0.02


def test_baseline_classifier_on_sim(sim_set):
    y = np.array([lc.label for lc in sim_set])
    clf = GradientBoostedBaseline(max_iter=50).fit(sim_set[::2], y[::2])
    assert (clf.predict(sim_set[1::2]) == y[1::2]).mean() > 0.5
