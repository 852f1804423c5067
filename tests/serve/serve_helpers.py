"""Helpers for the serve tests: a small ``skyfm discover``-style OUT directory.

Layout: 3 common clusters, an "odd" cluster (ranked 1-8 by discovery: unusual but boring),
an "interesting" cluster (ranked 21-28) and a few loners, in 16-D embeddings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ODD = [f"odd{i}" for i in range(8)]
GEM = [f"gem{i}" for i in range(8)]


def make_out_dir(out: Path, seed: int = 0) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    d = 16
    groups = [(f"c{j}_", 60, rng.normal(0, 1, d), 0.4) for j in range(3)]
    groups += [("odd", 8, rng.normal(0, 3, d), 0.3), ("gem", 8, rng.normal(0, 3, d), 0.3)]
    ids, vecs, labels = [], [], []
    for prefix, n, centre, width in groups:
        for i in range(n):
            ids.append(f"{prefix}{i}")
            vecs.append(centre + width * rng.normal(0, 1, d))
            labels.append(prefix.rstrip("_0123456789") if not prefix.startswith("c") else "common")
    x = np.asarray(vecs, np.float32)
    # discovery's ranking: odd objects first, gems at 21-28, the rest in random order
    others = [i for i in ids if i not in ODD + GEM]
    others = list(rng.permutation(others))
    order = ODD + others[:12] + GEM + others[12:]
    rank = {oid: r + 1 for r, oid in enumerate(order)}
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "embeddings.npy", x)
    (out / "object_ids.txt").write_text("\n".join(ids) + "\n")
    rows = []
    for oid in order:
        j = ids.index(oid)
        nb = np.argsort(((x - x[j]) ** 2).sum(1))[1:4]
        rows.append({"object_id": oid, "score": round(10.0 / rank[oid], 4), "rank": rank[oid],
                     "epistemic": round(float(rng.uniform(0, 0.3)), 3),
                     "aleatoric": round(float(rng.uniform(0, 0.3)), 3),
                     "neighbours": ";".join(ids[k] for k in nb),
                     "reason": f"reason for {oid}", "label": labels[j]})
    pd.DataFrame(rows).to_csv(out / "candidates.csv", index=False)
    (out / "plots").mkdir(exist_ok=True)
    for oid in order[:30]:
        Image.new("RGB", (32, 20), (200, 220, 255)).save(out / "plots" / f"{oid}.png")
    return out

