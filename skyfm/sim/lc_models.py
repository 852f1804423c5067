"""Vectorised light-curve models: ``f(time [d], wavelength [AA], object_index, params)``
returns the true magnitude of every point of every object in one numpy pass.
``params['t0']`` is each object's reference epoch [MJD].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from skyfm.sim.cadence import MAG_PER_FLUX
from skyfm.sim.lc_params import LAMBDA_I, LAMBDA_V, colour_offset, planck

__all__ = ["class_model", "davenport_flare", "flare_ratio", "paczynski"]


def _fourier_shape(phase, r21, phi21, r31, phi31):
    """OGLE convention: sum_k A_k cos(2 pi k phase + phi_k), A_1 = 1, phi_1 = 0."""
    w = 2 * np.pi * phase
    return np.cos(w) + r21 * np.cos(2 * w + phi21) + r31 * np.cos(3 * w + phi31)


def _fourier_ptp(r21, phi21, r31, phi31) -> np.ndarray:
    grid = np.linspace(0, 1, 256, endpoint=False)[:, None]
    s = _fourier_shape(grid, r21[None], phi21[None], r31[None], phi31[None])
    return s.max(0) - s.min(0)


def _mean_mag(lam, oi, p):
    return p["m_I"][oi] + colour_offset(lam, p["vi"][oi])


def _model_pulsator(t, lam, oi, p):
    ptp = _fourier_ptp(p["r21"], p["phi21"], p["r31"], p["phi31"])
    phase = ((t - p["t0"][oi]) / p["period"][oi]) % 1.0
    shape = _fourier_shape(phase, p["r21"][oi], p["phi21"][oi], p["r31"][oi], p["phi31"][oi])
    amp = p["amplitude_I"][oi] * (lam / LAMBDA_I) ** (-p["k_amp"][oi])
    mag = _mean_mag(lam, oi, p) + amp * shape / ptp[oi]
    if "drift_amp" in p:  # Mira: slow changes of the mean magnitude
        mag = mag + p["drift_amp"][oi] * np.sin(
            2 * np.pi * t / p["drift_period"][oi] + p["drift_phase"][oi]
        )
    return mag


def _wrapped_gauss(x, sigma):
    d = (x + 0.5) % 1.0 - 0.5
    return np.exp(-0.5 * (d / sigma) ** 2)


def _model_eb_detached(t, lam, oi, p):
    phase = ((t - p["t0"][oi]) / p["period"][oi]) % 1.0
    w = p["width"][oi]
    d2 = np.clip(p["depth2"][oi] * (lam / 6000.0) ** p["colour_slope"][oi], 0, 0.95)
    flux = (
        1.0
        - p["depth1"][oi] * _wrapped_gauss(phase, w)
        - d2 * _wrapped_gauss(phase - p["secondary_phase"][oi], w)
        - p["ellipsoidal"][oi] * np.cos(4 * np.pi * phase)
    )
    return _mean_mag(lam, oi, p) - MAG_PER_FLUX * np.log(np.maximum(flux, 1e-3))


def _model_eb_contact(t, lam, oi, p):
    phase = ((t - p["t0"][oi]) / p["period"][oi]) % 1.0
    a = p["amplitude"][oi] * (lam / 6000.0) ** -0.1
    shape = (
        np.cos(4 * np.pi * phase)
        + p["oconnell"][oi] * np.cos(2 * np.pi * phase)
        + 0.1 * np.cos(8 * np.pi * phase)
    )
    return _mean_mag(lam, oi, p) + 0.5 * a * shape / 1.1


def _model_constant(t, lam, oi, p):
    return _mean_mag(lam, oi, p)


def _reddening(lam_rest, ebv):
    """Host extinction A_lambda for E(B-V) with a power-law R(lambda) ~ 3.1 (5450/lambda)^1.3."""
    return ebv * 3.1 * (LAMBDA_V / lam_rest) ** 1.3


# SN Ia peak absolute magnitudes against rest-frame wavelength (Vega-like, B = -19.3)
_IA_SED = (
    np.array([2500, 3000, 3650, 4400, 5450, 6400, 7900, 9000, 12000.0]),
    np.array([-17.6, -18.6, -19.6, -19.3, -19.3, -19.2, -18.85, -18.8, -18.4]),
)


def _model_sn_ia(t, lam, oi, p):
    z = p["redshift"][oi]
    lam_r = lam / (1 + z)
    tau = (t - p["t0"][oi]) / ((1 + z) * p["stretch"][oi])  # rest-frame days from B peak
    # rise: smoothstep from explosion 18.5 d before peak (rise times 17-19 d; Firth et al.
    # 2015, MNRAS 446, 3895); decline: two exponentials, tau1 ~ 9.7 d gives Delta m15(B)
    # ~ 1.1 and the 56Co tail ~0.015 mag/d; redder bands fade slower and have a second
    # maximum 24-32 d after peak (Phillips 1993; Kasen 2006)
    x = np.clip((tau + 18.5) / 18.5, 0, 1)
    rise = x * x * (3 - 2 * x)
    tau_p = np.maximum(tau, 0)
    t1 = 9.7 * (lam_r / 4400.0) ** 1.5
    w = 0.25 + 0.2 * np.clip((lam_r - 4400) / 3500, 0, 1)
    decline = (1 - w) * np.exp(-tau_p / t1) + w * np.exp(-tau_p / 72.0)
    red = np.clip((lam_r - 6000) / 2000, 0, 1)
    bump = p["second_max"][oi] * red * np.exp(-0.5 * ((tau - p["t_second"][oi]) / 7.0) ** 2)
    flux = rise * (decline + bump * (tau > 0))
    m_peak = (
        np.interp(lam_r, *_IA_SED)
        + (p["peak_abs_mag_B"][oi] + 19.3)
        + p["distance_modulus"][oi]
        - 2.5 * np.log10(1 + z)
        + _reddening(lam_r, p["ebv_host"][oi])
    )
    return m_peak - MAG_PER_FLUX * np.log(np.maximum(flux, 1e-12))


# SN II colours at peak relative to V (hot, blue early spectra)
_II_SED = (
    np.array([2500, 3000, 3650, 4400, 5450, 6400, 7900, 9000, 12000.0]),
    np.array([0.6, 0.0, -0.3, -0.1, 0.0, -0.15, -0.25, -0.3, -0.4]),
)


def _softplus(x):
    return np.logaddexp(0, x)


def _model_sn_ii(t, lam, oi, p):
    z = p["redshift"][oi]
    lam_r = lam / (1 + z)
    tau = (t - p["t0"][oi]) / (1 + z)
    t_rise = p["t_rise"][oi] * (lam_r / 5450.0) ** 0.5  # blue bands peak earlier
    x = np.clip((tau + t_rise) / t_rise, 0, 1)
    rise = x * x * (3 - 2 * x)
    tp = np.maximum(tau, 0)
    # Olivares et al. 2010 (ApJ 715, 833) plateau-drop-tail in magnitudes; blue bands decline
    # faster on the plateau; 56Co tail at 0.98 mag/100 d
    s2 = p["s2"][oi] * (5450.0 / lam_r) ** 2 / 100.0
    tpt, w0 = p["t_plateau"][oi], p["drop_width"][oi]
    dm = (
        s2 * tp
        + p["drop"][oi] / (1 + np.exp(-(tp - tpt) / w0))
        + (0.0098 - s2) * w0 * (_softplus((tp - tpt) / w0) - _softplus(-tpt / w0))
    )
    m_peak = (
        p["peak_abs_mag_V"][oi]
        + np.interp(lam_r, *_II_SED)
        + p["distance_modulus"][oi]
        - 2.5 * np.log10(1 + z)
        + _reddening(lam_r, p["ebv_host"][oi])
    )
    return m_peak + dm - MAG_PER_FLUX * np.log(np.maximum(rise, 1e-12))


def _model_tde(t, lam, oi, p):
    z = p["redshift"][oi]
    lam_r = lam / (1 + z)
    tau = (t - p["t0"][oi]) / (1 + z)
    t0d = p["t_decline"][oi]
    flux = np.where(
        tau < 0,
        np.exp(-0.5 * (tau / p["sigma_rise"][oi]) ** 2),
        ((np.maximum(tau, 0) + t0d) / t0d) ** (-5.0 / 3.0),
    )
    temp = p["temperature"][oi]
    colour = -2.5 * np.log10(planck(lam_r, temp) / planck(np.full_like(lam_r, 4827.0), temp))
    m_peak = p["peak_abs_mag_g"][oi] + colour + p["distance_modulus"][oi] - 2.5 * np.log10(1 + z)
    return m_peak - MAG_PER_FLUX * np.log(np.maximum(flux, 1e-12))


def paczynski(t, t0, u0, t_e):
    """Point-source point-lens magnification A(u) = (u^2+2)/(u sqrt(u^2+4)) (Paczynski 1986)."""
    u = np.sqrt(u0**2 + ((t - t0) / t_e) ** 2)
    return (u * u + 2) / (u * np.sqrt(u * u + 4))


def _model_microlensing(t, lam, oi, p):
    a = paczynski(t, p["t0"][oi], p["u0"][oi], p["t_E"][oi])
    fs = p["blend_fraction"][oi]
    return _mean_mag(lam, oi, p) - 2.5 * np.log10(fs * a + 1 - fs)


def davenport_flare(x) -> np.ndarray:
    """Flare template in units of t_1/2 from peak (Davenport et al. 2014, ApJ 797, 122)."""
    x = np.asarray(x, float)
    rise = 1 + 1.941 * x - 0.175 * x**2 - 2.246 * x**3 - 1.125 * x**4
    decay = 0.6890 * np.exp(-1.600 * np.maximum(x, 0)) + 0.3030 * np.exp(-0.2783 * np.maximum(x, 0))
    return np.where(x < -1, 0.0, np.where(x < 0, np.maximum(rise, 0), decay))


def flare_ratio(lam):
    """Flare-to-photosphere contrast relative to g: 9000 K flare on a 3100 K star."""
    g = 4827.0
    return (planck(lam, 9000.0) / planck(lam, 3100.0)) / (
        planck(np.full_like(lam, g), 9000.0) / planck(np.full_like(lam, g), 3100.0)
    )


def _model_flare(t, lam, oi, p):
    extra = np.zeros_like(t)
    ratio = flare_ratio(lam)
    for k in range(p["t_peak"].shape[1]):  # at most three flares per object
        x = (t - p["t_peak"][oi, k]) / p["t_half"][oi, k]
        on = k < p["n_flares"][oi]
        extra += on * p["amplitude_g"][oi, k] * ratio * davenport_flare(x)
    return _mean_mag(lam, oi, p) - 2.5 * np.log10(1 + extra)


_MODEL: dict[str, Callable] = {
    "rrab": _model_pulsator,
    "rrc": _model_pulsator,
    "cepheid": _model_pulsator,
    "dsct": _model_pulsator,
    "mira": _model_pulsator,
    "eb_detached": _model_eb_detached,
    "eb_contact": _model_eb_contact,
    "constant": _model_constant,
    "sn_ia": _model_sn_ia,
    "sn_ii": _model_sn_ii,
    "tde": _model_tde,
    "microlensing": _model_microlensing,
    "flare": _model_flare,
}
# observing window around t0 for transients [rest-frame days before, after]
_WINDOW = {"sn_ia": (30.0, 100.0), "sn_ii": (30.0, 200.0), "tde": (100.0, 300.0)}


def class_model(cls: str) -> Callable:
    """The vectorised model ``f(time, wavelength, object_index, params) -> true mag``."""
    return _MODEL[cls]
