"""The period search: coarse NFFT periodogram + exact refinement of the highest peaks."""
import numpy as np
import pytest

from skyfm.models import lightcurve_tokens as tok


def _scargle(t, y, f):
    """Textbook Lomb-Scargle (with the time offset tau), y centred, f in cycles/day."""
    out = []
    for fk in f:
        w = 2 * np.pi * fk
        tau = np.arctan2(np.sin(2 * w * t).sum(), np.cos(2 * w * t).sum()) / (2 * w)
        c, s = np.cos(w * (t - tau)), np.sin(w * (t - tau))
        out.append((c @ y) ** 2 / (c @ c) + (s @ y) ** 2 / (s @ s))
    return np.array(out)


def test_ls_power_matches_textbook_formula():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 500, 150))
    y = np.sin(2 * np.pi * t / 3.3) + rng.normal(0, 0.3, t.size)
    y -= y.mean()
    f0, df, m = np.array([0.05, 0.303, 1.7]), 1e-3, 5
    got = tok._ls_power(2 * np.pi * t, y, f0, df, m, norm=1.0)
    want = _scargle(t, y, (f0[:, None] + df * np.arange(m)).ravel()).reshape(3, m)
    np.testing.assert_allclose(got, want, rtol=1e-8)


@pytest.mark.parametrize("period", [0.137, 0.61, 7.3, 95.0])
def test_refined_search_finds_periods_on_a_coarse_grid(period):
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 1100, 200))
    v = 0.4 * np.sin(2 * np.pi * t / period) + rng.normal(0, 0.05, t.size)
    p_new, snr = tok.estimate_period(t, v, 0.1, resolution=1.0, candidates=8)
    # the coarse grid's step is a whole peak width (period^2 / span); refined: a small fraction
    assert abs(p_new - period) < 0.15 * period**2 / 1100
    assert snr > 5


def test_short_or_constant_curves_fall_back_to_the_span():
    t = np.linspace(0, 50, 6)
    assert tok.estimate_period(t, np.sin(t), candidates=8) == (50.0, 0.0)
    t = np.linspace(0, 50, 40)
    p, snr = tok.estimate_period(t, np.zeros(40), candidates=8)
    assert p == 50.0 and snr == 0.0
