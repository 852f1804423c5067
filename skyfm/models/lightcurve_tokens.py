"""LightCurve -> padded numpy arrays for :mod:`skyfm.models.lightcurve` (no torch here).

One observation becomes one token. For every detection we keep

* ``x``     the value normalised per band: magnitudes (fluxes are first turned into asinh
            magnitudes, which stay finite for zero/negative flux) minus the band's median,
            divided by one robust scale per object (so relative amplitudes between bands survive);
* ``e``     the 1-sigma error in the same scaled units (0 with ``e_known=0`` when unknown);
* ``dt``    days since the first point (the model turns it into sinusoids of log-spaced periods);
* ``phase`` the phase in [0, 1) at the object's period (or twice it; a folded view). One
            period search per object on all bands together: a coarse NFFT grid of the Rust
            ``light-curve`` package, its highest peaks and their daily aliases refined by exact
            Lomb-Scargle sums, then the one whose 3-term multi-band Fourier fit is best (see
            :func:`estimate_period`);
* ``lam``   log10 of the band's effective wavelength in nm, so any survey's band names work.

Per object, a context vector (log period, periodogram peak strength, log time span, log number
of points, log scale, median error) and one summary row per band (wavelength, median relative
to the mean of the bands -- a colour --, log scale of the band, share of points) are kept, since
the normalisation removes them from the tokens.

Curves longer than ``max_len`` are subsampled: evenly in index (deterministic) at inference,
at random for training views.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from skyfm.data.bands import (  # noqa: F401  (re-exported: the tokenizer's band table)
    BAND_WAVELENGTH_NM,
    DEFAULT_WAVELENGTH_NM,
    band_wavelength,
)
from skyfm.timeseries.magnitudes import to_magnitudes  # noqa: F401  (re-exported)
from skyfm.timeseries.period import estimate_period, estimate_periods

N_CTX = 6      # context features
N_BANDF = 4    # band-summary features (besides the wavelength)


def _log_lam(nm: float) -> float:
    # roughly in [-1, 1] for 150 nm .. 5 um
    return (math.log10(nm) - 2.8) / 0.75


@dataclass
class Prepared:
    """One light curve, normalised and ready for batching (all arrays sorted by time)."""

    x: np.ndarray
    e: np.ndarray
    e_known: np.ndarray
    dt: np.ndarray
    lam: np.ndarray
    period: float
    ctx: np.ndarray          # (N_CTX,)
    band_lam: np.ndarray     # (n_bands,)
    band_feat: np.ndarray    # (n_bands, N_BANDF)

    def __len__(self) -> int:
        return int(self.x.size)


def _normalise(lc, max_points: int | None) -> dict:
    det = ~np.asarray(lc.upper_limit, bool)
    t_all = np.asarray(lc.time, float)
    mag, err = to_magnitudes(lc)
    ok = det & np.isfinite(mag) & np.isfinite(t_all)
    t, v, e, b = t_all[ok], mag[ok], err[ok], lc.band[ok].astype(str)
    if max_points is not None and t.size > max_points:  # 2000+ points: keep an even subsample
        keep = np.linspace(0, t.size - 1, max_points).round().astype(int)
        t, v, e, b = t[keep], v[keep], e[keep], b[keep]
    n = t.size
    bands, inv = np.unique(b, return_inverse=True) if n else (np.array([], str), np.zeros(0, int))
    med = np.zeros(len(bands))
    scl = np.zeros(len(bands))
    for k in range(len(bands)):
        vb = v[inv == k]
        med[k] = np.median(vb)
        scl[k] = 1.4826 * np.median(np.abs(vb - med[k])) if vb.size > 1 else 0.0
    centred = v - med[inv] if n else v
    e_fin = np.isfinite(e) & (e >= 0)
    med_err = float(np.median(e[e_fin])) if e_fin.any() else 0.0
    scale = float(np.median(scl)) if len(scl) else 0.0
    scale = max(scale, med_err, 1e-3)
    return {"t": t, "e": e, "n": n, "bands": bands, "inv": inv, "med": med, "scl": scl,
            "centred": centred, "e_fin": e_fin, "med_err": med_err, "scale": scale}


def _finish(d: dict, period: float, snr: float) -> Prepared:
    t, n, bands, inv, med, scl = d["t"], d["n"], d["bands"], d["inv"], d["med"], d["scl"]
    scale, med_err, e, e_fin = d["scale"], d["med_err"], d["e"], d["e_fin"]
    x = np.clip(d["centred"] / scale, -20, 20)
    ee = np.where(e_fin, np.clip(e / scale, 0, 20), 0.0)
    t0 = t[0] if n else 0.0
    span = float(t[-1] - t[0]) if n else 0.0
    lam_b = np.array([_log_lam(band_wavelength(s)) for s in bands])
    ctx = np.array([math.log10(max(period, 1e-3)), math.log10(1.0 + max(snr, 0.0)),
                    math.log10(1.0 + span), math.log10(1.0 + n), math.log10(scale),
                    math.log10(1e-3 + med_err / scale)], dtype=np.float32)
    counts = np.bincount(inv, minlength=len(bands)) if n else np.zeros(0)
    colour = med - med.mean() if len(med) else med
    band_feat = np.stack([np.clip(colour, -10, 10), np.log10(np.maximum(scl, 1e-3)),
                          counts / max(n, 1), np.log10(1.0 + counts)], axis=1) if len(bands) \
        else np.zeros((0, N_BANDF))
    return Prepared(x=x.astype(np.float32), e=ee.astype(np.float32),
                    e_known=e_fin.astype(np.float32), dt=(t - t0).astype(np.float64),
                    lam=lam_b[inv].astype(np.float32) if n else np.zeros(0, np.float32),
                    period=float(period), ctx=ctx, band_lam=lam_b.astype(np.float32),
                    band_feat=band_feat.astype(np.float32))


def _search_input(d: dict) -> tuple:
    return d["t"], d["centred"] / d["scale"], d["e"] / d["scale"], d["inv"]


def prepare(lc, min_period: float = 0.1, period_resolution: float = 3.0,
            max_points: int | None = 2000, period: float | None = None,
            period_candidates: int = 0, period_harmonics: int = 0) -> Prepared:
    """Normalise one LightCurve (detections only) into a :class:`Prepared`."""
    d = _normalise(lc, max_points)
    if period is None:
        t, v, e, b = _search_input(d)
        period, snr = estimate_period(t, v, min_period, period_resolution, period_candidates,
                                      e, b, period_harmonics)
    else:
        snr = 0.0
    return _finish(d, period, snr)


def prepare_many(lcs: Sequence, min_period: float = 0.1, period_resolution: float = 3.0,
                 max_points: int | None = 2000, n_jobs: int = 1,
                 period_candidates: int = 0, period_harmonics: int = 0) -> list[Prepared]:
    """:func:`prepare` for many curves (see :func:`estimate_periods` for ``n_jobs``)."""
    norm = [_normalise(lc, max_points) for lc in lcs]
    periods = estimate_periods([_search_input(d) for d in norm], min_period,
                               period_resolution, n_jobs, period_candidates, period_harmonics)
    return [_finish(d, p, s) for d, (p, s) in zip(norm, periods)]


def select(p: Prepared, max_len: int, rng: np.random.Generator | None = None,
           min_keep: float = 1.0) -> np.ndarray:
    """Indices of the points that go into the batch.

    Without ``rng``: all points, or an even subsample when longer than ``max_len``.
    With ``rng`` (a training view): a random subset keeping a fraction in [min_keep, 1] of the
    points (at most ``max_len``), optionally restricted to a random time window."""
    n = len(p)
    if rng is None:
        if n <= max_len:
            return np.arange(n)
        return np.linspace(0, n - 1, max_len).round().astype(int)
    idx = np.arange(n)
    if n > 16 and rng.random() < 0.3:  # a contiguous window in time
        frac = rng.uniform(0.4, 1.0)
        w = int(max(8, frac * n))
        s = rng.integers(0, n - w + 1)
        idx = idx[s:s + w]
    k = round(len(idx) * rng.uniform(min_keep, 1.0))
    k = max(min(k, max_len, len(idx)), min(len(idx), 8))
    if k < len(idx):
        idx = np.sort(rng.choice(idx, size=k, replace=False))
    return idx


def collate(prepared: Sequence[Prepared], max_len: int, max_bands: int,
            rng: np.random.Generator | None = None, min_keep: float = 1.0,
            noise: float = 0.0, fold_multiple: int = 1, inflate: float = 0.0,
            outliers: float = 0.0) -> dict[str, np.ndarray]:
    """Pad a list of :class:`Prepared` into arrays (B, L) / (B, max_bands, ...) with masks.

    ``mask`` is True at real points; ``phase`` is the phase at ``fold_multiple`` x the period
    (2: the model can fold at both P and 2P, see ``LightCurveConfig.fold_double``).
    Training augmentations (with ``rng``): ``noise`` adds Gaussian noise of ``noise`` x error
    to x; ``inflate`` makes half of the curves noisier as a fainter star would be: extra noise
    of k x error, k uniform in [0, ``inflate``], with the error raised to match, so that a
    class cannot be told by its signal-to-noise ratio alone; ``outliers`` is the share of
    curves that get a few bad points (1 + Poisson(0.5 % of the points), each 3-10 robust scales
    off, either way, errors unchanged), as real photometry has and the digital twin has not,
    so that a lone deviant point does not read as an eclipse."""
    sel = [select(p, max_len, rng, min_keep) for p in prepared]
    B = len(prepared)
    L = max(1, max((len(s) for s in sel), default=1))
    out = {
        "x": np.zeros((B, L), np.float32), "e": np.zeros((B, L), np.float32),
        "e_known": np.zeros((B, L), np.float32), "dt": np.zeros((B, L), np.float32),
        "phase": np.zeros((B, L), np.float32), "lam": np.zeros((B, L), np.float32),
        "mask": np.zeros((B, L), bool), "ctx": np.zeros((B, N_CTX), np.float32),
        "band_lam": np.zeros((B, max_bands), np.float32),
        "band_feat": np.zeros((B, max_bands, N_BANDF), np.float32),
        "band_mask": np.zeros((B, max_bands), bool),
    }
    for i, (p, s) in enumerate(zip(prepared, sel)):
        k = len(s)
        dt = p.dt[s]
        dt = dt - dt[0] if k else dt
        x, e = p.x[s], p.e[s]
        if noise and rng is not None and k:
            x = x + noise * e * rng.standard_normal(k).astype(np.float32)
        if inflate and rng is not None and k and rng.random() < 0.5:
            f = np.float32(rng.uniform(0.0, inflate))
            x = x + f * e * rng.standard_normal(k).astype(np.float32)
            e = e * np.sqrt(1.0 + f * f)
        if outliers and rng is not None and k > 4 and rng.random() < outliers:
            m = min(k // 4, 1 + rng.poisson(0.005 * k))
            at = rng.choice(k, size=m, replace=False)
            x = x.copy()
            x[at] += (rng.choice([-1.0, 1.0], m) * rng.uniform(3.0, 10.0, m)).astype(np.float32)
        out["x"][i, :k] = x
        out["e"][i, :k] = e
        out["e_known"][i, :k] = p.e_known[s]
        out["dt"][i, :k] = dt
        out["phase"][i, :k] = np.mod(p.dt[s] / (fold_multiple * p.period), 1.0)
        out["lam"][i, :k] = p.lam[s]
        out["mask"][i, :k] = True
        out["ctx"][i] = p.ctx
        nb = min(len(p.band_lam), max_bands)
        order = np.argsort(-p.band_feat[:, 2])[:nb] if len(p.band_lam) > max_bands else \
            np.arange(nb)
        out["band_lam"][i, :nb] = p.band_lam[order]
        out["band_feat"][i, :nb] = p.band_feat[order]
        out["band_mask"][i, :nb] = True
    return out


def save_prepared(path, prepared: Sequence[Prepared], **extra) -> None:
    """Store prepared curves compactly (npz), e.g. a pretraining corpus made on another machine.
    ``extra`` arrays (one value per curve) are stored alongside."""
    n = np.array([len(p) for p in prepared])
    nb = np.array([len(p.band_lam) for p in prepared])
    cat = (lambda a: np.concatenate(a) if len(a) else np.zeros(0))
    np.savez_compressed(
        path, n=n, nb=nb, x=cat([p.x for p in prepared]).astype(np.float16),
        e=cat([p.e for p in prepared]).astype(np.float16),
        e_known=cat([p.e_known for p in prepared]).astype(np.uint8),
        dt=cat([p.dt for p in prepared]).astype(np.float32),
        lam=cat([p.lam for p in prepared]).astype(np.float32),
        period=np.array([p.period for p in prepared]), ctx=np.stack([p.ctx for p in prepared]),
        band_lam=cat([p.band_lam for p in prepared]),
        band_feat=np.concatenate([p.band_feat for p in prepared]),
        **{f"extra_{k}": np.asarray(v) for k, v in extra.items()})


def load_prepared(path) -> tuple[list[Prepared], dict]:
    """Inverse of :func:`save_prepared`: (prepared curves, extra arrays)."""
    with np.load(path, allow_pickle=False) as f:
        z = {k: f[k] for k in f.files}  # each access of an npz member decompresses it again
    ends, bends = np.cumsum(z["n"]), np.cumsum(z["nb"])
    arrs = z
    out = []
    for i in range(len(ends)):
        a, b = ends[i] - z["n"][i], ends[i]
        c, d = bends[i] - z["nb"][i], bends[i]
        out.append(Prepared(x=arrs["x"][a:b].astype(np.float32),
                            e=arrs["e"][a:b].astype(np.float32),
                            e_known=arrs["e_known"][a:b].astype(np.float32),
                            dt=arrs["dt"][a:b].astype(np.float64),
                            lam=arrs["lam"][a:b].astype(np.float32), period=float(z["period"][i]),
                            ctx=z["ctx"][i], band_lam=z["band_lam"][c:d],
                            band_feat=z["band_feat"][c:d]))
    extra = {k[6:]: v for k, v in z.items() if k.startswith("extra_")}
    return out, extra
