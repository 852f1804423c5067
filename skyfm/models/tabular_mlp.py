"""Deep ensembles of small MLPs on catalogue features (nanoGPT style: one config, one network).

Two scikit-learn estimators share the network :class:`TabularMLP`:

* :class:`MLPEnsembleClassifier` -- softmax members, probabilities averaged;
* :class:`MLPEnsembleRegressor` -- heteroscedastic members (a mean and a log-variance per
  object, trained with the Gaussian negative log-likelihood); the ensemble's predictive
  variance is the mean of the members' variances (aleatoric) plus the variance of their means
  (epistemic), as in Lakshminarayanan et al. (2017).

Inputs are robust-scaled (median/IQR, clipped) so a few absurd magnitudes (SDSS rows with
i = 28) cannot dominate. Training is bit-reproducible on the CPU: every member has its own
seed, the ops are deterministic and torch runs on a fixed number of threads while fitting.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from skyfm.models.preprocessing import RobustScaler

__all__ = ["MLPConfig", "MLPEnsembleClassifier", "MLPEnsembleRegressor", "TabularMLP"]


@dataclass
class MLPConfig:
    """Network and training settings of one ensemble member."""

    hidden: int = 128
    depth: int = 3
    dropout: float = 0.0
    epochs: int = 150
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    threads: int = 1


def _torch():
    import torch

    return torch


def TabularMLP(n_in: int, n_out: int, cfg: MLPConfig):
    """``depth`` x (Linear, SiLU[, Dropout]) then a Linear to ``n_out`` outputs."""
    nn = _torch().nn
    layers, width = [], n_in
    for _ in range(cfg.depth):
        layers += [nn.Linear(width, cfg.hidden), nn.SiLU()]
        if cfg.dropout:
            layers.append(nn.Dropout(cfg.dropout))
        width = cfg.hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


@contextlib.contextmanager
def _deterministic(threads: int):
    torch = _torch()
    old = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield torch
    finally:
        torch.set_num_threads(old)
        torch.use_deterministic_algorithms(old_det)


def _train(X: np.ndarray, loss_fn, n_out: int, cfg: MLPConfig, seed: int, targets):
    """One member trained with AdamW and a cosine learning-rate schedule."""
    with _deterministic(cfg.threads) as torch:
        torch.manual_seed(seed)
        net = TabularMLP(X.shape[1], n_out, cfg)
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        n = len(X)
        steps = cfg.epochs * max(1, -(-n // cfg.batch_size))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps)
        Xt = torch.as_tensor(X, dtype=torch.float32)
        gen = torch.Generator().manual_seed(seed)
        net.train()
        for _ in range(cfg.epochs):
            perm = torch.randperm(n, generator=gen)
            for s in range(0, n, cfg.batch_size):
                idx = perm[s:s + cfg.batch_size]
                opt.zero_grad()
                loss = loss_fn(net(Xt[idx]), targets[idx])
                loss.backward()
                opt.step()
                sched.step()
        net.eval()
        return net


def _forward(nets, X: np.ndarray) -> np.ndarray:
    torch = _torch()
    with torch.no_grad():
        Xt = torch.as_tensor(X, dtype=torch.float32)
        return np.stack([net(Xt).numpy().astype(float) for net in nets])


class _MLPEnsemble(BaseEstimator):
    def __init__(self, n_members: int = 5, hidden: int = 128, depth: int = 3,
                 epochs: int = 150, batch_size: int = 128, lr: float = 3e-3,
                 weight_decay: float = 1e-4, dropout: float = 0.0, random_state: int = 0):
        self.n_members = n_members
        self.hidden = hidden
        self.depth = depth
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.random_state = random_state

    def _config(self) -> MLPConfig:
        return MLPConfig(hidden=self.hidden, depth=self.depth, dropout=self.dropout,
                         epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                         weight_decay=self.weight_decay)

    def _scale_fit(self, X) -> np.ndarray:
        X = np.asarray(X, float)
        self.scaler_ = RobustScaler(clip=10.0).fit(X)
        self.n_features_in_ = X.shape[1]
        return self.scaler_.transform(X)

    def _scaled(self, X) -> np.ndarray:
        check_is_fitted(self, "nets_")
        return self.scaler_.transform(np.asarray(X, float))

    def describe(self) -> dict:
        return {"members": self.n_members, **asdict(self._config())}


class MLPEnsembleClassifier(ClassifierMixin, _MLPEnsemble):
    """Deep ensemble of softmax MLPs (class-balanced cross-entropy); probabilities averaged."""

    def fit(self, X, y) -> MLPEnsembleClassifier:
        torch = _torch()
        Z = self._scale_fit(X)
        self.classes_, yi = np.unique(np.asarray(y), return_inverse=True)
        counts = np.bincount(yi, minlength=len(self.classes_)).astype(float)
        w = torch.as_tensor(counts.sum() / (len(counts) * np.maximum(counts, 1)),
                            dtype=torch.float32)
        target = torch.as_tensor(yi, dtype=torch.long)
        ce = torch.nn.CrossEntropyLoss(weight=w)
        self.nets_ = [_train(Z, ce, len(self.classes_), self._config(),
                             self.random_state * 1000 + m, target)
                      for m in range(self.n_members)]
        return self

    def predict_proba_members(self, X) -> np.ndarray:
        """(members, N, classes) probabilities of each member."""
        logits = _forward(self.nets_, self._scaled(X))
        logits -= logits.max(-1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(-1, keepdims=True)

    def predict_proba(self, X) -> np.ndarray:
        return self.predict_proba_members(X).mean(0)

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]


class MLPEnsembleRegressor(RegressorMixin, _MLPEnsemble):
    """Deep ensemble of heteroscedastic MLPs: :meth:`predict_dist` gives (mean, sigma).

    The target is standardised before training; ``log1p_target`` trains on log(1 + y) (photo-z
    of quasars spans 0..5) and maps mean and sigma back to y (sigma by the delta method)."""

    def __init__(self, n_members: int = 5, hidden: int = 128, depth: int = 3,
                 epochs: int = 150, batch_size: int = 128, lr: float = 3e-3,
                 weight_decay: float = 1e-4, dropout: float = 0.0, random_state: int = 0,
                 log1p_target: bool = False):
        super().__init__(n_members, hidden, depth, epochs, batch_size, lr, weight_decay,
                         dropout, random_state)
        self.log1p_target = log1p_target

    def fit(self, X, y) -> MLPEnsembleRegressor:
        torch = _torch()
        Z = self._scale_fit(X)
        t = np.asarray(y, float)
        if self.log1p_target:
            t = np.log1p(t)
        self.y_center_, self.y_scale_ = float(np.mean(t)), float(np.std(t) or 1.0)
        target = torch.as_tensor((t - self.y_center_) / self.y_scale_, dtype=torch.float32)

        def nll(out, yb):
            mu, logvar = out[:, 0], out[:, 1].clamp(-12, 6)
            return 0.5 * (logvar + (yb - mu) ** 2 / logvar.exp()).mean()

        self.nets_ = [_train(Z, nll, 2, self._config(), self.random_state * 1000 + m, target)
                      for m in range(self.n_members)]
        return self

    def predict_dist(self, X) -> tuple[np.ndarray, np.ndarray]:
        """(mean, sigma) of the ensemble's predictive distribution, in the target's units."""
        out = _forward(self.nets_, self._scaled(X))
        mus = out[..., 0] * self.y_scale_ + self.y_center_
        var = np.exp(np.clip(out[..., 1], -12, 6)) * self.y_scale_ ** 2
        mu = mus.mean(0)
        sigma = np.sqrt(var.mean(0) + mus.var(0))
        if self.log1p_target:
            y = np.expm1(mu)
            return y, sigma * (1.0 + y)
        return mu, sigma

    def predict(self, X) -> np.ndarray:
        return self.predict_dist(X)[0]
