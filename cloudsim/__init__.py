"""cloudsim: a distributed multi-host cloud simulator on Ray."""

#: The package version, its one source: pyproject.toml reads it from here (``cloudsim --version``).
__version__ = "0.1.0"
