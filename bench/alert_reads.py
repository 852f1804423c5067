"""How long reading the shared ZTF alerts takes: the Avro folder as light curves (the default)
or as cutouts, and the same ZTF packets as one nested Parquet export.

    SKYFM_DATA_DIR=/path/to/shared/data python bench/alert_reads.py

Writes the Parquet copy to a temporary folder; prints the best of three reads of each.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path


def _best(fn, n: int = 3) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(n):
        t = time.perf_counter()
        size = len(fn())
        times.append(time.perf_counter() - t)
    return min(times), size


def main() -> None:
    import fastavro
    import pyarrow as pa
    import pyarrow.parquet as pq

    from skyfm.data import read
    from skyfm.data.io.alerts import avro_files
    from skyfm.data.registry import dataset_path

    warnings.simplefilter("ignore")
    folder = dataset_path("ztf_alerts_sample")
    recs = []
    for f in avro_files(folder):
        with open(f, "rb") as fh:
            recs += [r for r in fastavro.reader(fh) if "candidate" in r]
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "ztf_nested.parquet"
        pq.write_table(pa.Table.from_pylist(recs), export)
        for name, fn in (("Avro folder -> light curves", lambda: read(folder)),
                         ("Avro folder -> cutout images", lambda: read(folder, modality="image")),
                         (f"nested Parquet ({len(recs)} ZTF packets) -> light curves",
                          lambda: read(export))):
            t, n = _best(fn)
            print(f"{name}: {n} objects, best of 3: {t:.2f} s")


if __name__ == "__main__":
    main()
