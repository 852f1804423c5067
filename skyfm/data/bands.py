"""One band table: canonical photometric band names, their effective wavelengths and the
names surveys use for them.

:func:`resolve_band` maps a survey's name (``zg``, ``ZTF_g``, ``ztfg``, Gaia ``BP``, ATLAS
``c``, ASAS-SN ``V``, EROS ``B_E``, ...) to the canonical name that the light-curve tokenizer
(:mod:`skyfm.models.lightcurve_tokens`) understands, so that the same data labelled ``zg`` or
``g`` give the same model input. Integer codes are survey specific (ZTF ``fid`` 1/2/3,
PLAsTiCC passbands 0..5) and resolved with :data:`CODES` only when the reader knows the survey.
Unknown names are kept as they are; :func:`resolve_bands` lists them so that readers can warn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import astropy.units as u
import numpy as np

__all__ = ["ALIASES", "BANDS", "BAND_WAVELENGTH_NM", "CODES", "DEFAULT_WAVELENGTH_NM", "Band",
           "band_wavelength", "resolve_band", "resolve_bands"]


@dataclass(frozen=True)
class Band:
    """A canonical band: name, effective wavelength and the photometric system."""

    name: str
    wavelength: u.Quantity
    system: str


def _b(name: str, nm: float, system: str) -> Band:
    return Band(name, nm * u.nm, system)


# The light-curve tokenizer builds its wavelength table (lightcurve_tokens.BAND_WAVELENGTH_NM)
# from this one: changing a wavelength here changes what the shipped encoder sees.
BANDS: dict[str, Band] = {b.name: b for b in (
    _b("u", 367.0, "SDSS/LSST"), _b("g", 482.0, "SDSS/ZTF/LSST"), _b("r", 622.0, "SDSS/ZTF/LSST"),
    _b("i", 755.0, "SDSS/ZTF/LSST"), _b("z", 869.0, "SDSS/LSST"), _b("y", 971.0, "LSST"),
    _b("U", 365.0, "Johnson"), _b("B", 445.0, "Johnson"), _b("V", 551.0, "Johnson"),
    _b("R", 658.0, "Cousins"), _b("I", 806.0, "Cousins"),
    _b("J", 1235.0, "2MASS"), _b("H", 1662.0, "2MASS"), _b("Ks", 2159.0, "2MASS"),
    _b("G", 640.0, "Gaia"), _b("BP", 511.0, "Gaia"), _b("RP", 777.0, "Gaia"),
    _b("c", 530.0, "ATLAS"), _b("o", 679.0, "ATLAS"),
    _b("TESS", 786.0, "TESS"), _b("Kp", 640.0, "Kepler"),
    _b("W1", 3353.0, "WISE"), _b("W2", 4603.0, "WISE"), _b("NUV", 231.0, "GALEX"),
    _b("FUV", 153.0, "GALEX"),
)}

# survey name -> canonical name. Exact spellings first; resolve_band also tries a
# case-insensitive match for names that are not ambiguous (g/G, r/R, i/I, b/B differ).
ALIASES: dict[str, str] = {
    # ZTF (IRSA filtercode, alert/fink names)
    "zg": "g", "zr": "r", "zi": "i", "ZTF_g": "g", "ZTF_r": "r", "ZTF_i": "i",
    "ztfg": "g", "ztfr": "r", "ztfi": "i", "ztf_g": "g", "ztf_r": "r", "ztf_i": "i",
    "ZTF g": "g", "ZTF r": "r", "ZTF i": "i",
    # Gaia DR3 epoch photometry
    "Gaia_G": "G", "Gaia_BP": "BP", "Gaia_RP": "RP", "GBP": "BP", "GRP": "RP", "Gmag": "G",
    "BPmag": "BP", "RPmag": "RP",
    # ATLAS forced photometry (cyan / orange)
    "cyan": "c", "orange": "o", "ATLAS_c": "c", "ATLAS_o": "o",
    # ASAS-SN (V, g)
    "ASASSN_V": "V", "ASASSN_g": "g", "ASAS-SN V": "V", "ASAS-SN g": "g",
    # LSST / Rubin
    **{f"lsst{b}": b for b in "ugrizy"}, **{f"LSST_{b}": b for b in "ugrizy"},
    # SDSS / Pan-STARRS primed names
    **{f"{b}'": b for b in "ugriz"}, **{f"sdss_{b}": b for b in "ugriz"},
    **{f"ps1_{b}": b for b in "grizy"},
    # Johnson-Cousins
    **{f"{b}_J": b for b in "UBV"}, **{f"{b}_C": b for b in "RI"},
    "Rc": "R", "Ic": "I", "K": "Ks", "Kmag": "Ks",
    # TESS / Kepler
    "tess": "TESS", "Tmag": "TESS", "kepler": "Kp", "Kepler": "Kp", "KEPLER": "Kp", "K2": "Kp",
    # EROS-2 (broad blue B_E ~ 420-720 nm, red R_E ~ 620-920 nm) and MACHO (blue/red)
    "B_E": "B", "R_E": "R", "BE": "B", "RE": "R", "eros_b": "B", "eros_r": "R",
    "B_M": "V", "R_M": "R", "macho_b": "V", "macho_r": "R",
}
# names that a case-insensitive match must not touch (they differ from their other case)
_CASE_SENSITIVE = {"g", "G", "r", "R", "i", "I", "b", "B", "u", "U", "k", "K", "j", "J", "h",
                   "H", "y", "Y", "z", "Z", "v", "V", "c", "C", "o", "O"}
_LOWER = {k.lower(): v for k, v in ALIASES.items() if k not in _CASE_SENSITIVE}
_LOWER.update({k.lower(): k for k in BANDS if k not in _CASE_SENSITIVE})

# survey-specific integer codes
CODES: dict[str, dict[int, str]] = {
    "ZTF": {1: "g", 2: "r", 3: "i"},                       # fid
    "PLAsTiCC": dict(enumerate("ugrizy")),                  # passband 0..5
}

# placeholder names readers use for "one band, name not given"
PLACEHOLDERS = {"x", "clear", "white"}


def resolve_band(name, survey: str | None = None) -> tuple[str, bool]:
    """Canonical name of ``name`` and whether it is known.

    ``survey`` (a key of :data:`CODES`) enables that survey's integer codes."""
    s = str(name).strip()
    if survey in CODES and s.lstrip("-").isdigit():
        code = int(s)
        if code in CODES[survey]:
            return CODES[survey][code], True
        return s, False
    if s in BANDS or s in PLACEHOLDERS:
        return s, True
    if s in ALIASES:
        return ALIASES[s], True
    low = s.lower()
    if low in _LOWER:
        return _LOWER[low], True
    return s, False


