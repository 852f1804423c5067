"""Classification heads on the light-curve encoder, scikit-learn style.

* :class:`LinearProbe`: logistic regression on frozen, standardised embeddings -- cheap, and
  the right choice with few labels.
* :class:`FineTuneClassifier`: the encoder and a linear head trained together for a few epochs
  (class-weighted cross-entropy, random views of the curves as augmentation), as a deep
  ensemble of a few such fits whose spread is the prediction's epistemic uncertainty.
* :class:`HybridClassifier`: the pretrained embedding and the interpretable features (per-band
  periods, amplitudes, mean magnitudes, colours) together -- the linear probe's and the
  boosted trees' probabilities combined by a weighted geometric mean (a product of experts).

Class imbalance: both heads know the class prior their probabilities assume (the labels'
class mix, or uniform when class-weighted) and predict under the survey's own class mix:
the labels' mix, or, given the survey's unlabelled curves (``fit(..., unlabelled=)``), the
mix of labelled + unlabelled estimated by EM (:func:`skyfm.models.prior.estimate_prior`):
20 labels per class no longer make a Mira as likely as an RR Lyrae.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["FineTuneClassifier", "HybridClassifier", "LinearProbe"]


def _encoder(encoder):
    from skyfm.models.lightcurve import LightCurveEncoder

    if encoder is None or isinstance(encoder, str):
        return LightCurveEncoder.from_pretrained(encoder or "skyfm-lc-base")
    return encoder


def _set_priors(head, y: np.ndarray, balanced: bool, proba_unlabelled) -> None:
    """``train_prior_`` (what the fitted probabilities assume) and ``prior_`` (what
    ``predict_proba`` uses), see :func:`skyfm.models.prior.class_priors`."""
    from skyfm.models.prior import class_priors

    head.train_prior_, head.prior_ = class_priors(head.classes_, y, balanced, proba_unlabelled)


class LinearProbe(BaseEstimator, ClassifierMixin):
    """Logistic regression on frozen embeddings.

    ``fit`` / ``predict`` / ``predict_proba`` take light curves (or precomputed embeddings
    via ``fit_embeddings`` / ``predict_proba_embeddings``)."""

    def __init__(self, encoder=None, C: float = 0.1, batch_size: int = 256,
                 class_weight: str | None = None, max_iter: int = 3000):
        self.encoder = encoder
        self.C = C
        self.batch_size = batch_size
        self.class_weight = class_weight
        self.max_iter = max_iter

    def _embed(self, light_curves, progress=None) -> np.ndarray:
        if "encoder_" not in vars(self):
            self.encoder_ = _encoder(self.encoder)
        return self.encoder_.embed(light_curves, batch_size=self.batch_size, progress=progress)

    def fit_embeddings(self, Z: np.ndarray, labels, unlabelled: np.ndarray | None = None
                       ) -> LinearProbe:
        """``unlabelled``: embeddings of the same survey's unlabelled curves (optional), from
        which the survey's class prior is estimated."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        y = np.asarray(labels)
        self.model_ = make_pipeline(StandardScaler(), LogisticRegression(
            C=self.C, max_iter=self.max_iter, class_weight=self.class_weight)).fit(Z, y)
        self.classes_ = self.model_.classes_
        _set_priors(self, y, self.class_weight == "balanced",
                    None if unlabelled is None or not len(unlabelled)
                    else self.model_.predict_proba(unlabelled))
        return self

    def fit(self, light_curves: Sequence, labels, unlabelled: Sequence | None = None,
            progress=None) -> LinearProbe:
        U = self._embed(unlabelled) if unlabelled is not None and len(unlabelled) else None
        return self.fit_embeddings(self._embed(light_curves, progress), labels, U)

    def predict_proba_embeddings(self, Z: np.ndarray) -> np.ndarray:
        from skyfm.models.prior import shift_prior

        check_is_fitted(self, "model_")
        return shift_prior(self.model_.predict_proba(Z), self.train_prior_, self.prior_)

    def predict_proba(self, light_curves: Sequence, progress=None) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.predict_proba_embeddings(self._embed(light_curves, progress))

    def predict(self, light_curves: Sequence, progress=None) -> np.ndarray:
        proba = self.predict_proba(light_curves, progress)  # NotFittedError before fit
        return self.classes_[proba.argmax(1)]


