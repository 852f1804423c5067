"""Class-prior shift: the class mix of the curves to classify is rarely the mix of the labels.

A head trained on 20 labels per class has learned p(class | curve) under a uniform class
prior; a survey holds far more RR Lyrae than Miras. Given the head's probabilities on the
survey's unlabelled curves, :func:`estimate_prior` finds the survey's class prior by the EM
algorithm of Saerens, Latinne & Decaestecker (2002, Neural Computation 14, 21) and
:func:`shift_prior` moves the head's probabilities to it (Bayes' rule with the new prior).

Written by hand (a dozen lines of numpy): QuaPy's ``EMQ`` does the same inside a whole
quantification framework that skyfm does not otherwise need.
"""

from __future__ import annotations

import numpy as np

__all__ = ["class_priors", "estimate_prior", "shift_prior"]


def shift_prior(proba: np.ndarray, train_prior: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """``proba`` (N, K), computed under ``train_prior``, re-expressed under ``prior``."""
    proba = np.asarray(proba, float)
    ratio = np.asarray(prior, float) / np.maximum(np.asarray(train_prior, float), 1e-12)
    q = proba * ratio
    s = q.sum(axis=1, keepdims=True)
    return np.divide(q, s, out=np.full_like(q, 1.0 / q.shape[1]), where=s > 0)


def estimate_prior(proba_unlabelled: np.ndarray, train_prior: np.ndarray,
                   labelled_counts: np.ndarray | None = None, max_iter: int = 1000,
                   tol: float = 1e-8) -> np.ndarray:
    """Class prior of a population from a head's probabilities on its unlabelled members.

    ``train_prior``: the prior the head's probabilities assume (uniform for class-balanced
    training, the label frequencies otherwise). EM on the unlabelled members: posteriors
    under the current estimate -> their mean is the new estimate, until it moves less than
    ``tol``. ``labelled_counts``: per class, the labelled members of the same population (a
    stratified draw, so their classes are known); the result is then the prior of labelled
    + unlabelled together.
    """
    P = np.asarray(proba_unlabelled, float)
    train_prior = np.asarray(train_prior, float)
    k = train_prior.size
    if P.ndim != 2 or P.shape[1] != k:
        raise ValueError(f"proba_unlabelled must be (N, {k}), got shape {P.shape}")
    counts = np.zeros(k) if labelled_counts is None else np.asarray(labelled_counts, float)
    if counts.shape != (k,):
        raise ValueError(f"labelled_counts must have {k} entries, got {counts.shape}")
    n_u = P.shape[0]
    if n_u + counts.sum() == 0:
        return train_prior.copy()
    pool = train_prior.copy()
    if n_u:
        pool = P.mean(0)
        for _ in range(max_iter):
            new = shift_prior(P, train_prior, pool).mean(0)
            done = np.abs(new - pool).max() < tol
            pool = new
            if done:
                break
    return (counts + n_u * pool) / (counts.sum() + n_u)


def class_priors(classes, labels, balanced: bool, proba_unlabelled=None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(train prior, survey prior) of a fitted head: the prior its probabilities assume
    (uniform if ``balanced`` class weights, else the labels' mix) and the class mix of the
    survey, from all its curves we know -- the labelled ones and, if ``proba_unlabelled`` (the
    head's probabilities on its unlabelled curves) is given and non-empty, those (EM);
    without them, the labels' mix."""
    y = np.asarray(labels)
    counts = np.array([(y == c).sum() for c in classes], float)
    train = np.full(counts.size, 1.0 / counts.size) if balanced else counts / counts.sum()
    P = np.zeros((0, counts.size)) if proba_unlabelled is None else proba_unlabelled
    return train, estimate_prior(P, train, counts)
