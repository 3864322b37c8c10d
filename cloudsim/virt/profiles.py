"""Overhead profiles: what a guest costs its host beyond what it asks for, per (mode, hypervisor type).

Every number comes from ``reference/overhead-calibration.md`` (section 8b unless noted) and carries the
row IDs it rests on (C = CPU, M = memory, D = disk, N = network, B = boot, T = Type 2, L = migration) and
the note's confidence (H/M/L). "derived" means the note interpolated it from the cited rows. How the
numbers are applied (note §8a):

* CPU: to deliver ``d`` MIPS to a guest the host spends ``d / (1 - c)``, with
  ``c = (1 - kappa) * cpu_compute + kappa * cpu_os`` and ``kappa`` the guest's kernel intensity
  (default 0.1, a modelling assumption of the note, not a measurement).
* Memory per instance: ``guest + mem_fixed_mib + mem_frac * guest + mem_per_extra_vcpu_mib * (vcpus - 1)``.
  The note's "MB" are the vendors' (binary) megabytes and are used as MiB.
* Host reservation: once per host, by hypervisor product (:data:`HOST_RESERVE_MIB`).
* I/O: ``disk_seq``, ``disk_rand`` and ``net_tput`` scale the device capacity a guest sees;
  ``net_lat_add_us`` is added to each round trip.
* Boot: ``boot_s`` between placement and the guest running.

A scenario may override any field per (mode, hypervisor type) with ``overheads:``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from cloudsim.virt.types import HypervisorType, OSFamily, VirtMode

#: Default kernel intensity (share of OS-intensive work), note §8a: "a modelling assumption".
DEFAULT_KERNEL_INTENSITY = 0.1


@dataclass(frozen=True)
class OverheadProfile:
    """The cost of one guest in one (mode, hypervisor type) cell. See the module docstring."""

    cpu_compute: float
    cpu_os: float
    mem_fixed_mib: float
    mem_frac: float
    mem_per_extra_vcpu_mib: float
    disk_seq: float
    disk_rand: float
    net_tput: float
    net_lat_add_us: float
    boot_s: float
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def cpu_fraction(self, kernel_intensity: float = DEFAULT_KERNEL_INTENSITY) -> float:
        """``c`` of note §8a: the share of host CPU lost to virtualization."""
        return (1.0 - kernel_intensity) * self.cpu_compute + kernel_intensity * self.cpu_os

    def memory_overhead_mib(self, guest_mib: float, vcpus: int) -> float:
        """Host memory an instance costs beyond its own ``guest_mib``."""
        return self.mem_fixed_mib + self.mem_frac * guest_mib + self.mem_per_extra_vcpu_mib * max(vcpus - 1, 0)


#: The tunable numeric fields of a profile (what a scenario may override).
PROFILE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(OverheadProfile) if f.name != "sources")

_C, _P, _FH, _FB = VirtMode.CONTAINER, VirtMode.PARA, VirtMode.FULL_HW, VirtMode.FULL_BT
_T1, _T2 = HypervisorType.TYPE1, HypervisorType.TYPE2

DEFAULT_PROFILES: dict[tuple[VirtMode, HypervisorType], OverheadProfile] = {
    # Container on a bare-metal host kernel. Latency: Docker's default bridge/NAT (+35 us); host-net is 0.
    (_C, _T1): OverheadProfile(
        cpu_compute=0.01,
        cpu_os=0.02,
        mem_fixed_mib=10,
        mem_frac=0.0,
        mem_per_extra_vcpu_mib=0,
        disk_seq=1.00,
        disk_rand=1.00,
        net_tput=1.00,
        net_lat_add_us=35,
        boot_s=0.5,
        sources={
            "cpu_compute": "C1,C2,M13 H",
            "cpu_os": "C14,N3 M",
            "mem": "M11 M",
            "disk": "D1,D2 H (volume)",
            "net_tput": "N1 M",
            "net_lat_add_us": "N2,N3 H (NAT)",
            "boot_s": "B1,B2 M",
        },
    ),
    # Container in a Type 2 host's helper Linux VM (a Linux container on a host OS that is not Linux): the
    # note's Docker-Desktop row, i.e. the FV-HW/Type 2 values plus the container's own cost. Memory: "VM row
    # + 10 MB per container", the VM row's 1 % on the memory the helper VM holds for the container, its 130 MB
    # once per host (HELPER_VM_MIB). All derived, confidence L. A container of the host OS's own family runs on
    # the host kernel and gets the row above (profile_for).
    (_C, _T2): OverheadProfile(
        cpu_compute=0.06,
        cpu_os=0.47,
        mem_fixed_mib=10,
        mem_frac=0.01,
        mem_per_extra_vcpu_mib=0,
        disk_seq=0.75,
        disk_rand=0.12,
        net_tput=0.45,
        net_lat_add_us=135,
        boot_s=0.5,
        sources={"all": "8b 'container inside a Linux VM on a Type-2 host' (derived) L"},
    ),
    (_P, _T1): OverheadProfile(
        cpu_compute=0.02,
        cpu_os=0.05,
        mem_fixed_mib=30,
        mem_frac=0.01,
        mem_per_extra_vcpu_mib=4,
        disk_seq=0.97,
        disk_rand=0.50,
        net_tput=0.99,
        net_lat_add_us=30,
        boot_s=11,
        sources={
            "cpu_compute": "C3,C1,C10 H",
            "cpu_os": "C4,C9 M",
            "mem": "M1,M3 M",
            "disk_seq": "D1,D5 H",
            "disk_rand": "D2,D3,D7 H",
            "net_tput": "N1,N4 H",
            "net_lat_add_us": "N2 H",
            "boot_s": "B1 M",
        },
    ),
    (_P, _T2): OverheadProfile(
        cpu_compute=0.03,
        cpu_os=0.10,
        mem_fixed_mib=130,
        mem_frac=0.01,
        mem_per_extra_vcpu_mib=0,
        disk_seq=0.75,
        disk_rand=0.25,
        net_tput=0.7,
        net_lat_add_us=60,
        boot_s=11,
        sources={
            "cpu_compute": "C3,C5,T3 M",
            "cpu_os": "T4 (derived) L",
            "mem": "M5 L",
            "disk_seq": "D5 L",
            "disk_rand": "D2,D6 (derived) L",
            "net_tput": "N4,N7 (derived) L",
            "net_lat_add_us": "N2,T2 (derived) L",
            "boot_s": "B1 L",
        },
    ),
    (_FH, _T1): OverheadProfile(
        cpu_compute=0.05,
        cpu_os=0.15,
        mem_fixed_mib=30,
        mem_frac=0.01,
        mem_per_extra_vcpu_mib=4,
        disk_seq=0.80,
        disk_rand=0.30,
        net_tput=0.50,
        net_lat_add_us=80,
        boot_s=11,
        sources={
            "cpu_compute": "C1,C2,C5 M",
            "cpu_os": "C6,M16 (derived) L",
            "mem": "M1 M",
            "disk_seq": "(derived) L",
            "disk_rand": "D2,D6 (derived) L",
            "net_tput": "N4,N7 (derived) L",
            "net_lat_add_us": "N2,N3 (derived) L",
            "boot_s": "B1 M",
        },
    ),
    (_FH, _T2): OverheadProfile(
        cpu_compute=0.05,
        cpu_os=0.45,
        mem_fixed_mib=130,
        mem_frac=0.01,
        mem_per_extra_vcpu_mib=0,
        disk_seq=0.75,
        disk_rand=0.12,
        net_tput=0.45,
        net_lat_add_us=100,
        boot_s=11,
        sources={
            "cpu_compute": "C5,T3 H",
            "cpu_os": "C6 M",
            "mem": "(derived) L",
            "disk_seq": "D5 M",
            "disk_rand": "D6 M",
            "net_tput": "N7,N4 M",
            "net_lat_add_us": "(placeholder) L",
            "boot_s": "B1 L",
        },
    ),
    (_FB, _T1): OverheadProfile(
        cpu_compute=0.04,
        cpu_os=0.33,
        mem_fixed_mib=32,
        mem_frac=0.01,
        mem_per_extra_vcpu_mib=0,
        disk_seq=0.80,
        disk_rand=0.30,
        net_tput=0.50,
        net_lat_add_us=80,
        boot_s=11,
        sources={
            "cpu_compute": "C5 H",
            "cpu_os": "C6 M",
            "mem": "M3 M",
            "disk_seq": "(derived) L",
            "disk_rand": "(derived) L",
            "net_tput": "C7 (derived) L",
            "net_lat_add_us": "(derived) L",
            "boot_s": "(derived) L",
        },
    ),
    (_FB, _T2): OverheadProfile(
        cpu_compute=0.03,
        cpu_os=0.33,
        mem_fixed_mib=130,
        mem_frac=0.01,
        mem_per_extra_vcpu_mib=0,
        disk_seq=0.74,
        disk_rand=0.12,
        net_tput=0.5,
        net_lat_add_us=100,
        boot_s=11,
        sources={
            "cpu_compute": "C3,C5 H",
            "cpu_os": "C6,C4 H",
            "mem": "(derived) L",
            "disk_seq": "D5 H",
            "disk_rand": "D6 M",
            "net_tput": "N4 H",
            "net_lat_add_us": "(placeholder) L",
            "boot_s": "(derived) L",
        },
    ),
}

#: QEMU-based VMMs (KVM) carry a larger constant per-VM overhead than ESXi's (note 8b PV/FV Type 1 rows:
#: "QEMU-based VMMs: 130 MB + 0.2 % (+8 MB/vCPU)" [M5, M6] M). The 8 MB count for *every* vCPU (M6:
#: "8 MiB x vCPUs"), so the first one is folded into the fixed part: 130 + 8 = 138, then 8 per extra vCPU.
#: Applied to VM modes on ``kvm`` hosts.
QEMU_MEMORY = {"mem_fixed_mib": 130.0 + 8.0, "mem_frac": 0.002, "mem_per_extra_vcpu_mib": 8.0}
QEMU_PRODUCTS = frozenset({"kvm"})


def xen_reserve_mib(host_mib: float) -> float:
    """Xen hypervisor (128 MB) plus dom0 sized by host memory, per current XenServer guidance [M8] H:
    2 GB for 24-48 GB hosts, 3 GB to 64, 4 GB above. The same guidance lists 752 MB for 20-24 GB hosts
    but also says never to go below 1 GiB; we apply that floor to every host under 24 GB."""
    gib = host_mib / 1024
    if gib < 24:
        dom0 = 1024.0
    elif gib < 48:
        dom0 = 2048.0
    elif gib < 64:
        dom0 = 3072.0
    else:
        dom0 = 4096.0
    return 128.0 + dom0


#: Host memory a hypervisor keeps for itself, by product (MiB), with sources.
HOST_RESERVE_MIB: dict[str, tuple[float, str]] = {
    "kvm": (4096.0, "M7 M: reserve 4 GB for host processes"),
    "esxi": (272.0, "M2 H: service console 272 MB"),
    "hyperv": (2048.0 + 300.0, "M10 L: parent partition 2 GB + hypervisor ~300 MB"),
    "virtualbox": (2048.0, "T1 M: host OS 1-2 GB (2 GB+ recommended)"),
    "vmware-workstation": (2048.0, "T1 M: host OS 1-2 GB (2 GB+ recommended)"),
}

#: A container runtime's per-host daemons (containerd ~57-64 MB RSS) [M11] M, on hosts that run containers.
CONTAINER_RUNTIME_MIB = 64.0


#: The helper Linux VM a Type 2 host whose OS is not Linux runs Linux containers in (note §8b: "T2 host reserve +
#: helper-VM RAM", derived L): its VMM's per-VM memory, the full_hw / Type 2 row's 130 MB; the memory it holds for
#: each container is the container's (with the row's 1 %).
HELPER_VM_MIB = 130.0


def host_reserve_mib(product: str, host_mib: float, runs_containers: bool, helper_vm: bool = False) -> float:
    """Memory a host keeps back before any guest: the hypervisor's (or host OS's) reservation, plus the
    container runtime's daemons when the host can run containers, plus the helper VM's when it runs Linux
    containers in one."""
    base = xen_reserve_mib(host_mib) if product == "xen" else HOST_RESERVE_MIB[product][0]
    return base + (CONTAINER_RUNTIME_MIB if runs_containers else 0.0) + (HELPER_VM_MIB if helper_vm else 0.0)


def resolve_profiles(
    overrides: dict[VirtMode, dict[HypervisorType, dict[str, float]]] | None = None,
) -> dict[tuple[VirtMode, HypervisorType], OverheadProfile]:
    """The default profiles with a scenario's overrides applied (``overrides[mode][htype][field]``)."""
    out = dict(DEFAULT_PROFILES)
    for mode, by_type in (overrides or {}).items():
        for htype, values in by_type.items():
            base = out[(mode, htype)]
            srcs = {**base.sources, **{k: "scenario override" for k in values}}
            out[(mode, htype)] = replace(base, **values, sources=srcs)
    return out


