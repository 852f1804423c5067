"""The HTML report: templates, escaping, candidate cards (position, archive links, flags),
fixed band colours, artefact flags, wording with units, and the demo's hidden classes."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

from skyfm.data import Image, LightCurve
from skyfm.discover.artefact import artefact_flag, artefact_flags, image_artefact
from skyfm.discover.report import archive_links, position, write_report
from skyfm.discover.style import band_colour, plot_lightcurve

HOSTILE = "<script>alert(1)</script>"


def _cands(ids, **cols) -> pd.DataFrame:
    n = len(ids)
    df = pd.DataFrame({"object_id": ids, "score": np.linspace(0.99, 0.5, n),
                       "rank": np.arange(1, n + 1), "epistemic": 0.01, "aleatoric": 0.02,
                       "neighbours": "a;b", "reason": "odd.", "quality": "ok",
                       "artefact": "none"})
    for k, v in cols.items():
        df[k] = v
    return df


def _lc(oid, mags: dict[str, float], n: int = 12, **meta) -> LightCurve:
    t, v, b = [], [], []
    for band, m in mags.items():
        t += list(np.arange(n) + 58000.0)
        v += [m] * n
        b += [band] * n
    v = np.asarray(v) + np.random.default_rng(0).normal(0, 0.05, len(v))
    return LightCurve(np.asarray(t), v, np.full(len(v), 0.05), np.asarray(b), object_id=oid,
                      meta=meta)


def _render(tmp_path, df, observations=None, **kw) -> str:
    p = write_report(tmp_path / "report" / "index.html", df, plots={}, map_png=None,
                     hist_png=None, info={"n": len(df), "modality": "lightcurve"},
                     observations=observations, **kw)
    return p.read_text(encoding="utf-8")


def test_hostile_id_label_and_reason_are_escaped(tmp_path):
    df = _cands([HOSTILE, "ok-1"], reason=['<img src=x onerror="alert(2)">', "fine."],
                label=[HOSTILE, None])
    html = _render(tmp_path, df)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_card_shows_position_simbad_and_ztf_archive_links(tmp_path):
    oid = "ZTF19abcdefg"
    df = _cands([oid, "star-2"], label=["SNIa", None])
    obs = {oid: _lc(oid, {"g": 19.0, "r": 18.8}, ra=150.00125, dec=-2.5),
           "star-2": _lc("star-2", {"g": 15.0})}
    html = _render(tmp_path, df, obs)
    card = html[html.index('id="cand-1"'):html.index('id="cand-2"')]
    assert "10:00:00.30 -02:30:00.0" in card and "150.00125, -2.50000 deg" in card
    assert "https://simbad.cds.unistra.fr/simbad/sim-coo?Coord=150.001250+-2.500000" \
           "&amp;Radius=5&amp;Radius.unit=arcsec" in card
    assert f"https://alerce.online/object/{oid}" in card
    assert f"https://fink-portal.org/{oid}" in card
    assert "https://www.wis-tns.org/search?ra=150.001250&amp;decl=-2.500000" in card
    assert "label: SNIa" in card
    other = html[html.index('id="cand-2"'):]
    assert "position not in the data" in other and "simbad" not in other.split("</article>")[0]


def test_archive_links_only_for_real_ztf_ids_and_known_positions():
    assert archive_links("star-1", None) == []
    assert [n for n, _ in archive_links("ZTF20aaxyzab", None)] == ["ALeRCE", "Fink", "TNS"]
    assert archive_links("ZTF20AAXYZAB", None) == []  # not a ZTF object id
    assert [n for n, _ in archive_links("x", position({"ra": 1.0, "dec": 2.0}))] == ["SIMBAD"]
    assert position({"ra": 400.0, "dec": 0.0}) is None
    assert position({"ra": None, "dec": 1.0}) is None


def test_report_fetches_nothing_from_the_network(tmp_path):
    oid = "ZTF19abcdefg"
    html = _render(tmp_path, _cands([oid]), {oid: _lc(oid, {"g": 19.0}, ra=10.0, dec=20.0)})
    assert "http" in html  # it does link out ...
    for tag in re.findall(r"<(?:script|img|link|iframe|source|embed)\b[^>]*>", html):
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", tag), tag
    assert "@import" not in html and "url(http" not in html


def test_band_colours_are_one_mapping_across_panels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    assert band_colour("zg") == band_colour("ZTF_g") == band_colour("g")
    assert len({band_colour(b) for b in "ugrizy"}) == 6
    assert band_colour("my-band") == band_colour("my-band")  # unknown: still stable
    fig, (a1, a2) = plt.subplots(1, 2)
    plot_lightcurve(_lc("a", {"r": 18.0}), a1)  # r alone: would be C0 with the default cycle
    plot_lightcurve(_lc("b", {"g": 18.0, "r": 18.5, "i": 18.9}), a2)

    def colours(ax):
        return {c.get_label(): to_hex(c.lines[0].get_color()) for c in ax.containers}

    c1, c2 = colours(a1), colours(a2)
    plt.close(fig)
    assert c1["r"] == c2["r"] == band_colour("r")
    assert c2["g"] == band_colour("g") and c2["i"] == band_colour("i")


def test_artefact_flags_on_constructed_cases():
    ok = _lc("ok", {"g": 18.4, "r": 18.0})
    bad_colour = _lc("bad", {"g": 14.0, "r": 19.5})
    flags = artefact_flags([ok, bad_colour, ok], ["ok", "ok", "few_points"])
    assert flags[0] == "none"
    assert re.fullmatch(r"impossible_colour\(g-r=-5\.[45]\d mag\)", flags[1]), flags[1]
    assert flags[2] == "few_points"
    rng = np.random.default_rng(1)
    sky = rng.normal(100, 5, (3, 16, 16))
    assert artefact_flag(Image(sky, ["sci", "ref", "diff"])) == "none"
    flat = sky.copy()
    flat[1] = 7.0
    assert artefact_flag(Image(flat, ["sci", "ref", "diff"])) == \
        "placeholder_image(ref: constant)"
    holes = sky.copy()
    holes[2, :12] = 0.0
    assert image_artefact(holes, ["sci", "ref", "diff"]) == \
        "placeholder_image(diff: 75% NaN or zero pixels)"


def test_artefact_flag_is_shown_on_the_card(tmp_path):
    df = _cands(["odd-1"], artefact=["impossible_colour(g-r=-5.5 mag)"])
    html = _render(tmp_path, df)
    assert "possible artefact: impossible_colour(g-r=-5.5 mag)" in html


def test_reasons_speak_in_units_and_directions():
    from skyfm.discover.explain import reasons

    rng = np.random.default_rng(0)
    F = np.column_stack([rng.normal(18.9, 0.1, 40), rng.normal(0.3, 0.02, 40)])
    F[0] = [20.8, 0.3]
    nb = np.tile(np.arange(1, 11), (40, 1))
    score = np.r_[1.0, np.linspace(0, 0.5, 39)]
    why, _ = reasons(F, ["median_i", "amplitude_r"], nb, {}, score, unit="mag")
    assert why[0].startswith("i-band median magnitude 20.8, fainter than its neighbours "
                             "(median 18.9)"), why[0]


def test_demo_report_reveals_hidden_classes_only_after_the_ranking(tmp_path):
    df = _cands(["obj-0001", "obj-0002"], label=[None, "rrlyrae"])
    html = _render(tmp_path, df, template="demo_report.html.j2", title="demo",
                   examples=[{"label": "rrlyrae", "object_id": "obj-0002", "png": "AAAA"}],
                   hidden=[{"object_id": "obj-0001", "true_class": "microlensing", "rank": 1}])
    assert html.index("Top candidates") < html.index("What was hidden")
    assert "microlensing" not in html[:html.index("What was hidden")]
    assert html.index("labelled classes") < html.index("Top candidates")
    assert "rrlyrae: obj-0002" in html


def test_demo_ids_and_order_hide_the_simulated_classes():
    from skyfm.demo import load_demo_observations
    from skyfm.sim import COMMON_CLASSES, RARE_CLASSES

    obs, rare = load_demo_observations(None, n_per_class=4, n_rare=3, seed=0, limit=None,
                                       survey="ztf", progress=lambda d, t: (lambda k=1: None))
    ids = [o.object_id for o in obs]
    assert all(re.fullmatch(r"obj-\d{4}", i) for i in ids) and len(set(ids)) == len(ids)
    names = [c.lower() for c in (*COMMON_CLASSES, *RARE_CLASSES)]
    assert not any(c in i.lower() for i in ids for c in names)
    truth = [o.meta["true_class"] for o in obs]
    runs = sum(a != b for a, b in itertools.pairwise(truth))
    assert runs > len(set(truth))  # shuffled: classes are not in blocks
    assert all(o.label is None for o in obs if o.meta["true_class"] in rare)


@pytest.mark.shared_data
def test_real_ztf_alert_card_has_cutouts_position_and_links(tmp_path, shared_data):
    from skyfm.data import read

    lcs = read(shared_data("ztf_alerts_sample"))
    lc = next(o for o in lcs if o.object_id == "ZTF17aaacxxf")
    html = _render(tmp_path, _cands([lc.object_id]), {lc.object_id: lc})
    assert 'class="cutouts"' in html and "science" in html  # science/template/difference
    assert "05:00:48.19 +35:21:41.0" in html
    assert "https://alerce.online/object/ZTF17aaacxxf" in html
    assert "possible artefact:" not in html  # real stamps, a real colour
