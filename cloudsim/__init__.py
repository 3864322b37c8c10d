"""cloudsim: a distributed multi-host cloud simulator on Ray."""

__version__ = "0.1.0"
