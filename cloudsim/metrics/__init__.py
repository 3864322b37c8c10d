"""Run figures: the recorder (time series, snapshot, summary, placement log) and the prometheus-client
collector and endpoint."""

from cloudsim.metrics.recorder import Recorder, Snapshot

__all__ = ["Recorder", "Snapshot"]
