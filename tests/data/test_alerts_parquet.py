"""Broker alert exports: the real ZTF Avro packets rewritten as Parquet (nested structs as
Fink/ALeRCE hand them out, ``candidate.*`` dotted columns, Fink's ``cjd``/``cmagpsf`` history
columns) read into the same light curves as the Avro; and Avro files with a garbled tail or
block header give a DataFormatError naming the file instead of a huge allocation."""

import shutil

import numpy as np
import pytest

from skyfm.data import Image, LightCurve, read
from skyfm.data.io import detect_format
from skyfm.errors import DataFormatError

pytestmark = [pytest.mark.shared_data,
              pytest.mark.filterwarnings("ignore::skyfm.data.io.DataQualityWarning")]

ALERT = "2019_01_10_739260766315010006.avro"


def _packets(shared_data):
    """Six real packets: four of one object's sequence (merged) and two other objects."""
    import fastavro

    root = shared_data("ztf_alerts_sample")
    files = (sorted((root / "pittgoogle_ZTF21abiuvdk_sequence").glob("*.avro"))[:4]
             + sorted((root / "pittgoogle_alerts_for_testing").glob("*.avro"))[:2])
    recs = []
    for f in files:
        with open(f, "rb") as fh:
            recs += list(fastavro.reader(fh))
    return files, recs


def _avro_copy(files, folder):
    folder.mkdir()
    for f in files:
        shutil.copy(f, folder / f.name)
    return read(folder)


def _assert_same(a, b):
    assert sorted(a.object_ids) == sorted(b.object_ids)
    assert a.report.n_points == b.report.n_points
    bb = b.by_id()
    for x in a:
        y = bb[x.object_id]
        assert isinstance(y, LightCurve)
        np.testing.assert_array_equal(x.time, y.time)
        np.testing.assert_array_equal(x.value, y.value)
        np.testing.assert_array_equal(x.error, y.error)
        np.testing.assert_array_equal(x.band, y.band)
        np.testing.assert_array_equal(x.upper_limit, y.upper_limit)
        assert x.meta["n_alerts"] == y.meta["n_alerts"]


def _dotted(recs):
    rows = []
    for r in recs:
        row = {k: v for k, v in r.items() if k not in ("candidate", "prv_candidates")
               and not k.startswith("cutout")}
        row.update({f"candidate.{k}": v for k, v in r["candidate"].items()})
        prv = r.get("prv_candidates") or []
        keys = sorted({k for q in prv for k in q})
        row.update({f"prv_candidates.{k}": [q.get(k) for q in prv] for k in keys})
        rows.append(row)
    return rows


def _fink(recs):
    rows = []
    for r in recs:
        pts = list(r.get("prv_candidates") or []) + [r["candidate"]]
        row = {"objectId": r["objectId"], "candid": r["candid"]}
        for k in ("jd", "fid", "magpsf", "sigmapsf", "diffmaglim", "isdiffpos"):
            row["c" + k] = [q.get(k) for q in pts]
        rows.append(row)
    return rows


def test_nested_parquet_equals_avro(shared_data, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    files, recs = _packets(shared_data)
    avro = _avro_copy(files, tmp_path / "avro")
    assert len(avro) == 3 and avro.by_id()["ZTF21abiuvdk"].meta["n_alerts"] == 4
    f = tmp_path / "fink_export.bin"  # any name: identified by its schema
    pq.write_table(pa.Table.from_pylist(recs), f)
    assert detect_format(f) == "alert_parquet"
    pq_obs = read(f)
    _assert_same(avro, pq_obs)
    assert any("modality='image'" in w for w in pq_obs.report.warnings)
    cut_pq = read(f, modality="image").by_id()
    cut_avro = read(tmp_path / "avro", modality="image").by_id()
    assert set(cut_pq) == set(cut_avro)
    for k, img in cut_avro.items():
        assert isinstance(cut_pq[k], Image)
        np.testing.assert_array_equal(img.data, cut_pq[k].data)


def test_flattened_parquet_equals_avro(shared_data, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    files, recs = _packets(shared_data)
    avro = _avro_copy(files, tmp_path / "avro")
    for name, rows in (("dotted.parquet", _dotted(recs)), ("fink_c.parquet", _fink(recs))):
        pq.write_table(pa.Table.from_pylist(rows), tmp_path / name)
        assert detect_format(tmp_path / name) == "alert_parquet"
        _assert_same(avro, read(tmp_path / name))
    folder = tmp_path / "exports"  # a folder of Parquet exports reads as one set
    folder.mkdir()
    shutil.copy(tmp_path / "fink_c.parquet", folder / "part-0001.parquet")
    _assert_same(avro, read(folder))


def test_fink_columns_of_different_lengths(shared_data, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    _, recs = _packets(shared_data)
    rows = _fink(recs[:1])
    rows[0]["cmagpsf"] = rows[0]["cmagpsf"][:-1]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "bad.parquet")
    with pytest.raises(DataFormatError, match="bad.parquet") as ei:
        read(tmp_path / "bad.parquet")
    assert ei.value.field == "cjd"


def _real_alert(shared_data) -> bytes:
    return (shared_data("ztf_alerts_sample") / ALERT).read_bytes()


def _zigzag(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def test_avro_tail_claiming_a_terabyte(shared_data, tmp_path):
    """A 19-byte tail: a block of one record claiming 10**12 bytes (MemoryError before)."""
    tail = _zigzag(1) + _zigzag(10**12)
    tail += b"\0" * (19 - len(tail))
    f = tmp_path / "alert_with_tail.avro"
    f.write_bytes(_real_alert(shared_data) + tail)
    with pytest.raises(DataFormatError, match="alert_with_tail.avro") as ei:
        read(f)
    assert "1000000000000 bytes" in str(ei.value) and ei.value.field == "avro block"


@pytest.mark.parametrize("patch", [_zigzag(1) + _zigzag(2**40), _zigzag(2**40) + _zigzag(5),
                                   b"\xff" * 9 + b"\x01", b"\x80" * 10])
def test_avro_block_header_flips(shared_data, tmp_path, patch):
    raw = bytearray(_real_alert(shared_data))
    sync = bytes(raw[-16:])
    start = raw.index(sync) + 16  # the first data block follows the header's sync marker
    raw[start:start + len(patch)] = patch
    f = tmp_path / "flipped.avro"
    f.write_bytes(bytes(raw))
    with pytest.raises(DataFormatError, match="flipped.avro"):
        read(f)


def test_avro_packets_under_other_names(shared_data, tmp_path):
    root = shared_data("ztf_alerts_sample")
    (tmp_path / "packet.bin").write_bytes((root / ALERT).read_bytes())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "472263571115115000").write_bytes(
        (root / "472263571115115000.avro").read_bytes())
    assert detect_format(tmp_path / "packet.bin") == "alerts"
    assert detect_format(tmp_path) == "alerts"
    ref = read(root / ALERT).object_ids + read(root / "472263571115115000.avro").object_ids
    assert sorted(read(tmp_path).object_ids) == sorted(ref)
