"""Benchmark: how many of the top 50 discovery candidates on real Galaxy Zoo cutouts and on
real ZTF alert cutouts are artefacts, before and after the artefact flags set "likely
artefact" apart from "unusual".

    SKYFM_DATA_DIR=/work/shared/data python bench/artefacts.py [--set both] [--n 800]
        [--sheet top.png]

Discovery (``skyfm.discover.discover``, image embedder, no labels, 2 ensemble members, 1 noise
draw) ranks the first ``--n`` Galaxy Zoo 1 images (file-name order; the artefact head was
trained on other images). *Before*: the top 50 by score. *After*: the top 50 of those whose
``artefact`` column is ``none`` (neither a rule nor the head flags them); the flagged ones are
reported apart as likely artefacts. Each candidate is judged by eye from the contact sheet
(``--sheet``); the judgements are kept in ``tests/images/data/galaxyzoo_top_candidates.csv``
(object_id, artefact yes/no, what). Candidates not in that list are counted as unjudged.

ZTF (``--set ztf``): discovery on the 58 objects of ``ztf_alerts_sample`` read as images
(``modality='image'``: the latest alert's science, template and difference stamps as three
planes; an artefact of a subtraction shows only when the planes are compared). Judged by eye
(zscaled stamps) in ``tests/images/data/ztf_top_candidates.csv`` (all 58, so any ranking is
fully judged; ``rank_before`` is the ranking with ImageMorphologyBaseline): an artefact is a
detection at the stamp's centre that is a bad subtraction (dipole, ringing), a cosmic ray or
bad pixel (sharper than the PSF), or a stamp at a detector edge. The table counts the flags by source:
the CNN head (it reads only 8-bit colour cutouts and gives no opinion on ZTF stamps), the
placeholder rule and the ZTF real-bogus rule (``real_bogus(drb=...)``, see
:mod:`skyfm.discover.artefact`); "CNN forced" runs the CNN on zscaled stamps mapped to 0..255
anyway, to show how the Galaxy Zoo-trained head does on ZTF.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).parents[1] / "tests/images/data"
LABELS = DATA / "galaxyzoo_top_candidates.csv"
ZTF_LABELS = DATA / "ztf_top_candidates.csv"


def contact_sheet(images: dict, ids: list[str], flags: dict, path: Path, cols: int = 10) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skyfm.outputs import save_figure

    rows = int(np.ceil(len(ids) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.6, rows * 1.75))
    for ax in np.ravel(axes):
        ax.axis("off")
    for k, (ax, oid) in enumerate(zip(np.ravel(axes), ids)):
        d = np.asarray(images[oid].data, np.float32)
        ax.imshow(np.clip(np.moveaxis(d, 0, -1), 0, 255).astype(np.uint8))
        flagged = flags.get(oid, "none") != "none"
        ax.set_title(f"{k + 1} {oid[-6:]}" + (" [A]" if flagged else ""), fontsize=7,
                     color="red" if flagged else "black")
    fig.tight_layout()
    save_figure(fig, path, dpi=80)
    plt.close(fig)


def ztf_sheet(images: dict, ids: list[str], flags: dict, path: Path, cols: int = 5) -> None:
    """Science, template and difference (zscaled) of each candidate, in rank order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from astropy.visualization import ZScaleInterval

    from skyfm.outputs import save_figure

    rows = int(np.ceil(len(ids) / cols))
    fig, axes = plt.subplots(rows, 3 * cols, figsize=(3 * cols * 0.9, rows * 1.05),
                             squeeze=False)
    for ax in np.ravel(axes):
        ax.axis("off")
    z = ZScaleInterval()
    for k, oid in enumerate(ids):
        r, c = divmod(k, cols)
        for j, plane in enumerate(np.asarray(images[oid].data, float)[:3]):
            finite = plane[np.isfinite(plane)]
            lo, hi = z.get_limits(finite) if finite.size else (0, 1)
            axes[r, 3 * c + j].imshow(plane, origin="lower", cmap="gray", vmin=lo, vmax=hi)
        flagged = flags.get(oid, "none") != "none"
        axes[r, 3 * c].set_title(f"{k + 1} {oid}" + (" [A]" if flagged else ""), fontsize=6,
                                 loc="left", color="red" if flagged else "black")
    fig.tight_layout()
    save_figure(fig, path, dpi=80)
    plt.close(fig)


def judged(path: Path) -> dict:
    import pandas as pd

    if not path.is_file():
        return {}
    j = pd.read_csv(path, dtype={"object_id": str})
    return dict(zip(j["object_id"], j["artefact"].astype(str) == "yes"))


def table(title: str, c, truth: dict, top: int, extra: str = "") -> tuple[list, list]:
    """Print the before/after table of one ranking; return (before, after) ids."""
    before = list(c["object_id"][:top])
    after = list(c[c["artefact"] == "none"]["object_id"][:top])
    flags = dict(zip(c["object_id"], c["artefact"]))

    def count(ids):
        return sum(truth.get(i) is True for i in ids), sum(i not in truth for i in ids)

    b_yes, b_un = count(before)
    a_yes, a_un = count(after)
    flagged_top = [i for i in before if flags[i] != "none"]
    arte_top = [i for i in before if truth.get(i) is True]
    caught = sum(flags[i] != "none" for i in arte_top)
    false_flags = sum(truth.get(i) is False for i in flagged_top)
    n_flag = int((c["artefact"] != "none").sum())
    print(f"{title}; {n_flag} of {len(c)} flagged as likely artefacts{extra}\n")
    print("| list | candidates | artefacts (by eye) | not judged |")
    print("|---|---|---|---|")
    print(f"| before: top {top} by score | {len(before)} | {b_yes} | {b_un} |")
    print(f"| after: top {top} not flagged | {len(after)} | {a_yes} | {a_un} |")
    print(f"\nin the top {top}: {len(arte_top)} artefacts by eye, {caught} of them flagged; "
          f"{len(flagged_top)} flagged, {false_flags} of those real by eye; by eye in the "
          f"top 10 / 20: {count(before[:10])[0]} / {count(before[:20])[0]}\n")
    return before, after


