"""Known catalogues: coded labels are read as names, and label-like target columns (SDSS
spectroscopic redshift) are never input features (discovery would embed them)."""

import collections

import pytest

from skyfm.data import read
from skyfm.data.tablerow import expand_catalogs
from skyfm.errors import DataFormatError

SDSS_HEADER = ("objid,ra,dec,u,g,r,i,z,run,rerun,camcol,field,specobjid,class,redshift,plate,"
               "mjd,fiberid\n")
SDSS_ROWS = ("1.2e+18,183.5,0.09,19.4,17.0,15.9,15.5,15.2,752,301,4,267,3.7e+18,STAR,-8e-06,"
             "3306,54922,491\n"
             "1.2e+18,183.6,0.13,18.6,17.5,17.0,16.7,16.4,752,301,4,267,3.6e+18,GALAXY,0.12,"
             "323,51615,541\n")


def test_sdss_redshift_is_a_target_not_a_feature(tmp_path):
    f = tmp_path / "Skyserver_SQL2_27_2018_6_51_39_PM.csv"
    f.write_text(SDSS_HEADER + SDSS_ROWS)
    cat = read(f)[0]
    assert cat.label_column == "class" and cat.target_columns == ["redshift"]
    assert cat.feature_columns == ["u", "g", "r", "i", "z"]
    assert cat.table["redshift"].tolist() == [-8e-06, 0.12]  # kept, as a label
    rows = expand_catalogs([cat])
    assert [r.label for r in rows] == ["STAR", "GALAXY"]
    assert all("redshift" not in r.values for r in rows)  # discovery never embeds it


def test_target_columns_survive_the_generic_layout(tmp_path):
    """Converting the SDSS file to the generic layout and reading it back keeps redshift a
    target: it must not turn into an input feature on the way."""
    from skyfm.data import Catalog, load_dataset, write_dataset

    f = tmp_path / "Skyserver_SQL2_27_2018_6_51_39_PM.csv"
    f.write_text(SDSS_HEADER + SDSS_ROWS)
    write_dataset(read(f), tmp_path / "out")
    back = [o for o in load_dataset(tmp_path / "out") if isinstance(o, Catalog)][0]
    assert back.target_columns == ["redshift"]
    assert "redshift" not in back.feature_columns
    assert back.table["redshift"].tolist() == [-8e-06, 0.12]


def test_htru2_and_magic_labels_are_names(tmp_path):
    (tmp_path / "HTRU_2.csv").write_text("1,2,3,4,5,6,7,8,0\n2,3,4,5,6,7,8,9,1\n3,4,5,6,7,8,9,0,\n")
    cat = read(tmp_path / "HTRU_2.csv")[0]
    assert cat.labels.tolist() == ["not_pulsar", "pulsar", None]  # a missing label stays missing
    assert cat.meta["label_names"] == {"0": "not_pulsar", "1": "pulsar"}
    (tmp_path / "magic04.data").write_text("1,2,3,4,5,6,7,8,9,10,g\n2,3,4,5,6,7,8,9,10,11,h\n")
    assert read(tmp_path / "magic04.data")[0].labels.tolist() == ["gamma", "hadron"]


def test_known_catalogues_are_recognised_by_their_columns_under_any_name(tmp_path):
    """A cut, renamed or re-cased copy is the same catalogue: SDSS class stays the label and
    redshift a target; headerless HTRU2/MAGIC rows keep their first row and name their labels."""
    up = SDSS_HEADER.upper().replace("OBJID", "objID")  # SkyServer exports mix the case
    (tmp_path / "my_sdss_cut.csv").write_text(up + SDSS_ROWS)
    cat = read(tmp_path / "my_sdss_cut.csv")[0]
    assert cat.label_column == "CLASS" and cat.target_columns == ["REDSHIFT"]
    assert cat.feature_columns == ["U", "G", "R", "I", "Z"]
    assert cat.labels.tolist() == ["STAR", "GALAXY"]
    (tmp_path / "pulsars.csv").write_text("1,2,3,4,5,6,7,8,1\n2,3,4,5,6,7,8,9,0\n")
    htru = read(tmp_path / "pulsars.csv")[0]
    assert htru.labels.tolist() == ["pulsar", "not_pulsar"] and "class" not in htru.feature_columns
    (tmp_path / "gamma_events.csv").write_text("1,2,3,4,5,6,7,8,9,10,g\n2,3,4,5,6,7,8,9,10,11,h\n")
    magic = read(tmp_path / "gamma_events.csv")[0]
    assert len(magic.table) == 2 and magic.labels.tolist() == ["gamma", "hadron"]


def test_headerless_table_keeps_its_first_row_and_says_so(tmp_path):
    (tmp_path / "numbers.csv").write_text("1.5,2,3\n4,5,6\n7,8,9\n")
    obs = read(tmp_path / "numbers.csv")
    cat = obs[0]
    assert len(cat.table) == 3 and cat.table["col1"].tolist() == [1.5, 4, 7]
    assert any("no header row" in w for w in obs.report.warnings)


def test_unknown_label_code_is_an_error_naming_file_and_field(tmp_path):
    (tmp_path / "magic04.data").write_text("1,2,3,4,5,6,7,8,9,10,g\n2,3,4,5,6,7,8,9,10,11,x\n")
    with pytest.raises(DataFormatError) as ei:
        read(tmp_path / "magic04.data")
    msg = str(ei.value)
    assert "magic04.data" in msg and "class" in msg and "'x'" in msg and "gamma" in msg


def test_shared_catalogues_labels_and_features(shared_data):
    sdss = read(shared_data("catalog_sdss_dr14_skyserver10k"))[0]
    assert "redshift" not in sdss.feature_columns and sdss.target_columns == ["redshift"]
    htru = read(shared_data("catalog_htru2_pulsars"))[0]
    assert collections.Counter(htru.labels) == {"not_pulsar": 11416, "pulsar": 1113}
    magic = read(shared_data("catalog_magic_gamma_uci"))[0]
    assert collections.Counter(magic.labels) == {"gamma": 8632, "hadron": 4682}
