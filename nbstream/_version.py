"""The single source of nbstream's version (js/package.json must match; a test checks)."""

__version__ = "0.1.0"
