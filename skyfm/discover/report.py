"""A self-contained HTML report of a discovery run (images inlined as base64 PNG)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["embedding_map", "score_histogram", "write_report"]


def _png(fig, dpi: int = 80) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _file_b64(path: Path) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


def embedding_map(X: np.ndarray, score: np.ndarray, top_idx: Sequence[int], ids: Sequence[str],
                  labels: Sequence | None = None, method: str = "pca", seed: int = 0,
                  max_points: int = 20000) -> str:
    """Base64 PNG of a 2-D map of the embedding (PCA, or t-SNE), coloured by score."""
    import matplotlib.pyplot as plt

    n = len(X)
    rng = np.random.default_rng(seed)
    show = np.arange(n) if n <= max_points else np.union1d(rng.choice(n, max_points, False),
                                                           np.asarray(top_idx, int))
    Xs = np.asarray(X, float)[show]
    if method == "tsne" and len(show) > 5:
        from sklearn.manifold import TSNE

        Y = TSNE(2, init="pca", random_state=seed,
                 perplexity=min(30, max(2, len(show) // 4))).fit_transform(Xs)
        ax_names = ("t-SNE 1", "t-SNE 2")
    else:
        from sklearn.decomposition import PCA

        k = min(2, Xs.shape[1], len(Xs))
        Y = PCA(k, random_state=seed).fit_transform(Xs) if len(Xs) > 1 else np.zeros((1, 2))
        if Y.shape[1] == 1:
            Y = np.column_stack([Y, np.zeros(len(Y))])
        ax_names = ("PC 1", "PC 2")
    fig, axes = plt.subplots(1, 2 if labels is not None else 1, figsize=(11 if labels is not None
                                                                         else 6, 4.5),
                             squeeze=False)
    ax = axes[0, 0]
    sc = ax.scatter(Y[:, 0], Y[:, 1], c=score[show], s=4, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="unusualness score")
    pos = {j: i for i, j in enumerate(show)}
    for r, j in enumerate(top_idx[:10]):
        if j in pos:
            p = Y[pos[j]]
            ax.scatter(*p, s=60, facecolor="none", edgecolor="red")
            ax.annotate(str(r + 1), p, fontsize=8, color="red", xytext=(3, 3),
                        textcoords="offset points")
    ax.set_xlabel(ax_names[0])
    ax.set_ylabel(ax_names[1])
    ax.set_title("embedding map (red: top candidates by rank)")
    if labels is not None:
        ax = axes[0, 1]
        from skyfm.discover.scorers import is_missing

        lab = np.array(["unlabelled" if is_missing(v) else str(v) for v in labels],
                       dtype=object)[show]
        for name in sorted(set(lab)):
            m = lab == name
            ax.scatter(Y[m, 0], Y[m, 1], s=4, label=name, alpha=0.7)
        ax.legend(fontsize=7, markerscale=3)
        ax.set_xlabel(ax_names[0])
        ax.set_title("coloured by label")
    fig.tight_layout()
    return _png(fig)


def score_histogram(score: np.ndarray, top_n: int) -> str:
    """Base64 PNG of the combined-score distribution with the top-candidate cut marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(score, bins=50, color="#4477aa")
    if top_n and len(score):
        cut = np.sort(score)[::-1][min(top_n, len(score)) - 1]
        ax.axvline(cut, color="red", ls="--", label=f"top {top_n}")
        ax.legend()
    ax.set_yscale("log")
    ax.set_xlabel("combined unusualness score (mean percentile over scorers)")
    ax.set_ylabel("objects")
    fig.tight_layout()
    return _png(fig)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
h1{margin-bottom:0.2em} .meta{color:#555} table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}
.card{border:1px solid #ddd;border-radius:6px;padding:10px;margin:12px 0}
.card img{max-width:100%} .rank{font-size:20px;font-weight:bold;color:#a00}
.small{font-size:12px;color:#555}
"""


def write_report(path: str | Path, candidates: pd.DataFrame, *, plots: dict[str, Path],
                 map_png: str | None, hist_png: str | None, info: dict,
                 top: int = 20) -> Path:
    """Write ``index.html``: summary, score distribution, embedding map, top candidates."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    esc = html.escape
    top_df = candidates.sort_values("rank").head(top)
    rows = []
    rows.append(f"<h1>skyfm discovery report</h1><p class='meta'>{esc(str(info.get('n', '')))} "
                f"objects · modality <b>{esc(str(info.get('modality')))}</b> · embedding "
                f"{esc(str(info.get('encoder')))} · scorers {esc(', '.join(info.get('scorers', [])))}"
                f"{' (dropped: ' + esc('; '.join(f'{k}: {v}' for k, v in info.get('dropped', {}).items())) + ')' if info.get('dropped') else ''}"
                f" · {info.get('seconds', 0):.1f} s</p>")
    rows.append("<p class='small'>score: mean percentile over the scorers (1 = most unusual); "
                "epistemic: spread over an ensemble of subsampled/reseeded scorers; aleatoric: "
                "RMS change of the score when the observation is re-drawn within its errors.</p>")
    if hist_png:
        rows.append(f"<h2>Score distribution</h2><img alt='score distribution' "
                    f"src='data:image/png;base64,{hist_png}'>")
    if map_png:
        rows.append(f"<h2>Embedding map</h2><img alt='embedding map' "
                    f"src='data:image/png;base64,{map_png}'>")
    rows.append("<h2>Top candidates</h2>")
    for _, r in top_df.iterrows():
        oid = str(r["object_id"])
        img = ""
        p = plots.get(oid)
        if p is not None and Path(p).exists():
            img = f"<img alt='plot of {esc(oid)}' src='data:image/png;base64,{_file_b64(p)}'>"
        lab = f" · label {esc(str(r['label']))}" if "label" in r and pd.notna(r.get("label")) \
            else ""
        rows.append(
            f"<div class='card' id='{esc(oid)}'><span class='rank'>#{int(r['rank'])}</span> "
            f"<b>{esc(oid)}</b>{lab} · score {r['score']:.3f} · epistemic ±{r['epistemic']:.3f}"
            f" · aleatoric ±{r['aleatoric']:.3f}<br>{esc(str(r['reason']))}<br>"
            f"<span class='small'>nearest ordinary objects: {esc(str(r['neighbours']))}</span>"
            f"<br>{img}</div>")
    cols = [c for c in candidates.columns if c != "reason"]
    head = "".join(f"<th>{esc(c)}</th>" for c in cols + ["reason"])
    body = []
    for _, r in candidates.sort_values("rank").head(100).iterrows():
        cells = []
        for c in cols + ["reason"]:
            v = r[c]
            cells.append(f"<td>{v:.3f}</td>" if isinstance(v, float) else f"<td>{esc(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    rows.append(f"<h2>Top 100</h2><table><tr>{head}</tr>{''.join(body)}</table>")
    doc = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>skyfm discovery report"
           f"</title><style>{_CSS}</style></head><body>{''.join(rows)}</body></html>")
    from skyfm.outputs import write_text

    write_text(path, doc)  # atomic: a reader never sees half a report
    return path