def resolve_bands(names, survey: str | None = None) -> tuple[np.ndarray, list[str]]:
    """Vectorised :func:`resolve_band`: (canonical names as an object array, unknown names)."""
    arr = np.asarray(names).astype(str)
    uniq, inv = np.unique(arr, return_inverse=True)
    out = []
    unknown = []
    for nm in uniq:
        canon, known = resolve_band(nm, survey)
        out.append(canon)
        if not known:
            unknown.append(str(nm))
    return np.asarray(out, dtype=object)[inv.reshape(-1)], unknown


# Effective wavelengths (nm) by band name, from BANDS (what the light-curve tokenizer sees);
# survey prefixes are stripped first. ``K`` is 2MASS Ks; placeholders ("x": one unnamed band)
# sit at DEFAULT_WAVELENGTH_NM.
DEFAULT_WAVELENGTH_NM = 600.0
BAND_WAVELENGTH_NM: dict[str, float] = {
    **{name: float(b.wavelength.to_value("nm")) for name, b in BANDS.items()},
    "K": float(BANDS["Ks"].wavelength.to_value("nm")),
    **{name: DEFAULT_WAVELENGTH_NM for name in PLACEHOLDERS},
}
_LSST_ORDER = "ugrizy"  # PLAsTiCC-style integer passbands 0..5
_PREFIX = re.compile(r"^(ztf|lsst|sdss|ps1|panstarrs|decam|des|eros|macho|ogle|gaia|atlas|"
                     r"tess|kepler|wise|2mass|galex|snls|csp|swift|hsc)[_\-\s:]?", re.IGNORECASE)


def band_wavelength(name: str) -> float:
    """Effective wavelength in nm for a band name such as ``'g'``, ``'ztfr'``, ``'B'``, ``'2'``.

    Unknown names fall back to 600 nm (a broad optical band)."""
    s = str(name).strip()
    if s in BAND_WAVELENGTH_NM:
        return BAND_WAVELENGTH_NM[s]
    if s.isdigit() and int(s) < len(_LSST_ORDER):
        return BAND_WAVELENGTH_NM[_LSST_ORDER[int(s)]]
    t = _PREFIX.sub("", s)
    t = re.sub(r"(-?band|_?filter|_e|mag)$", "", t, flags=re.IGNORECASE).strip("_- ")
    for cand in (t, t.upper(), t.lower(), t.capitalize()):
        if cand in BAND_WAVELENGTH_NM:
            return BAND_WAVELENGTH_NM[cand]
    m = re.search(r"(\d{3,5})\s*(nm|a|å)?$", t, flags=re.IGNORECASE)  # e.g. 'F606W'-like or '500nm'
    if m:
        val = float(m.group(1))
        return val / 10.0 if (m.group(2) or "").lower() in ("a", "å") or val > 3000 else val
    return DEFAULT_WAVELENGTH_NM
