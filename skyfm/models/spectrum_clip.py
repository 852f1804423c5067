"""CLIP-style alignment of APOGEE-like spectra and their stellar labels (as SpecCLIP).

Two towers map into one unit sphere: the spectrum tower reads the spectrum's coefficients on the
principal components of :class:`~skyfm.models.stellar_labels.StellarLabelNet` (and its log S/N),
the label tower reads the five standardised emulator labels. Trained with a symmetric InfoNCE
loss on Payne-emulator spectra (noise re-drawn every epoch). Uses:

* "spectra like these parameters": rank spectra by cosine to a label vector's embedding;
* zero-shot parameters: the labels of a spectrum = the softmax-weighted mean of a bank of random
  label vectors (no spectra needed for the bank) by their similarity to the spectrum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["ClipConfig", "SpecLabelClip", "clip_loss", "recall_at_k", "train_towers"]


@dataclass
class ClipConfig:
    dim: int = 32
    hidden: int = 128
    epochs: int = 60
    batch_size: int = 256
    lr: float = 2e-3
    temperature: float = 0.05
    n_train: int = 3000
    seed: int = 0
    threads: int = 2


def recall_at_k(sim: np.ndarray, ks=(1, 5, 10)) -> dict[str, float]:
    """Share of rows whose own column (the diagonal) is among the row's top k."""
    own = np.diag(sim)[:, None]
    rank = (sim > own).sum(1)
    return {f"recall@{k}": float(np.mean(rank < k)) for k in ks}


def clip_loss(za, zb, temperature: float):
    """Symmetric InfoNCE of two batches of unit vectors (row i of ``za`` pairs row i of
    ``zb``)."""
    import torch
    import torch.nn.functional as F

    logits = za @ zb.T / temperature
    t = torch.arange(len(za))
    return 0.5 * (F.cross_entropy(logits, t) + F.cross_entropy(logits.T, t))


def train_towers(tower_a, tower_b, inputs_a, inputs_b, c: ClipConfig, rng: np.random.Generator,
                 log: Callable[[str], None] | None = print, log_every: int = 20) -> list[float]:
    """Train two towers with :func:`clip_loss` (AdamW, ``c.lr``, mini-batches of
    ``c.batch_size`` in a ``rng``-drawn order per epoch). ``inputs_a``/``inputs_b``: float
    tensors of paired rows, or callables ``epoch -> tensor`` (inputs re-drawn every epoch,
    e.g. noise). Returns the mean loss of each epoch."""
    import torch
    import torch.nn.functional as F

    params = list(tower_a.parameters()) + list(tower_b.parameters())
    opt = torch.optim.AdamW(params, lr=c.lr, weight_decay=1e-4)
    losses = []
    for epoch in range(c.epochs):
        A = inputs_a(epoch) if callable(inputs_a) else inputs_a
        B = inputs_b(epoch) if callable(inputs_b) else inputs_b
        n = len(A)
        order = torch.as_tensor(rng.permutation(n))
        tot = 0.0
        for k in range(0, n, c.batch_size):
            b = order[k:k + c.batch_size]
            loss = clip_loss(F.normalize(tower_a(A[b]), dim=-1),
                             F.normalize(tower_b(B[b]), dim=-1), c.temperature)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(b)
        losses.append(tot / n)
        if log and (epoch + 1) % log_every == 0:
            log(f"epoch {epoch + 1}/{c.epochs}: InfoNCE {losses[-1]:.3f}")
    return losses


class SpecLabelClip:
    """The two towers and the feature projection they read."""

    def __init__(self, net, spec_tower, label_tower, config: ClipConfig):
        self.net, self.spec_tower, self.label_tower, self.config = net, spec_tower, label_tower, \
            config

    @staticmethod
    def _tower(n_in, c: ClipConfig):
        from torch import nn

        return nn.Sequential(nn.Linear(n_in, c.hidden), nn.GELU(), nn.Linear(c.hidden, c.hidden),
                             nn.GELU(), nn.Linear(c.hidden, c.dim))

    def embed_spectra(self, specs) -> np.ndarray:
        return self.embed_features(self.net.features_of(specs))

    def embed_features(self, X) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        with torch.no_grad():
            return F.normalize(self.spec_tower(torch.as_tensor(X, dtype=torch.float32)),
                               dim=-1).numpy()

    def embed_labels(self, y: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        ys = (np.asarray(y, float) - self.net.y_center) / self.net.y_scale
        with torch.no_grad():
            return F.normalize(self.label_tower(torch.as_tensor(ys, dtype=torch.float32)),
                               dim=-1).numpy()

    def zero_shot(self, Zs: np.ndarray, bank: np.ndarray, top: int = 20) -> np.ndarray:
        """Labels of spectra (embeddings ``Zs``) as the similarity-weighted mean of the ``top``
        closest label vectors of ``bank``."""
        Zb = self.embed_labels(bank)
        sim = Zs @ Zb.T / self.config.temperature
        idx = np.argsort(-sim, axis=1)[:, :top]
        w = np.exp(np.take_along_axis(sim, idx, 1) - np.take_along_axis(sim, idx[:, :1], 1))
        return np.einsum("nk,nkl->nl", w / w.sum(1, keepdims=True), bank[idx])

    @classmethod
    def train(cls, net, config: ClipConfig | None = None,
              log: Callable[[str], None] = print) -> SpecLabelClip:
        """Train on ``config.n_train`` emulator spectra at S/N 20-200 (seeded)."""
        import torch

        from skyfm.models.stellar_labels import _labels, _snrs
        from skyfm.sim.spectra import load_emulator

        c = config or ClipConfig()
        torch.manual_seed(c.seed)
        torch.set_num_threads(c.threads)
        rng = np.random.default_rng([c.seed, 31])
        emu = load_emulator()
        y = _labels(c.n_train, rng)
        clean = emu(y).astype(np.float32)
        V = net.components
        clean_c = (clean - net.mean) @ V.T
        absf = np.abs(clean)
        bank = np.stack([(absf * rng.standard_normal(absf.shape, dtype=np.float32)) @ V.T
                         for _ in range(2)])
        ys = torch.as_tensor((y - net.y_center) / net.y_scale, dtype=torch.float32)
        n_in = clean_c.shape[1] + 1
        st, lt = cls._tower(n_in, c), cls._tower(y.shape[1], c)

        def noisy_spectra(epoch):
            s = _snrs(c.n_train, 20.0, 200.0, rng).astype(np.float32)
            pick = bank[rng.integers(0, 2, c.n_train), np.arange(c.n_train)]
            X = np.column_stack([clean_c + pick / s[:, None], np.log(s)])
            return torch.as_tensor((X - net.x_center) / net.x_scale, dtype=torch.float32)

        train_towers(st, lt, noisy_spectra, ys, c, rng, log)
        return cls(net, st.eval(), lt.eval(), c)
