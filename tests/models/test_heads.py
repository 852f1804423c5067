import numpy as np
import pytest

from skyfm.models.heads import FineTuneClassifier, LinearProbe


def _split(lcs):
    y = np.array([lc.label for lc in lcs])
    tr = np.concatenate([np.flatnonzero(y == c)[:8] for c in np.unique(y)])
    te = np.setdiff1d(np.arange(len(lcs)), tr)
    return [lcs[i] for i in tr], y[tr], [lcs[i] for i in te], y[te]


def test_linear_probe_beats_chance(encoder, sim_set):
    tr, ytr, te, yte = _split(sim_set)
    probe = LinearProbe(encoder).fit(tr, ytr)
    proba = probe.predict_proba(te)
    assert proba.shape == (len(te), 4)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-6)
    assert (probe.predict(te) == yte).mean() > 0.5  # chance is 0.25


@pytest.mark.slow
def test_finetune_beats_chance_and_leaves_encoder_unchanged(encoder, sim_set):
    tr, ytr, te, yte = _split(sim_set)
    before = encoder.embed(te[:3])
    clf = FineTuneClassifier(encoder, epochs=3, batch_size=16).fit(tr, ytr)
    assert (clf.predict(te) == yte).mean() > 0.4
    np.testing.assert_array_equal(before, encoder.embed(te[:3]))
