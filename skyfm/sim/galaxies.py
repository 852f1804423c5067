"""Labelled g,r,i galaxy images drawn with galsim, and strong-lens arcs.

Morphologies: ``elliptical`` (de Vaucouleurs-like Sersic), ``spiral`` (bulge + exponential
disc with logarithmic spiral arms, moderately inclined), ``edge_on`` (inclined exponential
disc with a dust lane), ``merger`` (two galaxies with tidal tails), and the rare class
``lens`` (a red elliptical with blue arcs of a background source lensed by a singular
isothermal ellipsoid). Images are SDSS-like: 0.396 arcsec/pixel, Moffat PSF (FWHM ~1.3",
beta = 3.5), counts in nanomaggies with Gaussian sky + source noise.

>>> obs = simulate_galaxies(10, size=64)                         # doctest: +SKIP
>>> obs[0].data.shape, obs[0].label                             # doctest: +SKIP
((3, 64, 64), 'elliptical')
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from skyfm.data.observations import Image, ObservationSet, Provenance, ReadReport
from skyfm.errors import require

__all__ = [
    "COMMON_GALAXY_CLASSES",
    "GALAXY_CLASSES",
    "RARE_GALAXY_CLASSES",
    "inject_image",
    "lensed_source",
    "sie_deflection",
    "simulate_galaxies",
]

BANDS = ("g", "r", "i")
COMMON_GALAXY_CLASSES = ("elliptical", "spiral", "edge_on", "merger")
RARE_GALAXY_CLASSES = ("lens",)
GALAXY_CLASSES = COMMON_GALAXY_CLASSES + RARE_GALAXY_CLASSES
PIXEL_SCALE = 0.396  # arcsec / pixel (SDSS)
# SDSS-like sky noise per pixel [nanomaggies] and PSF FWHM [arcsec] per band
SKY_SIGMA = {"g": 0.0055, "r": 0.0075, "i": 0.011}
PSF_FWHM = {"g": 1.45, "r": 1.30, "i": 1.25}
# colours: magnitude offsets relative to r (g-r, 0, r-i) (Strateva et al. 2001)
COLOURS = {
    "red": np.array([0.78, 0.0, -0.40]),
    "blue": np.array([0.45, 0.0, -0.25]),
    "arm": np.array([0.25, 0.0, -0.12]),
    "source": np.array([0.15, 0.0, -0.05]),
}


def _nmgy(mag: float) -> float:
    """Flux [nanomaggies] of an AB magnitude."""
    return 10 ** (-0.4 * (mag - 22.5))


def _psf(band: str, fwhm_scatter: float = 1.0):
    galsim = require("galsim", "sim")

    return galsim.Moffat(beta=3.5, fwhm=PSF_FWHM[band] * fwhm_scatter)


def _draw(profile, size: int, band: str, fwhm_scatter: float) -> np.ndarray:
    galsim = require("galsim", "sim")

    conv = galsim.Convolve(profile, _psf(band, fwhm_scatter))
    img = conv.drawImage(nx=size, ny=size, scale=PIXEL_SCALE)
    return img.array.astype(np.float64)


def _sheared(prof, q: float, beta_rad: float):
    galsim = require("galsim", "sim")

    return prof.shear(q=float(np.clip(q, 0.05, 1.0)), beta=float(beta_rad) * galsim.radians)


def _spiral_pattern(
    size: int,
    r_d_pix: float,
    q: float,
    beta: float,
    n_arms: int,
    pitch_deg: float,
    phase: float,
    oversample: int = 2,
) -> np.ndarray:
    """Logarithmic-spiral modulation of an exponential disc, unit total flux (no PSF)."""
    m = size * oversample
    c = (m - 1) / 2
    y, x = np.mgrid[0:m, 0:m]
    x = (x - c) / oversample
    y = (y - c) / oversample
    cb, sb = np.cos(beta), np.sin(beta)
    xr = x * cb + y * sb
    yr = (-x * sb + y * cb) / max(q, 0.05)
    r = np.hypot(xr, yr) + 1e-3
    th = np.arctan2(yr, xr)
    k = 1.0 / np.tan(np.radians(pitch_deg))
    arms = 0.5 * (1 + np.cos(n_arms * (th - k * np.log(r / r_d_pix)) + phase)) ** 3
    disc = np.exp(-r / r_d_pix) * arms * (1 - np.exp(-((r / (0.6 * r_d_pix)) ** 2)))
    img = disc.reshape(size, oversample, size, oversample).mean(axis=(1, 3))
    return img / img.sum()


def sie_deflection(x, y, theta_e: float, q: float = 1.0):
    """Deflection (alpha_x, alpha_y) of a singular isothermal ellipsoid with Einstein radius
    ``theta_e`` and axis ratio ``q`` (major axis along x), Kormann et al. 1994. ``q = 1`` is
    the singular isothermal sphere, alpha = theta_e * (x, y) / r."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if abs(1 - q) < 1e-4:
        r = np.hypot(x, y) + 1e-12
        return theta_e * x / r, theta_e * y / r
    f = np.sqrt(1 - q * q)
    psi = np.sqrt(q * q * x * x + y * y) + 1e-12
    scale = theta_e * np.sqrt(q) / f
    ax = scale * np.arctan(f * x / psi)
    ay = scale * np.arctanh(np.clip(f * y / psi, -0.999999, 0.999999))
    return ax, ay


