"""skyfm-spec: a small dilated 1-D CNN over spectra on per-instrument log-wavelength grids.

Each spectrum is binned onto the log-λ grid of its instrument (:data:`INSTRUMENTS`: SpeX prism,
DESI B+R+Z, APOGEE; anything else on a ``generic`` grid spanning its own valid range), divided by
its median flux, and given to the network as five channels per pixel: flux, error (the
per-pixel 1-σ, 0 where unknown), valid (0 where masked, outside the data or in a gap), hidden
(pretraining: the pixel's flux and error are withheld) and the pixel's absolute log-wavelength
(scaled to 0..1 over 3,000–26,000 Å). The stem cuts the pixels into patches of 4 (one token
each), a learned instrument embedding is added, then residual blocks of dilated convolutions
(receptive field ~60 tokens) give per-token states; a 1x1 head predicts every pixel's flux of a
token, and the embedding is the masked mean and max of the token states over valid tokens.

Pretraining (:mod:`skyfm.train.spectra`) is masked reconstruction (contiguous chunks of ~25 %
of the pixels hidden; the flux there predicted, weighted by 1 / (error² + floor²)) on two
noise re-drawn views of each spectrum, plus a contrastive (InfoNCE) loss between the two views'
embeddings. No labels are used.

>>> enc = SpectrumEncoder.from_pretrained("skyfm-spec-base")     # doctest: +SKIP
>>> z = enc.embed(spectra)                                       # (N, D) numpy
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from skyfm.models.base import Encoder
from skyfm.models.weights_io import WEIGHTS_DIR, load_weights, save_weights  # noqa: F401

__all__ = ["INSTRUMENTS", "Gridded", "SpectrumConfig", "SpectrumEncoder", "SpectrumModel",
           "grid_spectra", "instrument_of"]

#: instrument -> (blue end [Å], red end [Å], pixels) of its log-λ grid
INSTRUMENTS: dict[str, tuple[float, float, int]] = {
    "spex": (6500.0, 25500.0, 256),
    "desi": (3600.0, 9824.0, 512),
    "apogee": (15140.0, 16960.0, 512),
}
GENERIC_PIXELS = 256  # every grid's size is a multiple of the patch
LOG_LAM_RANGE = (np.log(3000.0), np.log(26000.0))  # for the absolute-wavelength channel
READER_INSTRUMENT = {"spex": "spex", "desi": "desi", "apogee": "apogee",
                     "skyfm.sim.spectra": "apogee"}
N_CHANNELS = 5


@dataclass
class SpectrumConfig:
    channels: int = 32
    patch: int = 4               # pixels per token (the stem's stride)
    dilations: tuple = (1, 2, 4, 8)
    kernel: int = 5
    instruments: tuple = ("spex", "desi", "apogee", "generic")
    proj_dim: int = 32           # contrastive projection
    mask_fraction: float = 0.25  # pretraining: share of pixels hidden (in chunks)
    mask_chunks: int = 8
    error_floor: float = 0.02    # added in quadrature to the error in the reconstruction weight
    grids: dict = field(default_factory=lambda: {k: list(v) for k, v in INSTRUMENTS.items()})

    def __post_init__(self):
        self.dilations = tuple(self.dilations)
        self.instruments = tuple(self.instruments)

    @property
    def embed_dim(self) -> int:
        return 2 * self.channels


# ------------------------------------------------------------------------ gridding (numpy)
@dataclass
class Gridded:
    """Spectra of one instrument on its grid: (N, P) arrays and the grid (Å)."""

    instrument: str
    grid: np.ndarray
    flux: np.ndarray    # divided by the median valid flux
    error: np.ndarray   # same scale; 0 where unknown
    valid: np.ndarray   # bool
    scale: np.ndarray   # (N,) the median used


def instrument_of(spec, grids: dict | None = None) -> str:
    """The instrument whose grid a spectrum goes on: from its reader, else from its wavelength
    coverage (its valid range at least 80 % inside a grid that it covers at least half of),
    else ``generic``."""
    import astropy.units as u

    grids = grids or INSTRUMENTS
    reader = getattr(getattr(spec, "provenance", None), "reader", None)
    if reader in READER_INSTRUMENT and READER_INSTRUMENT[reader] in grids:
        return READER_INSTRUMENT[reader]
    w = spec.wavelength_unit.to(u.AA, spec.wavelength[~spec.mask], equivalencies=u.spectral())
    if w.size == 0:
        return "generic"
    lo, hi = float(np.min(w)), float(np.max(w))
    for name, (a, b, _) in grids.items():
        inter = max(0.0, min(hi, b) - max(lo, a))
        if hi > lo and inter / (hi - lo) >= 0.8 and inter / (b - a) >= 0.5:
            return name
    return "generic"


def _bin_one(w, f, e, ok, grid):
    """Bin one spectrum (Å, sorted) onto ``grid``: mean of the valid pixels in each bin,
    interpolation where a bin holds none but the data are sampled more coarsely there."""
    P = grid.size
    lg = np.log(grid)
    edges = np.concatenate([[lg[0] - (lg[1] - lg[0]) / 2], (lg[1:] + lg[:-1]) / 2,
                            [lg[-1] + (lg[-1] - lg[-2]) / 2]])
    wv, fv, ev = np.log(w[ok]), f[ok], e[ok]
    out_f = np.zeros(P)
    out_e = np.zeros(P)
    valid = np.zeros(P, bool)
    if wv.size == 0:
        return out_f, out_e, valid
    idx = np.searchsorted(edges, wv) - 1
    inside = (idx >= 0) & (idx < P)
    n = np.bincount(idx[inside], minlength=P)
    sf = np.bincount(idx[inside], fv[inside], minlength=P)
    e_known = np.isfinite(ev)
    se = np.bincount(idx[inside], np.where(e_known, ev, 0.0)[inside] ** 2, minlength=P)
    ne = np.bincount(idx[inside], e_known[inside].astype(float), minlength=P)
    has = n > 0
    out_f[has] = sf[has] / n[has]
    with np.errstate(invalid="ignore", divide="ignore"):
        out_e = np.where(ne > 0, np.sqrt(se) / np.maximum(ne, 1), 0.0)
    valid[has] = True
    # bins without any native pixel (valid or not): inside the data and where the native
    # sampling is coarser than the grid, interpolate (valid); bins holding only masked or
    # non-finite pixels stay invalid, and so does everything outside the valid range
    wa = np.log(w[np.isfinite(w) & (w > 0)])
    ia = np.searchsorted(edges, wa) - 1
    n_all = np.bincount(ia[(ia >= 0) & (ia < P)], minlength=P)
    span = (lg >= wv.min()) & (lg <= wv.max())
    step = np.diff(wa)
    native = np.interp(lg, wa[1:], step) if step.size else np.full(P, np.inf)
    coarse = native > (lg[1] - lg[0]) * 0.999
    fill = (n_all == 0) & span & coarse
    if fill.any():
        out_f[fill] = np.interp(lg[fill], wv, fv)
        out_e[fill] = np.interp(lg[fill], wv, np.where(e_known, ev, 0.0))
        valid[fill] = True
    return out_f, out_e, valid


def grid_spectra(specs: Sequence, instrument: str, grids: dict | None = None) -> Gridded:
    """Spectra of one instrument on its log-λ grid (``generic``: each on a grid of its own
    valid range; the returned ``grid`` is then the first one's)."""
    import astropy.units as u

    grids = grids or INSTRUMENTS
    n = len(specs)
    P = grids[instrument][2] if instrument in grids else GENERIC_PIXELS
    F_ = np.zeros((n, P))
    E = np.zeros((n, P))
    V = np.zeros((n, P), bool)
    S = np.ones(n)
    L = np.zeros((n, P))
    grid = None
    for i, s in enumerate(specs):
        w = s.wavelength_unit.to(u.AA, s.wavelength, equivalencies=u.spectral())
        order = np.argsort(w, kind="stable")
        w, f = w[order], s.flux[order]
        e, m = s.error[order], np.asarray(s.mask, bool)[order]
        ok = ~m & np.isfinite(f) & np.isfinite(w) & (w > 0)
        if instrument in grids:
            a, b, _ = grids[instrument]
        elif ok.sum() >= 2:
            a, b = float(w[ok].min()), float(w[ok].max())
        else:
            a, b = 3000.0, 26000.0
        g = np.exp(np.linspace(np.log(a), np.log(b), P))
        grid = g if grid is None else grid
        L[i] = np.log(g)
        f_, e_, v_ = _bin_one(w, f, e, ok, g)
        med = np.median(np.abs(f_[v_])) if v_.any() else 1.0
        med = med if np.isfinite(med) and med > 0 else 1.0
        F_[i] = np.clip(f_ / med, -5, 10) * v_
        E[i] = np.clip(np.nan_to_num(e_ / med), 0, 10) * v_
        V[i] = v_
        S[i] = med
    out = Gridded(instrument, grid if grid is not None else np.zeros(P), F_, E, V, S)
    out.log_lam = L  # per-spectrum log-λ (generic grids differ)
    return out


def to_inputs(g: Gridded, hide: np.ndarray | None = None) -> torch.Tensor:
    """(N, 5, P) float32 network input of gridded spectra (``hide`` withholds pixels)."""
    h = np.zeros_like(g.valid) if hide is None else hide
    keep = ~h
    u = (g.log_lam - LOG_LAM_RANGE[0]) / (LOG_LAM_RANGE[1] - LOG_LAM_RANGE[0])
    x = np.stack([g.flux * keep, g.error * keep, g.valid & keep, h, u], 1)
    return torch.as_tensor(x, dtype=torch.float32)


# ------------------------------------------------------------------------ network
class Block(nn.Module):
    """Pre-norm residual block: GroupNorm -> dilated conv -> GELU -> 1x1 conv."""

    def __init__(self, c: int, k: int, dilation: int):
        super().__init__()
        self.norm = nn.GroupNorm(1, c)
        self.conv = nn.Conv1d(c, c, k, padding=dilation * (k - 1) // 2, dilation=dilation)
        self.mix = nn.Conv1d(c, c, 1)

    def forward(self, h):
        return h + self.mix(F.gelu(self.conv(self.norm(h))))


class SpectrumModel(nn.Module):
    """The network: (N, 5, P) inputs + instrument ids -> per-pixel states (N, C, P)."""

    def __init__(self, c: SpectrumConfig):
        super().__init__()
        self.config = c
        C = c.channels
        self.stem = nn.Conv1d(N_CHANNELS, C, c.patch, stride=c.patch)
        self.instrument = nn.Embedding(len(c.instruments), C)
        self.blocks = nn.ModuleList([Block(C, c.kernel, d) for d in c.dilations])
        self.norm = nn.GroupNorm(1, C)
        self.recon = nn.Conv1d(C, c.patch, 1)
        self.project = nn.Sequential(nn.Linear(2 * C, 2 * C), nn.GELU(),
                                     nn.Linear(2 * C, c.proj_dim))
        nn.init.normal_(self.instrument.weight, std=0.02)

    def forward(self, x: torch.Tensor, inst: torch.Tensor) -> torch.Tensor:
        h = self.stem(x) + self.instrument(inst).unsqueeze(-1)
        for blk in self.blocks:
            h = blk(h)
        return self.norm(h)

    def token_valid(self, valid: torch.Tensor) -> torch.Tensor:
        """(N, P / patch): a token is valid when any of its pixels is."""
        p = self.config.patch
        return valid.reshape(valid.shape[0], -1, p).any(-1)

    def pool(self, h: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """(N, 2C): mean and max of the token states over valid pixels (``valid``: (N, P))."""
        m = self.token_valid(valid).unsqueeze(1).to(h.dtype)
        mean = (h * m).sum(-1) / m.sum(-1).clamp(min=1.0)
        mx = h.masked_fill(m == 0, -1e4).amax(-1)
        mx = torch.where(m.sum(-1) > 0, mx, torch.zeros_like(mx))
        return torch.cat([mean, mx], -1)

    def reconstruct(self, h: torch.Tensor) -> torch.Tensor:
        """(N, P) predicted flux of every pixel."""
        r = self.recon(h)  # (N, patch, T)
        return r.transpose(1, 2).reshape(r.shape[0], -1)


def reconstruction_loss(model: SpectrumModel, g_flux, g_err, g_valid, x, inst, hide,
                        floor: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mean weighted squared error over hidden valid pixels, per-spectrum values, pooled
    embedding of this view)."""
    h = model(x, inst)
    pred = model.reconstruct(h)
    w = (hide & g_valid).float() / (g_err ** 2 + floor ** 2)
    sq = (pred - g_flux) ** 2 * w
    per = sq.sum(-1) / w.sum(-1).clamp(min=1e-9)
    valid_seen = g_valid & ~hide
    return sq.sum() / w.sum().clamp(min=1e-9), per, model.pool(h, valid_seen)


def chunk_mask(valid: np.ndarray, fraction: float, chunks: int,
               rng: np.random.Generator) -> np.ndarray:
    """Hide ``chunks`` contiguous runs covering ``fraction`` of each row's pixels."""
    N, P = valid.shape
    hide = np.zeros((N, P), bool)
    width = max(1, round(fraction * P / chunks))
    starts = rng.integers(0, max(1, P - width), size=(N, chunks))
    for i in range(N):
        for s in starts[i]:
            hide[i, s:s + width] = True
    return hide


# ------------------------------------------------------------------------ the Encoder
class SpectrumEncoder(Encoder):
    """Spectra in, embeddings out; ``from_pretrained`` / ``save_pretrained`` like transformers
    (the :class:`~skyfm.models.base.Encoder` of the ``spectrum`` modality)."""

    modality = "spectrum"
    config_class = SpectrumConfig

    def __init__(self, config: SpectrumConfig | None = None, model: SpectrumModel | None = None,
                 device: str = "cpu"):
        self.config = config or SpectrumConfig()
        self.model = model or SpectrumModel(self.config)
        self.device = device
        self.model.to(device).eval()

    @classmethod
    def from_pretrained(cls, name_or_dir: str | Path = "skyfm-spec-base",
                        device: str = "cpu") -> SpectrumEncoder:
        """Load a shipped model by name (``skyfm/models/weights/NAME``) or from a directory."""
        config, state = load_weights(name_or_dir, SpectrumConfig, "spectrum model")
        model = SpectrumModel(config)
        model.load_state_dict(state)
        return cls(config, model, device)

    def save_pretrained(self, directory: str | Path, extra: dict | None = None) -> Path:
        """Write ``config.json`` and ``model.safetensors`` to ``directory``."""
        return save_weights(directory, self.config, self.model,
                            architecture="skyfm-spec dilated 1-D CNN",
                            more={"embed_dim": self.config.embed_dim}, extra=extra,
                            trailing_newline=False)

    @property
    def embed_dim(self) -> int:
        return self.config.embed_dim

    def grids(self) -> dict:
        return {k: tuple(v) for k, v in self.config.grids.items()}

    def group(self, specs: Sequence) -> dict[str, np.ndarray]:
        """{instrument: indices of the spectra on its grid}."""
        names = np.array([instrument_of(s, self.grids()) for s in specs])
        return {k: np.flatnonzero(names == k) for k in dict.fromkeys(names.tolist())}

    def _inst_id(self, instrument: str) -> int:
        names = list(self.config.instruments)
        return names.index(instrument) if instrument in names else names.index("generic")

    @torch.no_grad()
    def embed(self, specs: Sequence, batch_size: int = 256,
              progress: Callable[[int], None] | None = None) -> np.ndarray:
        """(N, D) float32 embeddings."""
        out = np.zeros((len(specs), self.embed_dim), np.float32)
        self.model.eval()
        for inst, idx in self.group(specs).items():
            for k in range(0, idx.size, batch_size):
                part = idx[k:k + batch_size]
                g = grid_spectra([specs[i] for i in part], inst, self.grids())
                x = to_inputs(g).to(self.device)
                ids = torch.full((len(part),), self._inst_id(inst), dtype=torch.long,
                                 device=self.device)
                h = self.model(x, ids)
                out[part] = self.model.pool(h, torch.as_tensor(g.valid, device=self.device)
                                            ).cpu().numpy()
                if progress:
                    progress(len(part))
        return out

    @torch.no_grad()
    def reconstruction_error(self, specs: Sequence, batch_size: int = 256, seed: int = 0,
                             n_masks: int = 2) -> np.ndarray:
        """(N,) pretraining loss per spectrum: error-weighted mean squared error of the hidden
        pixels' flux, averaged over ``n_masks`` seeded chunk maskings. High = unusual."""
        c = self.config
        out = np.zeros(len(specs))
        rng = np.random.default_rng(seed)
        for inst, idx in self.group(specs).items():
            for k in range(0, idx.size, batch_size):
                part = idx[k:k + batch_size]
                g = grid_spectra([specs[i] for i in part], inst, self.grids())
                ids = torch.full((len(part),), self._inst_id(inst), dtype=torch.long)
                tot = np.zeros(len(part))
                for _ in range(n_masks):
                    hide = chunk_mask(g.valid, c.mask_fraction, c.mask_chunks, rng)
                    _, per, _ = reconstruction_loss(
                        self.model, torch.as_tensor(g.flux, dtype=torch.float32),
                        torch.as_tensor(g.error, dtype=torch.float32),
                        torch.as_tensor(g.valid), to_inputs(g, hide), ids,
                        torch.as_tensor(hide), c.error_floor)
                    tot += per.numpy()
                out[part] = tot / n_masks
        return out
