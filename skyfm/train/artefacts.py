"""Train the artefact head (skyfm-image-artefact) on real cutouts with twin artefacts.

``skyfm train artefacts --data GALAXYZOO_DIR --out DIR`` with the defaults remakes the shipped
weights bit for bit on the CPU (seeded numpy and torch, deterministic algorithms, fixed
threads). The cutouts are Galaxy Zoo 1 images *after* the first ``skip`` in file-name order
(the first ``skip`` are kept for the discovery measurement, so the head never saw them); each
is used twice, as it is (label 0) and with one twin artefact of a random kind painted on at
full resolution before binning (label 1). Real cutouts that already hold an artefact are
labelled 0: the head learns the twin's artefacts against real sky, so a few wrong labels dilute
but do not invert it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = ["ArtefactTrainConfig", "make_set", "train_artefact_head"]


@dataclass
class ArtefactTrainConfig:
    n_images: int = 1200
    n_val: int = 200
    skip: int = 1000
    size: int = 64
    epochs: int = 6
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0
    threads: int = 2


def make_set(data: Path, cfg: ArtefactTrainConfig, start: int, n: int, seed: int):
    """(stamps (2n, 3, size, size) in 0..1, labels (2n,), artefact kinds (2n,); '' = clean)
    from Galaxy Zoo images ``skip + start .. skip + start + n`` in file-name order."""
    from skyfm.data.io.images import read_galaxyzoo
    from skyfm.models.preprocessing import resize
    from skyfm.sim.artefacts import ARTEFACT_KINDS, add_artefact

    rng = np.random.default_rng(seed)
    imgs = read_galaxyzoo(data, limit=cfg.skip + start + n)[cfg.skip + start:]
    if len(imgs) < n:
        from skyfm.errors import DataFormatError

        raise DataFormatError(f"only {len(imgs)} images after the first {cfg.skip + start}",
                              file=data, field="images",
                              expected=f"at least {cfg.skip + start + n} Galaxy Zoo images")
    X = np.empty((2 * n, 3, cfg.size, cfg.size), np.float32)
    kinds = []
    for i, img in enumerate(imgs):
        d = np.asarray(img.data, np.float32)
        kind = ARTEFACT_KINDS[int(rng.integers(len(ARTEFACT_KINDS)))]
        X[2 * i] = resize(d, cfg.size) / 255.0
        X[2 * i + 1] = resize(add_artefact(d, kind, rng), cfg.size) / 255.0
        kinds += ["", kind]
    y = np.tile([0.0, 1.0], n).astype(np.float32)
    return X, y, np.array(kinds)


def train_artefact_head(data: Path, cfg: ArtefactTrainConfig | None = None,
                        log: Callable[[str], None] = print):
    """Train an :class:`~skyfm.models.image_artefact.ArtefactHead`; returns (head, record)."""
    import torch
    import torch.nn.functional as F

    from skyfm.models.image_artefact import ArtefactHead, ArtefactHeadConfig

    cfg = cfg or ArtefactTrainConfig()

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    X, y, _ = make_set(data, cfg, 0, cfg.n_images, cfg.seed)
    Xv, yv, kv = make_set(data, cfg, cfg.n_images, cfg.n_val, cfg.seed + 1)
    log(f"{len(X)} training and {len(Xv)} validation stamps ({time.time() - t0:.0f} s)")
    head = ArtefactHead(ArtefactHeadConfig(size=cfg.size))
    net = head.net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    nb = max(1, len(X) // cfg.batch_size)  # a last short batch when the set is small
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.epochs * nb)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(cfg.seed)
    losses = []
    for epoch in range(cfg.epochs):
        perm = torch.randperm(len(X), generator=gen)
        total = 0.0
        for b in range(nb):
            idx = perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            xb = tX[idx]
            if int(torch.randint(0, 2, (1,), generator=gen)):
                xb = torch.flip(xb, (-1,))
            xb = torch.rot90(xb, int(torch.randint(0, 4, (1,), generator=gen)), (-2, -1))
            loss = F.binary_cross_entropy_with_logits(net(xb), ty[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        losses.append(total / nb)
        log(f"epoch {epoch + 1}/{cfg.epochs}: loss {losses[-1]:.4f} ({time.time() - t0:.0f} s)")
    head.net.eval()
    p = head.predict_stamps(Xv)
    flag = p >= head.config.threshold
    val = {"false_positive_rate": float(flag[yv == 0].mean()),
           "recall": float(flag[yv == 1].mean())}
    for kind in sorted(set(kv) - {""}):
        val[f"recall_{kind}"] = float(flag[kv == kind].mean())
    log(f"validation (held-out real cutouts): {val}")
    record = asdict(cfg) | {"losses": [round(x, 5) for x in losses], "validation": val,
                            "seconds": round(time.time() - t0, 1)}
    return head, record
