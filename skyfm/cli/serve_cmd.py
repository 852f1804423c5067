"""CLI commands (filled in by the module owner)."""
from skyfm.cli import app  # noqa: F401
