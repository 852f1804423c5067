"""Property-based: export-style light-curve tables with odd values, under odd names, either read
(every point accounted for) or raise skyfm's own errors, with read()'s safety net off."""

import os
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skyfm.data import ObservationSet, read
from skyfm.errors import SkyfmError

FUZZ = settings(max_examples=int(os.environ.get("SKYFM_FUZZ_EXAMPLES", "30")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HEADERS = ["mjd,mag,magerr,filter", "oid,mjd,mag,magerr,filtercode,catflags",
           "HJD,mag,mag_err,flux(mJy),flux_err,Filter", "###MJD m dm uJy duJy F",
           "source_id,band,time,mag,flux,flux_error", "", "# HJD mag err"]
CELLS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.sampled_from(["", "zg", "zr", "g", "c", "o", "V", "G", "BP", "true", "abc",
                                   ">17.5", "99.99", "2459000.5", "58000.1", "5000.2", "-1",
                                   "0", "1", "2", "3"]))


@pytest.fixture(autouse=True)
def _no_safety_net():
    import skyfm.data.io as io_mod

    with io_mod.without_safety_net():
        yield


@FUZZ
@given(header=st.sampled_from(HEADERS), rows=st.lists(st.lists(CELLS, min_size=1, max_size=7),
                                                      max_size=6),
       name=st.sampled_from(["star", "star.csv", "star.txt", "star.dat", "star.tbl"]))
def test_random_export_tables(header, rows, name):
    sep = " " if header.startswith(("###", "#")) or not header else ","
    text = "\n".join([header] + [sep.join(r) for r in rows]) + "\n"
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.write_text(text)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = read(p)
            except SkyfmError as exc:
                assert getattr(exc, "file", None) is not None or "star" in str(exc)
                return
    assert isinstance(out, ObservationSet)
    assert all(v > 0 for v in out.report.dropped.values())
