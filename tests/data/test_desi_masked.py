"""DESI coadds keep fibres with no valid pixel (sky and unassigned fibres): flagged and listed
by OBJTYPE, never silently mixed in with real spectra."""

import pytest

from skyfm.data import read
from skyfm.data.io import DataQualityWarning

pytestmark = pytest.mark.shared_data


def test_all_masked_fibres_are_flagged_and_listed(shared_data):
    folder = shared_data("spectra_desi_edr_specutils_testdata")
    with pytest.warns(DataQualityWarning, match="no valid pixel"):
        obs = read(folder)
    empty = [s for s in obs if s.meta.get("all_masked")]
    assert len(empty) == 7 and all(s.mask.all() for s in empty)
    assert not any(s.mask.all() for s in obs if not s.meta.get("all_masked"))
    text = " ".join(obs.report.warnings)
    assert "SKY: 1 (" in text and "TGT: 1 (" in text and text.count("unassigned: ") == 2
    sky = [s for s in empty if s.meta.get("OBJTYPE") == "SKY"][0]
    assert sky.object_id in text
