"""Training on image stamps: self-supervised pretraining of ``skyfm-img-base`` and the
supervised CNN classifier used both to fine-tune it and, from random weights, as the
from-scratch baseline of ``skyfm evaluate``.

Pretraining (:func:`pretrain`) is SimCLR-style: two augmented views of every image of the
*train* split (labels unused), NT-Xent loss between their projections. Augmentations
(:func:`augment`) rotate by any angle, shift and zoom a little, add pixel noise and jitter each
channel's gain and offset; they never mirror. ``skyfm train images --data DIR --out OUT`` with
the defaults remakes the shipped weights bit for bit on the CPU (fixed seeds,
``torch.use_deterministic_algorithms``, a fixed thread count).

Supervised training (:func:`train_classifier`) uses the same augmentations; a mirror flip is
used only when the caller says what it does to the labels (``mirror``: a label map, identity
for labels a mirror does not change, CW <-> ACW for spiral chirality).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from skyfm.models.image_encoder import ImageConfig, ImageEncoder, ImageNet, prepare_stamps

__all__ = ["ImagePretrainConfig", "SupervisedConfig", "augment", "nt_xent", "pretrain",
           "pretraining_images", "train_classifier"]


def pretraining_images(data: Sequence, twins_per_class: int = 0, twin_seed: int = 0,
                       twin_size: int = 64) -> tuple[list, dict]:
    """The images to pretrain on and a record of where they came from: every image
    (``read(path, modality="image")``: a generic-layout directory, an image folder, ZTF alert
    files with all three planes, science / template / difference, as one 3-band image) of each
    path in ``data``, in order, then ``twins_per_class`` digital-twin galaxies per common class
    (:func:`skyfm.sim.galaxies.simulate_galaxies`, g/r/i in nanomaggies, ``twin_size`` pixels,
    seed ``twin_seed``). Labels are never used."""
    from skyfm.data import read

    images, sources = [], []
    for path in data:
        part = list(read(path, modality="image"))
        images += part
        sources.append({"path": str(path), "n_images": len(part)})
    if twins_per_class > 0:
        from skyfm.sim.galaxies import simulate_galaxies

        twins = list(simulate_galaxies(twins_per_class, size=twin_size, seed=twin_seed))
        images += twins
        sources.append({"twins_per_class": twins_per_class, "twin_seed": twin_seed,
                        "twin_size": twin_size, "n_images": len(twins)})
    return images, {"sources": sources}


@dataclass
class ImagePretrainConfig:
    epochs: int = 30
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    temperature: float = 0.2
    max_shift: float = 0.06   # share of the input width
    zoom: float = 0.1         # scale drawn in [1 - zoom, 1 + zoom]
    noise: float = 0.15       # largest added pixel noise (stretched units)
    jitter: float = 0.15      # per-channel gain (log) and offset spread
    seed: int = 0
    threads: int = 2


def augment(x: torch.Tensor, size: int, gen: torch.Generator, *, max_shift: float = 0.06,
            zoom: float = 0.1, noise: float = 0.15, jitter: float = 0.15,
            flip: torch.Tensor | None = None) -> torch.Tensor:
    """Random views (N, C, size, size) of prepared stamps (N, C, S, S): each rotated by an
    angle drawn uniformly in [0, 2 pi), shifted by up to ``max_shift`` of its width, zoomed by
    1 +- ``zoom``, with per-channel gain/offset jitter and Gaussian noise. Mirrored only where
    the boolean ``flip`` (N,) says so."""
    n, c, s, _ = x.shape
    ang = torch.rand(n, generator=gen) * (2 * np.pi)
    scale = (size / s) * (1 + zoom * (2 * torch.rand(n, generator=gen) - 1))
    shift = max_shift * 2 * (2 * torch.rand(n, 2, generator=gen) - 1) * (size / s)
    cos, sin = torch.cos(ang) * scale, torch.sin(ang) * scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    if flip is not None:
        theta[:, :, 0] = torch.where(flip[:, None], -theta[:, :, 0], theta[:, :, 0])
    grid = F.affine_grid(theta, [n, c, size, size], align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    gain = torch.exp(jitter * torch.randn(n, c, 1, 1, generator=gen))
    offset = 0.5 * jitter * torch.randn(n, c, 1, 1, generator=gen)
    sigma = noise * torch.rand(n, 1, 1, 1, generator=gen)
    return out * gain + offset + sigma * torch.randn(out.shape, generator=gen)


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's normalised-temperature cross entropy between paired rows of ``a`` and ``b``."""
    z = F.normalize(torch.cat([a, b]), dim=1)
    sim = z @ z.T / temperature
    n = a.shape[0]
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)


def _setup(seed: int, threads: int) -> torch.Generator:
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    return torch.Generator().manual_seed(seed)


