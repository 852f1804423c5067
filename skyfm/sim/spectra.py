"""Labelled APOGEE H-band spectra from The Payne's neural-network emulator.

The emulator (Ting et al. 2019, ApJ 879, 69; early per-pixel version, The_Payne commit
d83af1b) maps five labels ``(Teff [K], logg [dex], [Fe/H], [alpha/Fe], v_macro [km/s])``
to a continuum-normalised spectrum on the 7,214-pixel APOGEE grid. Each pixel has its own
network with one hidden layer of 5 sigmoid units::

    x      = (labels - x_min) / (x_max - x_min) - 0.5
    hidden = sigmoid(W0[pix] @ x + b0[pix])
    flux   = W1[pix] . hidden + b1[pix]

evaluated here with numpy (batched over stars). The label box of the training grid
(``x_min``/``x_max`` in the npz) covers FGK dwarfs: Teff 4200-7000 K, logg 4.0-5.0.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from skyfm.data.observations import ObservationSet, Provenance, ReadReport, Spectrum
from skyfm.errors import DataNotFoundError

__all__ = [
    "DEFAULT_LABEL_RANGES",
    "LABEL_NAMES",
    "PayneEmulator",
    "load_emulator",
    "simulate_spectra",
    "spectral_class",
]

DATASET = "spectra_payne_apogee_example"
EMULATOR_FILE = "NN_normalized_spectra_old_d83af1b.npz"
WAVELENGTH_FILE = "apogee_wavelength.npz"
LABEL_NAMES = ("teff", "logg", "fe_h", "alpha_fe", "vmacro")
LABEL_UNITS = {"teff": "K", "logg": "dex (cgs)", "fe_h": "dex", "alpha_fe": "dex", "vmacro": "km/s"}
# inside the emulator's training box (x_min/x_max of the npz), away from its edges
DEFAULT_LABEL_RANGES: dict[str, tuple[float, float]] = {
    "teff": (4300.0, 6900.0),
    "logg": (4.05, 4.95),
    "fe_h": (-0.75, 0.35),
    "alpha_fe": (-0.25, 0.45),
    "vmacro": (0.5, 25.0),
}


def _emulator_dir(path: str | Path | None = None) -> Path:
    if path is not None:
        p = Path(path)
    else:
        try:
            from skyfm.data.registry import dataset_path

            p = dataset_path(DATASET)
        except ImportError:  # pragma: no cover - registry always ships
            root = os.environ.get("SKYFM_DATA_DIR")
            if not root:
                raise DataNotFoundError(
                    f"The Payne emulator needs the data set {DATASET!r}: SKYFM_DATA_DIR is not set"
                ) from None
            p = Path(root) / DATASET
    if not (p / EMULATOR_FILE).is_file():
        raise DataNotFoundError(
            f"The Payne emulator file {EMULATOR_FILE} is not in {p} "
            f"(data set {DATASET!r} under SKYFM_DATA_DIR)"
        )
    return p


class PayneEmulator:
    """The Payne's per-pixel network: ``emulator(labels (N, 5)) -> (N, 7214)`` flux."""

    def __init__(self, w0, b0, w1, b1, x_min, x_max, wavelength):
        self.w0 = np.asarray(w0, np.float64)  # (pix, hidden, labels)
        self.b0 = np.asarray(b0, np.float64)  # (pix, hidden)
        self.w1 = np.asarray(w1, np.float64)  # (pix, hidden)
        self.b1 = np.asarray(b1, np.float64)  # (pix,)
        self.x_min = np.asarray(x_min, float)
        self.x_max = np.asarray(x_max, float)
        self.wavelength = np.asarray(wavelength, float)  # Angstrom (vacuum)

    @classmethod
    def from_dir(cls, path: str | Path | None = None) -> PayneEmulator:
        p = _emulator_dir(path)
        z = np.load(p / EMULATOR_FILE)
        wl = np.load(p / WAVELENGTH_FILE)["wavelength"]
        return cls(
            z["w_array_0"],
            z["b_array_0"],
            z["w_array_1"],
            z["b_array_1"],
            z["x_min"],
            z["x_max"],
            wl,
        )

    @property
    def label_box(self) -> dict[str, tuple[float, float]]:
        return {n: (float(a), float(b)) for n, a, b in zip(LABEL_NAMES, self.x_min, self.x_max)}

    def __call__(self, labels) -> np.ndarray:
        lab = np.atleast_2d(np.asarray(labels, float))
        x = (lab - self.x_min) / (self.x_max - self.x_min) - 0.5
        inside = np.einsum("phl,nl->nph", self.w0, x) + self.b0[None]
        hidden = 1.0 / (1.0 + np.exp(-inside))
        return np.einsum("ph,nph->np", self.w1, hidden) + self.b1[None]