def profile_for(
    profiles: dict[tuple[VirtMode, HypervisorType], OverheadProfile],
    mode: VirtMode,
    htype: HypervisorType,
    product: str,
    overridden_memory: bool = False,
    helper_vm: bool = False,
) -> OverheadProfile:
    """The profile a guest of ``mode`` gets on a host with ``product``: the (mode, type) cell, with the
    QEMU per-VM memory figures on KVM hosts unless the scenario overrode the memory fields. A container's
    cell is where its kernel is: (container, type2) in a Type 2 host's helper VM (``helper_vm``,
    :func:`~cloudsim.virt.types.in_helper_vm`), (container, type1) on a host kernel of any type."""
    if mode is VirtMode.CONTAINER:
        htype = HypervisorType.TYPE2 if helper_vm else HypervisorType.TYPE1
    p = profiles[(mode, htype)]
    if product in QEMU_PRODUCTS and mode is not VirtMode.CONTAINER and not overridden_memory:
        return replace(p, **QEMU_MEMORY, sources={**p.sources, "mem": "M5,M6 M (QEMU-based VMM)"})
    return p


__all__ = [
    "CONTAINER_RUNTIME_MIB",
    "DEFAULT_KERNEL_INTENSITY",
    "DEFAULT_PROFILES",
    "HELPER_VM_MIB",
    "HOST_RESERVE_MIB",
    "PROFILE_FIELDS",
    "OSFamily",
    "OverheadProfile",
    "host_reserve_mib",
    "profile_for",
    "resolve_profiles",
]
