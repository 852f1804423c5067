"""Mutators for the fuzz engine: each turns a :class:`~skyfm.testing.fuzz_seeds.Seed` into a
:class:`Case` (the files to write, what to read) using only the ``random.Random`` it is given,
so a case is fully determined by (seed file, mutator, rng seed).

A case is *destructive* when the mutation removes content a reader needs (a required column
dropped, renamed away, made all-NaN or boolean; the file cut to its header or emptied):
reading it with neither an error nor a warning/report entry is a silent acceptance.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from skyfm.testing.fuzz_seeds import Seed


@dataclass
class Case:
    """Files to write (relative path -> bytes) and the path to read ("" = the folder)."""

    files: dict[str, bytes]
    target: str
    destructive: bool = False
    note: str = ""
    extra_dirs: list[str] = field(default_factory=list)


def _case(seed: Seed, files: dict[str, bytes], main: str | None = None, **kw) -> Case:
    main = seed.main if main is None else main
    return Case(files, "" if seed.target == "dir" else main, **kw)


# ----------------------------------------------------------------------------- bytes


def _raw(seed: Seed) -> bytes:
    return seed.files[seed.main]


# formats that know their own length (FITS blocks, zip/parquet footers, bz2/avro blocks): a
# truncated copy is always detectable, so reading one without a word is a silent acceptance
SELF_DELIMITED = (".fits", ".fits.gz", ".npz", ".avro", ".parquet", ".tar.bz2")


def m_truncate(seed, rng):
    b = _raw(seed)
    k = rng.randrange(0, max(1, len(b)))
    return _case(seed, {**seed.files, seed.main: b[:k]}, note=f"cut at byte {k} of {len(b)}",
                 destructive=k == 0 or seed.main.endswith(SELF_DELIMITED))


def m_flip(seed, rng):
    b = bytearray(_raw(seed))
    where = [rng.randrange(len(b)) for _ in range(rng.randint(1, 8))]
    # half the time hit the first 4 kB (headers, schemas, magic numbers) where parsing happens
    if rng.random() < 0.5:
        where = [w % min(len(b), 4096) for w in where]
    for w in where:
        b[w] ^= rng.randint(1, 255)
    return _case(seed, {**seed.files, seed.main: bytes(b)}, note=f"flipped bytes {where}")


def m_insert(seed, rng):
    b = _raw(seed)
    k = rng.randrange(len(b) + 1) if rng.random() < 0.5 else rng.randrange(min(len(b), 4096) + 1)
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return _case(seed, {**seed.files, seed.main: b[:k] + junk + b[k:]},
                 note=f"inserted {junk!r} at {k}")


def m_delete(seed, rng):
    b = _raw(seed)
    k = rng.randrange(len(b)) if rng.random() < 0.5 else rng.randrange(min(len(b), 4096))
    n = rng.randint(1, 64)
    return _case(seed, {**seed.files, seed.main: b[:k] + b[k + n:]},
                 note=f"deleted {n} bytes at {k}")


def m_gzip_truncated(seed, rng):
    b = _raw(seed)
    if b[:2] == b"\x1f\x8b":
        b = gzip.decompress(b)
    k = rng.randrange(max(1, len(b)))
    z = gzip.compress(b[:k], mtime=0)
    if rng.random() < 0.5:  # also cut the gzip stream itself
        z = z[: rng.randrange(1, len(z))]
    name = seed.main if seed.main.endswith(".gz") else seed.main + ".gz"
    files = {k2: v for k2, v in seed.files.items() if k2 != seed.main}
    files[name] = z
    return _case(seed, files, main=name, note=f"gzip of the first {k} bytes", destructive=k == 0)


def m_empty(seed, rng):
    return _case(seed, {**seed.files, seed.main: b""}, destructive=True, note="empty file")


# ----------------------------------------------------------------------------- tables


def _text(seed: Seed, raw: bytes) -> str:
    return (gzip.decompress(raw) if seed.gz else raw).decode("utf-8", errors="surrogateescape")


def load_table(seed: Seed) -> tuple[list[str], list[str] | None, list[list]]:
    """(comment lines, header or None, rows) of the seed's main table."""
    raw = _raw(seed)
    if seed.table == "parquet":
        df = pd.read_parquet(io.BytesIO(raw))
        return [], [str(c) for c in df.columns], df.astype(object).values.tolist()
    lines = _text(seed, raw).splitlines()
    prefix = []
    while lines and lines[0].startswith("#"):
        prefix.append(lines.pop(0))
    if seed.table == "ws":
        rows = [ln.split() for ln in lines if ln.strip()]
    else:
        rows = list(csv.reader(lines))
    header = rows.pop(0) if seed.header and rows else None
    return prefix, header, rows