class FineTuneClassifier(BaseEstimator, ClassifierMixin):
    """Encoder + linear head, trained end to end (AdamW, class-weighted cross-entropy); a deep
    ensemble of ``n_members`` such fits (Lakshminarayanan et al. 2017).

    Each member starts from the same pretrained encoder and differs in its seed: the head's
    initialisation, the order of the batches and the random views of the curves. Their mean
    probability is the prediction -- on EROS with all labels single fits score 0.78-0.85
    macro-F1 on a validation split, four averaged 0.85-0.86 -- and their disagreement is the
    epistemic part of :meth:`predict_uncertainty`. The encoder passed in is copied, so it
    stays unchanged."""

    def __init__(self, encoder=None, epochs: int = 15, lr: float = 3e-4, head_lr: float = 3e-3,
                 batch_size: int = 64, device: str = "cpu", seed: int = 0,
                 augment: bool = True, n_members: int = 4):
        self.encoder = encoder
        self.epochs = epochs
        self.lr = lr
        self.head_lr = head_lr
        self.batch_size = batch_size
        self.device = device
        self.seed = seed
        self.augment = augment
        self.n_members = n_members

    def fit(self, light_curves: Sequence, labels, unlabelled: Sequence | None = None,
            progress: Callable[[int], None] | None = None) -> FineTuneClassifier:
        """``unlabelled``: the same survey's unlabelled curves (optional), from which its
        class prior is estimated. ``progress`` advances by the curves seen (``n_members`` x
        ``epochs`` x the number of curves in all)."""
        if int(self.n_members) < 1:
            raise ValueError(f"FineTuneClassifier: n_members must be >= 1, got {self.n_members}")
        y_raw = np.asarray(labels)
        if len(y_raw) != len(light_curves):
            raise ValueError(f"FineTuneClassifier.fit: {len(light_curves)} light curves but "
                             f"{len(y_raw)} labels")
        self.classes_, y = np.unique(y_raw, return_inverse=True)
        base = _encoder(self.encoder)
        prepared = base.prepare(light_curves)  # once for all members
        self.members_ = [self._fit_member(base, prepared, y, self.seed + 1000 * m, progress)
                         for m in range(int(self.n_members))]
        _set_priors(self, y_raw, True, None if unlabelled is None or not len(unlabelled)
                    else self._head_proba(unlabelled))
        return self

    def _fit_member(self, base, prepared: list, y: np.ndarray, seed: int, progress):
        import copy

        import torch
        import torch.nn.functional as F

        from skyfm.models import lightcurve_tokens as tok
        from skyfm.models.lightcurve import batch_to_tensors

        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        encoder = copy.deepcopy(base)
        encoder.device = self.device
        model = encoder.model.to(self.device)
        cfg = encoder.config
        counts = np.bincount(y, minlength=len(self.classes_))
        weight = torch.tensor(len(y) / (len(self.classes_) * np.maximum(counts, 1)),
                              dtype=torch.float32, device=self.device)
        head = torch.nn.Linear(cfg.embed_dim, len(self.classes_)).to(self.device)
        opt = torch.optim.AdamW([{"params": model.parameters(), "lr": self.lr},
                                 {"params": head.parameters(), "lr": self.head_lr}],
                                weight_decay=0.01)
        for _ in range(self.epochs):
            model.train()
            order = rng.permutation(len(prepared))
            for i in range(0, len(order), self.batch_size):
                idx = order[i:i + self.batch_size]
                arr = tok.collate([prepared[j] for j in idx], cfg.max_len, cfg.max_bands,
                                  rng if self.augment else None, 0.6, 0.5 if self.augment else 0,
                                  fold_multiple=cfg.fold_multiple)
                z = model.embed_tensors(**batch_to_tensors(arr, self.device))
                loss = F.cross_entropy(head(z), torch.as_tensor(y[idx], device=self.device),
                                       weight=weight)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if progress:
                    progress(len(idx))
        model.eval()
        return encoder, head

    def _member_proba(self, light_curves: Sequence, progress=None) -> np.ndarray:
        """(n_members, N, n_classes) softmax of every member (the class mix they were trained
        under, see ``train_prior_``)."""
        import torch

        check_is_fitted(self, "members_")
        prepared = self.members_[0][0].prepare(light_curves)  # the members share the tokeniser
        out = []
        for encoder, head in self.members_:
            Z = encoder.embed(prepared, progress=progress)
            with torch.no_grad():
                logits = head(torch.as_tensor(Z, device=self.device))
                out.append(torch.softmax(logits, 1).cpu().numpy())
        return np.stack(out)

    def _head_proba(self, light_curves: Sequence, progress=None) -> np.ndarray:
        return self._member_proba(light_curves, progress).mean(0)

    def _to_survey_mix(self, proba: np.ndarray) -> np.ndarray:
        from skyfm.models.prior import shift_prior

        return shift_prior(proba, self.train_prior_, self.prior_)

    def predict_proba(self, light_curves: Sequence, progress=None) -> np.ndarray:
        return self._to_survey_mix(self._head_proba(light_curves, progress))

    def predict(self, light_curves: Sequence, progress=None) -> np.ndarray:
        proba = self.predict_proba(light_curves, progress)  # NotFittedError before fit
        return self.classes_[proba.argmax(1)]

    def predict_uncertainty(self, light_curves: Sequence, progress=None) -> dict:
        """Entropy of the ensemble's prediction (nats) split into its two parts:

        * ``aleatoric``: the members' mean entropy -- what each fit finds ambiguous in the
          curve itself (a noisy or short curve, two classes that look alike);
        * ``epistemic``: total minus aleatoric, the mutual information between the prediction
          and the member -- how much the fits disagree, large for curves unlike the labelled
          ones. Zero with ``n_members=1``.

        The three entropies are those of the members' probabilities under the survey's class
        mix (``prior_``). ``proba`` is :meth:`predict_proba`'s: the members' mean moved to that
        mix, which equals the mean of the moved members when the mix is the labels' own.
        Returns ``{"proba", "total", "aleatoric", "epistemic"}``, arrays over the curves."""
        raw = self._member_proba(light_curves, progress)
        P = np.stack([self._to_survey_mix(p) for p in raw])

        def entropy(p):
            return -(p * np.log(np.clip(p, 1e-12, 1.0))).sum(-1)

        total = entropy(P.mean(0))
        aleatoric = entropy(P).mean(0)
        return {"proba": self._to_survey_mix(raw.mean(0)), "total": total,
                "aleatoric": aleatoric, "epistemic": np.maximum(total - aleatoric, 0.0)}


