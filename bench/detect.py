"""Benchmark: sources found in the real Spitzer IRAC 4.5 um image, scored against its
224-source GLIMPSE catalogue, classical (photutils) beside learned (twin-trained CNN).

    SKYFM_DATA_DIR=/work/shared/data python bench/detect.py [--model DIR] [--radius 2.4]

Both routes share the background, the noise map and the aperture photometry
(:mod:`skyfm.images.detect`); they differ only in where they put the sources. Completeness: the
share of the 224 catalogue sources with a detection within ``--radius`` arcsec (2 IRAC mosaic
pixels). Purity: the share of detections at least as bright as 0.7 x the catalogue's faintest
source (50 mJy) that have a catalogue source within the radius (fainter detections are below
the catalogue's limit and not counted either way). Position error: median separation of the
matched pairs. Flux ratio: median aperture flux (r = 3 pix, no aperture correction) over the
GLIMPSE flux. The learned rows use the heat-map threshold calibrated on twin validation
fields (highest F1 there); two lower thresholds are shown as a sweep only (choosing one on this
image would tune on the test). A second table scores both routes on held-out twin star fields against the
twin's truth (sources with aperture S/N >= 5, match within 1.5 pix).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np


def spitzer_rows(root: Path, detector, radius: float) -> list[dict]:
    from skyfm.images.crossmatch import read_reference, score
    from skyfm.images.detect import DetectConfig, detect_classical, measure, prepare
    from skyfm.images.learned import detect_learned

    cfg = DetectConfig()
    prep = prepare(root / "spitzer_example_image.fits", cfg)
    coords, flux = read_reference(root / "spitzer_example_catalog.xml")
    rows = []
    for name, find in (("classical (photutils DAOStarFinder)", lambda: detect_classical(prep, cfg)),
                       ((f"learned (skyfm-detect-twin CNN, threshold "
                         f"{detector.config.threshold})"), lambda: detect_learned(prep, detector)),
                       ("learned, threshold 0.35 (sweep, not the shipped setting)",
                        lambda: detect_learned(prep, detector, 0.35)),
                       ("learned, threshold 0.30 (sweep, not the shipped setting)",
                        lambda: detect_learned(prep, detector, 0.30))):
        t0 = time.perf_counter()
        xy = find()
        seconds = time.perf_counter() - t0
        s = score(measure(prep, xy, cfg), coords, flux, wcs=prep.wcs, shape=prep.data.shape,
                  radius_arcsec=radius)
        rows.append({"method": name, **s.row(), "detect_s": seconds})
    return rows


def twin_rows(detector, n: int = 100) -> list[dict]:
    from skyfm.images.detect import DetectConfig, Prepared, detect_classical
    from skyfm.train.detector import DetectorTrainConfig, make_fields, twin_score

    cfg = DetectorTrainConfig()
    X, *_, truth = make_fields(n, cfg, cfg.seed + 10_000)  # the training's validation fields

    class Classical:
        def find(self, snr):
            prep = Prepared("", snr, np.ones_like(snr), np.zeros(snr.shape, bool), None, "",
                            1.0, None)
            return detect_classical(prep, DetectConfig())

    return [{"method": "classical (photutils DAOStarFinder)", **twin_score(Classical(), X, truth)},
            {"method": "learned (skyfm-detect-twin CNN)", **twin_score(detector, X, truth)}]


def main() -> None:
    from skyfm.models.source_detector import SourceDetector

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="skyfm-detect-twin")
    ap.add_argument("--radius", type=float, default=2.4, help="match radius [arcsec]")
    args = ap.parse_args()
    root = Path(os.environ.get("SKYFM_DATA_DIR", "")) / "images_fits_photutils_datasets"
    if not root.is_dir():
        raise SystemExit(f"needs SKYFM_DATA_DIR with images_fits_photutils_datasets ({root})")
    det = SourceDetector.from_pretrained(args.model)
    print(f"Spitzer IRAC 4.5 um vs GLIMPSE (224 sources), match radius {args.radius} arcsec\n")
    print("| method | detected | >= 35 mJy | completeness | purity | median sep (\") "
          "| flux ratio | detect time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in spitzer_rows(root, det, args.radius):
        print(f"| {r['method']} | {r['detected']} | {r['bright']} | {r['completeness']:.3f} "
              f"| {r['purity']:.3f} | {r['median_sep_arcsec']:.2f} | {r['flux_ratio']:.2f} "
              f"| {r['detect_s']:.2f} |")
    print("\nTwin star fields (100 held-out 64x64 fields, truth: S/N >= 5, match 1.5 pix)\n")
    print("| method | completeness | purity | median sep (pix) |")
    print("|---|---|---|---|")
    for r in twin_rows(det):
        print(f"| {r['method']} | {r['completeness']:.3f} | {r['purity']:.3f} "
              f"| {r['median_sep_pix']:.2f} |")


if __name__ == "__main__":
    main()
