"""Folders with several kinds of data: ``read(modality=..., file=...)`` and the defaults for
the shared ZTF alert, photutils and LINEAR folders (each used to give one mixed set that
``discover`` refused with "duplicate object ids")."""

import pytest

from skyfm.data import Catalog, Image, LightCurve, read
from skyfm.errors import DataFormatError, DataNotFoundError

pytestmark = [pytest.mark.shared_data,
              pytest.mark.filterwarnings("ignore::skyfm.data.io.DataQualityWarning")]

FAST = {"n_members": 1, "n_noise": 0, "top": 0, "report": False, "scorers": ("knn",)}


def _discover(obs):
    from skyfm.discover import discover

    return discover(obs, None, **FAST)


def test_ztf_alert_folder_light_curves_by_default(shared_data):
    folder = shared_data("ztf_alerts_sample")
    lcs = read(folder, limit=8)
    assert len(lcs) == 8 and all(isinstance(o, LightCurve) for o in lcs)
    assert any("ignored the cutout images of 8 object(s)" in w and "modality='image'" in w
               for w in lcs.report.warnings)
    cands = _discover(lcs)
    assert sorted(cands["object_id"]) == sorted(lcs.object_ids)


def test_ztf_alert_folder_cutouts(shared_data):
    folder = shared_data("ztf_alerts_sample")
    imgs = read(folder, modality="image", limit=8)
    assert len(imgs) == 8 and all(isinstance(o, Image) for o in imgs)
    assert imgs[0].bands == ["science", "template", "difference"]
    assert sorted(imgs.object_ids) == sorted(read(folder, limit=8).object_ids)
    assert len(_discover(imgs)) == 8
    with pytest.raises(DataFormatError, match="not 'spectrum'"):
        read(folder, modality="spectrum")


def test_ztf_alert_folder_one_file(shared_data):
    folder = shared_data("ztf_alerts_sample")
    one = read(folder, file="pittgoogle_misc/DC21baaa.570349.decat_20210414_2021A-0113.avro")
    assert one.object_ids == ["DC21baaa"]
    with pytest.raises(DataNotFoundError, match="no file 'nope.avro'"):
        read(folder, file="nope.avro")
    with pytest.raises(DataFormatError, match="not inside the folder"):
        read(folder, file="../lc_eros_ramp_variable_stars/train.csv")


def test_photutils_folder_lists_the_choices(shared_data):
    folder = shared_data("images_fits_photutils_datasets")
    with pytest.raises(DataFormatError) as ei:
        read(folder)
    text = str(ei.value)
    for name in ("M51.fits", "spitzer_example_image.fits", "spitzer_example_catalog.xml",
                 "SA112-SF1-ra-dec-list.txt", "--modality", "--file"):
        assert name in text
    with pytest.raises(DataFormatError, match="not concatenated") as ei:
        read(folder, modality="catalog")  # two unrelated catalogues
    assert "spitzer_example_catalog.xml" in str(ei.value)
    imgs = read(folder, modality="image")
    assert sorted(imgs.object_ids) == ["M51", "M6707HH", "irac_ch1_flight",
                                       "spitzer_example_image"]
    assert any("ignored 2 catalogue(s)" in w for w in imgs.report.warnings)
    cat = read(folder, file="spitzer_example_catalog.xml")
    assert len(cat) == 1 and isinstance(cat[0], Catalog) and len(cat[0]) == 224
    assert len(read(folder, file="SA112-SF1-ra-dec-list.txt")) == 1


def test_photutils_discover_runs_per_modality(shared_data):
    folder = shared_data("images_fits_photutils_datasets")
    cands = _discover(read(folder, file="spitzer_example_catalog.xml", limit=40))
    assert len(cands) == 40 and cands["object_id"].is_unique


def test_linear_folder_reads_its_primary_table(shared_data):
    folder = shared_data("catalog_linear_astroml")
    obs = read(folder, limit=60)
    assert len(obs) == 1 and len(obs[0]) == 60 and obs[0].label_column == "LCtype"
    assert any("RRLyrae.fit" in w and "allLINEARfinal_targets.dat.gz" in w
               for w in obs.report.warnings)
    cands = _discover(obs)
    assert len(cands) == 60 and cands["object_id"].is_unique
    rr = read(folder, file="RRLyrae.fit")
    assert len(rr[0]) == 483


def test_unregistered_catalogue_folder_lists_tables(shared_data, tmp_path):
    """The same three tables outside the registry: no primary known, so the choice is asked."""
    import shutil

    src = shared_data("catalog_linear_astroml")
    for name in ("RRLyrae.fit", "allLINEARfinal_targets.dat.gz"):
        shutil.copy(src / name, tmp_path / name)
    with pytest.raises(DataFormatError, match="2 different catalogues") as ei:
        read(tmp_path)
    assert "RRLyrae.fit" in str(ei.value) and "--file" in str(ei.value)
    assert len(read(tmp_path, file="RRLyrae.fit")[0]) == 483


def test_modality_and_keywords_are_checked(shared_data):
    eros = shared_data("lc_eros_ramp_variable_stars")
    with pytest.raises(DataFormatError, match="holds lightcurve data"):
        read(eros, modality="image")
    with pytest.raises(DataFormatError, match="unknown modality 'lc'"):
        read(eros, modality="lc")
    with pytest.raises(TypeError, match="'limt' for reader 'catalog'"):
        read(shared_data("catalog_htru2_pulsars"), limt=5)
    with pytest.raises(TypeError, match="'limt' for reader 'image_folder'"):
        read(shared_data("images_fits_photutils_datasets"), modality="image", limt=5)


def test_images_beside_a_csv_table(shared_data, tmp_path):
    import shutil

    src = shared_data("images_fits_photutils_datasets")
    shutil.copy(src / "M6707HH.fits", tmp_path / "M6707HH.fits")
    (tmp_path / "notes.csv").write_text("object_id,x\na,1\nb,2\n")
    imgs = read(tmp_path, modality="image")
    assert imgs.object_ids == ["M6707HH"] and isinstance(imgs[0], Image)
    table = read(tmp_path)  # the folder's one table, saying that the image was left out
    assert len(table) == 1 and len(table[0]) == 2
    assert any("modality='image'" in w for w in table.report.warnings)


def test_images_with_a_labels_csv_beside_them_are_labelled_images(tmp_path):
    """A folder of JPEGs plus labels.csv (object_id,label) is an image folder whose labels come
    from that file; it used to be read as a one-table catalogue, 0 objects scored."""
    import numpy as np
    from PIL import Image as PILImage

    rng = np.random.default_rng(0)
    for name in ("g1", "g2", "g3"):
        PILImage.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(
            tmp_path / f"{name}.jpeg")
    (tmp_path / "labels.csv").write_text("object_id,label\ng1,spiral\ng2,elliptical\nzz,merger\n")
    obs = read(tmp_path)
    assert all(isinstance(o, Image) for o in obs) and len(obs) == 3
    assert {o.object_id: o.label for o in obs} == {"g1": "spiral", "g2": "elliptical", "g3": None}
    assert any("1 label(s) match no image" in w for w in obs.report.warnings)
    # any other table beside the images is still a choice the user makes
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataFormatError):
        read(tmp_path)
