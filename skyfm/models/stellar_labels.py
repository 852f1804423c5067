"""Stellar parameters with per-object uncertainties from APOGEE-like spectra.

* :class:`StellarLabelNet`: a deep ensemble of heteroscedastic MLPs. Input: the spectrum's
  coefficients on the leading principal components of noiseless Payne-emulator spectra (masked
  pixels at the mean spectrum) and its log S/N; output per label (Teff, log g, [Fe/H],
  [α/Fe], v_macro) a mean and a variance (Gaussian negative log-likelihood). Trained on
  emulator spectra with fresh noise every epoch (S/N drawn log-uniformly in 20–200); the
  ensemble's mixture variance is then rescaled per label on a separate validation draw so that
  the standardised errors have unit variance (calibration). Saved as JSON + safetensors.
* :func:`posterior_fit`: the Bayesian route for one observed spectrum: emulator × a
  per-chip linear continuum, Gaussian likelihood with the pixel errors, uniform prior on the
  emulator's label box, sampled with ``emcee``; the continuum is profiled out by weighted
  least squares at each step.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from skyfm.errors import DataFormatError

__all__ = ["StellarLabelConfig", "StellarLabelNet", "posterior_fit"]

#: APOGEE's three detector chips (Å, vacuum): the continuum term is linear within each
CHIPS = ((15100.0, 15810.0), (15850.0, 16440.0), (16470.0, 17000.0))


@dataclass
class StellarLabelConfig:
    n_components: int = 96
    hidden: int = 256
    n_members: int = 3
    epochs: int = 40
    batch_size: int = 256
    lr: float = 2e-3
    n_train: int = 4000
    n_val: int = 2000
    snr_range: tuple = (20.0, 200.0)
    noise_bank: int = 4          # projected noise realisations per training spectrum
    calibration_bins: int = 4    # S/N bins of the validation draw for the sigma scale
    seed: int = 0
    threads: int = 2

    def __post_init__(self):
        self.snr_range = tuple(self.snr_range)


def _labels(n: int, rng: np.random.Generator) -> np.ndarray:
    from skyfm.sim.spectra import DEFAULT_LABEL_RANGES, LABEL_NAMES

    return np.column_stack([rng.uniform(*DEFAULT_LABEL_RANGES[k], n) for k in LABEL_NAMES])


def _snrs(n, lo, hi, rng):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


class _MLP:
    """Factory of the torch module (kept out of import time)."""

    @staticmethod
    def make(n_in: int, hidden: int, n_out: int):
        from torch import nn

        return nn.Sequential(nn.Linear(n_in, hidden), nn.GELU(), nn.Linear(hidden, hidden),
                             nn.GELU(), nn.Linear(hidden, 2 * n_out))


class StellarLabelNet:
    """Emulator-trained label network with calibrated per-object uncertainties."""

    def __init__(self, config: StellarLabelConfig, wavelength, mean, components, x_center,
                 x_scale, y_center, y_scale, sigma_scale, members):
        self.config = config
        self.wavelength = np.asarray(wavelength, float)
        self.mean = np.asarray(mean, np.float32)
        self.components = np.asarray(components, np.float32)
        self.x_center, self.x_scale = np.asarray(x_center), np.asarray(x_scale)
        self.y_center, self.y_scale = np.asarray(y_center), np.asarray(y_scale)
        self.sigma_scale = np.asarray(sigma_scale, float)
        self.members = members

    # -- features ------------------------------------------------------------------------
    def _project(self, flux: np.ndarray, snr: np.ndarray, bad: np.ndarray | None = None):
        x = flux.astype(np.float32) - self.mean
        if bad is not None:
            x = np.where(bad, 0.0, x)
        c = x @ self.components.T
        X = np.column_stack([c, np.log(snr)])
        return ((X - self.x_center) / self.x_scale).astype(np.float32)

    def features_of(self, specs: Sequence) -> np.ndarray:
        """Network inputs of spectra on the emulator's wavelength grid."""
        P = self.wavelength.size
        F = np.empty((len(specs), P), np.float32)
        bad = np.zeros((len(specs), P), bool)
        snr = np.empty(len(specs))
        for i, s in enumerate(specs):
            if len(s.flux) != P or not np.allclose(s.wavelength, self.wavelength, rtol=1e-6):
                raise DataFormatError(
                    f"spectrum {s.object_id!r} has {len(s.flux)} pixels not on the APOGEE grid",
                    file=s.provenance.file, field="wavelength",
                    expected=f"the {P}-pixel APOGEE wavelength grid of The Payne emulator")
            b = np.asarray(s.mask, bool) | ~np.isfinite(s.flux)
            e = np.where(np.isfinite(s.error) & (s.error > 0), s.error, np.inf)
            b |= ~np.isfinite(e) | (e > 1.0)  # APOGEE flags bad pixels with huge errors
            bad[i] = b
            F[i] = np.where(b, 1.0, s.flux)
            ok = ~b
            snr[i] = np.median(np.abs(s.flux[ok]) / e[ok]) if ok.any() else 1.0
        return self._project(F, np.clip(snr, 1.0, 1e4), bad)

    # -- prediction ------------------------------------------------------------------------
    def predict_features(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.no_grad():
            xt = torch.as_tensor(X)
            outs = [m(xt).numpy() for m in self.members]
        L = self.y_center.size
        mus = np.stack([o[:, :L] for o in outs])
        var = np.stack([np.exp(np.clip(o[:, L:], -20, 10)) for o in outs])
        mu = mus.mean(0)
        v = var.mean(0) + mus.var(0)  # the ensemble's mixture variance
        sd = np.sqrt(v) * self._scale(X)
        return mu * self.y_scale + self.y_center, sd * self.y_scale

    def _scale(self, X: np.ndarray) -> np.ndarray:
        """(N, L) calibration factor of each object's sigma (from its log S/N)."""
        S = np.atleast_2d(self.sigma_scale)
        if S.shape[0] == 1 or not len(getattr(self, "sigma_snr", ())):
            return np.broadcast_to(S[0], (len(X), S.shape[1]))
        log_snr = X[:, -1] * self.x_scale[-1] + self.x_center[-1]
        return np.column_stack([np.interp(log_snr, self.sigma_snr, S[:, j])
                                for j in range(S.shape[1])])

    def predict(self, specs: Sequence) -> tuple[np.ndarray, np.ndarray]:
        """(labels (N, 5), 1-σ uncertainties (N, 5)) in the units of
        :data:`skyfm.sim.spectra.LABEL_UNITS`."""
        return self.predict_features(self.features_of(specs))

    # -- training ----------------------------------------------------------------------------
    @classmethod
    def train(cls, config: StellarLabelConfig | None = None,
              log: Callable[[str], None] = print) -> StellarLabelNet:
        """Train on emulator spectra (seeded; bit-reproducible on the CPU)."""
        import torch
        from sklearn.decomposition import PCA

        from skyfm.sim.spectra import load_emulator

        c = config or StellarLabelConfig()
        torch.manual_seed(c.seed)
        torch.set_num_threads(c.threads)
        torch.use_deterministic_algorithms(True)
        rng = np.random.default_rng([c.seed, 17])
        emu = load_emulator()
        y = _labels(c.n_train, rng)
        clean = emu(y).astype(np.float32)
        pca = PCA(c.n_components, random_state=c.seed).fit(clean)
        yv = _labels(c.n_val, rng)
        sv = _snrs(c.n_val, *c.snr_range, rng)
        fv = emu(yv)
        fv = (fv + np.abs(fv) / sv[:, None] * rng.standard_normal(fv.shape)).astype(np.float32)
        net = cls(c, emu.wavelength, pca.mean_, pca.components_, 0.0, 1.0,
                  y.mean(0), y.std(0), np.ones((1, y.shape[1])), [])
        clean_c = (clean - net.mean) @ net.components.T
        # noise of a draw at S/N s, projected: (|f| N(0, 1) @ V^T) / s. A bank of
        # ``noise_bank`` projected realisations is made once; every epoch picks one per
        # spectrum and a fresh S/N, so the network sees new noise levels and patterns
        absf = np.abs(clean)
        bank = np.stack([(absf * rng.standard_normal(absf.shape, dtype=np.float32))
                         @ net.components.T for _ in range(c.noise_bank)])

        def draw():
            s = _snrs(c.n_train, *c.snr_range, rng).astype(np.float32)
            pick = bank[rng.integers(0, c.noise_bank, c.n_train), np.arange(c.n_train)]
            return np.column_stack([clean_c + pick / s[:, None], np.log(s)])

        X0 = draw()
        net.x_center, net.x_scale = X0.mean(0), X0.std(0) + 1e-6
        Y = torch.as_tensor((y - net.y_center) / net.y_scale, dtype=torch.float32)
        L = y.shape[1]
        for m in range(c.n_members):
            torch.manual_seed(c.seed * 1000 + m)
            model = _MLP.make(X0.shape[1], c.hidden, L)
            opt = torch.optim.AdamW(model.parameters(), lr=c.lr, weight_decay=1e-5)
            steps = c.epochs * -(-c.n_train // c.batch_size)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, c.lr, total_steps=steps)
            for epoch in range(c.epochs):
                X = torch.as_tensor((draw() - net.x_center) / net.x_scale, dtype=torch.float32)
                order = torch.as_tensor(rng.permutation(c.n_train))
                tot = 0.0
                for k in range(0, c.n_train, c.batch_size):
                    b = order[k:k + c.batch_size]
                    out = model(X[b])
                    mu, logv = out[:, :L], out[:, L:].clamp(-20, 10)
                    loss = (0.5 * (logv + (Y[b] - mu) ** 2 / logv.exp())).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    sched.step()
                    tot += float(loss.detach()) * len(b)
                if (epoch + 1) % 20 == 0 or epoch + 1 == c.epochs:
                    log(f"member {m + 1}/{c.n_members} epoch {epoch + 1}/{c.epochs}: "
                        f"NLL {tot / c.n_train:.3f}")
            model.eval()
            net.members.append(model)
        # calibration on the validation draw: per label and S/N bin, the factor that gives the
        # standardised errors unit variance (interpolated in log S/N between bin centres)
        net.sigma_snr = np.zeros(0)
        mu, sd = net.predict_features(net._project(fv, sv))
        z2 = ((mu - yv) / sd) ** 2
        edges = np.quantile(np.log(sv), np.linspace(0, 1, c.calibration_bins + 1))
        b = np.clip(np.searchsorted(edges, np.log(sv), side="right") - 1, 0,
                    c.calibration_bins - 1)
        net.sigma_snr = np.array([np.log(sv[b == k]).mean() for k in range(c.calibration_bins)])
        net.sigma_scale = np.array([np.sqrt(z2[b == k].mean(0))
                                    for k in range(c.calibration_bins)])
        log("sigma scale per S/N bin (rows) and label (validation):\n" + "\n".join(
            f"  S/N {np.exp(t):6.1f}: " + ", ".join(f"{v:.2f}" for v in row)
            for t, row in zip(net.sigma_snr, net.sigma_scale)))
        return net

    # -- persistence (no pickle) -----------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        from safetensors.numpy import save_file

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        meta = {"config": asdict(self.config), "architecture": "heteroscedastic MLP ensemble"}
        (d / "config.json").write_text(json.dumps(meta, indent=2))
        arrays = {"wavelength": self.wavelength, "mean": self.mean,
                  "components": self.components, "x_center": self.x_center,
                  "x_scale": self.x_scale, "y_center": self.y_center, "y_scale": self.y_scale,
                  "sigma_scale": np.atleast_2d(self.sigma_scale),
                  "sigma_snr": np.asarray(getattr(self, "sigma_snr", np.zeros(0)), float)}
        for m, model in enumerate(self.members):
            for k, v in model.state_dict().items():
                arrays[f"member{m}.{k}"] = v.detach().cpu().numpy()
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()},
                  str(d / "model.safetensors"))
        return d

    @classmethod
    def load(cls, directory: str | Path) -> StellarLabelNet:
        import torch
        from safetensors.numpy import load_file

        d = Path(directory)
        meta = json.loads((d / "config.json").read_text())
        names = {f.name for f in fields(StellarLabelConfig)}
        c = StellarLabelConfig(**{k: v for k, v in meta["config"].items() if k in names})
        a = load_file(str(d / "model.safetensors"))
        members = []
        for m in range(c.n_members):
            model = _MLP.make(a["x_center"].size, c.hidden, a["y_center"].size)
            model.load_state_dict({k.split(".", 1)[1]: torch.as_tensor(v) for k, v in a.items()
                                   if k.startswith(f"member{m}.")})
            members.append(model.eval())
        net = cls(c, a["wavelength"], a["mean"], a["components"], a["x_center"], a["x_scale"],
                  a["y_center"], a["y_scale"], a["sigma_scale"], members)
        net.sigma_snr = a.get("sigma_snr", np.zeros(0))
        return net


