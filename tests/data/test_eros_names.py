"""RAMP/EROS files are recognised by their list columns under any name: the challenge's
``test*`` part (with a ``test.csv`` that has no ``type``), renamed, gzipped or not."""

import numpy as np
import pytest

from skyfm.data import read
from skyfm.data.io import detect_format
from skyfm.errors import DataFormatError

pytestmark = [pytest.mark.shared_data,
              pytest.mark.filterwarnings("ignore::skyfm.data.io.DataQualityWarning")]

N = 50


@pytest.fixture
def ramp(shared_data):
    import pandas as pd

    root = shared_data("lc_eros_ramp_variable_stars")
    feats = pd.read_csv(root / "train_varlength_features.csv.gz", index_col=0, nrows=N)
    labels = pd.read_csv(root / "train.csv", index_col=0, nrows=N)
    return feats, labels, read(root, limit=N)


def _same_curves(a, b):
    assert a.object_ids == b.object_ids
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.time, y.time)
        np.testing.assert_array_equal(x.value, y.value)
        np.testing.assert_array_equal(x.band, y.band)


def test_test_part_folder_without_labels(ramp, tmp_path):
    """RAMP's test part: test_varlength_features.csv.gz + test.csv without 'type' (the folder
    read crashed in the catalogue reader with TypeError: ufunc 'bitwise_and')."""
    feats, labels, ref = ramp
    feats.to_csv(tmp_path / "test_varlength_features.csv.gz")
    labels.drop(columns="type").to_csv(tmp_path / "test.csv")
    assert detect_format(tmp_path) == "eros"
    obs = read(tmp_path)
    _same_curves(ref, obs)
    assert all(lc.label is None for lc in obs)
    assert obs[0].meta["period"] == ref[0].meta["period"]  # the other columns still join
    assert any("no 'type' column" in w for w in obs.report.warnings)


def test_train_and_test_parts_in_one_folder(ramp, tmp_path):
    feats, labels, ref = ramp
    feats.iloc[:30].to_csv(tmp_path / "train_varlength_features.csv.gz")
    labels.iloc[:30].to_csv(tmp_path / "train.csv")
    feats.iloc[30:].to_csv(tmp_path / "test_varlength_features.csv.gz")
    obs = read(tmp_path)
    assert sorted(obs.object_ids) == sorted(ref.object_ids)
    by = obs.by_id()
    assert all(by[i].label == r.label for i, r in zip(ref.object_ids[:30], ref[:30]))
    assert all(by[i].label is None for i in ref.object_ids[30:])
    assert len(read(tmp_path, file="test_varlength_features.csv.gz")) == 20


@pytest.mark.parametrize("name,gz", [("mystars.csv", False), ("mystars.csv", True),
                                     ("renamed.txt.gz", True), ("curves", False)])
def test_renamed_file(ramp, tmp_path, name, gz):
    feats, _, ref = ramp
    feats.to_csv(tmp_path / name, compression="gzip" if gz else None)
    assert detect_format(tmp_path / name) == "eros"
    obs = read(tmp_path / name)
    _same_curves(ref, obs)
    assert all(lc.label is None for lc in obs)  # no label table named after this file


def test_test_file_is_not_labelled_from_train_csv(ramp, tmp_path):
    """A test part beside train.csv must not take its labels from the training table."""
    feats, labels, _ = ramp
    feats.to_csv(tmp_path / "test_varlength_features.csv.gz")
    labels.to_csv(tmp_path / "train.csv")
    obs = read(tmp_path / "test_varlength_features.csv.gz")
    assert all(lc.label is None for lc in obs)


def test_explicit_label_table_without_type(ramp, tmp_path):
    feats, labels, _ = ramp
    feats.to_csv(tmp_path / "mystars.csv")
    labels.drop(columns="type").to_csv(tmp_path / "lab.csv")
    with pytest.raises(DataFormatError, match="type"):
        read(tmp_path / "mystars.csv", labels_file=tmp_path / "lab.csv")


def test_unknown_keyword_is_a_type_error(shared_data):
    with pytest.raises(TypeError, match="'limt' for reader 'eros'"):
        read(shared_data("lc_eros_ramp_variable_stars"), limt=5)
