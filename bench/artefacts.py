"""Benchmark: how many of the top 50 discovery candidates on real Galaxy Zoo cutouts are
artefacts, before and after the artefact head sets "likely artefact" apart from "unusual".

    SKYFM_DATA_DIR=/work/shared/data python bench/artefacts.py [--n 800] [--sheet top.png]

Discovery (``skyfm.discover.discover``, image embedder, no labels, 2 ensemble members, 1 noise
draw) ranks the first ``--n`` Galaxy Zoo 1 images (file-name order; the artefact head was
trained on other images). *Before*: the top 50 by score. *After*: the top 50 of those whose
``artefact`` column is ``none`` (neither a rule nor the head flags them); the flagged ones are
reported apart as likely artefacts. Each candidate is judged by eye from the contact sheet
(``--sheet``); the judgements are kept in ``tests/images/data/galaxyzoo_top_candidates.csv``
(object_id, artefact yes/no, what). Candidates not in that list are counted as unjudged.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

LABELS = Path(__file__).parents[1] / "tests/images/data/galaxyzoo_top_candidates.csv"


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


def main() -> None:
    import pandas as pd

    from skyfm.data.io.images import read_galaxyzoo
    from skyfm.discover import discover

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=800)
    ap.add_argument("--top", type=int, default=50)
    ap.add_argument("--sheet", type=Path, default=None, help="contact sheet PNG (before/after)")
    args = ap.parse_args()
    root = Path(os.environ.get("SKYFM_DATA_DIR", "")) / "images_galaxyzoo1_sdss"
    if not root.is_dir():
        raise SystemExit(f"needs SKYFM_DATA_DIR with images_galaxyzoo1_sdss ({root})")
    t0 = time.perf_counter()
    obs = read_galaxyzoo(root, limit=args.n)
    run = discover(obs, None, n_members=2, n_noise=1, use_labels=False)
    c = run.candidates
    seconds = time.perf_counter() - t0
    judged = pd.read_csv(LABELS, dtype={"object_id": str}) if LABELS.is_file() else \
        pd.DataFrame({"object_id": [], "artefact": [], "what": []})
    truth = dict(zip(judged["object_id"], judged["artefact"].astype(str) == "yes"))
    before = list(c["object_id"][: args.top])
    clean = c[c["artefact"] == "none"]
    after = list(clean["object_id"][: args.top])
    flags = dict(zip(c["object_id"], c["artefact"]))

    def count(ids):
        yes = sum(truth.get(i) is True for i in ids)
        unjudged = sum(i not in truth for i in ids)
        return yes, unjudged

    b_yes, b_un = count(before)
    a_yes, a_un = count(after)
    flagged_top = [i for i in before if flags[i] != "none"]
    arte_top = [i for i in before if truth.get(i) is True]
    caught = sum(flags[i] != "none" for i in arte_top)
    false_flags = sum(truth.get(i) is False for i in flagged_top)
    n_flag = int((c["artefact"] != "none").sum())
    print(f"Galaxy Zoo 1, first {args.n} images, discovery {seconds:.0f} s; "
          f"{n_flag} of {len(c)} flagged as likely artefacts\n")
    print("| list | candidates | artefacts (by eye) | not judged |")
    print("|---|---|---|---|")
    print(f"| before: top {args.top} by score | {len(before)} | {b_yes} | {b_un} |")
    print(f"| after: top {args.top} not flagged | {len(after)} | {a_yes} | {a_un} |")
    print(f"\nin the top {args.top}: {len(arte_top)} artefacts by eye, {caught} of them flagged; "
          f"{len(flagged_top)} flagged, {false_flags} of those real galaxies by eye")
    if args.sheet:
        imgs = {o.object_id: o for o in obs}
        contact_sheet(imgs, before, flags, args.sheet.with_name(args.sheet.stem + "_before.png"))
        contact_sheet(imgs, after, flags, args.sheet.with_name(args.sheet.stem + "_after.png"))
        print(f"contact sheets: {args.sheet.stem}_before.png, {args.sheet.stem}_after.png")


if __name__ == "__main__":
    main()
