"""Test tooling that ships with skyfm: the fuzz/torture engine (:mod:`skyfm.testing.fuzz`)."""
