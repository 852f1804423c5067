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


def _two_views(seed=0, n=60):
    """Three classes: the 'embedding' separates class a from the rest, the 'features' b from c;
    each expert alone is at most 2/3 right, together they know everything."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.array(["a", "b", "c"]), n)
    Z = rng.normal(0, 1, (y.size, 4))
    Z[:, 0] += np.where(y == "a", 3.0, 0.0)
    F = rng.normal(0, 1, (y.size, 3))
    F[:, 0] += np.where(y == "b", 3.0, np.where(y == "c", -3.0, 0.0))
    na = int((y == "a").sum())
    F[y == "a", 0] = rng.choice([-3.0, 3.0], na) + rng.normal(0, 1, na)  # a hides among b, c
    return Z, F, y


def test_hybrid_knows_what_either_expert_knows():
    from skyfm.models.heads import HybridClassifier

    Z, F, y = _two_views(0)
    Zt, Ft, yt = _two_views(1)
    hyb = HybridClassifier(weight=0.5).fit_parts(Z, F, y)
    acc = (hyb.classes_[hyb.predict_proba_parts(Zt, Ft).argmax(1)] == yt).mean()
    probe_acc = (hyb.probe_.classes_[hyb.probe_.predict_proba_embeddings(Zt).argmax(1)]
                 == yt).mean()
    trees_acc = (hyb.trees_.classes_[hyb.trees_.predict_proba_features(Ft).argmax(1)]
                 == yt).mean()
    assert probe_acc < 0.75 and trees_acc < 0.8
    assert acc > max(probe_acc, trees_acc) + 0.1
    p = hyb.predict_proba_parts(Zt, Ft)
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-9)
    # weight 1 is the probe alone, weight 0 the trees alone
    only = HybridClassifier.from_experts(hyb.probe_, hyb.trees_, weight=1.0)
    np.testing.assert_allclose(only.predict_proba_parts(Zt, Ft),
                               hyb.probe_.predict_proba_embeddings(Zt), atol=1e-6)


def test_hybrid_weight_by_cross_validation_falls_back_on_the_expert_that_knows():
    from skyfm.models.heads import HybridClassifier, choose_hybrid_weight

    Z, F, y = _two_views(0)
    rng = np.random.default_rng(5)
    noise = rng.normal(size=Z.shape)  # an embedding that knows nothing
    w, f1 = choose_hybrid_weight(noise, F, y)
    assert w <= 0.25 and f1[w] > f1[1.0] + 0.2  # the trees carry it
    w, f1 = choose_hybrid_weight(Z, F, y)
    assert 0 < w < 1 and f1[w] > max(f1[0.0], f1[1.0]) + 0.1  # the mix knows most
    hyb = HybridClassifier(weight="cv").fit_parts(Z, F, y)
    assert hyb.weight_ == w and hyb.cv_macro_f1_ == f1


def test_hybrid_contract_errors(encoder, sim_set):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    from skyfm.models.heads import HybridClassifier

    with pytest.raises(NotFittedError):
        HybridClassifier(encoder).predict(sim_set[:2])
    with pytest.raises(ValueError, match="weight"):
        HybridClassifier(weight=2).fit_parts(np.zeros((4, 2)), np.zeros((4, 2)), list("aabb"))
    with pytest.raises(ValueError, match="labels"):
        HybridClassifier().fit_parts(np.zeros((4, 2)), np.zeros((3, 2)), list("aabb"))
    assert clone(HybridClassifier(weight=0.3)).weight == 0.3
    tr, ytr, te, yte = _split(sim_set)
    clf = HybridClassifier(encoder).fit(tr, ytr)
    assert (clf.predict(te) == yte).mean() > 0.5