def pretrain(images: Sequence, cfg: ImagePretrainConfig | None = None,
             model: ImageConfig | None = None, log: Callable[[str], None] = print,
             progress: Callable[[int], None] | None = None) -> tuple[ImageEncoder, dict]:
    """Contrastive pretraining on ``images`` (labels unused); returns (encoder, record)."""
    cfg = cfg or ImagePretrainConfig()
    mcfg = model or ImageConfig()
    gen = _setup(cfg.seed, cfg.threads)
    t0 = time.time()
    X = torch.from_numpy(prepare_stamps(list(images), mcfg))
    log(f"{len(X)} stamps prepared ({time.time() - t0:.0f} s)")
    net = ImageNet(mcfg).train()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    nb = max(1, len(X) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.epochs * nb,
                                                pct_start=0.1)
    aug = {"max_shift": cfg.max_shift, "zoom": cfg.zoom, "noise": cfg.noise,
           "jitter": cfg.jitter}
    losses = []
    for epoch in range(cfg.epochs):
        perm = torch.randperm(len(X), generator=gen)
        total = 0.0
        for b in range(nb):
            xb = X[perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]]
            va = augment(xb, mcfg.size, gen, **aug)
            vb = augment(xb, mcfg.size, gen, **aug)
            h = net(torch.cat([va, vb]))
            p = net.proj(h)
            loss = nt_xent(p[:len(xb)], p[len(xb):], cfg.temperature)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
            if progress:
                progress(1)
        losses.append(total / nb)
        log(f"epoch {epoch + 1}/{cfg.epochs}: loss {losses[-1]:.4f} ({time.time() - t0:.0f} s)")
    net.eval()
    record = asdict(cfg) | {"n_images": len(X), "losses": [round(v, 5) for v in losses],
                            "wall_time_s": round(time.time() - t0, 1)}
    return ImageEncoder(mcfg, net), record


# ---------------------------------------------------------------------- supervised
@dataclass
class SupervisedConfig:
    epochs: int = 30
    min_steps: int = 150      # small labelled sets still get this many optimiser steps
    batch_size: int = 64
    lr: float = 2e-3
    backbone_lr: float = 1.0  # backbone learning rate as a share of ``lr`` (fine-tuning: < 1)
    weight_decay: float = 1e-4
    threads: int = 2


class StampClassifier:
    """A trained CNN classifier on prepared stamps: ``predict_proba`` / ``predict``."""

    def __init__(self, net: ImageNet, head: torch.nn.Linear, classes: list, size: int):
        self.net, self.head, self.classes_, self.size = net, head, np.asarray(classes), size

    @torch.no_grad()
    def predict_proba(self, stamps: np.ndarray, batch_size: int = 256) -> np.ndarray:
        from skyfm.models.image_encoder import center

        self.net.eval()
        out = [torch.softmax(self.head(self.net(center(torch.from_numpy(
            np.ascontiguousarray(stamps[i:i + batch_size])), self.size))), 1).numpy()
            for i in range(0, len(stamps), batch_size)]
        return np.concatenate(out)

    def predict(self, stamps: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(stamps).argmax(1)]


def train_classifier(stamps: np.ndarray, y: Sequence, init: ImageEncoder | None = None,
                     model: ImageConfig | None = None, cfg: SupervisedConfig | None = None,
                     mirror: dict | None = None, seed: int = 0) -> StampClassifier:
    """A CNN classifier trained on prepared ``stamps`` (N, 3, S, S) with labels ``y``:
    fine-tuned from ``init`` (a pretrained encoder) or, with ``init=None``, from random weights
    of the same architecture. Class-balanced cross entropy, the augmentations of
    :func:`augment`; half the views mirrored when ``mirror`` (label -> label of the mirror
    image) is given, else none."""
    import copy

    cfg = cfg or SupervisedConfig()
    gen = _setup(seed, cfg.threads)
    mcfg = init.config if init is not None else (model or ImageConfig())
    net = copy.deepcopy(init.net) if init is not None else ImageNet(mcfg)
    classes = sorted(set(map(str, y)))
    yi = torch.tensor([classes.index(str(v)) for v in y])
    head = torch.nn.Linear(mcfg.embed_dim, len(classes))
    counts = torch.bincount(yi, minlength=len(classes)).float()
    weight = counts.sum() / (len(classes) * counts.clamp(min=1))
    swap = None
    if mirror is not None:
        unknown = sorted(set(classes) - set(mirror))
        if unknown:
            raise ValueError(f"mirror map lacks labels {unknown}")
        swap = torch.tensor([classes.index(str(mirror[c])) for c in classes])
    params = [{"params": [p for n, p in net.named_parameters() if not n.startswith("proj")],
               "lr": cfg.lr * cfg.backbone_lr},
              {"params": head.parameters(), "lr": cfg.lr}]
    opt = torch.optim.AdamW(params, weight_decay=cfg.weight_decay)
    bs = min(cfg.batch_size, len(stamps))
    nb = max(1, len(stamps) // bs)
    steps = max(cfg.min_steps, cfg.epochs * nb)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, [g["lr"] for g in params],
                                                total_steps=steps, pct_start=0.1)
    X = torch.from_numpy(np.ascontiguousarray(stamps))
    net.train()
    perm, pos = torch.randperm(len(X), generator=gen), 0
    for _ in range(steps):
        if pos + bs > len(X):
            perm, pos = torch.randperm(len(X), generator=gen), 0
        idx = perm[pos:pos + bs]
        pos += bs
        target = yi[idx]
        flip = None
        if swap is not None:
            flip = torch.rand(len(idx), generator=gen) < 0.5
            target = torch.where(flip, swap[target], target)
        xb = augment(X[idx], mcfg.size, gen, flip=flip)
        loss = F.cross_entropy(head(net(xb)), target, weight=weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    return StampClassifier(net, head, classes, mcfg.size)
