"""skyfm-lc: a small transformer over irregular, multi-band light curves.

Tokens (see :mod:`skyfm.models.lightcurve_tokens`): one per observation, carrying the
normalised value and its error, a continuous time encoding (sinusoids of the time since the
first point at log-spaced periods from 0.1 d to 3000 d), folded views (harmonics of the phase
at the object's period and, with ``fold_double``, at twice it, where an eclipsing binary's
unequal minima show) and a band embedding computed from the band's effective
wavelength (so unseen band names work). Three extra tokens come first: a learned [CLS], a
context token (period, periodogram peak, span, number of points, scale, error level) and one
summary token per band (colour, band scale, share of points).

Pretraining (``skyfm.train.lightcurves``) is masked reconstruction of the values of 30 % of the
points (ASTROMER-style) plus a contrastive loss between two random views of each curve.
An auxiliary head also learns to classify simulated curves into the digital twin's classes
(simulated labels only; never real labels). The embedding is the concatenation of the [CLS]
output, the masked mean of the point outputs and that head's class log-probabilities.

>>> enc = LightCurveEncoder.from_pretrained("skyfm-lc-base")     # doctest: +SKIP
>>> z = enc.embed(light_curves)                                 # (N, D) numpy
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from skyfm.models import lightcurve_tokens as tok
from skyfm.models.base import Encoder
from skyfm.models.weights_io import WEIGHTS_DIR, load_weights, save_weights  # noqa: F401


@dataclass
class LightCurveConfig:
    d_model: int = 48
    n_layers: int = 2
    n_heads: int = 4
    d_ff: int = 96
    dropout: float = 0.0
    n_time_freqs: int = 16         # sinusoids of dt, periods log-spaced min..max
    time_min_period: float = 0.1   # days
    time_max_period: float = 3000.0
    n_phase_harmonics: int = 4
    fold_double: bool = True       # also fold at twice the period (eclipsing binaries' true one)
    n_lambda_freqs: int = 4
    max_len: int = 200             # points per curve seen by the model (longer: subsampled)
    max_bands: int = 6
    min_period: float = 0.1        # days, shortest period searched
    period_resolution: float = 1.0  # coarse periodogram grid points per 1/span
    period_candidates: int = 8     # highest coarse peaks refined exactly (0: plain grid peak)
    period_harmonics: int = 3      # choose among peaks + daily aliases by a 3-term multi-band fit
    mask_fraction: float = 0.3     # pretraining: fraction of points whose value is hidden
    proj_dim: int = 64             # contrastive projection
    twin_classes: tuple = ()       # digital-twin classes of the auxiliary pretraining head
    embed_twin: bool = True        # append the twin-class log-probabilities to the embedding

    def __post_init__(self):
        self.twin_classes = tuple(self.twin_classes)

    @property
    def fold_multiple(self) -> int:
        """The multiple of the period at which ``collate`` computes the phase input."""
        return 2 if self.fold_double else 1

    @property
    def embed_dim(self) -> int:
        extra = len(self.twin_classes) if (self.embed_twin and self.twin_classes) else 0
        return 2 * self.d_model + extra


class Block(nn.Module):
    """Pre-norm transformer block with padding-masked self-attention."""

    def __init__(self, c: LightCurveConfig):
        super().__init__()
        self.n_heads = c.n_heads
        self.ln1 = nn.LayerNorm(c.d_model)
        self.qkv = nn.Linear(c.d_model, 3 * c.d_model)
        self.proj = nn.Linear(c.d_model, c.d_model)
        self.ln2 = nn.LayerNorm(c.d_model)
        self.mlp = nn.Sequential(nn.Linear(c.d_model, c.d_ff), nn.GELU(),
                                 nn.Linear(c.d_ff, c.d_model))
        self.drop = nn.Dropout(c.dropout)

    def forward(self, h: torch.Tensor, attn_bias: torch.Tensor) -> torch.Tensor:
        B, T, D = h.shape
        q, k, v = self.qkv(self.ln1(h)).split(D, dim=2)
        q, k, v = (z.view(B, T, self.n_heads, D // self.n_heads).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias)
        h = h + self.drop(self.proj(a.transpose(1, 2).reshape(B, T, D)))
        return h + self.drop(self.mlp(self.ln2(h)))


class LightCurveModel(nn.Module):
    """The network: tensors in, per-token hidden states out (no numpy, ONNX-exportable)."""

    def __init__(self, c: LightCurveConfig):
        super().__init__()
        self.config = c
        d = c.d_model
        periods = torch.logspace(math.log10(c.time_min_period), math.log10(c.time_max_period),
                                 c.n_time_freqs)
        self.register_buffer("omega", 2 * math.pi / periods, persistent=False)
        self.register_buffer("harm", 2 * math.pi * torch.arange(1, c.n_phase_harmonics + 1,
                                                                dtype=torch.float32),
                             persistent=False)
        self.register_buffer("lam_freq", math.pi * torch.arange(1, c.n_lambda_freqs + 1,
                                                                dtype=torch.float32),
                             persistent=False)
        n_folds = 2 if c.fold_double else 1
        # x, e, e_known, time, phase(s), masked
        n_in = 3 + 2 * c.n_time_freqs + 2 * c.n_phase_harmonics * n_folds + 1
        self.point_in = nn.Linear(n_in, d)
        self.band_emb = nn.Sequential(nn.Linear(1 + 2 * c.n_lambda_freqs, d), nn.GELU(),
                                      nn.Linear(d, d))
        self.ctx_in = nn.Sequential(nn.Linear(tok.N_CTX, d), nn.GELU(), nn.Linear(d, d))
        self.bandsum_in = nn.Linear(tok.N_BANDF, d)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.type_emb = nn.Parameter(torch.zeros(4, d))  # cls, ctx, band summary, point
        self.blocks = nn.ModuleList([Block(c) for _ in range(c.n_layers)])
        self.ln_f = nn.LayerNorm(d)
        self.recon = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, 1))
        self.project = nn.Sequential(nn.Linear(2 * d, 2 * d), nn.GELU(), nn.Linear(2 * d, c.proj_dim))
        # classifies simulated curves into the twin's classes during pretraining
        self.twin_head = nn.Linear(2 * d, len(c.twin_classes)) if c.twin_classes else None
        nn.init.normal_(self.cls, std=0.02)
        nn.init.normal_(self.type_emb, std=0.02)

    def _lam_embed(self, lam: torch.Tensor) -> torch.Tensor:
        f = lam.unsqueeze(-1) * self.lam_freq
        return self.band_emb(torch.cat([lam.unsqueeze(-1), torch.sin(f), torch.cos(f)], -1))

    def forward(self, x, e, e_known, dt, phase, lam, mask, ctx, band_lam, band_feat, band_mask,
                hide=None):
        """Hidden states (B, 2 + max_bands + L, d) and the key mask (B, 2 + max_bands + L).

        ``hide`` (B, L) bool marks points whose value and error are hidden (pretraining)."""
        if hide is None:
            hide = torch.zeros_like(mask)
        hidef = hide.to(x.dtype)
        keep = 1.0 - hidef
        wt = dt.unsqueeze(-1) * self.omega
        if self.config.fold_double:  # ``phase`` is at 2P; the phase at P follows from it
            ph1 = 2.0 * phase
            ph1 = ph1 - torch.floor(ph1)
            wp, wp2 = ph1.unsqueeze(-1) * self.harm, phase.unsqueeze(-1) * self.harm
            folds = [torch.sin(wp), torch.cos(wp), torch.sin(wp2), torch.cos(wp2)]
        else:
            wp = phase.unsqueeze(-1) * self.harm
            folds = [torch.sin(wp), torch.cos(wp)]
        feats = torch.cat([(x * keep).unsqueeze(-1), (e * keep).unsqueeze(-1),
                           (e_known * keep).unsqueeze(-1), torch.sin(wt), torch.cos(wt),
                           *folds, hidef.unsqueeze(-1)], -1)
        pts = self.point_in(feats) + self._lam_embed(lam) + self.type_emb[3]
        B = x.shape[0]
        cls = self.cls.expand(B, 1, -1) + self.type_emb[0]
        c = self.ctx_in(ctx).unsqueeze(1) + self.type_emb[1]
        bs = self.bandsum_in(band_feat) + self._lam_embed(band_lam) + self.type_emb[2]
        h = torch.cat([cls, c, bs, pts], 1)
        ones = torch.ones(B, 2, dtype=torch.bool, device=x.device)
        keys = torch.cat([ones, band_mask, mask], 1)
        bias = torch.zeros(keys.shape, dtype=h.dtype, device=h.device).masked_fill(~keys, -1e9)
        bias = bias[:, None, None, :]
        for blk in self.blocks:
            h = blk(h, bias)
        return self.ln_f(h), keys

    def pool(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, 2d): [CLS] output and masked mean of the point outputs."""
        nb = self.config.max_bands
        pts = h[:, 2 + nb:]
        m = mask.to(h.dtype).unsqueeze(-1)
        mean = (pts * m).sum(1) / m.sum(1).clamp(min=1.0)
        return torch.cat([h[:, 0], mean], -1)

    def embed_tensors(self, x, e, e_known, dt, phase, lam, mask, ctx, band_lam, band_feat,
                      band_mask):
        """The embedding from batch tensors (the ONNX-exported graph)."""
        h, _ = self.forward(x, e, e_known, dt, phase, lam, mask, ctx, band_lam, band_feat,
                            band_mask)
        z = self.pool(h, mask)
        if self.twin_head is not None and self.config.embed_twin:
            z = torch.cat([z, F.log_softmax(self.twin_head(z), -1).clamp(min=-20.0)], -1)
        return z

    def reconstruct(self, h: torch.Tensor) -> torch.Tensor:
        """Predicted normalised values (B, L) at every point token."""
        return self.recon(h[:, 2 + self.config.max_bands:]).squeeze(-1)