def dump_table(seed: Seed, prefix, header, rows) -> bytes:
    if seed.table == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        width = len(header) if header is not None else len(rows[0]) if rows else 0
        names = list(header) if header is not None else [str(i) for i in range(width)]
        arrays = []
        for j in range(width):
            vals = [r[j] if j < len(r) else None for r in rows]
            kinds = {type(v) for v in vals if v is not None and not _isnan(v)}
            if len(kinds) > 1:  # a string or boolean among numbers: a text column, as a user
                vals = [None if v is None else str(v) for v in vals]  # tool would write it
            arrays.append(pa.array(vals, from_pandas=True))
        buf = io.BytesIO()
        # written with pyarrow: pandas refuses duplicated column names
        pq.write_table(pa.Table.from_arrays(arrays, names=names), buf)
        return buf.getvalue()
    buf = io.StringIO()
    if seed.table == "ws":
        for r in ([header] if header is not None else []) + rows:
            buf.write(" ".join(str(v) for v in r) + "\n")
    else:
        w = csv.writer(buf, lineterminator="\n")
        if header is not None:
            w.writerow(header)
        w.writerows(rows)
    text = "".join(p + "\n" for p in prefix) + buf.getvalue()
    data = text.encode("utf-8", errors="surrogateescape")
    return gzip.compress(data, mtime=0) if seed.gz else data


def _isnan(v) -> bool:
    return isinstance(v, float) and np.isnan(v)


def _as_float(v) -> float | None:
    if isinstance(v, bool) or (isinstance(v, str) and "_" in v):  # float() takes "1_000"
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _numeric_columns(header, rows) -> list[int]:
    out = []
    for j in range(len(header) if header is not None else len(rows[0]) if rows else 0):
        vals = [r[j] for r in rows if j < len(r)]
        num = [v for v in vals if _as_float(v) is not None or _is_list_cell(v)]
        if vals and len(num) >= len(vals) / 2:
            out.append(j)
    return out


def _is_list_cell(v) -> bool:
    return isinstance(v, str) and v.startswith("[") and v.endswith("]")


def _names(seed, header, rows):
    return header if header is not None else [str(i) for i in range(len(rows[0]) if rows else 0)]


def _pick_column(seed, header, rows, rng, candidates=None) -> int | None:
    names = _names(seed, header, rows)
    pool = list(range(len(names))) if candidates is None else list(candidates)
    if not pool:
        return None
    req = [j for j in pool if names[j] in seed.required]
    if req and rng.random() < 0.6:
        return rng.choice(req)
    return rng.choice(pool)


def _table_case(seed, rng, edit: Callable) -> Case | None:
    prefix, header, rows = load_table(seed)
    if not rows:
        return None
    out = edit(prefix, header, [list(r) for r in rows], rng)
    if out is None:
        return None
    header2, rows2, destructive, note = out
    data = dump_table(seed, prefix, header2, rows2)
    return _case(seed, {**seed.files, seed.main: data}, destructive=destructive, note=note)


def m_rename_column(seed, rng):
    def edit(prefix, header, rows, rng):
        if header is None:
            return None
        j = _pick_column(seed, header, rows, rng)
        old = header[j]
        new = rng.choice([old + "_x", old.upper() if old.upper() != old else old.lower(),
                          " " + old, "", "col" + str(j), old + "\u00e9"])
        header = list(header)
        header[j] = new
        same = new.strip().lower() == old.lower()
        return header, rows, old in seed.required and not same, f"column {old!r} -> {new!r}"
    return _table_case(seed, rng, edit)


def m_drop_column(seed, rng):
    def edit(prefix, header, rows, rng):
        j = _pick_column(seed, header, rows, rng)
        name = _names(seed, header, rows)[j]
        header = None if header is None else header[:j] + header[j + 1:]
        rows = [r[:j] + r[j + 1:] for r in rows]
        return header, rows, name in seed.required, f"dropped column {name!r}"
    return _table_case(seed, rng, edit)


def m_duplicate_column(seed, rng):
    def edit(prefix, header, rows, rng):
        if header is None:
            return None
        j = _pick_column(seed, header, rows, rng)
        vals = [r[j] if j < len(r) else "" for r in rows]
        shuffled = vals[:]
        rng.shuffle(shuffled)
        if shuffled == vals:  # make the copy differ so that picking one is a guess
            shuffled = vals[1:] + vals[:1] if len(set(map(str, vals))) > 1 else None
        if shuffled is None:
            return None
        header = header + [header[j]]
        rows = [r + [v] for r, v in zip(rows, shuffled)]
        return header, rows, header[j] in seed.required, f"column {header[j]!r} twice"
    return _table_case(seed, rng, edit)


