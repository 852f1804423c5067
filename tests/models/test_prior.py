import numpy as np
import pytest

from skyfm.models.prior import estimate_prior, shift_prior


def _posteriors(x, prior):
    """Exact posteriors of two unit Gaussians at -1 and +1 under ``prior``."""
    lik = np.stack([np.exp(-0.5 * (x + 1) ** 2), np.exp(-0.5 * (x - 1) ** 2)], 1)
    q = lik * prior
    return q / q.sum(1, keepdims=True)


def test_em_recovers_a_skewed_prior_and_shifting_to_it_raises_accuracy():
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.12).astype(int)  # 88 % class 0
    x = rng.normal(np.where(y == 1, 1.0, -1.0), 1.0)
    uniform = np.array([0.5, 0.5])
    P = _posteriors(x, uniform)  # what a class-balanced head would say
    prior = estimate_prior(P, uniform)
    assert abs(prior[1] - y.mean()) < 0.03
    assert prior.sum() == pytest.approx(1.0)
    Q = shift_prior(P, uniform, prior)
    np.testing.assert_allclose(Q, _posteriors(x, prior), atol=1e-9)  # Bayes with the new prior
    assert (Q.argmax(1) == y).mean() > (P.argmax(1) == y).mean() + 0.05


def test_labelled_counts_are_part_of_the_population():
    rng = np.random.default_rng(1)
    y = (rng.random(3000) < 0.3).astype(int)
    x = rng.normal(np.where(y == 1, 1.0, -1.0), 1.0)
    P = _posteriors(x, np.array([0.5, 0.5]))
    # 1000 more labelled objects, all of class 1: the population is 3000 + 1000
    prior = estimate_prior(P, np.array([0.5, 0.5]), labelled_counts=[0, 1000])
    assert abs(prior[1] - (y.sum() + 1000) / 4000) < 0.03


def test_shift_to_the_same_prior_is_identity_and_bad_shapes_are_named():
    P = np.array([[0.2, 0.8], [0.6, 0.4]])
    np.testing.assert_allclose(shift_prior(P, [0.3, 0.7], [0.3, 0.7]), P)
    assert estimate_prior(np.zeros((0, 2)), np.array([0.4, 0.6])).tolist() == [0.4, 0.6]
    with pytest.raises(ValueError, match=r"proba_unlabelled must be \(N, 3\)"):
        estimate_prior(P, np.ones(3) / 3)


def test_class_priors_of_a_head():
    from skyfm.models.prior import class_priors

    y = ["a"] * 6 + ["b"] * 2
    train, prior = class_priors(["a", "b"], y, balanced=True)
    assert train.tolist() == [0.5, 0.5] and prior.tolist() == [0.75, 0.25]  # the labels' mix
    train, prior = class_priors(["a", "b"], y, balanced=False,
                                proba_unlabelled=np.tile([0.0, 1.0], (8, 1)))
    assert train.tolist() == [0.75, 0.25] and prior == pytest.approx([6 / 16, 10 / 16])
