"""Epistemic and aleatoric uncertainty behave as their definitions say."""

from __future__ import annotations

import numpy as np
from discover_synth import make_lightcurves

from skyfm.discover import score_observations


def test_more_noise_gives_higher_aleatoric():
    clean = make_lightcurves(60, seed=0, err=0.02, prefix="clean")
    noisy = make_lightcurves(60, seed=1, err=0.25, prefix="noisy")
    res = score_observations(clean + noisy, n_members=2, n_noise=3, use_labels=False)
    a = res["aleatoric"]
    assert np.isfinite(a).all() and (a >= 0).all()
    assert np.median(a[60:]) > 1.5 * np.median(a[:60])


def test_epistemic_shrinks_with_more_data():
    small = score_observations(make_lightcurves(30, seed=3), n_members=6, n_noise=0,
                               use_labels=False)
    large = score_observations(make_lightcurves(240, seed=3), n_members=6, n_noise=0,
                               use_labels=False)
    es, el = small["epistemic"], large["epistemic"]
    assert np.isfinite(es).all() and (es >= 0).all()
    assert np.mean(el) < np.mean(es)


def test_aleatoric_is_nan_without_errors():
    import pandas as pd

    from skyfm.data.observations import Catalog

    rng = np.random.default_rng(0)
    cat = Catalog(pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50)}))
    res = score_observations([cat], n_members=2, n_noise=2)
    assert np.isnan(res["aleatoric"]).all()
    assert np.isfinite(res["epistemic"]).all()


def test_noisier_images_get_higher_aleatoric():
    from discover_synth import make_images

    from skyfm.data.observations import Image

    clean = make_images(30, seed=0)[:-1]
    rng = np.random.default_rng(5)
    noisy = [Image(im.data + rng.normal(0, 40, im.data.shape), im.bands,
                   object_id=f"noisy{i}") for i, im in enumerate(make_images(30, seed=1)[:-1])]
    res = score_observations(clean + noisy, n_members=2, n_noise=3, use_labels=False)
    a = res["aleatoric"]
    assert np.isfinite(a).all()
    assert np.median(a[29:]) > 1.2 * np.median(a[:29])