def lensed_source(
    size: int,
    theta_e_pix: float,
    q_lens: float,
    pa_lens: float,
    src_x: float,
    src_y: float,
    src_r_pix: float,
    src_q: float,
    src_pa: float,
    oversample: int = 3,
    clumps=None,
) -> np.ndarray:
    """Surface brightness of a lensed background source on a ``size`` x ``size`` grid
    (unit peak of the unlensed source; no PSF). Ray shooting through an SIE: each
    (oversampled) image pixel is mapped to the source plane, beta = theta - alpha(theta),
    where an exponential source (plus optional star-forming clumps) is evaluated."""
    m = size * oversample
    c = (m - 1) / 2
    y, x = np.mgrid[0:m, 0:m]
    x = (x - c) / oversample
    y = (y - c) / oversample
    cp, sp = np.cos(pa_lens), np.sin(pa_lens)
    xl, yl = x * cp + y * sp, -x * sp + y * cp
    axl, ayl = sie_deflection(xl, yl, theta_e_pix, q_lens)
    ax, ay = axl * cp - ayl * sp, axl * sp + ayl * cp
    bx, by = x - ax - src_x, y - ay - src_y
    cs, ss = np.cos(src_pa), np.sin(src_pa)
    u, v = bx * cs + by * ss, (-bx * ss + by * cs) / max(src_q, 0.1)
    sb = np.exp(-np.hypot(u, v) / max(src_r_pix, 0.3))
    for cx, cy, cr, ca in clumps or []:
        sb = sb + ca * np.exp(-0.5 * ((bx - cx) ** 2 + (by - cy) ** 2) / cr**2)
    return sb.reshape(size, oversample, size, oversample).mean(axis=(1, 3))


def _convolve_psf(arr: np.ndarray, band: str, fwhm_scatter: float) -> np.ndarray:
    galsim = require("galsim", "sim")

    src = galsim.InterpolatedImage(galsim.Image(arr, scale=PIXEL_SCALE), flux=float(arr.sum()))
    return _draw(src, arr.shape[0], band, fwhm_scatter)