_WORKER_CURVES: Sequence | None = None  # in a forked worker only: its inherited curves


def _init_worker(curves: Sequence) -> None:
    """Pool initializer: a forked worker keeps the parent's curves (inherited, not pickled);
    the parent process never sets this."""
    global _WORKER_CURVES
    _WORKER_CURVES = curves


def _prepare_chunk(job) -> list:
    lcs, min_period, resolution, candidates, harmonics = job
    if isinstance(lcs, slice):
        lcs = _WORKER_CURVES[lcs]
    return tok.prepare_many(lcs, min_period, resolution, period_candidates=candidates,
                            period_harmonics=harmonics)


INPUT_NAMES = ["x", "e", "e_known", "dt", "phase", "lam", "mask", "ctx", "band_lam", "band_feat",
               "band_mask"]


def batch_to_tensors(batch: dict, device="cpu") -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(batch[k], device=device) for k in INPUT_NAMES}


def _hidden_mask(mask: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Hide ``fraction`` of each curve's points (at least one, never all)."""
    hide = np.zeros_like(mask)
    for i, m in enumerate(mask):
        idx = np.flatnonzero(m)
        if idx.size < 2:
            continue
        k = min(max(1, round(fraction * idx.size)), idx.size - 1)
        hide[i, rng.choice(idx, size=k, replace=False)] = True
    return hide


class LightCurveEncoder(Encoder):
    """Light curves in, embeddings out; ``from_pretrained`` / ``save_pretrained`` like
    transformers (the :class:`~skyfm.models.base.Encoder` of the ``lightcurve`` modality)."""

    modality = "lightcurve"
    config_class = LightCurveConfig

    def __init__(self, config: LightCurveConfig | None = None, model: LightCurveModel | None = None,
                 device: str = "cpu"):
        self.config = config or LightCurveConfig()
        self.model = model or LightCurveModel(self.config)
        self.device = device
        self.model.to(device).eval()

    # -- weights ------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, name_or_dir: str | Path = "skyfm-lc-base",
                        device: str = "cpu") -> LightCurveEncoder:
        """Load a shipped model by name (``skyfm/models/weights/NAME``) or from a directory."""
        config, state = load_weights(name_or_dir, LightCurveConfig, "light-curve model")
        model = LightCurveModel(config)
        model.load_state_dict(state)
        return cls(config, model, device)

    def save_pretrained(self, directory: str | Path, extra: dict | None = None) -> Path:
        """Write ``config.json`` and ``model.safetensors`` to ``directory``."""
        return save_weights(directory, self.config, self.model,
                            architecture="skyfm-lc transformer",
                            more={"embed_dim": self.config.embed_dim}, extra=extra,
                            trailing_newline=False)

    # -- inference ----------------------------------------------------------
    @property
    def embed_dim(self) -> int:
        return self.config.embed_dim

    def iter_prepared(self, light_curves: Sequence, n_jobs: int = 1, chunk: int = 256):
        """Yield ``(start, prepared_chunk)``; with ``n_jobs > 1`` the chunks are tokenised
        (normalisation + periodogram) in worker processes while the caller keeps working."""
        c = self.config
        starts = list(range(0, len(light_curves), chunk))
        args = (c.min_period, c.period_resolution, c.period_candidates, c.period_harmonics)
        if n_jobs > 1 and len(starts) > 1:
            import multiprocessing as mp

            methods = mp.get_all_start_methods()
            fork = "fork" in methods
            ctx = mp.get_context("fork" if fork else methods[0])
            if fork:  # children inherit the curves; each job is just a slice
                jobs = [(slice(i, i + chunk), *args) for i in starts]
                pool = ctx.Pool(n_jobs, initializer=_init_worker, initargs=(light_curves,))
            else:
                jobs = [(list(light_curves[i:i + chunk]), *args) for i in starts]
                pool = ctx.Pool(n_jobs)
            with pool:
                yield from zip(starts, pool.imap(_prepare_chunk, jobs))
        else:
            for i in starts:
                yield i, _prepare_chunk((list(light_curves[i:i + chunk]), *args))

    def prepare(self, light_curves: Sequence, progress: Callable[[int], None] | None = None,
                n_jobs: int = 1) -> list[tok.Prepared]:
        """Tokenise (normalise + periodogram); ``n_jobs`` worker processes. Curves that are
        already tokenised (:class:`~skyfm.models.lightcurve_tokens.Prepared`) pass through."""
        if len(light_curves) and isinstance(light_curves[0], tok.Prepared):
            if progress:
                progress(len(light_curves))
            return list(light_curves)
        out: list[tok.Prepared] = []
        for _, part in self.iter_prepared(light_curves, n_jobs):
            out.extend(part)
            if progress:
                progress(len(part))
        return out

    def _batches(self, prepared, batch_size):
        # group curves of similar length to limit padding
        order = np.argsort([min(len(p), self.config.max_len) for p in prepared], kind="stable")
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            yield idx, tok.collate([prepared[j] for j in idx], self.config.max_len,
                                   self.config.max_bands,
                                   fold_multiple=self.config.fold_multiple)

    def _embed_prepared(self, prepared, batch_size, out, offset, progress):
        for idx, batch in self._batches(prepared, batch_size):
            z = self._forward_embed(batch)
            out[offset + idx] = z
            if progress:
                progress(len(idx))

    def _forward_embed(self, batch: dict) -> np.ndarray:
        return self.model.embed_tensors(**batch_to_tensors(batch, self.device)).float().cpu().numpy()

    @torch.no_grad()
    def embed(self, light_curves: Sequence, batch_size: int = 256,
              progress: Callable[[int], None] | None = None, n_jobs: int = 1) -> np.ndarray:
        """(N, D) float32 embeddings. ``progress(k)`` is called as curves are done.

        ``n_jobs > 1`` tokenises in that many worker processes, overlapped with the encoder."""
        out = np.zeros((len(light_curves), self.embed_dim), np.float32)
        self.model.eval()
        if len(light_curves) and isinstance(light_curves[0], tok.Prepared):
            self._embed_prepared(list(light_curves), batch_size, out, 0, progress)
            return out
        for start, part in self.iter_prepared(light_curves, n_jobs, chunk=max(batch_size, 64)):
            self._embed_prepared(part, batch_size, out, start, progress)
        return out

    @torch.no_grad()
    def reconstruction_error(self, light_curves: Sequence, batch_size: int = 256, seed: int = 0,
                             n_masks: int = 2,
                             progress: Callable[[int], None] | None = None) -> np.ndarray:
        """(N,) pretraining loss per object: mean squared error (in units of the object's
        robust scale, per point divided by 1 + error^2) of the values of hidden points,
        averaged over ``n_masks`` seeded random maskings. High = unusual curve.
        Accepts light curves or already-tokenised :class:`~skyfm.models.lightcurve_tokens.Prepared`."""
        prepared = self.prepare(light_curves)
        rng = np.random.default_rng(seed)
        out = np.zeros(len(prepared))
        for idx, batch in self._batches(prepared, batch_size):
            tens = batch_to_tensors(batch, self.device)
            tot = np.zeros(len(idx))
            for _ in range(n_masks):
                hide = _hidden_mask(batch["mask"], self.config.mask_fraction, rng)
                h, _ = self.model(**tens, hide=torch.as_tensor(hide, device=self.device))
                pred = self.model.reconstruct(h).cpu().numpy()
                w = hide / (1.0 + batch["e"] ** 2)
                err = (pred - batch["x"]) ** 2 * w
                tot += err.sum(1) / np.maximum(w.sum(1), 1e-9)
            out[idx] = tot / n_masks
            if progress:
                progress(len(idx))
        return out


def masked_reconstruction_loss(model: LightCurveModel, tens: dict, hide: torch.Tensor
                               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Pretraining loss on hidden points; also returns the hidden states' pooled embedding."""
    h, _ = model(**tens, hide=hide)
    pred = model.reconstruct(h)
    w = hide.float() / (1.0 + tens["e"] ** 2)
    loss = ((pred - tens["x"]) ** 2 * w).sum() / w.sum().clamp(min=1.0)
    return loss, model.pool(h, tens["mask"])