def m_header_only(seed, rng):
    def edit(prefix, header, rows, rng):
        if header is None:
            return None
        return header, [], True, "header only"
    return _table_case(seed, rng, edit)


BAD_VALUES = ["nan", "NaN", "inf", "-inf", "1e308", "-1e308", "1e400", "-1", "-0.5", "True",
              "false", "abc", "", " ", "0x1F", "1,5", "--"]


def _bad_value(rng, parquet: bool):
    v = rng.choice(BAD_VALUES)
    if parquet:
        return {"nan": float("nan"), "NaN": float("nan"), "inf": float("inf"),
                "-inf": float("-inf"), "1e308": 1e308, "-1e308": -1e308, "1e400": float("inf"),
                "-1": -1.0, "-0.5": -0.5, "True": True, "false": False, "": None}.get(v, v)
    return v


def _inject_list_cell(cell: str, rng, v) -> str:
    items = [x.strip() for x in cell[1:-1].split(",")]
    if items and items != [""]:
        items[rng.randrange(len(items))] = str(v)
    return "[" + ", ".join(items) + "]"


def m_bad_values(seed, rng):
    def edit(prefix, header, rows, rng):
        cols = _numeric_columns(header, rows)
        if not cols:
            return None
        j = _pick_column(seed, header, rows, rng, cols)
        done = []
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(rows))
            v = _bad_value(rng, seed.table == "parquet")
            if j >= len(rows[i]):
                continue
            rows[i][j] = _inject_list_cell(rows[i][j], rng, v) if _is_list_cell(
                rows[i][j]) else v
            done.append((i, v))
        return header, rows, False, f"column {_names(seed, header, rows)[j]!r}: {done}"
    return _table_case(seed, rng, edit)


def m_all_nan(seed, rng):
    def edit(prefix, header, rows, rng):
        cols = _numeric_columns(header, rows)
        if not cols:
            return None
        j = _pick_column(seed, header, rows, rng, cols)
        v = rng.choice(["nan", ""]) if seed.table != "parquet" else float("nan")
        for r in rows:
            if j < len(r):
                r[j] = ("[" + ", ".join(["nan"] * len(r[j][1:-1].split(","))) + "]"
                        if _is_list_cell(r[j]) else v)
        name = _names(seed, header, rows)[j]
        return header, rows, name in seed.required, f"column {name!r} all {v!r}"
    return _table_case(seed, rng, edit)


def m_boolean_column(seed, rng):
    def edit(prefix, header, rows, rng):
        cols = _numeric_columns(header, rows)
        if not cols:
            return None
        j = _pick_column(seed, header, rows, rng, cols)
        for r in rows:
            if j < len(r):
                b = rng.random() < 0.5
                r[j] = b if seed.table == "parquet" else str(b)
        name = _names(seed, header, rows)[j]
        # booleans are wrong for measurements; as ids ("True", "False") they stay ids
        measured = name in seed.required and "id" not in name.lower()
        return header, rows, measured, f"column {name!r} boolean"
    return _table_case(seed, rng, edit)


def m_duplicate_rows(seed, rng):
    def edit(prefix, header, rows, rng):
        picks = sorted(rng.randrange(len(rows)) for _ in range(rng.randint(1, 3)))
        for k, i in enumerate(picks):
            rows.insert(i + k + 1, list(rows[i + k]))
        return header, rows, False, f"rows {picks} duplicated"
    return _table_case(seed, rng, edit)


def m_few_rows(seed, rng):
    def edit(prefix, header, rows, rng):
        k = rng.randint(1, 3)
        start = rng.randrange(max(1, len(rows) - k + 1))
        return header, rows[start:start + k], False, f"only rows {start}..{start + k - 1}"
    return _table_case(seed, rng, edit)


def m_stray_band(seed, rng):
    def edit(prefix, header, rows, rng):
        if seed.band is None or header is None or seed.band not in header:
            return None
        j = header.index(seed.band)
        r = list(rows[rng.randrange(len(rows))])
        parquet = seed.table == "parquet"
        r[j] = rng.choice([9, 4, -1, 0] if parquet and isinstance(r[j], (int, np.integer))
                          else ["Y", "zz", "9", "", "g ", "\u03bb"])
        rows.append(r)
        return header, rows, False, f"one point in band {r[j]!r}"
    return _table_case(seed, rng, edit)