def spectral_class(teff: float) -> str:
    """Main-sequence spectral class of an effective temperature [K] (Pecaut & Mamajek 2013):
    K below 5300 K, G from 5300 to 5990 K, F above."""
    return "K" if teff < 5300 else ("G" if teff < 5990 else "F")


@lru_cache(maxsize=2)
def load_emulator(path: str | None = None) -> PayneEmulator:
    """The Payne emulator from the shared data set (cached)."""
    return PayneEmulator.from_dir(path)


def simulate_spectra(
    n: int,
    seed: int = 0,
    snr: float | tuple[float, float] = 100.0,
    label_ranges: dict[str, tuple[float, float]] | None = None,
    progress: Callable[[int], None] | None = None,
    emulator_path: str | Path | None = None,
    batch: int = 64,
) -> ObservationSet:
    """Simulate ``n`` labelled, normalised APOGEE spectra with Gaussian noise.

    Labels are drawn uniformly within ``label_ranges`` (defaults: :data:`DEFAULT_LABEL_RANGES`,
    any subset may be given). ``snr`` is the per-pixel signal-to-noise ratio, or a
    ``(low, high)`` range drawn log-uniformly per star; the error is ``flux / snr``.
    Each :class:`Spectrum` has the labels in ``meta`` (``meta['labels']`` and one key per
    label) and ``label`` = the spectral class from Teff (:func:`spectral_class`: F/G/K).
    Raises :class:`DataNotFoundError` when the emulator data set is absent.
    """
    emu = load_emulator(None if emulator_path is None else str(emulator_path))
    ranges = dict(DEFAULT_LABEL_RANGES)
    for k, v in (label_ranges or {}).items():
        if k not in ranges:
            raise ValueError(f"unknown label {k!r}; labels are {LABEL_NAMES}")
        ranges[k] = (float(v[0]), float(v[1]))
    rng = np.random.default_rng(seed)
    lab = np.column_stack([rng.uniform(*ranges[k], n) for k in LABEL_NAMES])
    if np.ndim(snr) == 0:
        snrs = np.full(n, float(snr))
    else:
        lo, hi = snr
        snrs = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    out = []
    prov = Provenance(
        survey="APOGEE",
        reader="skyfm.sim.spectra",
        dataset="simulated",
        extra={"emulator": "The Payne d83af1b"},
    )
    for start in range(0, n, batch):
        stop = min(n, start + batch)
        flux = emu(lab[start:stop])
        for j, f in enumerate(flux):
            i = start + j
            err = np.abs(f) / snrs[i] + 1e-6
            noisy = f + err * rng.standard_normal(f.size)
            labels = {k: float(v) for k, v in zip(LABEL_NAMES, lab[i])}
            out.append(
                Spectrum(
                    emu.wavelength,
                    noisy,
                    err,
                    wavelength_unit="Angstrom",
                    resolution=22500.0,
                    object_id=f"sim-payne-{i:06d}",
                    label=spectral_class(labels["teff"]),
                    provenance=prov,
                    meta={
                        "labels": labels,
                        "label_units": LABEL_UNITS,
                        "snr": float(snrs[i]),
                        "normalized": "continuum",
                        "simulated": True,
                        **labels,
                    },
                    validate=False,
                )
            )
        if progress is not None:
            progress(stop - start)
    return ObservationSet(out, ReadReport(n_objects=n, n_points=n * emu.wavelength.size))
