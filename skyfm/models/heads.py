"""Classification heads on the light-curve encoder, scikit-learn style.

* :class:`LinearProbe`: logistic regression on frozen, standardised embeddings -- cheap, and
  the right choice with few labels.
* :class:`FineTuneClassifier`: the encoder and a linear head trained together for a few epochs
  (class-weighted cross-entropy, random views of the curves as augmentation).

Class imbalance: both heads know the class prior their probabilities assume (the labels'
class mix, or uniform when class-weighted) and predict under the survey's own class mix:
the labels' mix, or, given the survey's unlabelled curves (``fit(..., unlabelled=)``), the
mix of labelled + unlabelled estimated by EM (:func:`skyfm.models.prior.estimate_prior`):
20 labels per class no longer make a Mira as likely as an RR Lyrae.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["FineTuneClassifier", "LinearProbe"]


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


class LinearProbe:
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
        self.encoder_ = getattr(self, "encoder_", None) or _encoder(self.encoder)
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

        return shift_prior(self.model_.predict_proba(Z), self.train_prior_, self.prior_)

    def predict_proba(self, light_curves: Sequence, progress=None) -> np.ndarray:
        return self.predict_proba_embeddings(self._embed(light_curves, progress))

    def predict(self, light_curves: Sequence, progress=None) -> np.ndarray:
        return self.classes_[self.predict_proba(light_curves, progress).argmax(1)]


class FineTuneClassifier:
    """Encoder + linear head, trained end to end (AdamW, class-weighted cross-entropy).

    The encoder is copied, so the one passed in stays unchanged."""

    def __init__(self, encoder=None, epochs: int = 15, lr: float = 3e-4, head_lr: float = 3e-3,
                 batch_size: int = 64, device: str = "cpu", seed: int = 0,
                 augment: bool = True):
        self.encoder = encoder
        self.epochs = epochs
        self.lr = lr
        self.head_lr = head_lr
        self.batch_size = batch_size
        self.device = device
        self.seed = seed
        self.augment = augment

    def fit(self, light_curves: Sequence, labels, unlabelled: Sequence | None = None,
            progress: Callable[[int], None] | None = None) -> FineTuneClassifier:
        """``unlabelled``: the same survey's unlabelled curves (optional), from which its
        class prior is estimated."""
        import copy

        import torch
        import torch.nn.functional as F

        from skyfm.models import lightcurve_tokens as tok
        from skyfm.models.lightcurve import batch_to_tensors

        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        base = _encoder(self.encoder)
        self.encoder_ = copy.deepcopy(base)
        self.encoder_.device = self.device
        model = self.encoder_.model.to(self.device)
        cfg = self.encoder_.config
        y_raw = np.asarray(labels)
        self.classes_, y = np.unique(y_raw, return_inverse=True)
        counts = np.bincount(y, minlength=len(self.classes_))
        weight = torch.tensor(len(y) / (len(self.classes_) * np.maximum(counts, 1)),
                              dtype=torch.float32, device=self.device)
        from skyfm.models.lightcurve_tokens import Prepared

        prepared = (list(light_curves) if len(light_curves) and isinstance(light_curves[0], Prepared)
                    else self.encoder_.prepare(light_curves))
        self.head_ = torch.nn.Linear(cfg.embed_dim, len(self.classes_)).to(self.device)
        opt = torch.optim.AdamW([{"params": model.parameters(), "lr": self.lr},
                                 {"params": self.head_.parameters(), "lr": self.head_lr}],
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
                loss = F.cross_entropy(self.head_(z), torch.as_tensor(y[idx], device=self.device),
                                       weight=weight)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if progress:
                    progress(len(idx))
        model.eval()
        _set_priors(self, y_raw, True, None if unlabelled is None or not len(unlabelled)
                    else self._head_proba(unlabelled))
        return self

    def _head_proba(self, light_curves: Sequence, progress=None) -> np.ndarray:
        import torch

        Z = self.encoder_.embed(light_curves, progress=progress)
        with torch.no_grad():
            logits = self.head_(torch.as_tensor(Z, device=self.device))
            return torch.softmax(logits, 1).cpu().numpy()

    def predict_proba(self, light_curves: Sequence, progress=None) -> np.ndarray:
        from skyfm.models.prior import shift_prior

        return shift_prior(self._head_proba(light_curves, progress), self.train_prior_,
                           self.prior_)

    def predict(self, light_curves: Sequence, progress=None) -> np.ndarray:
        return self.classes_[self.predict_proba(light_curves, progress).argmax(1)]
