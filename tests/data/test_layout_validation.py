"""The generic layout refuses ambiguous tables and reports what it ignores."""

import numpy as np
import pandas as pd
import pytest

from skyfm.data.layout import load_dataset
from skyfm.errors import DataFormatError


def test_duplicate_and_empty_table_ids_raise_naming_the_file(tmp_path):
    pd.DataFrame({"object_id": ["a", "a", "b"], "x": [1.0, 2.0, 3.0]}).to_csv(
        tmp_path / "table.csv", index=False)
    with pytest.raises(DataFormatError) as err:
        load_dataset(tmp_path)
    assert err.value.field == "object_id" and "table.csv" in str(err.value)


def test_non_finite_table_values_are_counted_or_raise(tmp_path):
    pd.DataFrame({"object_id": ["a", "b", "c"], "x": [1.0, np.inf, 3.0]}).to_csv(
        tmp_path / "table.csv", index=False)
    obs = load_dataset(tmp_path)
    assert sum(obs.report.dropped.values()) == 1
    assert np.isnan(obs[0].table["x"].iloc[1])
    with pytest.raises(DataFormatError) as err:
        load_dataset(tmp_path, strict=True)
    assert err.value.field == "x"


def test_unmatched_labels_and_unsupported_images_are_reported(tmp_path):
    pd.DataFrame({"object_id": ["a", "b"], "x": [1.0, 2.0]}).to_csv(tmp_path / "table.csv",
                                                                     index=False)
    pd.DataFrame({"object_id": ["a", "zz"], "label": ["s", "q"]}).to_csv(
        tmp_path / "labels.csv", index=False)
    with pytest.warns(UserWarning, match="match no object"):
        obs = load_dataset(tmp_path)
    assert any("'zz'" in w for w in obs.report.warnings)
