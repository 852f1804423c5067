"""Survey cadences and photometric noise: when a survey looks, in which band, and how well.

A :class:`Survey` knows its bands (effective wavelengths in Angstrom), its single-epoch
5-sigma depths ``m5`` and a magnitude-error model. :func:`sample_cadence` draws the
observation times and bands of one object; :func:`observe` turns true magnitudes into
observed ones with errors, outliers and non-detections (upper limits at the epoch's depth).

Error model (Ivezic et al. 2019, ApJ 873, 111, eq. 5)::

    sigma_rand^2 = (0.04 - gamma) x + gamma x^2,   x = 10^(0.4 (m - m5))
    sigma^2      = sigma_sys^2 + sigma_rand^2

with ``gamma``, ``sigma_sys`` and the offset between the catalogue depth and the
effective one fitted to real ZTF alerts (sigmapsf against magpsf and diffmaglim, the
92 packets of ``ztf_alerts_sample``) and to EROS-2 (``lc_eros_ramp_variable_stars``)
median errors; LSST values are the published ones (Ivezic et al. 2019, table 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skyfm.data.bands import BANDS
from skyfm.timeseries.period import SIDEREAL_DAY_FREQ  # sidereal days per solar day

__all__ = [
    "AB_ZEROPOINT_NJY",
    "BAND_WAVELENGTH",
    "SURVEYS",
    "Survey",
    "band_index",
    "band_values",
    "get_survey",
    "mag_error",
    "observe",
    "observe_flux",
    "sample_cadence",
    "sample_depths",
    "sidereal_spread_hours",
]

# Effective wavelengths (Angstrom) of common filters, from the one band table
# (:mod:`skyfm.data.bands`); survey-specific ones (``Survey.wavelength``) override these.
BAND_WAVELENGTH: dict[str, float] = {
    **{name: float(b.wavelength.to_value("Angstrom")) for name, b in BANDS.items()},
    "K": float(BANDS["Ks"].wavelength.to_value("Angstrom")),
}

MAG_PER_FLUX = 2.5 / np.log(10.0)  # 1.0857: sigma_m = MAG_PER_FLUX * sigma_F / F


@dataclass(frozen=True)
class Survey:
    """A survey's bands, depths, error model and cadence parameters.

    ``m5`` is the median single-epoch 5-sigma depth per band [mag]; ``m5_scatter`` the
    epoch-to-epoch spread [mag] (weather, Moon), with a bright tail of bad nights of scale
    ``m5_bad`` [mag]. ``saturation`` [mag] is the bright limit of useful photometry.
    ``baseline`` is the default survey length [d].
    """

    name: str
    bands: tuple[str, ...]
    wavelength: dict[str, float]
    m5: dict[str, float]
    gamma: dict[str, float]
    sigma_sys: dict[str, float]
    m5_scatter: float = 0.3
    m5_bad: float = 0.3
    saturation: float = 13.0
    baseline: float = 1000.0
    start_mjd: float = 58194.0
    season_fraction: float = 0.65  # fraction of the year a typical field is observable
    outlier_fraction: float = 0.003
    outlier_scale: float = 0.4  # mag, Laplace scale of outlier offsets
    # S/N below which a point is a non-detection: 5 for difference-image alerts (ZTF, LSST);
    # lower for photometry of known stars (OGLE, EROS report faint points with big errors)
    detection_snr: float = 5.0
    # extra error of bright (near-saturation, crowded) stars: bright[band] * 10^(0.2 (14 - m))
    bright: dict = field(default_factory=dict)
    # a survey of one galaxy's field (EROS-2 and the LMC): stars sit at this distance
    # modulus [mag], so their apparent magnitudes follow their classes' absolute magnitudes
    # instead of spreading evenly over the survey's range. None: a Galactic field survey.
    distance_modulus: float | None = None
    # per-object, per-band zero-point offsets [mag, Gaussian sd]: field-to-field calibration
    # and blending in crowded fields spread the observed colours of one class
    zp_scatter: float = 0.0
    # a field is observed near its meridian transit, i.e. at one local sidereal time: the
    # hour angle of each visit is Gaussian with this sd [hours]. That is what makes a
    # pulsator's one-day aliases (f +- 1.0027 c/d) nearly as good a fit as its true period.
    # Real EROS-2 (RAMP) visits: 1.3 h; ZTF alert histories 0.9 h -- `skyfm sim check`
    # measures it. None (every built-in survey, so that the shipped encoder's training corpus
    # stays what it was): visits spread evenly over the night, ~6 h. Opt in with
    # ``dataclasses.replace(get_survey("eros"), hour_angle_sd=1.3)`` (ZTF: 0.3 per night, 1.0 h
    # with the g-r offset); an encoder pretrained on that twin scored the same on real EROS.
    hour_angle_sd: float | None = None
    extra: dict = field(default_factory=dict)

    def band_wavelength(self, band: str) -> float:
        return float(self.wavelength.get(band, BAND_WAVELENGTH.get(band, 6000.0)))


SURVEYS: dict[str, Survey] = {
    # ZTF public survey: g,r every ~2-3 nights (Bellm et al. 2019, PASP 131, 018002);
    # error model fitted to ztf_alerts_sample (683 detections): g gamma=0.0087, sys=0.030,
    # depth offset -0.21 mag; r gamma=0.0129, sys=0.035, offset -0.105 mag; diffmaglim
    # medians 20.31 (g), 20.27 (r).
    "ztf": Survey(
        name="ztf",
        bands=("g", "r"),
        wavelength={"g": 4746.0, "r": 6366.0},
        m5={"g": 20.31 - 0.21, "r": 20.27 - 0.105},
        gamma={"g": 0.0087, "r": 0.0129},
        sigma_sys={"g": 0.030, "r": 0.035},
        m5_scatter=0.3,
        m5_bad=0.35,
        saturation=13.5,
        baseline=1000.0,
        start_mjd=58194.0,
        season_fraction=0.65,
        extra={"night_gap": 2.5, "weather": 0.8, "p_band": (0.85, 0.9)},
    ),
    # Rubin LSST WFD: single-visit depths and gamma from Ivezic et al. 2019 (table 2);
    # visits per band over 10 yr u 56, g 80, r 184, i 184, z 160, y 160.
    "lsst": Survey(
        name="lsst",
        bands=("u", "g", "r", "i", "z", "y"),
        wavelength={"u": 3671.0, "g": 4827.0, "r": 6223.0, "i": 7546.0, "z": 8691.0, "y": 9712.0},
        m5={"u": 23.9, "g": 25.0, "r": 24.7, "i": 24.0, "z": 23.3, "y": 22.1},
        gamma={"u": 0.038, "g": 0.039, "r": 0.039, "i": 0.039, "z": 0.039, "y": 0.039},
        sigma_sys={b: 0.005 for b in "ugrizy"},
        m5_scatter=0.25,
        m5_bad=0.3,
        saturation=16.5,
        baseline=3652.5,
        start_mjd=60980.0,
        season_fraction=0.55,
        extra={"visits_10yr": {"u": 56, "g": 80, "r": 184, "i": 184, "z": 160, "y": 160}},
    ),
    # OGLE-III (Udalski et al. 2008, AcA 58, 69): I nightly in season, V ~ 1 in 10 epochs;
    # errors ~0.01 mag at I=16 and ~0.1 mag at I=20.
    "ogle": Survey(
        name="ogle",
        bands=("I", "V"),
        wavelength={"I": 7980.0, "V": 5450.0},  # ~Cousins I, Johnson V: the amplitude tables' bands
        m5={"I": 21.2, "V": 21.6},
        gamma={"I": 0.02, "V": 0.02},
        sigma_sys={"I": 0.006, "V": 0.008},
        m5_scatter=0.25,
        m5_bad=0.3,
        saturation=13.0,
        detection_snr=2.0,
        baseline=2900.0,
        start_mjd=52000.0,
        season_fraction=0.7,
        extra={"night_gap": 1.8, "weather": 0.75, "v_fraction": 0.1},
    ),
    # EROS-2 LMC (B_E 420-720 nm, R_E 620-920 nm, observed simultaneously through a
    # dichroic); ~120 epochs per band over ~890 d as in the RAMP set. Depths, floors and the
    # bright-star term fitted to the binned median errors of 600 RAMP EROS curves (142k
    # points): B_E sys 0.089, m5 20.0, gamma 0.04, bright 0.20; R_E 0.098, 19.03, 0.035, 0.106.
    # The stars are in the LMC (distance modulus 18.48, Pietrzynski et al. 2019, Nature 567,
    # 200); the zero-point scatter makes the twin's B_E-R_E spread of one class (sd ~0.35 mag)
    # match that of the RAMP curves (Cepheids, bright enough for noise not to matter).
    "eros": Survey(
        name="eros",
        bands=("B", "R"),
        wavelength={"B": 5300.0, "R": 7600.0},
        m5={"B": 20.0, "R": 19.03},
        gamma={"B": 0.04, "R": 0.035},
        sigma_sys={"B": 0.089, "R": 0.098},
        bright={"B": 0.20, "R": 0.106},
        distance_modulus=18.48,
        zp_scatter=0.25,
        # RAMP curves have ~10x the bad points of the default: 0.42 % of a Cepheid's points
        # lie > 4 robust sd out, 0.05 % > 8 sd (twin with these settings: 0.4 %, 0.1 %)
        outlier_fraction=0.015,
        outlier_scale=0.6,
        m5_scatter=0.2,
        m5_bad=0.2,
        saturation=13.0,
        detection_snr=1.0,
        baseline=894.0,
        start_mjd=50290.0,
        season_fraction=0.75,
        extra={"n_epochs": 122, "weather": 0.7},
    ),
}


def get_survey(survey: str | Survey) -> Survey:
    """The :class:`Survey` called ``survey`` (``'ztf'``, ``'lsst'``, ``'ogle'``, ``'eros'``)."""
    if isinstance(survey, Survey):
        return survey
    key = str(survey).lower()
    if key not in SURVEYS:
        raise ValueError(f"unknown survey {survey!r}; choose one of {sorted(SURVEYS)}")
    return SURVEYS[key]


# --------------------------------------------------------------------------- cadences


def sidereal_spread_hours(times) -> float:
    """Circular sd [hours] of the local sidereal time of a curve's visits, ``(t x 1.0027379)
    mod 1``: ~1 h for a field visited near its meridian transit (real EROS-2: 1.3 h; ZTF
    alerts: 0.9 h), 6-7 h for visits spread evenly over the night and the year."""
    t = np.asarray(times, float)
    if t.size < 2:
        return float("nan")
    r = abs(np.exp(2j * np.pi * ((t * SIDEREAL_DAY_FREQ) % 1.0)).mean())
    return float(np.sqrt(-2.0 * np.log(max(r, 1e-12))) / (2 * np.pi) * 24.0)


def _season_mask(nights: np.ndarray, fraction: float, phase: float) -> np.ndarray:
    """True on nights inside the yearly observing season (fraction of a 365.25-d year)."""
    pos = (nights / 365.25 + phase) % 1.0
    return pos < fraction


def sample_cadence(
    survey: str | Survey, rng: np.random.Generator, baseline: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Observation times [MJD] and band names of one object observed by ``survey``.

    Times are sorted; within a band no time repeats.
    """
    s = get_survey(survey)
    span = float(baseline or s.baseline)
    start = s.start_mjd + rng.uniform(0, 30)
    season = np.clip(s.season_fraction + rng.normal(0, 0.06), 0.35, 0.95)
    phase = rng.uniform(0, 1)
    nights = np.arange(int(np.ceil(span)), dtype=float)
    in_season = _season_mask(nights, season, phase)
    transit = rng.uniform(0, 1) if s.hour_angle_sd is not None else 0.0

    def night_frac(nights_used: np.ndarray) -> np.ndarray:
        """Each visit's fraction of its day [MJD]. Visits near the field's transit keep one
        sidereal time (``Survey.hour_angle_sd``); otherwise they spread over the night of a
        mid-latitude site (never 0.5 apart from the next night)."""
        if s.hour_angle_sd is None:
            return rng.uniform(0.1, 0.4, nights_used.size)
        lst = transit + rng.normal(0.0, s.hour_angle_sd / 24.0, nights_used.size)
        return ((lst - SIDEREAL_DAY_FREQ * (start + nights_used)) % 1.0) / SIDEREAL_DAY_FREQ

    if s.name == "lsst":
        visits = s.extra["visits_10yr"]
        counts = {b: rng.poisson(visits[b] * span / 3652.5) for b in s.bands}
        total = sum(counts.values())
        cand = nights[in_season]
        n_nights = int(min(cand.size, max(1, (total + 1) // 2)))
        chosen = rng.choice(cand, size=n_nights, replace=False)
        # visits come in pairs ~33 min apart in one night (Ivezic et al. 2019)
        first = start + chosen + night_frac(chosen)
        t = np.sort(np.concatenate([first, first + 0.023]))[:total]
        bands = np.repeat(np.array(s.bands, dtype=object), [counts[b] for b in s.bands])
        rng.shuffle(bands)
        bands = bands[: t.size]
        t = t[: bands.size]
    elif s.name == "eros":
        n_target = s.extra["n_epochs"] * span / s.baseline
        ok = nights[in_season]
        p = min(1.0, n_target / max(ok.size * s.extra["weather"], 1))
        use = ok[rng.random(ok.size) < p * s.extra["weather"]]
        tb = start + use + night_frac(use)
        keep_r = rng.random(use.size) < 0.97  # simultaneous B_E/R_E exposures
        tr = tb[keep_r] + rng.uniform(0.0, 0.05, keep_r.sum())
        keep_b = rng.random(use.size) < 0.97
        t = np.concatenate([tb[keep_b], tr])
        bands = np.array(["B"] * int(keep_b.sum()) + ["R"] * int(keep_r.sum()), dtype=object)
    elif s.name == "ogle":
        gap = s.extra["night_gap"] * rng.lognormal(0, 0.25)
        ok = nights[in_season]
        use = ok[rng.random(ok.size) < s.extra["weather"] / gap]
        t_i = start + use + night_frac(use)
        is_v = rng.random(use.size) < s.extra["v_fraction"]
        t = np.concatenate([t_i, t_i[is_v] + 0.01])  # a V frame right after an I frame
        bands = np.array(["I"] * use.size + ["V"] * int(is_v.sum()), dtype=object)
    else:  # ztf-like: every ~2-3 nights in season, g and r in the same night
        gap = s.extra["night_gap"] * rng.lognormal(0, 0.3)
        ok = nights[in_season]
        use = ok[rng.random(ok.size) < s.extra["weather"] / max(gap, 1.0)]
        pg, pr = s.extra["p_band"]
        tg = start + use + night_frac(use)
        tr = tg + rng.uniform(0.01, 0.12, use.size)
        kg = rng.random(use.size) < pg
        kr = rng.random(use.size) < pr
        t = np.concatenate([tg[kg], tr[kr]])
        bands = np.array(["g"] * int(kg.sum()) + ["r"] * int(kr.sum()), dtype=object)
    order = np.argsort(t, kind="stable")
    return np.asarray(t, float)[order], bands[order]


# --------------------------------------------------------------------------- noise


def mag_error(mag, m5, gamma, sigma_sys, bright=0.0) -> np.ndarray:
    """1-sigma magnitude error [mag] at magnitude ``mag`` for an epoch of depth ``m5``.

    Ivezic et al. 2019, eq. 5 (random part) plus a systematic floor and a bright-star term
    ``bright * 10^(0.2 (14 - mag))``, in quadrature.
    """
    mag = np.asarray(mag, float)
    x = 10.0 ** (0.4 * (mag - np.asarray(m5, float)))
    b = np.asarray(bright, float) * 10.0 ** (0.2 * (14.0 - mag))
    return np.sqrt(
        np.asarray(sigma_sys) ** 2
        + (0.04 - np.asarray(gamma)) * x
        + np.asarray(gamma) * x * x
        + b * b
    )


def band_values(
    table: dict[str, float], bands: np.ndarray, default: float | None = None
) -> np.ndarray:
    """``table[band]`` for every element of ``bands`` (one vectorised pass per band name).

    Bands missing from ``table`` get ``default``, or raise ``KeyError`` when it is None.
    """
    bands = np.asarray(bands)
    out = np.full(bands.shape, np.nan if default is None else float(default))
    if bands.size == 0:
        return out
    seen = np.zeros(bands.shape, bool)
    for key, value in table.items():
        sel = bands == key
        out[sel] = value
        seen |= sel
    if default is None and not seen.all():
        missing = sorted({str(b) for b in bands[~seen]})
        raise KeyError(f"band(s) {missing} not in {sorted(table)}")
    return out


def band_index(survey: str | Survey, bands: np.ndarray) -> np.ndarray:
    """Index of each band name in ``survey.bands`` (one vectorised pass per survey band)."""
    s = get_survey(survey)
    bands = np.asarray(bands)
    codes = np.full(bands.shape, -1, dtype=np.int64)
    for k, name in enumerate(s.bands):
        codes[bands == name] = k
    if (codes < 0).any():
        missing = sorted({str(b) for b in bands[codes < 0]})
        raise KeyError(f"band(s) {missing} are not {s.name} bands {list(s.bands)}")
    return codes


def _per_band(survey: Survey, table: dict, codes: np.ndarray, default: float = 0.0):
    return np.array([float(table.get(b, default)) for b in survey.bands])[codes]


def sample_depths(
    survey: str | Survey, bands: np.ndarray, rng: np.random.Generator, codes=None
) -> np.ndarray:
    """Per-epoch 5-sigma depths [mag]: median, Gaussian scatter and a tail of bad nights."""
    s = get_survey(survey)
    codes = band_index(s, bands) if codes is None else codes
    med = _per_band(s, s.m5, codes)
    return (
        med
        + s.m5_scatter * rng.standard_normal(med.size)
        - rng.exponential(s.m5_bad, med.size)
        + s.m5_bad
    )


def observe(
    true_mag: np.ndarray,
    bands: np.ndarray,
    survey: str | Survey,
    rng: np.random.Generator,
    m5: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noisy observed magnitudes, their errors and the upper-limit flags.

    Noise is drawn in flux, so faint points scatter asymmetrically in magnitude; a point
    whose measured flux is below ``detection_snr`` sigma becomes an upper limit with
    ``mag`` = the epoch's depth and ``err`` = NaN. A fraction ``outlier_fraction`` of the
    detections is shifted by a Laplace-distributed offset (cosmic rays, bad subtractions).
    """
    s = get_survey(survey)
    true_mag = np.asarray(true_mag, float)
    codes = band_index(s, np.asarray(bands, dtype=object))
    if m5 is None:
        m5 = sample_depths(s, bands, rng, codes)
    gam = _per_band(s, s.gamma, codes)
    sys_ = _per_band(s, s.sigma_sys, codes)
    bright = _per_band(s, s.bright, codes)
    sys_ = np.sqrt(sys_**2 + (bright * 10.0 ** (0.2 * (14.0 - true_mag))) ** 2)
    x = 10.0 ** (0.4 * (true_mag - m5))
    sig_rand = np.sqrt((0.04 - gam) * x + gam * x * x)
    # flux relative to the true one; random noise in flux, systematic floor in magnitude
    rel = 1.0 + sig_rand / MAG_PER_FLUX * rng.standard_normal(true_mag.size)
    snr_meas = rel / np.maximum(sig_rand / MAG_PER_FLUX, 1e-12)
    detected = (rel > 0) & (snr_meas >= s.detection_snr)
    with np.errstate(divide="ignore", invalid="ignore"):
        obs = true_mag - MAG_PER_FLUX * np.log(np.where(rel > 0, rel, 1.0))
    obs = obs + sys_ * rng.standard_normal(true_mag.size)
    err = mag_error(np.where(detected, obs, m5), m5, gam, sys_)
    out = detected & (rng.random(true_mag.size) < s.outlier_fraction)
    obs = np.where(out, obs + rng.laplace(0, s.outlier_scale, true_mag.size), obs)
    upper = ~detected
    obs = np.where(upper, m5, obs)
    err = np.where(upper, np.nan, err)
    return obs, err, upper


AB_ZEROPOINT_NJY = 31.4  # m_AB = 31.4 - 2.5 log10(F / nJy)


def observe_flux(
    true_mag: np.ndarray,
    bands: np.ndarray,
    survey: str | Survey,
    rng: np.random.Generator,
    m5: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Forced-photometry fluxes [nJy] and errors: every epoch is measured, faint ones may be
    negative (no upper limits), as in difference-imaging light curves (e.g. PLAsTiCC).

    The flux variance is the error model of :func:`mag_error` written in flux,
    ``sigma_F^2 = [(0.04 - gamma) F5 F + gamma F5^2] / 1.0857^2 + (sigma_sys F / 1.0857)^2``
    with ``F5`` the flux at the epoch's 5-sigma depth; a fraction ``outlier_fraction`` gets a
    Laplace-distributed offset of scale 5 sigma_F.
    """
    s = get_survey(survey)
    true_mag = np.asarray(true_mag, float)
    codes = band_index(s, np.asarray(bands, dtype=object))
    if m5 is None:
        m5 = sample_depths(s, bands, rng, codes)
    gam = _per_band(s, s.gamma, codes)
    sys_ = _per_band(s, s.sigma_sys, codes)
    flux = 10.0 ** (-0.4 * (true_mag - AB_ZEROPOINT_NJY))
    f5 = 10.0 ** (-0.4 * (m5 - AB_ZEROPOINT_NJY))

    def sigma(f):
        f = np.maximum(f, 0.0)
        return np.sqrt(
            ((0.04 - gam) * f5 * f + gam * f5 * f5) / MAG_PER_FLUX**2
            + (sys_ * f / MAG_PER_FLUX) ** 2
        )

    obs = flux + sigma(flux) * rng.standard_normal(flux.size)
    err = sigma(obs)
    out = rng.random(flux.size) < s.outlier_fraction
    obs = np.where(out, obs + rng.laplace(0, 5 * err, flux.size), obs)
    return obs, err
