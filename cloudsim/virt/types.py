"""The seed's vocabulary as code: hypervisor types and products, virtualization modes, OS families,
and the compatibility rules that say which guest can run on which host.

The rules (from ``seed/virtualization-notes.md`` and the products' documented capabilities):

* A **Type 1** hypervisor runs on the bare metal (KVM, Xen, ESXi, Hyper-V); a **Type 2** hypervisor runs
  as an application on a host OS (VirtualBox, VMware Workstation).
* **Full virtualization** runs an unmodified guest of any OS family, either hardware-assisted
  (``full_hw``: VT-x/AMD-V) or by binary translation (``full_bt``). KVM, Xen HVM and Hyper-V are built on
  hardware assist and offer no binary translation.
* **Paravirtualization** (``para``) needs a modified, PV-capable guest kernel (hypercalls, PV drivers):
  Linux and the BSDs have one, Windows does not.
* A **container** shares the host's kernel, so its OS family must be the host's kernel family. ESXi's
  VMkernel runs no general-purpose containers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class HypervisorType(StrEnum):
    """Where the hypervisor runs: ``type1`` on bare metal, ``type2`` hosted on an OS."""

    TYPE1 = "type1"
    TYPE2 = "type2"


class VirtMode(StrEnum):
    """How a guest is virtualized."""

    CONTAINER = "container"
    PARA = "para"
    FULL_HW = "full_hw"
    FULL_BT = "full_bt"


class OSFamily(StrEnum):
    """Guest and host kernel families."""

    LINUX = "linux"
    WINDOWS = "windows"
    BSD = "bsd"


#: Guest OS families with a paravirtualized kernel (Xen PV / pvops; NetBSD and FreeBSD ports).
PV_CAPABLE_OS: frozenset[OSFamily] = frozenset({OSFamily.LINUX, OSFamily.BSD})

#: Stable index of every mode, for numpy arrays (columns of per-mode tables).
MODES: tuple[VirtMode, ...] = tuple(VirtMode)
MODE_INDEX: dict[VirtMode, int] = {m: i for i, m in enumerate(MODES)}
HYPERVISOR_TYPES: tuple[HypervisorType, ...] = tuple(HypervisorType)
HTYPE_INDEX: dict[HypervisorType, int] = {h: i for i, h in enumerate(HYPERVISOR_TYPES)}


@dataclass(frozen=True)
class Product:
    """A hypervisor product: its type, the kernel family it brings (``None`` for a Type 2 product,
    whose kernel is the host OS's), and the guest modes it offers."""

    name: str
    type: HypervisorType
    kernel: OSFamily | None
    modes: frozenset[VirtMode]
    note: str


_ALL_VM = frozenset({VirtMode.PARA, VirtMode.FULL_HW, VirtMode.FULL_BT})

PRODUCTS: dict[str, Product] = {
    p.name: p
    for p in (
        Product(
            "kvm",
            HypervisorType.TYPE1,
            OSFamily.LINUX,
            frozenset({VirtMode.CONTAINER, VirtMode.PARA, VirtMode.FULL_HW}),
            "Linux kernel module; needs VT-x/AMD-V (no binary translation); virtio for PV I/O",
        ),
        Product(
            "xen",
            HypervisorType.TYPE1,
            OSFamily.LINUX,
            frozenset({VirtMode.CONTAINER, VirtMode.PARA, VirtMode.FULL_HW}),
            "PV guests and HVM guests; Linux dom0",
        ),
        Product(
            "esxi",
            HypervisorType.TYPE1,
            None,
            _ALL_VM,
            "VMkernel (no general-purpose containers); BT in classic ESX, vmxnet/pvscsi PV drivers",
        ),
        Product(
            "hyperv",
            HypervisorType.TYPE1,
            OSFamily.WINDOWS,
            frozenset({VirtMode.CONTAINER, VirtMode.PARA, VirtMode.FULL_HW}),
            "Windows parent partition; enlightened (PV) Linux guests; hardware assist only",
        ),
        Product(
            "virtualbox",
            HypervisorType.TYPE2,
            None,
            frozenset({VirtMode.CONTAINER, *_ALL_VM}),
            "hosted; VT-x or (older releases) software virtualization; virtio-net with Guest Additions",
        ),
        Product(
            "vmware-workstation",
            HypervisorType.TYPE2,
            None,
            frozenset({VirtMode.CONTAINER, *_ALL_VM}),
            "hosted; VT-x or (up to 2006-era releases) binary translation; vmxnet",
        ),
    )
}


def host_kernel(product: str, host_os: OSFamily | None) -> OSFamily | None:
    """The kernel family a container on this host would share (``None``: no container kernel).

    A Type 1 product brings its own kernel (KVM and Xen dom0: Linux; Hyper-V: Windows; ESXi: none);
    a Type 2 product runs on the host OS, whose kernel the containers of its family share (a Linux container
    on another host OS runs in a helper VM instead: :func:`in_helper_vm`).
    """
    p = PRODUCTS[product]
    if p.type is HypervisorType.TYPE2:
        return host_os or OSFamily.LINUX
    return p.kernel


def in_helper_vm(mode: VirtMode, guest_os: OSFamily, product: str, host_os: OSFamily | None) -> bool:
    """Whether a guest runs as a container in a Type 2 host's helper Linux VM: the Docker Desktop pattern of
    the calibration note (§8b, "container inside a Linux VM on a Type-2 host"), a Linux container on a host
    whose OS is not Linux. A container of the host OS's own family runs on the host kernel, as on bare metal."""
    return (
        mode is VirtMode.CONTAINER
        and PRODUCTS[product].type is HypervisorType.TYPE2
        and guest_os is OSFamily.LINUX
        and host_kernel(product, host_os) is not OSFamily.LINUX
    )


def incompatibility(mode: VirtMode, guest_os: OSFamily, product: str, host_os: OSFamily | None) -> str | None:
    """Why a guest of ``mode``/``guest_os`` cannot run on a host with ``product``, or ``None`` if it can.

    The reason is a short sentence fit for a placement log or an error message.
    """
    p = PRODUCTS[product]
    if mode not in p.modes:
        offered = ", ".join(sorted(m.value for m in p.modes))
        return f"{product} offers no {mode.value} guests (it offers {offered})"
    if mode is VirtMode.PARA and guest_os not in PV_CAPABLE_OS:
        capable = ", ".join(sorted(o.value for o in PV_CAPABLE_OS))
        return f"para needs a PV-capable guest OS ({capable}); {guest_os.value} is not"
    if mode is VirtMode.CONTAINER:
        kernel = host_kernel(product, host_os)
        if kernel is None:
            return f"a container shares the host kernel and {product} has none for containers"
        if kernel is not guest_os and not in_helper_vm(mode, guest_os, product, host_os):
            helper = p.type is HypervisorType.TYPE2 and kernel is not OSFamily.LINUX
            also = " (it runs linux ones besides, in a helper VM)" if helper else ""
            return f"a container shares the host kernel: {guest_os.value} guest on a {kernel.value} kernel{also}"
    return None


def slower_cores(mips_per_vcpu: float | None, core_mips: float, dynamics: str) -> str | None:
    """Why a guest whose vCPUs run at ``mips_per_vcpu`` cannot run on a host whose cores give ``core_mips``, or
    ``None`` if it can: a vCPU runs on one core at a time, so it is never faster than one. ``None`` is a core's
    own speed. CloudSim's model (``dynamics`` ``cloudsim``) has its own rule instead, applied as it allocates:
    a VM's current request must fit in one core, and what it gets is capped at one."""
    if dynamics != "cloudsim" and mips_per_vcpu is not None and mips_per_vcpu > core_mips:
        return f"a vCPU of {mips_per_vcpu:g} MIPS is faster than this host's cores ({core_mips:g} MIPS)"
    return None