def _galaxy(cls: str, size: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Noise-free (3, size, size) image in nanomaggies and its true parameters."""
    galsim = require("galsim", "sim")

    see = rng.uniform(0.85, 1.2)  # seeing relative to the median
    mag_r = rng.uniform(15.5, 17.7)  # Galaxy Zoo-like bright galaxies
    pa = rng.uniform(0, np.pi)
    imgs = np.zeros((3, size, size))
    meta: dict = {
        "mag_r": mag_r,
        "position_angle": pa,
        "seeing_factor": see,
        "pixel_scale": PIXEL_SCALE,
    }
    fov = size * PIXEL_SCALE

    def add(profile_fn, mag, colour, shift=(0.0, 0.0)):
        for b, band in enumerate(BANDS):
            prof = profile_fn().withFlux(_nmgy(mag + colour[b])).shift(*shift)
            imgs[b] += _draw(prof, size, band, see)

    if cls in ("elliptical", "lens"):
        hlr = rng.uniform(0.08, 0.16) * fov
        n = rng.uniform(3.0, 5.5)
        q = rng.uniform(0.55, 1.0)
        colour = COLOURS["red"] + rng.normal(0, 0.04, 3)
        add(
            lambda: _sheared(galsim.Sersic(n=n, half_light_radius=hlr, trunc=4 * hlr), q, pa),
            mag_r,
            colour,
        )
        meta.update(sersic_n=n, half_light_radius=hlr, axis_ratio=q)
    elif cls in ("spiral", "edge_on"):
        bt = rng.uniform(0.1, 0.4) if cls == "spiral" else rng.uniform(0.05, 0.25)
        disc_hlr = rng.uniform(0.12, 0.22) * fov
        bulge_hlr = disc_hlr * rng.uniform(0.15, 0.35)
        incl = (
            np.arccos(rng.uniform(0.45, 1.0))
            if cls == "spiral"
            else np.radians(rng.uniform(82, 90))
        )
        q0 = 0.12  # intrinsic disc thickness
        q = float(np.sqrt(np.cos(incl) ** 2 * (1 - q0**2) + q0**2))
        m_b = mag_r - 2.5 * np.log10(bt)
        m_d = mag_r - 2.5 * np.log10(1 - bt)
        add(
            lambda: _sheared(galsim.DeVaucouleurs(half_light_radius=bulge_hlr), 0.9, pa),
            m_b,
            COLOURS["red"],
        )
        if cls == "edge_on":
            r_d = disc_hlr / 1.678
            add(
                lambda: galsim.InclinedExponential(
                    incl * galsim.radians, scale_radius=r_d, scale_height=0.1 * r_d
                ).rotate(pa * galsim.radians),
                m_d,
                COLOURS["blue"],
            )
            # dust lane: a thin absorbing strip along the major axis, deeper in g
            c = (size - 1) / 2
            y, x = np.mgrid[0:size, 0:size]
            d = -(x - c) * np.sin(pa) + (y - c) * np.cos(pa)
            depth = rng.uniform(0.3, 0.6)
            for b, tau_scale in enumerate((1.0, 0.75, 0.55)):
                imgs[b] *= 1 - depth * tau_scale * np.exp(-0.5 * (d / rng.uniform(0.8, 1.5)) ** 2)
        else:
            smooth = rng.uniform(0.4, 0.7)  # fraction of disc light in the smooth disc
            add(
                lambda: _sheared(galsim.Exponential(half_light_radius=disc_hlr), q, pa),
                m_d - 2.5 * np.log10(smooth),
                COLOURS["blue"],
            )
            arms = _spiral_pattern(
                size,
                disc_hlr / 1.678 / PIXEL_SCALE,
                q,
                pa,
                int(rng.choice([2, 2, 3, 4])),
                rng.uniform(12, 30),
                rng.uniform(0, 2 * np.pi),
            )
            for b, band in enumerate(BANDS):
                f = _nmgy(m_d - 2.5 * np.log10(1 - smooth) + COLOURS["arm"][b])
                imgs[b] += _convolve_psf(arms * f, band, see)
        meta.update(
            bulge_to_total=bt,
            disc_half_light_radius=disc_hlr,
            inclination_deg=float(np.degrees(incl)),
            axis_ratio=q,
        )
    elif cls == "merger":
        sep = rng.uniform(0.12, 0.3) * fov
        ang = rng.uniform(0, 2 * np.pi)
        dx, dy = 0.5 * sep * np.cos(ang), 0.5 * sep * np.sin(ang)
        ratio = rng.uniform(0.3, 1.0)
        for k, (sx, sy, fr) in enumerate(((-dx, -dy, 1.0), (dx, dy, ratio))):
            hlr = rng.uniform(0.06, 0.12) * fov
            m_k = mag_r + 2.5 * np.log10(1 + ratio) - 2.5 * np.log10(fr)
            colour = COLOURS["red"] if rng.uniform() < 0.5 else COLOURS["blue"]
            n_k = rng.uniform(1.0, 4.0)
            q_k = rng.uniform(0.5, 1.0)
            pa_k = rng.uniform(0, np.pi)
            body = _sheared(galsim.Sersic(n=n_k, half_light_radius=hlr, trunc=5 * hlr), q_k, pa_k)
            add(lambda body=body: body, m_k, colour, (sx, sy))
            # a tidal tail: an elongated, curved low-surface-brightness arc of blobs
            t = np.linspace(0, 1, 8)
            curl = rng.choice([-1, 1]) * rng.uniform(0.8, 1.6)
            th = ang + np.pi * k + curl * t
            rr = hlr * (1.0 + 3.5 * t)
            tail = galsim.Add(
                [
                    galsim.Gaussian(sigma=0.25 * hlr + 0.3, flux=1.0 / t.size).shift(
                        r_ * np.cos(tt), r_ * np.sin(tt)
                    )
                    for tt, r_ in zip(th, rr, strict=True)
                ]
            )
            add(lambda tail=tail: tail, m_k + 0.95, COLOURS["blue"], (sx, sy))
        meta.update(separation_arcsec=sep, flux_ratio=ratio)
    if cls == "lens":
        arcs, lp = _arcs(
            size,
            rng,
            meta.get("half_light_radius", 3.0) / PIXEL_SCALE,
            pa,
            meta.get("axis_ratio", 0.8),
        )
        m_src = mag_r + rng.uniform(0.5, 2.0)
        for b, band in enumerate(BANDS):
            f = _nmgy(m_src + COLOURS["source"][b])
            imgs[b] += _convolve_psf(arcs * f / max(arcs.sum(), 1e-12), band, see)
        meta.update(lens=lp, source_mag_r=m_src)
    return imgs, meta


def _arcs(
    size: int, rng, lens_hlr_pix: float, pa: float, q: float, theta_e_pix: float | None = None
) -> tuple[np.ndarray, dict]:
    """Lensed-arc surface brightness (unit-normalised later) and the lens parameters."""
    te = (
        theta_e_pix
        if theta_e_pix is not None
        else float(np.clip(rng.uniform(1.0, 2.2) * lens_hlr_pix, 3.5, 0.3 * size))
    )
    q_l = float(np.clip(q + rng.normal(0, 0.05), 0.5, 1.0))
    r_src = rng.uniform(0.0, 0.35) * te  # source offset -> arcs (large) or rings (small)
    a = rng.uniform(0, 2 * np.pi)
    src_r = rng.uniform(0.06, 0.18) * te
    clumps = [
        (
            r_src * np.cos(a) + rng.normal(0, src_r),
            r_src * np.sin(a) + rng.normal(0, src_r),
            0.35 * src_r + 0.1,
            rng.uniform(0.5, 1.5),
        )
        for _ in range(int(rng.integers(0, 4)))
    ]
    sb = lensed_source(
        size,
        te,
        q_l,
        pa,
        r_src * np.cos(a),
        r_src * np.sin(a),
        src_r,
        rng.uniform(0.4, 1.0),
        rng.uniform(0, np.pi),
        clumps=clumps,
    )
    return sb, {
        "theta_e_pix": te,
        "theta_e_arcsec": te * PIXEL_SCALE,
        "axis_ratio": q_l,
        "source_offset_pix": r_src,
        "source_radius_pix": src_r,
        "n_clumps": len(clumps),
    }


def _add_noise(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sky noise plus source Poisson noise (gain ~ 4.7 e-/count, ~ 200 counts/nmgy)."""
    out = np.empty_like(img)
    for b, band in enumerate(BANDS):
        source_var = np.maximum(img[b], 0) / (200.0 * 4.7)
        out[b] = img[b] + np.sqrt(SKY_SIGMA[band] ** 2 + source_var) * rng.standard_normal(
            img[b].shape
        )
    return out


def _psf_stamp(size: int = 15) -> np.ndarray:
    return np.stack(
        [_psf(b).drawImage(nx=size, ny=size, scale=PIXEL_SCALE).array for b in BANDS]
    ).astype(np.float32)


def simulate_galaxies(
    n_per_class: int | dict[str, int],
    size: int = 64,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    classes=None,
) -> ObservationSet:
    """Simulate labelled (3, size, size) g,r,i galaxy images [nanomaggies].

    ``n_per_class`` is an int (every class in ``classes``, default
    :data:`COMMON_GALAXY_CLASSES`) or a ``{class: n}`` dict; the rare class ``'lens'`` is
    simulated only when asked for. ``meta`` holds the true parameters (radii in arcsec).
    """
    if isinstance(n_per_class, dict):
        counts = {str(k): int(v) for k, v in n_per_class.items()}
    else:
        counts = {c: int(n_per_class) for c in (classes or COMMON_GALAXY_CLASSES)}
    bad = [c for c in counts if c not in GALAXY_CLASSES]
    if bad:
        raise ValueError(f"unknown galaxy class(es) {bad}; choose from {list(GALAXY_CLASSES)}")
    psf = _psf_stamp()
    out = []
    prov = Provenance(survey="SDSS-like", reader="skyfm.sim.galaxies", dataset="simulated")
    for cls, n in counts.items():
        rng = np.random.default_rng([int(seed), GALAXY_CLASSES.index(cls), 7])
        for i in range(n):
            clean, meta = _galaxy(cls, size, rng)
            img = _add_noise(clean, rng)
            out.append(
                Image(
                    img.astype(np.float32),
                    list(BANDS),
                    psf=psf,
                    pixel_scale=PIXEL_SCALE,
                    unit="nanomaggy",
                    object_id=f"sim-gal-{cls}-{i:06d}",
                    label=cls,
                    provenance=prov,
                    meta=dict(meta, simulated=True, size=size),
                )
            )
            if progress is not None:
                progress(1)
    return ObservationSet(out, ReadReport(n_objects=len(out), n_points=len(out) * 3 * size * size))


def _band_blueness(img: Image) -> np.ndarray:
    """Relative arc brightness per plane: blue arcs are brightest in the bluest plane."""
    names = [b.lower() for b in img.bands]
    nplanes = img.data.shape[0]
    table = {
        "u": 1.1,
        "g": 1.0,
        "b": 1.0,
        "blue": 1.0,
        "v": 0.85,
        "r": 0.75,
        "i": 0.6,
        "z": 0.5,
        "y": 0.45,
        "red": 0.55,
        "green": 0.8,
    }
    rgb_like = nplanes == 3 and (
        names in (["r", "g", "b"], ["red", "green", "blue"]) or names == ["b0", "b1", "b2"]
    )
    if rgb_like:  # colour-composite planes: R, G, B (SDSS i, r, g in Galaxy Zoo JPEGs)
        return np.array([0.55, 0.8, 1.0])
    return np.array([table.get(n, 0.8) for n in names])


def inject_image(
    img: Image,
    cls: str = "lens",
    rng: np.random.Generator | int | None = None,
    theta_e_frac: tuple[float, float] = (0.09, 0.18),
    brightness: tuple[float, float] = (0.3, 0.8),
) -> Image:
    """A copy of a real image with blue lensed arcs around its centre (``cls='lens'``).

    Works on calibrated images and on colour JPEG planes (``uint8``-scaled 0..255, e.g. the
    423x423 Galaxy Zoo cutouts, whose planes are R,G,B = SDSS i,r,g). The Einstein radius is
    a fraction ``theta_e_frac`` of the image size; the arcs' peak, after PSF smoothing,
    is about ``brightness`` x the central galaxy's peak above the background. Pixel values are
    clipped to 0..255 for 8-bit-like images. ``meta['injected']`` records the parameters and
    ``label`` becomes ``'lens'``.
    """
    if cls != "lens":
        raise ValueError(f"inject_image supports cls='lens' only, got {cls!r}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    data = np.nan_to_num(np.asarray(img.data, np.float64))
    _nb, h, w = data.shape
    size = int(max(h, w))
    te = rng.uniform(*theta_e_frac) * min(h, w)
    pa = rng.uniform(0, np.pi)
    sb, lp = _arcs(size, rng, te, pa, rng.uniform(0.6, 1.0), theta_e_pix=te)
    sb = sb[(size - h) // 2 : (size - h) // 2 + h, (size - w) // 2 : (size - w) // 2 + w]
    # smooth with a Gaussian PSF of ~1% of the image (about the seeing of a GZ cutout)
    from scipy.ndimage import gaussian_filter

    sb = gaussian_filter(sb, sigma=max(0.8, 0.006 * min(h, w)))
    sb = np.clip(sb / max(np.percentile(sb[sb > 0.02 * sb.max()], 90), 1e-12), 0, 1.5)
    lum = data.mean(0)
    bg = np.median(lum)
    c0, c1 = h // 2, w // 2
    r = max(2, min(h, w) // 40)
    peak = np.max(lum[c0 - r : c0 + r + 1, c1 - r : c1 + r + 1]) - bg
    noise = 1.4826 * np.median(np.abs(lum - bg))
    level = max(peak, 20 * noise, 1e-6) * rng.uniform(*brightness)
    weights = _band_blueness(img)
    weights = weights / weights.max()
    out = data + level * weights[:, None, None] * sb[None]
    eight_bit = data.max() <= 255.0 and data.min() >= 0.0 and data.max() > 1.5
    if eight_bit:
        out = np.clip(out, 0, 255)
    meta = dict(
        img.meta,
        injected=dict(lp, cls="lens", level=float(level), position_angle=pa),
        original_label=img.label,
    )
    return Image(
        out.astype(np.float32),
        list(img.bands),
        wcs=img.wcs,
        psf=img.psf,
        pixel_scale=img.pixel_scale,
        unit=img.unit,
        mask=img.mask,
        object_id=img.object_id,
        label="lens",
        provenance=img.provenance,
        meta=meta,
    )