def posterior_fit(spec, n_walkers: int = 16, n_steps: int = 300, burn: int = 100,
                  seed: int = 0, n_init: int = 400, emulator=None) -> dict:
    """Posterior of the five emulator labels of one APOGEE spectrum (emcee).

    Model: ``emulator(labels) * continuum``, the continuum linear in wavelength within each
    chip (its six coefficients profiled out by weighted least squares at every step).
    Likelihood: Gaussian with the spectrum's errors (masked pixels and pixels with error > 1
    are left out). Prior: uniform within the emulator's label box. Returns the median and
    16/84 % quantiles of every label, the acceptance fraction and the χ² per pixel of the
    median model.
    """
    import emcee

    from skyfm.sim.spectra import LABEL_NAMES, load_emulator

    emu = emulator or load_emulator()
    w = emu.wavelength
    if len(spec.flux) != w.size:
        raise DataFormatError(f"spectrum {spec.object_id!r} has {len(spec.flux)} pixels",
                              file=spec.provenance.file, field="flux",
                              expected=f"the {w.size}-pixel APOGEE grid of The Payne emulator")
    e = np.where(np.isfinite(spec.error) & (spec.error > 0), spec.error, np.inf)
    ok = ~np.asarray(spec.mask, bool) & np.isfinite(spec.flux) & (e < 1.0)
    if ok.sum() < 100:
        raise DataFormatError(f"only {int(ok.sum())} usable pixels in {spec.object_id!r}",
                              file=spec.provenance.file, field="flux",
                              expected="at least 100 unmasked pixels with error < 1")
    f, iv = spec.flux[ok], 1.0 / e[ok] ** 2
    basis = []
    for a, b in CHIPS:
        inside = ((w >= a) & (w < b))[ok].astype(float)
        x = (w[ok] - (a + b) / 2) / (b - a)
        basis += [inside, inside * x]
    B = np.array(basis)  # (6, n)
    lo, hi = emu.x_min, emu.x_max

    def log_prob(theta):
        theta = np.atleast_2d(theta)
        out = np.full(len(theta), -np.inf)
        inside = np.all((theta > lo) & (theta < hi), axis=1)
        if not inside.any():
            return out
        model = emu(theta[inside])[:, ok]
        for j, (k, m) in enumerate(zip(np.flatnonzero(inside), model)):
            A = B * m  # continuum basis times the emulated spectrum
            coef = np.linalg.solve((A * iv) @ A.T + 1e-9 * np.eye(len(A)), (A * iv) @ f)
            out[k] = -0.5 * np.sum((f - coef @ A) ** 2 * iv)
        return out

    rng = np.random.default_rng(seed)
    # start around the best of a coarse random search inside the box
    trial = lo + (hi - lo) * rng.uniform(0.05, 0.95, (max(n_init, n_walkers), lo.size))
    lp = log_prob(trial)
    best = trial[np.argsort(lp)[-n_walkers:]]
    start = best + 1e-3 * (hi - lo) * rng.standard_normal(best.shape)
    start = np.clip(start, lo + 1e-6 * (hi - lo), hi - 1e-6 * (hi - lo))
    sampler = emcee.EnsembleSampler(n_walkers, lo.size, log_prob, vectorize=True)
    sampler.random_state = np.random.RandomState(seed).get_state()  # seeded moves
    sampler.run_mcmc(start, n_steps, progress=False)
    chain = sampler.get_chain(discard=burn, flat=True)
    q = np.percentile(chain, [16, 50, 84], axis=0)
    med = q[1]
    chi2 = -2 * float(log_prob(med)[0]) / ok.sum()
    return {"labels": dict(zip(LABEL_NAMES, med.tolist())),
            "lower": dict(zip(LABEL_NAMES, q[0].tolist())),
            "upper": dict(zip(LABEL_NAMES, q[2].tolist())),
            "acceptance": float(np.mean(sampler.acceptance_fraction)),
            "chi2_per_pixel": float(chi2), "n_pixels": int(ok.sum())}
