"""Twin strong lenses (skyfm.sim.lenses): lens physics and injection into cutouts."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("lenstronomy", reason="the lens twin needs lenstronomy (skyfm[sim])")

from skyfm.data.observations import Image
from skyfm.sim.lenses import (
    LensConfig,
    host_properties,
    inject_lens,
    lensed_surface_brightness,
    render_arcs,
)

SIS = {"theta_e": 1.5, "q": 1.0, "pa": 0.0, "gamma": 0.0, "gamma_pa": 0.0}


def _grid(half: float, step: float):
    """Pixel centres off the singular centre of the isothermal lens."""
    ax = np.arange(-half, half, step) + step / 2
    return np.meshgrid(ax, ax)


def _source(x=0.0, y=0.0, r_eff=0.05, n=1.0):
    return {"x": x, "y": y, "r_eff": r_eff, "n": n, "q": 1.0, "pa": 0.0}


def test_centred_source_makes_an_einstein_ring_at_theta_e():
    x, y = _grid(2.5, 0.01)
    sb = lensed_surface_brightness(x, y, SIS, _source())
    r = np.hypot(x, y)
    assert np.sum(sb * r) / np.sum(sb) == pytest.approx(1.5, rel=0.02)
    ring = sb > 0.5 * sb.max()
    assert np.all(np.abs(r[ring] - 1.5) < 0.1)  # a thin ring, nothing near the centre


def test_surface_brightness_is_conserved_and_sis_magnification_is_2_theta_e_over_beta():
    from lenstronomy.LightModel.light_model import LightModel

    from skyfm.sim.lenses import _source_kwargs

    step = 0.01
    x, y = _grid(2.5, step)
    src = _source(x=0.3, n=0.5)  # a Gaussian: a flat core, so the grid samples its peak
    lensed = lensed_surface_brightness(x, y, SIS, src)
    light = LightModel(["SERSIC_ELLIPSE"])
    unlensed = light.surface_brightness(x.ravel() + 0.3, y.ravel(), _source_kwargs(**src))
    peak = light.surface_brightness(np.array([0.3]), np.array([0.0]), _source_kwargs(**src))[0]
    assert lensed.max() <= peak * (1 + 1e-9)       # lensing never brightens a pixel...
    assert lensed.max() > 0.95 * peak              # ...it moves surface brightness around
    mu = lensed.sum() / unlensed.sum()             # same grid step: flux ratio
    assert mu == pytest.approx(2 * 1.5 / 0.3, rel=0.05)  # SIS: |mu+| + |mu-| = 2 theta_E/beta


def test_rendered_arcs_are_normalised_and_sit_at_the_einstein_radius_in_pixels():
    arcs = render_arcs((101, 101), (50.0, 50.0), SIS, _source(r_eff=0.1), pixel_scale=0.1,
                       psf_fwhm_arcsec=0.3)
    assert arcs.sum() == pytest.approx(1.0) and arcs.min() >= 0
    yy, xx = np.mgrid[:101, :101]
    r = np.hypot(yy - 50, xx - 50)
    assert np.sum(arcs * r) / arcs.sum() == pytest.approx(15.0, rel=0.05)  # 1.5" / 0.1"/px


def _elliptical(size=201, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(float)
    c = (size - 1) / 2
    r = np.hypot((xx - c) / 1.0, (yy - c) / 0.7)
    gal = 150 * np.exp(-(r / 12.0) ** 0.8)
    planes = [gal * f for f in (1.0, 0.8, 0.5)]  # i, r, g: a red host
    return np.clip(np.round(np.stack(planes) + 10 + rng.normal(0, 1.5, (3, size, size))), 0, 255)


def test_host_properties_find_centre_shape_and_flux():
    d = _elliptical()
    h = host_properties(d, radius=60)
    assert h["centre"] == pytest.approx((100.0, 100.0), abs=0.5)
    assert 0.6 < h["q"] < 0.8                      # the 0.7 axis ratio drawn
    assert abs(np.sin(h["pa"])) < 0.1             # major axis along the columns
    assert h["sky"] == pytest.approx([10, 10, 10], abs=1)
    assert h["flux"][0] > h["flux"][1] > h["flux"][2] > 0


def test_inject_lens_adds_blue_arcs_of_the_drawn_contrast():
    base = Image(_elliptical().astype(np.float32), ["i", "r", "g"], object_id="h1", label="E")
    cfg = LensConfig(theta_e_arcsec=(2.0, 2.0), arc_contrast_mag=(3.0, 3.0),
                     host_radius_pix=60)
    out = inject_lens(base, rng=3, config=cfg)
    assert out.label == "lens" and out.meta["original_label"] == "E"
    assert out.object_id == "h1" and out.shape == base.shape
    m = out.meta["injected_lens"]
    assert m["lens"]["theta_e"] == 2.0 and m["arc_contrast_mag"] == 3.0
    added = out.data.astype(float) - base.data  # the arcs, rounded to whole 8-bit levels
    host = host_properties(base.data, 60)
    assert added[1].sum() == pytest.approx(host["flux"][1] * 10 ** (-0.4 * 3.0), rel=0.1)
    # bluer than the host: more of the arc's light in g relative to r than the host has
    assert added[2].sum() / added[1].sum() > 1.3 * host["flux"][2] / host["flux"][1]
    yy, xx = np.mgrid[:201, :201]
    r = np.hypot(yy - 100, xx - 100)
    w = np.clip(added.sum(0), 0, None)
    assert np.sum(w * r) / w.sum() < 2.0 * 2.0 / 0.2  # within twice theta_E of the host
    np.testing.assert_array_equal(base.data, _elliptical().astype(np.float32))  # input kept


def test_inject_lens_is_reproducible_and_refuses_non_gri_cutouts():
    base = Image(_elliptical(101).astype(np.float32), ["i", "r", "g"])
    a, b = inject_lens(base, rng=7), inject_lens(base, rng=7)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.data.max() <= 255 and np.all(a.data == np.round(a.data))  # stays 8-bit
    with pytest.raises(ValueError, match="3-plane gri"):
        inject_lens(Image(np.ones((1, 50, 50)) * 5), rng=0)


def test_sim_lenses_cli_writes_injected_cutouts_and_their_parameters(tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    from skyfm.cli import _register, app
    from skyfm.data import read
    from skyfm.data.io.images import write_image_file
    from skyfm.errors import OutputExistsError

    _register()
    hosts = tmp_path / "hosts"
    hosts.mkdir()
    for k in range(3):
        write_image_file(Image(_elliptical(101, seed=k).astype(np.float32), ["i", "r", "g"]),
                         hosts / f"h{k}.png")
    runner = CliRunner()
    res = runner.invoke(app, ["sim", "lenses", str(hosts), "--n", "2", "--out",
                              str(tmp_path / "out")])
    assert res.exit_code != 0 and "elliptical" in res.output  # unlabelled: not hosts by default
    res = runner.invoke(app, ["sim", "lenses", str(hosts), "--n", "2", "--any-host",
                              "--theta-e", "1.5,2", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    obs = read(tmp_path / "out")
    assert len(obs) == 2 and {o.label for o in obs} == {"lens"}
    params = pd.read_csv(tmp_path / "out" / "lens_params.csv")
    assert sorted(params["object_id"]) == sorted(obs.object_ids)
    assert params["lens_theta_e"].between(1.5, 2).all()
    res = runner.invoke(app, ["sim", "lenses", str(hosts), "--theta-e", "3,1", "--any-host",
                              "--out", str(tmp_path / "o2")])
    assert res.exit_code != 0 and "MIN <= MAX" in res.output
    # a folder that is not a skyfm output is refused before any injection, and left alone
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    res = runner.invoke(app, ["sim", "lenses", str(tmp_path / "nohosts"), "--any-host",
                              "--out", str(tmp_path / "mine")])
    assert res.exit_code != 0  # the output is checked first (the hosts folder is missing)
    assert isinstance(res.exception, OutputExistsError), res.exception
    assert [f.name for f in (tmp_path / "mine").iterdir()] == ["notes.txt"]
