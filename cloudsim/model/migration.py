"""How long a live migration takes and how long the guest is frozen, per virtualization mode.

* VMs (full and paravirtualized guests): the pre-copy model of the calibration note §5b (Clark et al.
  2005): rounds resend the pages dirtied meanwhile until the rest fits in the downtime limit, 29 rounds
  pass or 3 x RAM has been sent; then a stop-and-copy of the rest (at least the hot working set) and a
  resume. Or CloudSim's ``RAM / (BW / 2)`` with no downtime (``cloudsim``), for compatibility runs.
* Containers: stop-and-copy with CRIU, ``downtime = checkpoint + memory / bandwidth + restore`` (note §8c,
  [L11]). The checkpoint and restore freeze is a modelling assumption: 2 s, one user's report for a
  14-process container [L11], low confidence (see README.md).

Bandwidth is half the host link, as CloudSim and the note both take it [L9].
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: CRIU checkpoint + restore freeze of a container, seconds (assumption from [L11], low confidence).
CONTAINER_FREEZE_S = 2.0


@dataclass(frozen=True)
class PreCopy:
    """Pre-copy live migration (calibration note §5b)."""

    dirty_rate_mb_s: float = 2.34  # Clark 2005 SPECweb check in note §5b: 126.7 MB / 54.1 s
    downtime_limit_s: float = 0.3  # QEMU default [L8]
    max_rounds: int = 29  # Xen [L7]
    max_sent_ram: float = 3.0  # Xen [L7]
    wws_hot_fraction: float = 0.02  # Clark's final round, 18.2 / 800 MB (note §5b)
    resume_s: float = 0.009  # [L1]

    def duration(self, ram_mb: float, bandwidth_mb_s: float) -> tuple[float, float]:
        """(total migration time, downtime) in seconds."""
        b, d = bandwidth_mb_s, self.dirty_rate_mb_s
        v = ram_mb
        sent = 0.0
        total = 0.0
        for _ in range(self.max_rounds):
            if v / b <= self.downtime_limit_s or v <= 0.25 or sent + v > self.max_sent_ram * ram_mb:
                break
            t = v / b
            total += t
            sent += v
            v = min(ram_mb, d * t)
        down = max(v, self.wws_hot_fraction * ram_mb) / b + self.resume_s
        return total + down, down


@dataclass(frozen=True)
class MigrationModel:
    """The scenario's migration model: ``precopy`` (default) or ``cloudsim`` for VMs; containers always
    checkpoint and restore."""

    vm_model: str = "precopy"
    precopy: PreCopy = field(default_factory=PreCopy)
    container_freeze_s: float = CONTAINER_FREEZE_S

    def duration(self, ram_mb: float, host_link_mb_s: float, container: bool) -> tuple[float, float]:
        """(total time, downtime) in seconds of moving a guest of ``ram_mb`` over a host link of
        ``host_link_mb_s`` (the migration uses half of it)."""
        b = host_link_mb_s / 2
        if container:
            down = self.container_freeze_s + ram_mb / b
            return down, down
        if self.vm_model == "cloudsim":
            return ram_mb / b, 0.0
        return self.precopy.duration(ram_mb, b)
