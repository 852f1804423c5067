"""Train the learned source detector (skyfm-detect) on twin star fields only.

``skyfm train detector --out DIR`` with the defaults remakes the shipped
``skyfm-detect-twin`` weights bit for bit on the CPU: fields from
:func:`skyfm.sim.starfield.simulate_starfield` (seeded numpy), prepared exactly as a real image
(:func:`skyfm.images.detect.subtract_background`, divided by the noise), a fixed torch seed,
deterministic algorithms and a fixed number of threads.

Targets (CenterNet): a Gaussian bump (sigma 1 pix) at each source with aperture S/N >=
``label_snr``, 1 at the pixel holding its centre; sources between ``ignore_snr`` and
``label_snr`` are neither sources nor background (their 5 x 5 pixels carry no loss), so the
net is not punished for finding, or for missing, a source at the limit. Loss: the penalty-
reduced focal loss on the heat map plus an L1 loss on the sub-pixel offsets in the 3 x 3
pixels around each centre. Hot pixels and cosmic rays in the fields are background.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["DetectorTrainConfig", "calibrate_threshold", "make_fields", "train_detector",
           "twin_score"]


@dataclass
class DetectorTrainConfig:
    n_fields: int = 1200
    n_val: int = 100
    size: int = 64
    box: int = 32
    epochs: int = 4
    batch_size: int = 16
    lr: float = 3e-3
    label_snr: float = 5.0
    ignore_snr: float = 2.5
    seed: int = 0
    threads: int = 2
    channels: int = 16


def make_fields(n: int, cfg: DetectorTrainConfig, seed: int):
    """(noise-normalised images (n, H, W), heat targets, weights, offset targets (n, 2, H, W),
    offset masks, list of true sources per field)."""
    from skyfm.images.detect import subtract_background
    from skyfm.sim.starfield import simulate_starfield

    rng = np.random.default_rng(seed)
    s = cfg.size
    X = np.zeros((n, s, s), np.float32)
    H = np.zeros((n, s, s), np.float32)
    W = np.ones((n, s, s), np.float32)
    O = np.zeros((n, 2, s, s), np.float32)
    M = np.zeros((n, s, s), np.float32)
    truth = []
    yy, xx = np.mgrid[:s, :s]
    for i in range(n):
        f = simulate_starfield(s, rng)
        sub, rms = subtract_background(f.image.astype(float), np.zeros((s, s), bool), cfg.box)
        X[i] = sub / rms
        src = f.sources
        truth.append((src[src[:, 3] >= cfg.label_snr, :2], src[src[:, 3] >= cfg.ignore_snr, :2]))
        for x, y, _, snr in src:
            px, py = int(np.rint(x)), int(np.rint(y))
            if snr >= cfg.label_snr:
                H[i] = np.maximum(H[i], np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 2.0))
                H[i, py, px] = 1.0
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        qx, qy = px + dx, py + dy
                        if 0 <= qx < s and 0 <= qy < s:
                            O[i, 0, qy, qx], O[i, 1, qy, qx] = x - qx, y - qy
                            M[i, qy, qx] = 1.0
            elif snr >= cfg.ignore_snr:
                W[i, max(0, py - 2):py + 3, max(0, px - 2):px + 3] = 0.0
    W[H == 1.0] = 1.0
    return X, H, W, O, M, truth


def _loss(out, heat, weight, off, offmask):
    import torch

    p = torch.sigmoid(out[:, 0]).clamp(1e-5, 1 - 1e-5)
    pos = heat == 1.0
    lpos = -((1 - p) ** 2 * torch.log(p))[pos].sum()
    lneg = -((1 - heat) ** 4 * p**2 * torch.log(1 - p) * weight)[~pos].sum()
    npos = pos.sum().clamp(min=1)
    loff = (torch.abs(out[:, 1:] - off).sum(1) * offmask).sum() / offmask.sum().clamp(min=1)
    return (lpos + lneg) / npos + loff


def twin_score(detector, X, truth, radius: float = 1.5, threshold: float | None = None) -> dict:
    """Completeness, purity and median position error [pix] on twin fields. ``truth`` holds,
    per field, (sources with S/N >= the label cut, sources with S/N >= the ignore cut):
    completeness counts the first found within ``radius``; a detection is pure when a source of
    the second kind lies within ``radius`` (finding a real source at S/N 3 is no error)."""
    from scipy.spatial import cKDTree

    n_true = n_found = n_det = n_good = 0
    seps = []
    for x, (t, t_any) in zip(X, truth):
        xy = detector.find(x) if threshold is None else detector.find(x, threshold)
        n_true += len(t)
        n_det += len(xy)
        if len(t) and len(xy):
            d, _ = cKDTree(xy).query(t)
            n_found += int((d < radius).sum())
            seps += list(d[d < radius])
        if len(t_any) and len(xy):
            d2, _ = cKDTree(t_any).query(xy)
            n_good += int((d2 < radius).sum())
    c, p = n_found / max(n_true, 1), n_good / max(n_det, 1)
    return {"completeness": c, "purity": p, "f1": 2 * c * p / max(c + p, 1e-12),
            "median_sep_pix": float(np.median(seps)) if seps else float("nan")}


def calibrate_threshold(detector, X, truth) -> float:
    """The heat-map threshold (0.05 .. 0.95 in steps of 0.05) of highest F1 of completeness
    and purity on twin validation fields (ties: the lower one)."""
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    f1 = [twin_score(detector, X, truth, threshold=float(t))["f1"] for t in grid]
    return float(grid[int(np.argmax(f1))])


def train_detector(cfg: DetectorTrainConfig | None = None,
                   log: Callable[[str], None] = print):
    """Train a :class:`~skyfm.models.source_detector.SourceDetector`; returns (detector,
    record of the training)."""
    import torch

    from skyfm.models.source_detector import SourceDetector, SourceDetectorConfig

    cfg = cfg or DetectorTrainConfig()

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    X, H, W, O, M, _ = make_fields(cfg.n_fields, cfg, cfg.seed)
    Xv, *_, truth_v = make_fields(cfg.n_val, cfg, cfg.seed + 10_000)
    log(f"{cfg.n_fields} twin fields ({time.time() - t0:.0f} s)")
    det = SourceDetector(SourceDetectorConfig(channels=cfg.channels))
    net = det.net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    steps = cfg.epochs * (cfg.n_fields // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=steps)
    xin = det.inputs(X[0])  # for the stretch only
    del xin
    tX = torch.from_numpy(np.arcsinh(X / det.config.stretch))[:, None]
    tH, tW = torch.from_numpy(H), torch.from_numpy(W)
    tO, tM = torch.from_numpy(O), torch.from_numpy(M)
    gen = torch.Generator().manual_seed(cfg.seed)
    losses = []
    for epoch in range(cfg.epochs):
        perm = torch.randperm(cfg.n_fields, generator=gen)
        total = 0.0
        for b in range(cfg.n_fields // cfg.batch_size):
            idx = perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            k = int(torch.randint(0, 4, (1,), generator=gen))  # rot90 augmentation
            dims = (-2, -1)
            xb = torch.rot90(tX[idx], k, dims)
            hb, wb, mb = (torch.rot90(t[idx], k, dims) for t in (tH, tW, tM))
            ob = _rot_offsets(torch.rot90(tO[idx], k, dims), k)
            loss = _loss(net(xb), hb, wb, ob, mb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        losses.append(total / (cfg.n_fields // cfg.batch_size))
        log(f"epoch {epoch + 1}/{cfg.epochs}: loss {losses[-1]:.4f} ({time.time() - t0:.0f} s)")
    det.net.eval()
    det.config.threshold = calibrate_threshold(det, Xv, truth_v)
    log(f"threshold (highest F1 on the twin validation fields): {det.config.threshold}")
    val = twin_score(det, Xv, truth_v)
    log(f"twin validation: {val}")
    record = asdict(cfg) | {"losses": [round(x, 5) for x in losses], "twin_validation": val,
                            "seconds": round(time.time() - t0, 1)}
    return det, record


def _rot_offsets(off, k: int):
    """Offsets (dx, dy) of a field turned by ``k`` quarter turns with ``torch.rot90`` over
    (H, W) (which takes x -> y, y -> -x per turn, in array terms)."""
    import torch

    dx, dy = off[:, 0], off[:, 1]
    for _ in range(k % 4):
        dx, dy = dy, -dx
    return torch.stack([dx, dy], 1)