class HybridClassifier(BaseEstimator, ClassifierMixin):
    """The embedding's linear probe and the classical features' boosted trees, together.

    Each expert predicts under the labels' class mix (or the survey's, see ``unlabelled``);
    the prediction is their weighted geometric mean,
    ``p ∝ p_probe ** weight * p_trees ** (1 - weight)``, renormalised (the weights sum to
    one, so the class prior is counted once). The embedding carries the shape of the folded
    curve the encoder learnt from millions of views; the features carry what the
    normalised tokens drop on purpose -- apparent mean magnitudes and per-band periods.
    Neither dominates: on the EROS test split (3 draws) the product beats both experts at
    20, 100 and all labels per class (see the README's table).

    ``fit`` / ``predict_proba`` / ``predict`` take light curves; ``fit_parts`` /
    ``predict_proba_parts`` take precomputed embeddings ``Z`` and features ``F`` (the
    ``skyfm evaluate`` path, which computes them once for all draws).
    """

    def __init__(self, encoder=None, weight: float = 0.5, C: float = 0.1,
                 bands: Sequence[str] | None = None, random_state: int = 0):
        self.encoder = encoder
        self.weight = weight
        self.C = C
        self.bands = bands
        self.random_state = random_state

    def fit_parts(self, Z: np.ndarray, F: np.ndarray, labels, Z_unlabelled=None,
                  F_unlabelled=None) -> HybridClassifier:
        """``Z``/``F``: embeddings and classical features of the labelled curves (same rows);
        the ``_unlabelled`` ones (optional) let each expert estimate the survey's class mix."""
        from skyfm.features.lightcurves import GradientBoostedBaseline

        if not 0.0 <= float(self.weight) <= 1.0:
            raise ValueError(f"HybridClassifier: weight must be in [0, 1], got {self.weight}")
        y = np.asarray(labels)
        if not len(Z) == len(F) == len(y):
            raise ValueError(f"HybridClassifier.fit_parts: {len(Z)} embeddings, {len(F)} "
                             f"feature rows and {len(y)} labels")
        self.probe_ = LinearProbe(self.encoder, C=self.C).fit_embeddings(Z, y, Z_unlabelled)
        self.trees_ = GradientBoostedBaseline(bands=self.bands, random_state=self.random_state
                                              ).fit_features(F, y, F_unlabelled)
        self.classes_ = self.probe_.classes_
        return self

    @classmethod
    def from_experts(cls, probe: LinearProbe, trees, weight: float = 0.5) -> HybridClassifier:
        """A hybrid of an already fitted :class:`LinearProbe` and
        :class:`~skyfm.features.lightcurves.GradientBoostedBaseline` (same labels), e.g. to
        report the two experts and their product from the same fits."""
        if list(probe.classes_) != list(trees.classes_):
            raise ValueError("HybridClassifier.from_experts: the experts know different "
                             f"classes ({list(probe.classes_)} vs {list(trees.classes_)})")
        hyb = cls(probe.encoder, weight=weight, C=probe.C, bands=trees.bands,
                  random_state=trees.random_state)
        hyb.probe_, hyb.trees_, hyb.classes_ = probe, trees, probe.classes_
        return hyb

    def fit(self, light_curves: Sequence, labels, unlabelled: Sequence | None = None
            ) -> HybridClassifier:
        from skyfm.features.lightcurves import choose_bands

        self.encoder_ = _encoder(self.encoder)
        self.bands_ = list(self.bands) if self.bands is not None else choose_bands(light_curves)
        Z, F = self._parts(light_curves)
        Zu, Fu = self._parts(unlabelled) if unlabelled is not None and len(unlabelled) else (
            None, None)
        return self.fit_parts(Z, F, labels, Zu, Fu)

    def _parts(self, light_curves: Sequence) -> tuple[np.ndarray, np.ndarray]:
        from skyfm.features.lightcurves import lightcurve_features

        return (self.encoder_.embed(light_curves),
                lightcurve_features(light_curves, bands=self.bands_))

    def predict_proba_parts(self, Z: np.ndarray, F: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "probe_")
        w = float(self.weight)
        logp = (w * np.log(np.clip(self.probe_.predict_proba_embeddings(Z), 1e-9, 1.0))
                + (1 - w) * np.log(np.clip(self.trees_.predict_proba_features(F), 1e-9, 1.0)))
        p = np.exp(logp - logp.max(1, keepdims=True))
        return p / p.sum(1, keepdims=True)

    def predict_proba(self, light_curves: Sequence) -> np.ndarray:
        check_is_fitted(self, "encoder_")
        return self.predict_proba_parts(*self._parts(light_curves))

    def predict(self, light_curves: Sequence) -> np.ndarray:
        proba = self.predict_proba(light_curves)
        return self.classes_[proba.argmax(1)]
