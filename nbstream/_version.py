"""The single source of nbstream's version (js/package.json must match; a test checks)."""

__version__ = "0.1.0"
"""nbstream's version, as pip and ``nbstream --version`` show it.

Example::

    import nbstream

    print(nbstream.__version__)
"""
