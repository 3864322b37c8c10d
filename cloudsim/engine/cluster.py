"""The physical cluster as arrays (one entry per host) and what a guest costs on each host group."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cloudsim.model import Dynamics, ShardSpec
from cloudsim.placement import Request
from cloudsim.scenario.schema import GuestShape, HostGroup, Scenario
from cloudsim.virt import (
    HTYPE_INDEX,
    OSFamily,
    OverheadProfile,
    VirtMode,
    host_kernel,
    host_reserve_mib,
    in_helper_vm,
    incompatibility,
    profile_for,
    resolve_profiles,
    slower_cores,
)


@dataclass(frozen=True)
class GuestCost:
    """What one guest shape costs on one host group."""

    compatible: bool
    why: str  # incompatibility reason ("" if compatible)
    cpu_mips: float  # vCPUs x MIPS per vCPU at full use, without overhead
    overhead_c: float  # CPU fraction lost to virtualization
    cpu_reserved_mips: float  # cpu_mips / (1 - c): what placement reserves
    mem_mib: float  # guest memory + per-instance overhead: what placement reserves
    mem_overhead_mib: float
    profile: OverheadProfile | None

    @property
    def overhead_share(self) -> float:
        """The share of the reservation that is virtualization overhead, 0..1: the mean of CPU (c, since
        the reservation is demand / (1 - c)) and memory (per-instance overhead / memory reserved). What
        the ``overhead`` placement scorer minimises."""
        return (self.overhead_c + self.mem_overhead_mib / self.mem_mib) / 2


def host_order(scenario: Scenario) -> list[int]:
    """The host-group index of each host: one group after another, or round robin over the groups
    (``consolidation.host_order: interleaved``, CloudSim's ``i % 2``)."""
    counts = [g.count for g in scenario.hosts]
    c = scenario.consolidation
    if c is None or c.host_order == "grouped":
        return [k for k, n in enumerate(counts) for _ in range(n)]
    out: list[int] = []
    left = list(counts)
    while any(left):
        for k in range(len(left)):
            if left[k]:
                out.append(k)
                left[k] -= 1
    return out


class Cluster:
    """Hosts of a scenario as numpy arrays, in host order, with the overhead profiles resolved for the
    scenario. A trace workload with ``mode: none`` models no virtualization overhead (CloudSim's model):
    no host reservation, no CPU or memory overhead."""

    def __init__(self, scenario: Scenario) -> None:
        self.groups: list[HostGroup] = list(scenario.hosts)
        self.group = np.asarray(host_order(scenario), dtype=np.int64)
        seen = [0] * len(self.groups)
        self.names: list[str] = []
        for k in self.group.tolist():
            self.names.append(f"{self.groups[k].name}-{seen[k]}")
            seen[k] += 1
        self.index = {name: i for i, name in enumerate(self.names)}  # host name -> host id
        tr = scenario.workload.trace
        self.overheads = tr is None or tr.mode != "none"
        self.dynamics = Dynamics(
            model=scenario.dynamics.model,
            source_share=1.0 - scenario.dynamics.migration_slowdown,
            target_share=scenario.dynamics.target_share,
            full_power=scenario.consolidation is not None and scenario.consolidation.allocation == "npa",
        )
        per_group = {
            "cores": [g.cpu.cores for g in self.groups],
            "mips_per_core": [g.cpu.mips_per_core for g in self.groups],
            "mem_mib": [g.memory_gib * 1024.0 for g in self.groups],
            "htype": [HTYPE_INDEX[g.hypervisor.type] for g in self.groups],
            "reserve_mib": [
                host_reserve_mib(
                    g.hypervisor.product,
                    g.memory_gib * 1024.0,
                    host_kernel(g.hypervisor.product, g.hypervisor.host_os) is not None,
                    in_helper_vm(VirtMode.CONTAINER, OSFamily.LINUX, g.hypervisor.product, g.hypervisor.host_os),
                )
                for g in self.groups
            ],
        }
        arrays = {k: np.asarray(v, dtype=np.float64)[self.group] for k, v in per_group.items()}
        self.cores = arrays["cores"]
        self.mips_per_core = arrays["mips_per_core"]
        self.cpu_mips = self.cores * self.mips_per_core
        self.mem_mib = arrays["mem_mib"]
        self.htype = arrays["htype"].astype(np.int64)
        self.reserve_mib = arrays["reserve_mib"] if self.overheads else np.zeros(len(self.group))
        self.power_curve_w = np.asarray([g.power.curve_w() for g in self.groups])[self.group]
        self.empty_off = np.asarray([g.power.empty_hosts == "off" for g in self.groups])[self.group]
        overrides = {m: {t: o.values() for t, o in by.items()} for m, by in scenario.overheads.items()}
        self._mem_overridden = {
            (m, t)
            for m, by in overrides.items()
            for t, vals in by.items()
            if {"mem_fixed_mib", "mem_frac", "mem_per_extra_vcpu_mib"} & set(vals)
        }
        self.profiles = resolve_profiles(overrides)
        self._cost_cache: dict[int, list[GuestCost]] = {}
        self._min_cache: dict[int, tuple[float, float]] = {}
        self._request_cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, Callable[[int], str], np.ndarray]] = {}
        self._shape_refs: list[GuestShape] = []  # keep cached shapes alive (id() keys)
        self.group_of: list[int] = self.group.tolist()  # a host's group as a Python int, for the per-event paths

    def __len__(self) -> int:
        return len(self.names)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_cost_cache"], state["_min_cache"], state["_shape_refs"] = {}, {}, []  # keyed by id(): per process
        state["_request_cache"] = {}
        return state

    def shard_specs(self, hosts_per_shard: int, seed: int) -> list[ShardSpec]:
        """Contiguous groups of ``hosts_per_shard`` hosts, in host order."""
        n = len(self)
        return [
            ShardSpec(
                host_ids=np.arange(lo, min(lo + hosts_per_shard, n)),
                cpu_mips=self.cpu_mips[lo : lo + hosts_per_shard],
                pe_mips=self.mips_per_core[lo : lo + hosts_per_shard],
                mem_mib=self.mem_mib[lo : lo + hosts_per_shard],
                reserve_mib=self.reserve_mib[lo : lo + hosts_per_shard],
                power_curve_w=self.power_curve_w[lo : lo + hosts_per_shard],
                empty_off=self.empty_off[lo : lo + hosts_per_shard],
                seed=seed,
                dynamics=self.dynamics,
            )
            for lo in range(0, n, hosts_per_shard)
        ]

    def costs(self, shape: GuestShape) -> list[GuestCost]:
        """What a guest of this shape costs on each host group (cached per shape object)."""
        key = id(shape)
        if key not in self._cost_cache:
            self._shape_refs.append(shape)
            self._cost_cache[key] = [self._cost(shape, g) for g in self.groups]
        return self._cost_cache[key]

    def _cost(self, shape: GuestShape, group: HostGroup) -> GuestCost:
        hv = group.hypervisor
        why = incompatibility(shape.mode, shape.os, hv.product, hv.host_os) or slower_cores(
            shape.mips_per_vcpu, group.cpu.mips_per_core, self.dynamics.model
        )
        guest_mib = shape.memory_gib * 1024.0
        cpu = shape.vcpus * (shape.mips_per_vcpu or group.cpu.mips_per_core)
        if why is not None:
            return GuestCost(False, why, cpu, 0.0, cpu, guest_mib, 0.0, None)
        if not self.overheads:
            return GuestCost(True, "", cpu, 0.0, cpu, guest_mib, 0.0, None)
        helper_vm = in_helper_vm(shape.mode, shape.os, hv.product, hv.host_os)
        overridden = (shape.mode, hv.type) in self._mem_overridden  # (read for VMs on KVM only)
        p = profile_for(self.profiles, shape.mode, hv.type, hv.product, overridden, helper_vm)
        c = p.cpu_fraction(shape.kernel_intensity)
        mem_over = p.memory_overhead_mib(guest_mib, shape.vcpus)
        return GuestCost(True, "", cpu, c, cpu / (1.0 - c), guest_mib + mem_over, mem_over, p)

    def cost_on(self, shape: GuestShape, h: int) -> GuestCost:
        """What a guest of this shape costs on host ``h`` (:meth:`costs` of its group)."""
        return self.costs(shape)[self.group_of[h]]

    def min_demand(self, shape: GuestShape) -> tuple[float, float]:
        """The least (cpu MIPS, memory MiB) the guest reserves on any host it can run on (cached per shape,
        like :meth:`costs`)."""
        key = id(shape)
        if key not in self._min_cache:
            ok = [c for c in self.costs(shape) if c.compatible]  # costs() keeps the shape alive
            self._min_cache[key] = (min(c.cpu_reserved_mips for c in ok), min(c.mem_mib for c in ok))
        return self._min_cache[key]

    def request(self, guest_id: int, shape: GuestShape) -> Request:
        """The placement request of a guest: its reservation on each host group (cached per shape)."""
        key = id(shape)
        if key not in self._request_cache:
            costs = self.costs(shape)  # keeps the shape alive
            self._request_cache[key] = (
                np.array([c.cpu_reserved_mips for c in costs]),
                np.array([c.mem_mib for c in costs]),
                np.array([c.compatible for c in costs]),
                lambda h: f"{self.names[h]}: {costs[int(self.group[h])].why}",
                np.array([c.overhead_share for c in costs]),
            )
        cpu, mem, ok, why, overhead = self._request_cache[key]
        return Request(guest_id, cpu, mem, ok, why, group=self.group, overhead=overhead)