def m_shuffle_rows(seed, rng):
    def edit(prefix, header, rows, rng):
        rng.shuffle(rows)
        return header, rows, False, "rows shuffled"
    return _table_case(seed, rng, edit)


# ----------------------------------------------------------------------------- names, folders

WRONG_EXT = [".csv", ".fits", ".avro", ".parquet", ".npz", ".jpeg", ".xml", ".txt", ".gz",
             ".tar.bz2", ".mjd", ".dat", ""]


def _rename_main(seed: Seed, new: str, note: str, prefix: str = "") -> Case:
    folder = seed.main.rsplit("/", 1)[0] + "/" if "/" in seed.main else ""
    files = {prefix + k: v for k, v in seed.files.items() if k != seed.main}
    files[prefix + folder + new] = _raw(seed)
    target = "" if seed.target == "dir" else prefix + folder + new
    return Case(files, target, note=note)


def _split_ext(name: str) -> tuple[str, str]:
    base = name.rsplit("/", 1)[-1]
    for ext in (".tar.bz2", ".csv.gz", ".dat.gz", ".fits.gz"):
        if base.endswith(ext):
            return base[: -len(ext)], ext
    stem, dot, ext = base.rpartition(".")
    return (stem, "." + ext) if dot and stem else (base, "")


def m_no_extension(seed, rng):
    stem, ext = _split_ext(seed.main)
    return _rename_main(seed, stem, f"{ext!r} removed")


def m_wrong_extension(seed, rng):
    stem, ext = _split_ext(seed.main)
    new = rng.choice([e for e in WRONG_EXT if e != ext])
    return _rename_main(seed, stem + new, f"{ext!r} -> {new!r}")


def m_unicode_name(seed, rng):
    stem, ext = _split_ext(seed.main)
    new = rng.choice(["\u00fcn\u00efc\u00f6d\u00e9_", "\u2603 ", "\u661f\u7a7a-", "a b;'c\"_"])
    return _rename_main(seed, new + stem + ext, f"name {new + stem + ext!r}")


def m_long_name(seed, rng):
    stem, ext = _split_ext(seed.main)
    n = 230 - len(ext)
    deep = "/".join(["d" * 60] * rng.randint(1, 2)) + "/"
    return _rename_main(seed, (stem + "_" + "x" * n)[:n] + ext,
                        f"{n + len(ext)}-character name under {len(deep)} characters of "
                        "folders", prefix=deep)


def m_mixed_folder(seed, rng):
    extra = {"README.txt": b"notes about these files\n", "empty.csv": b"",
             "junk/binary.bin": bytes(rng.randrange(256) for _ in range(64)),
             ".DS_Store": b"\x00\x00\x00\x01Bud1", "notes.csv": b"a;b\n1;2\n",
             "image.png": b"\x89PNG\r\n\x1a\n" + bytes(20), "other.fits": b"SIMPLE  = T"}
    keys = rng.sample(sorted(extra), rng.randint(1, 4))
    files = {**seed.files, **{k: extra[k] for k in keys}}
    return Case(files, "", note=f"folder with {keys}")


MUTATORS: dict[str, Callable[[Seed, random.Random], Case | None]] = {
    "truncate": m_truncate, "flip": m_flip, "insert": m_insert, "delete": m_delete,
    "gzip_truncated": m_gzip_truncated, "empty": m_empty,
    "rename_column": m_rename_column, "drop_column": m_drop_column,
    "duplicate_column": m_duplicate_column, "header_only": m_header_only,
    "bad_values": m_bad_values, "all_nan": m_all_nan, "boolean_column": m_boolean_column,
    "duplicate_rows": m_duplicate_rows, "few_rows": m_few_rows, "stray_band": m_stray_band,
    "shuffle_rows": m_shuffle_rows,
    "no_extension": m_no_extension, "wrong_extension": m_wrong_extension,
    "unicode_name": m_unicode_name, "long_name": m_long_name, "mixed_folder": m_mixed_folder,
}
TABLE_ONLY = {"rename_column", "drop_column", "duplicate_column", "header_only", "bad_values",
              "all_nan", "boolean_column", "duplicate_rows", "few_rows", "stray_band",
              "shuffle_rows"}


def applicable(seed: Seed) -> list[str]:
    """The mutators that can apply to ``seed``."""
    names = [m for m in MUTATORS if m not in TABLE_ONLY or seed.table is not None]
    if seed.band is None:
        names.remove("stray_band") if "stray_band" in names else None
    return names