def embedder(args):
    """A new instance of ``--embedder`` (module:Class), or None: the registry's default."""
    if not args.embedder:
        return None
    import importlib

    module, _, name = args.embedder.partition(":")
    return getattr(importlib.import_module(module), name)()


def galaxyzoo(args) -> None:
    from skyfm.data.io.images import read_galaxyzoo
    from skyfm.discover import discover

    root = Path(os.environ.get("SKYFM_DATA_DIR", "")) / "images_galaxyzoo1_sdss"
    if not root.is_dir():
        raise SystemExit(f"needs SKYFM_DATA_DIR with images_galaxyzoo1_sdss ({root})")
    t0 = time.perf_counter()
    obs = read_galaxyzoo(root, limit=args.n)
    c = discover(obs, None, embedder=embedder(args), n_members=2, n_noise=1,
                 use_labels=False).candidates
    seconds = time.perf_counter() - t0
    before, after = table(f"Galaxy Zoo 1, first {args.n} images, discovery {seconds:.0f} s", c,
                          judged(LABELS), args.top)
    if args.sheet:
        imgs = {o.object_id: o for o in obs}
        flags = dict(zip(c["object_id"], c["artefact"]))
        contact_sheet(imgs, before, flags, args.sheet.with_name(args.sheet.stem + "_before.png"))
        contact_sheet(imgs, after, flags, args.sheet.with_name(args.sheet.stem + "_after.png"))
        print(f"contact sheets: {args.sheet.stem}_before.png, {args.sheet.stem}_after.png\n")


def ztf(args) -> None:
    from astropy.visualization import ZScaleInterval

    from skyfm.data import read
    from skyfm.discover import discover
    from skyfm.models.image_artefact import ArtefactHead

    root = Path(os.environ.get("SKYFM_DATA_DIR", "")) / "ztf_alerts_sample"
    if not root.is_dir():
        raise SystemExit(f"needs SKYFM_DATA_DIR with ztf_alerts_sample ({root})")
    t0 = time.perf_counter()
    obs = read(root, modality="image")
    c = discover(obs, None, embedder=embedder(args), n_members=2, n_noise=1,
                 use_labels=False).candidates
    seconds = time.perf_counter() - t0
    truth = judged(ZTF_LABELS)
    by = {o.object_id: o for o in obs}
    head = ArtefactHead.from_pretrained()
    p = head.predict_proba(list(obs))
    z = ZScaleInterval()

    def stretched(d):
        out = []
        for plane in np.nan_to_num(np.asarray(d, float)):
            lo, hi = z.get_limits(plane)
            out.append(np.clip((plane - lo) / max(hi - lo, 1e-9), 0, 1) * 255)
        return np.stack(out)

    from skyfm.models.preprocessing import resize

    forced = head.predict_stamps(np.stack([resize(stretched(o.data), head.config.size) / 255.0
                                           for o in obs]))
    ids = [o.object_id for o in obs]
    arte = np.array([truth.get(i) is True for i in ids])
    real = np.array([truth.get(i) is False for i in ids])
    rule = {k: sum(k in f for f in c["artefact"]) for k in ("placeholder_image", "real_bogus",
                                                            "likely_artefact")}
    extra = (f" (CNN head: {int(np.isnan(p).sum())} of {len(p)} stamps not judged; rules: "
             f"{rule['real_bogus']} real_bogus, {rule['placeholder_image']} placeholder_image, "
             f"{rule['likely_artefact']} likely_artefact)")
    emb = args.embedder or "the registry's image embedder"
    before, _ = table(f"ZTF alert cutouts, {len(obs)} objects, {emb}, discovery "
                      f"{seconds:.0f} s", c,
                      truth, args.top, extra)
    print(f"CNN forced onto zscaled ZTF stamps: p >= {head.config.threshold} for "
          f"{int((forced[arte] >= head.config.threshold).sum())} of {int(arte.sum())} judged "
          f"artefacts and {int((forced[real] >= head.config.threshold).sum())} of "
          f"{int(real.sum())} judged real (median p {np.median(forced[arte]):.2f} vs "
          f"{np.median(forced[real]):.2f})\n")
    if args.sheet:
        flags = dict(zip(c["object_id"], c["artefact"]))
        path = args.sheet.with_name(args.sheet.stem + "_ztf_before.png")
        ztf_sheet(by, before, flags, path)
        print(f"contact sheet: {path.name}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=("both", "galaxyzoo", "ztf"), default="both")
    ap.add_argument("--n", type=int, default=800, help="Galaxy Zoo images")
    ap.add_argument("--top", type=int, default=50)
    ap.add_argument("--embedder", default=None,
                    help="module:Class of the image embedder (default: the registry's)")
    ap.add_argument("--sheet", type=Path, default=None, help="contact sheet PNG (before/after)")
    args = ap.parse_args()
    if args.set in ("both", "galaxyzoo"):
        galaxyzoo(args)
    if args.set in ("both", "ztf"):
        ztf(args)


if __name__ == "__main__":
    main()
