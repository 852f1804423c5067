"""Twin strong lenses injected into real galaxy cutouts: an SIE + external shear lens
ray-traces a blue Sérsic source into arcs, rings and counter-images around the host.

The lens optics are :mod:`lenstronomy`'s (``SIE`` + ``SHEAR`` ray shooting, an elliptical
``SERSIC_ELLIPSE`` source; a well-kept library rather than a hand-written deflection), the
rest is numpy/scipy:

1. *Host*: the cutout's sky (median of the border), the host's centre (light-weighted
   centroid of the central region), axis ratio and position angle (second moments) and its
   flux per plane inside ``host_radius_pix`` (:func:`host_properties`).
2. *Lens*: an SIE centred on the host with the host's axis ratio (clipped to 0.5..1) and
   position angle, an Einstein radius ``theta_e_arcsec`` (1..3″ by default) and an external
   shear of strength ``shear``.
3. *Source*: an elliptical Sérsic (half-light radius 0.15..0.5″, index 0.7..1.5) placed at a
   random offset of ``source_offset`` (0.05..0.6) x θE from the optical axis: inside or near
   the tangential caustic, so it is imaged into a ring (small offsets) or arcs with a
   counter-image (larger ones).
4. *Image*: the source's surface brightness at the ray-traced positions (lensing conserves
   surface brightness), sampled ``supersample`` times finer than the pixels, convolved with a
   Gaussian PSF of ``psf_fwhm_arcsec`` (SDSS median seeing, 1.3″) and binned to pixels.
5. *Brightness and colour*: the lensed arcs' total flux in the middle (r) plane is
   ``arc_contrast_mag`` (2.5..4.5 mag) fainter than the host's, the range of the SLACS
   lenses (deflectors I ~ 16.5-18.5, lensed sources ~ 20-23 in HST F814W); the source is
   bluer than the host by ``bluer_gr`` in g-r and ``bluer_ri`` in r-i (a star-forming galaxy
   behind an elliptical), applied to the host's own plane ratios. Values are rounded and
   clipped to 0..255 on 8-bit cutouts.

Pixel scale (an assumption, stated in :data:`GZ1_PIXEL_SCALE`): Galaxy Zoo 1 cutouts are SDSS
ImgCutout images at 0.024 x petroR90_r arcsec per pixel (Lintott et al. 2008), so every host's
R90 spans 1/0.024 = 42 pixels whatever its size in arcsec; for a typical GZ1 galaxy
(petroR90_r about 8″) that is 0.2″ per pixel. Checked on the images (``bench/lenses.py
--measure-scale 300``): faint compact sources away from the hosts have half-maximum widths of
4.8-6.5 pixels (10th-20th percentile), 0.2-0.27″ per pixel for 1.3″ seeing. The JPEG's asinh stretch is treated as linear:
near-linear at the arcs' faint levels, compressive in the host's core, so the measured host
flux is an underestimate and the arcs are, if anything, brighter than the stated contrast.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from skyfm.data.observations import Image

__all__ = ["GZ1_PIXEL_SCALE", "LensConfig", "host_properties", "inject_lens",
           "lensed_surface_brightness", "render_arcs"]

#: arcsec per pixel assumed for Galaxy Zoo 1 cutouts (0.024 x petroR90_r, R90 ~ 8″)
GZ1_PIXEL_SCALE = 0.2
#: the radius (pixels) holding a GZ1 host's R90: 1 / 0.024
GZ1_R90_PIX = 1 / 0.024


@dataclass(frozen=True)
class LensConfig:
    """Ranges the lens and source parameters are drawn from (uniformly)."""

    theta_e_arcsec: tuple[float, float] = (1.0, 3.0)
    pixel_scale: float = GZ1_PIXEL_SCALE
    psf_fwhm_arcsec: float = 1.3
    arc_contrast_mag: tuple[float, float] = (2.5, 4.5)
    source_offset: tuple[float, float] = (0.05, 0.6)   # x theta_E
    source_reff_arcsec: tuple[float, float] = (0.15, 0.5)
    source_n: tuple[float, float] = (0.7, 1.5)
    source_q: tuple[float, float] = (0.5, 1.0)
    shear: tuple[float, float] = (0.0, 0.05)
    bluer_gr: float = 0.6
    bluer_ri: float = 0.35
    host_radius_pix: float = GZ1_R90_PIX
    supersample: int = 3


def _lens_kwargs(theta_e, q, pa, gamma, gamma_pa, cx=0.0, cy=0.0):
    from lenstronomy.Util.param_util import phi_q2_ellipticity, shear_polar2cartesian

    e1, e2 = phi_q2_ellipticity(pa, q)
    g1, g2 = shear_polar2cartesian(gamma_pa, gamma)
    sie = {"theta_E": float(theta_e), "e1": float(e1), "e2": float(e2), "center_x": cx,
           "center_y": cy}
    return [sie, {"gamma1": float(g1), "gamma2": float(g2), "ra_0": cx, "dec_0": cy}]


def _source_kwargs(x, y, r_eff, n, q, pa):
    from lenstronomy.Util.param_util import phi_q2_ellipticity

    e1, e2 = phi_q2_ellipticity(pa, q)
    return [{"amp": 1.0, "R_sersic": float(r_eff), "n_sersic": float(n), "e1": float(e1),
             "e2": float(e2), "center_x": float(x), "center_y": float(y)}]


def lensed_surface_brightness(x, y, lens: dict, source: dict) -> np.ndarray:
    """The lensed source's surface brightness at image-plane positions ``x, y`` (arcsec from
    the lens centre), no PSF: the source's Sérsic (``amp=1`` at its half-light radius) at the
    ray-traced positions.

    ``lens``: theta_e, q, pa (radians), gamma, gamma_pa; ``source``: x, y, r_eff, n, q, pa.
    """
    from lenstronomy.LensModel.lens_model import LensModel
    from lenstronomy.LightModel.light_model import LightModel

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    bx, by = LensModel(["SIE", "SHEAR"]).ray_shooting(x.ravel(), y.ravel(), _lens_kwargs(**lens))
    sb = LightModel(["SERSIC_ELLIPSE"]).surface_brightness(bx, by, _source_kwargs(**source))
    return np.asarray(sb, float).reshape(x.shape)


def render_arcs(shape: tuple[int, int], centre: tuple[float, float], lens: dict, source: dict,
                pixel_scale: float, psf_fwhm_arcsec: float, supersample: int = 3) -> np.ndarray:
    """(H, W) flux per pixel of the lensed source, PSF-convolved, summing to 1 (the caller
    scales it). ``centre``: the lens centre (row, column) in pixels."""
    from scipy.ndimage import gaussian_filter

    h, w = shape
    ss = int(supersample)
    reach = 1.8 * lens["theta_e"] + np.hypot(source["x"], source["y"]) \
        + 6 * source["r_eff"] + 2 * psf_fwhm_arcsec
    half = int(np.ceil(reach / pixel_scale))
    r0, c0 = round(centre[0]), round(centre[1])
    rows = np.arange(r0 - half, r0 + half + 1)
    cols = np.arange(c0 - half, c0 + half + 1)
    sub = (np.arange(ss) + 0.5) / ss - 0.5
    yy = ((rows[:, None] + sub[None, :]).ravel() - centre[0]) * pixel_scale
    xx = ((cols[:, None] + sub[None, :]).ravel() - centre[1]) * pixel_scale
    gx, gy = np.meshgrid(xx, yy)
    sb = lensed_surface_brightness(gx, gy, lens, source)
    sigma = psf_fwhm_arcsec / (2 * np.sqrt(2 * np.log(2))) / (pixel_scale / ss)
    sb = gaussian_filter(sb, sigma, mode="constant")
    n = 2 * half + 1
    stamp = sb.reshape(n, ss, n, ss).sum(axis=(1, 3))
    out = np.zeros((h, w))
    r_lo, c_lo = max(0, r0 - half), max(0, c0 - half)
    r_hi, c_hi = min(h, r0 + half + 1), min(w, c0 + half + 1)
    out[r_lo:r_hi, c_lo:c_hi] = stamp[r_lo - (r0 - half):r_hi - (r0 - half),
                                      c_lo - (c0 - half):c_hi - (c0 - half)]
    total = out.sum()
    if total <= 0:
        raise ValueError("the lensed source falls outside the cutout")
    return out / total


def host_properties(data: np.ndarray, radius: float = GZ1_R90_PIX) -> dict:
    """Sky level per plane (median of the 5 % border), centre (row, col: light-weighted
    centroid within ``radius`` of the middle), axis ratio and position angle (radians, from the
    +column axis towards +row, as lenstronomy's x, y) from the second moments in an elliptical
    aperture of the host's shape (iterated), and the host's sky-subtracted flux per plane
    within ``radius`` of its centre."""
    d = np.asarray(data, float)
    nb, h, w = d.shape
    e = max(1, int(0.05 * min(h, w)))
    border = np.concatenate([d[:, :e].reshape(nb, -1), d[:, -e:].reshape(nb, -1),
                             d[:, :, :e].reshape(nb, -1), d[:, :, -e:].reshape(nb, -1)], 1)
    sky = np.median(border, axis=1)
    lum = np.clip(d - sky[:, None, None], 0, None).sum(0)
    yy, xx = np.mgrid[:h, :w].astype(float)
    r = min(radius, min(h, w) / 2)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    for _ in range(3):  # re-centre on the light
        m = lum * ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r)
        if m.sum() <= 0:
            break
        cy, cx = (m * yy).sum() / m.sum(), (m * xx).sum() / m.sum()
    inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    q, pa = 1.0, 0.0
    for _ in range(5):  # moments in an elliptical aperture of the current shape (same area):
        # a circular one cuts the major axis more and biases q towards 1
        c, s = np.cos(pa), np.sin(pa)
        u = (xx - cx) * c + (yy - cy) * s
        v = -(xx - cx) * s + (yy - cy) * c
        m = lum * ((u * u * q + v * v / q) <= r * r)
        tot = max(m.sum(), 1e-12)
        mxx = (m * (xx - cx) ** 2).sum() / tot
        myy = (m * (yy - cy) ** 2).sum() / tot
        mxy = (m * (xx - cx) * (yy - cy)).sum() / tot
        lam = np.linalg.eigvalsh([[mxx, mxy], [mxy, myy]])
        q = float(np.clip(np.sqrt(max(lam[0], 1e-12) / max(lam[1], 1e-12)), 0.2, 1.0))
        pa = float(0.5 * np.arctan2(2 * mxy, mxx - myy))
    flux = np.array([(np.clip(p - s, 0, None) * inside).sum() for p, s in zip(d, sky)])
    return {"sky": sky, "centre": (float(cy), float(cx)), "q": q, "pa": pa, "flux": flux}


def _plane_colour(bands, host_flux: np.ndarray, bluer_gr: float, bluer_ri: float) -> np.ndarray:
    """Arc flux per plane relative to the middle (r) plane: the host's ratios made bluer.

    Planes are SDSS i, r, g (a Galaxy Zoo JPEG's R, G, B) unless ``bands`` name g, r, i."""
    names = [str(b).lower() for b in bands]
    if len(names) != 3:
        raise ValueError(f"lens injection needs a 3-plane gri cutout, got bands {bands}")
    order = ("g", "r", "i") if names == ["g", "r", "i"] else ("i", "r", "g")
    shift = {"i": 10 ** (-0.4 * bluer_ri), "r": 1.0, "g": 10 ** (0.4 * bluer_gr)}
    mid = max(host_flux[1], 1e-12)
    return np.array([max(f, 1e-12) / mid * shift[b] for f, b in zip(host_flux, order)])


def inject_lens(img: Image, rng: np.random.Generator | int | None = None,
                config: LensConfig | None = None) -> Image:
    """A copy of a real 3-plane gri cutout with a twin strong lens around its host (see the
    module docstring); ``label='lens'``, ``meta['injected_lens']`` holds every drawn
    parameter (arcsec and radians), ``meta['original_label']`` the host's label."""
    cfg = config or LensConfig()
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if len(img.bands) != 3:
        raise ValueError(f"lens injection needs a 3-plane gri cutout, got bands {img.bands}")
    data = np.nan_to_num(np.asarray(img.data, np.float64))
    host = host_properties(data, cfg.host_radius_pix)
    te = rng.uniform(*cfg.theta_e_arcsec)
    lens = {"theta_e": te, "q": float(np.clip(host["q"], 0.5, 1.0)), "pa": host["pa"],
            "gamma": rng.uniform(*cfg.shear), "gamma_pa": rng.uniform(0, np.pi)}
    off, ang = rng.uniform(*cfg.source_offset) * te, rng.uniform(0, 2 * np.pi)
    source = {"x": off * np.cos(ang), "y": off * np.sin(ang),
              "r_eff": rng.uniform(*cfg.source_reff_arcsec), "n": rng.uniform(*cfg.source_n),
              "q": rng.uniform(*cfg.source_q), "pa": rng.uniform(0, np.pi)}
    arcs = render_arcs(data.shape[1:], host["centre"], lens, source, cfg.pixel_scale,
                       cfg.psf_fwhm_arcsec, cfg.supersample)
    contrast = rng.uniform(*cfg.arc_contrast_mag)
    arc_flux = host["flux"][1] * 10 ** (-0.4 * contrast)
    colour = _plane_colour(img.bands, host["flux"], cfg.bluer_gr, cfg.bluer_ri)
    out = data + arc_flux * colour[:, None, None] * arcs[None]
    if data.min() >= 0 and data.max() <= 255:  # an 8-bit cutout stays one
        out = np.clip(np.round(out), 0, 255)
    drawn = {"lens": lens, "source": source, "arc_contrast_mag": contrast,
             "arc_flux": float(arc_flux), "colour": colour.tolist(),
             "centre": list(host["centre"]),
             "config": {k: list(v) if isinstance(v, tuple) else v
                        for k, v in asdict(cfg).items()}}
    return Image(out.astype(np.float32), list(img.bands), wcs=img.wcs, psf=img.psf,
                 pixel_scale=img.pixel_scale, unit=img.unit, mask=img.mask,
                 object_id=img.object_id, label="lens", provenance=img.provenance,
                 meta=dict(img.meta, injected_lens=drawn, original_label=img.label))
