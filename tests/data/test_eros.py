import gzip

import numpy as np
import pandas as pd
import pytest
from data_synth import write_eros

from skyfm.data import LightCurve, read
from skyfm.data.io.eros import parse_list_column
from skyfm.errors import DataFormatError


def test_synthetic_eros_reads_labels_bands_and_period(tmp_path):
    d = write_eros(tmp_path / "eros", n=4)
    obs = read(d)
    assert len(obs) == 4 and all(isinstance(o, LightCurve) for o in obs)
    assert obs.object_ids == ["100_0", "101_1", "102_2", "103_3"]
    assert obs.labels == ["binary", "cepheid", "rr_lyrae", "mira"]
    lc = obs[1]
    assert lc.bands == ["B", "R"] or lc.bands == ["R", "B"]
    assert lc.kind == "mag"
    assert np.all(np.diff(lc.time) >= 0)
    assert lc.meta["period"] == pytest.approx(2.0)  # 4.0 / div_period 2
    assert lc.meta["period_catalog"] == 4.0
    assert obs.report.n_points == sum(len(o) for o in obs)


def test_eros_file_path_also_works_and_limit(tmp_path):
    d = write_eros(tmp_path / "eros", n=5)
    obs = read(d / "train_varlength_features.csv.gz", limit=2)
    assert obs.object_ids == ["100_0", "101_1"]
    assert obs.labels[0] == "binary"


def test_eros_nan_points_are_counted_or_raise_when_strict(tmp_path):
    d = write_eros(tmp_path / "eros", n=2, override={
        0: {"time_points_b": "[300.0, 301.0, 302.0]", "light_points_b": "[18.0, nan, 18.2]",
            "error_points_b": "[0.1, 0.1, 0.1]"}})
    with pytest.warns(UserWarning, match="non-finite"):
        obs = read(d)
    assert obs.report.dropped == {"non-finite mag": 1}
    assert (obs[0].band == "B").sum() == 2
    with pytest.raises(DataFormatError, match="light_points"):
        read(d, strict=True)


@pytest.mark.parametrize("override,field", [
    ({"light_points_r": "[1.0]"}, "light_points_r"),
    ({"time_points_b": "[300.0, 299.0]", "light_points_b": "[1, 2]",
      "error_points_b": "[0.1, 0.1]"}, "time"),
    ({"error_points_b": None}, "error_points_b"),
    ({"time_points_b": "[300.0, abc]"}, "time_points_b"),
    ({"time_points_b": "300.0"}, "time_points_b"),
])
def test_eros_structural_problems_raise_naming_the_field(tmp_path, override, field):
    d = write_eros(tmp_path / "eros", n=2, override={1: override})
    if override.get("error_points_b", "") is None:
        f = d / "train_varlength_features.csv.gz"
        df = pd.read_csv(f, index_col=0)
        df.loc["101_1", "error_points_b"] = np.nan
        with gzip.open(f, "wt") as fh:
            df.to_csv(fh)
    with pytest.raises(DataFormatError) as ei:
        read(d)
    assert field in ei.value.field
    assert "train_varlength_features" in str(ei.value)


def test_eros_repeated_time_merged_or_raised_when_strict(tmp_path):
    d = write_eros(tmp_path / "eros", n=2, override={1: {
        "time_points_b": "[300.0, 300.0]", "light_points_b": "[1, 2]",
        "error_points_b": "[0.1, 0.1]"}})
    with pytest.warns(UserWarning, match="repeated"):
        obs = read(d)
    assert sum(obs.report.dropped.values()) == 1
    with pytest.raises(DataFormatError) as ei:
        read(d, strict=True)
    assert "time" in ei.value.field


def test_eros_negative_error_and_missing_column_raise(tmp_path):
    d = write_eros(tmp_path / "e1", n=1, override={0: {
        "time_points_r": "[1.0, 2.0]", "light_points_r": "[18.0, 18.1]",
        "error_points_r": "[0.1, -0.1]"}})
    with pytest.raises(DataFormatError, match="negative"):
        read(d)
    f = d / "train_varlength_features.csv.gz"
    df = pd.read_csv(f, index_col=0)
    df = df.drop(columns=["light_points_b"])
    with gzip.open(f, "wt") as fh:
        df.to_csv(fh)
    with pytest.raises(DataFormatError) as ei:
        read(d)
    assert ei.value.field == "light_points_b"


def test_parse_list_column_empty_list():
    lens, vals = parse_list_column(["[]", "[1.5, 2.5]"], "x", "f")
    assert lens.tolist() == [0, 2] and vals.tolist() == [1.5, 2.5]
