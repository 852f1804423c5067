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


def test_probe_estimates_the_surveys_class_mix_from_unlabelled_curves(encoder, sim_set):
    tr, ytr, te, yte = _split(sim_set)
    # the "survey": the held-out curves with one class made 5x as common as each other
    cls = np.unique(yte)
    keep = np.concatenate([np.flatnonzero(yte == cls[0])] +
                          [np.flatnonzero(yte == c)[:2] for c in cls[1:]])
    pool = [te[i] for i in keep]
    plain = LinearProbe(encoder).fit(tr, ytr)
    shifted = LinearProbe(encoder).fit(tr, ytr, unlabelled=pool)
    np.testing.assert_allclose(plain.prior_, plain.train_prior_)  # the labels' mix
    # the common class gains prior mass: the population is 8 labelled per class + the pool
    truth = (8 + (yte == cls[0]).sum()) / (len(tr) + len(pool))
    assert truth > 0.25 + 0.03 and abs(shifted.prior_[0] - truth) < 0.05
    p0, p1 = plain.predict_proba(pool), shifted.predict_proba(pool)
    assert p1[:, 0].mean() > p0[:, 0].mean()
    np.testing.assert_allclose(p1.sum(1), 1, atol=1e-9)


@pytest.mark.slow
def test_finetune_ensemble_averages_its_members_and_splits_uncertainty(encoder, sim_set):
    tr, ytr, te, yte = _split(sim_set)
    clf = FineTuneClassifier(encoder, epochs=2, batch_size=16, n_members=2).fit(tr, ytr)
    assert len(clf.members_) == 2
    members = clf._member_proba(te)
    assert members.shape == (2, len(te), 4)
    assert not np.allclose(members[0], members[1])  # other seeds, other fits
    np.testing.assert_allclose(clf._head_proba(te), members.mean(0), atol=1e-6)
    u = clf.predict_uncertainty(te)
    np.testing.assert_allclose(u["proba"], clf.predict_proba(te), atol=1e-6)
    np.testing.assert_allclose(u["total"], u["aleatoric"] + u["epistemic"], atol=1e-6)
    assert (u["epistemic"] >= 0).all() and u["epistemic"].max() > 0
    assert (u["total"] <= np.log(4) + 1e-6).all()
    few = np.r_[0:2, 8:10, 16:18, 24:26]  # two curves of each class
    one = FineTuneClassifier(encoder, epochs=1, batch_size=16, n_members=1).fit(
        [tr[i] for i in few], ytr[few])
    assert len(one.classes_) == 4
    u1 = one.predict_uncertainty(te[:5])
    np.testing.assert_allclose(u1["epistemic"], 0, atol=1e-6)
    assert (u1["aleatoric"] > 0).all()
    with pytest.raises(ValueError, match="n_members"):
        FineTuneClassifier(encoder, n_members=0).fit(tr, ytr)
    with pytest.raises(ValueError, match="labels"):
        FineTuneClassifier(encoder).fit(tr, ytr[:-1])
