"""Source detection and measurement in FITS images (classical and learned), and scoring a
detected catalogue against a reference catalogue."""
