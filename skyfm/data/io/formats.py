"""The built-in readers, registered with :mod:`skyfm.data.io.registry` when this module is
imported. Readers and identify functions are named as ``"module:function"`` so nothing heavy is
imported here.

Priorities keep the order the old sniffing chain had: binary formats known by their magic
bytes or schema first, then FITS (specialised readers above generic FITS), then tables
(survey tables by their columns above light-curve tables above spectra tables above the
catalogue reader, which takes any table). Folders have their own order.
"""

from __future__ import annotations

from skyfm.data.io.registry import register_reader

_IO = "skyfm.data.io"

# name, reader, identify, modality, priority, extensions, folder identify, folder priority
_BUILTIN = (
    ("spectra_table", "skyfm.data.layout:read_spectra_table",
     "skyfm.data.layout:identify_spectra_table", "spectrum", 45, (".parquet", ".csv"), None, 0),
    ("eros", f"{_IO}.eros:read_eros", f"{_IO}.eros:identify_eros", "lightcurve", 100,
     (".csv.gz", ".csv"), f"{_IO}.eros:identify_eros_folder", 100),
    ("lightcurve_table", f"{_IO}.table:read_lightcurve_table",
     f"{_IO}.table:identify_lightcurve_table", "lightcurve", 50,
     (".csv", ".parquet", ".ecsv", ".tbl", ".dat", ".txt", ".lc", ".xml"), None, 0),
    ("layout", "skyfm.data.layout:load_dataset", None, "mixed", 0, (),
     "skyfm.data.layout:is_dataset", 70),
    ("plasticc", f"{_IO}.plasticc:read_plasticc", f"{_IO}.plasticc:identify_plasticc",
     "lightcurve", 55, (".parquet", ".csv"), f"{_IO}.plasticc:identify_plasticc_folder", 95),
    ("alerce", f"{_IO}.alerce:read_alerce", f"{_IO}.alerce:identify_alerce", "lightcurve", 56,
     (".csv",), f"{_IO}.alerce:identify_alerce_folder", 90),
    ("macho", f"{_IO}.macho:read_macho", f"{_IO}.macho:identify_macho", "lightcurve", 80,
     (".tar.bz2", ".mjd"), f"{_IO}.macho:identify_macho_folder", 85),
    ("alerts", f"{_IO}.alerts:read_alerts", f"{_IO}.alerts:identify_alerts", "lightcurve", 85,
     (".avro",), f"{_IO}.alerts:identify_alerts_folder", 60),
    ("alert_parquet", f"{_IO}.alert_parquet:read_alert_parquet",
     f"{_IO}.alert_parquet:identify_alert_parquet", "lightcurve", 95, (".parquet",),
     f"{_IO}.alert_parquet:identify_alert_parquet_folder", 55),
    ("spex", f"{_IO}.spex:read_spex", f"{_IO}.spex:identify_spex", "spectrum", 70,
     (".fits.gz",), f"{_IO}.spex:identify_spex_folder", 80),
    ("desi", f"{_IO}.desi:read_desi", f"{_IO}.desi:identify_desi", "spectrum", 70, (".fits",),
     f"{_IO}.desi:identify_desi_folder", 50),
    ("apogee", f"{_IO}.apogee:read_apogee", f"{_IO}.apogee:identify_apogee", "spectrum", 90,
     (".npz",), f"{_IO}.apogee:identify_apogee_folder", 65),
    ("image", f"{_IO}.images:read_images", f"{_IO}.images:identify_image", "image", 75,
     (".jpeg", ".jpg", ".png"), None, 0),
    ("galaxyzoo", f"{_IO}.images:read_galaxyzoo", None, "image", 0, (),
     f"{_IO}.images:identify_galaxyzoo_folder", 75),
    ("fits", f"{_IO}.fitsfile:read_fits", f"{_IO}.fitsfile:identify_fits", "image", 60,
     (".fits", ".fit", ".fits.gz"), None, 0),
    ("catalog", f"{_IO}.catalogs:read_catalog", f"{_IO}.catalogs:identify_catalog", "catalog",
     10, (".csv", ".parquet", ".dat", ".data", ".txt", ".xml", ".vot"),
     f"{_IO}.catalogs:identify_catalog_folder", 40),
    ("image_folder", f"{_IO}.images:read_image_folder", None, "image", 0, (),
     f"{_IO}.images:identify_image_folder", 30),
    ("lightcurve_fits", f"{_IO}.lcfits:read_lightcurve_fits",
     f"{_IO}.lcfits:identify_lightcurve_fits", "lightcurve", 65, (".fits", ".fits.gz"), None, 0),
)

for (_name, _reader, _ident, _modality, _prio, _ext, _fident, _fprio) in _BUILTIN:
    register_reader(_name, _reader, _ident, modality=_modality, priority=_prio, extensions=_ext,
                    folder_identify=_fident, folder_priority=_fprio, replace=True)
