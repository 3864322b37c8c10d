"""Compatibility rules and overhead arithmetic per (mode, hypervisor type)."""

from __future__ import annotations

import pytest

from cloudsim.virt import (
    DEFAULT_PROFILES,
    PRODUCTS,
    PROFILE_FIELDS,
    HypervisorType,
    OSFamily,
    VirtMode,
    host_reserve_mib,
    in_helper_vm,
    incompatibility,
    profile_for,
    resolve_profiles,
)

C, P, FH, FB = VirtMode.CONTAINER, VirtMode.PARA, VirtMode.FULL_HW, VirtMode.FULL_BT
LINUX, WINDOWS, BSD = OSFamily.LINUX, OSFamily.WINDOWS, OSFamily.BSD
T1, T2 = HypervisorType.TYPE1, HypervisorType.TYPE2


@pytest.mark.parametrize(
    ("mode", "guest_os", "product", "host_os", "runs"),
    [
        # full virtualization runs any unmodified OS
        (FH, WINDOWS, "kvm", None, True),
        (FH, LINUX, "esxi", None, True),
        (FH, WINDOWS, "virtualbox", LINUX, True),
        # binary translation: VMware/VirtualBox and classic ESX only; KVM, Xen, Hyper-V need VT-x
        (FB, LINUX, "esxi", None, True),
        (FB, WINDOWS, "vmware-workstation", WINDOWS, True),
        (FB, LINUX, "kvm", None, False),
        (FB, LINUX, "xen", None, False),
        (FB, LINUX, "hyperv", None, False),
        # paravirtualization needs a PV-capable (modified) guest kernel
        (P, LINUX, "xen", None, True),
        (P, BSD, "xen", None, True),
        (P, WINDOWS, "xen", None, False),
        (P, WINDOWS, "kvm", None, False),
        (P, LINUX, "virtualbox", WINDOWS, True),
        # a container shares the host kernel
        (C, LINUX, "kvm", None, True),
        (C, WINDOWS, "kvm", None, False),
        (C, WINDOWS, "hyperv", None, True),
        (C, LINUX, "hyperv", None, False),
        (C, LINUX, "esxi", None, False),  # VMkernel runs no general-purpose containers
        (C, WINDOWS, "virtualbox", WINDOWS, True),  # Type 2: the host OS is the kernel
        (C, BSD, "vmware-workstation", BSD, True),
        (C, LINUX, "virtualbox", None, True),  # host OS defaults to linux
        # Type 2 with another host OS: Linux containers run in a helper Linux VM (Docker Desktop), no others
        (C, LINUX, "virtualbox", WINDOWS, True),
        (C, LINUX, "vmware-workstation", BSD, True),
        (C, WINDOWS, "virtualbox", LINUX, False),
        (C, BSD, "virtualbox", WINDOWS, False),
    ],
)
def test_compatibility_rules(mode, guest_os, product, host_os, runs):
    reason = incompatibility(mode, guest_os, product, host_os)
    assert (reason is None) is runs, reason


def test_a_container_gets_the_cell_of_its_kernel():
    # on its host's kernel, of either hypervisor type, a container costs the bare-metal row (note 8b); a Linux
    # container on a Type 2 host whose OS is not Linux runs in the helper VM and costs the Docker Desktop row
    assert not in_helper_vm(C, LINUX, "virtualbox", LINUX) and not in_helper_vm(C, LINUX, "kvm", None)
    assert not in_helper_vm(FH, LINUX, "virtualbox", WINDOWS) and not in_helper_vm(C, WINDOWS, "virtualbox", WINDOWS)
    assert in_helper_vm(C, LINUX, "virtualbox", WINDOWS) and in_helper_vm(C, LINUX, "vmware-workstation", BSD)
    native = profile_for(DEFAULT_PROFILES, C, T2, "virtualbox")
    assert native == DEFAULT_PROFILES[(C, T1)] and native.cpu_fraction() == pytest.approx(0.011)
    helper = profile_for(DEFAULT_PROFILES, C, T2, "virtualbox", helper_vm=True)
    assert helper == DEFAULT_PROFILES[(C, T2)] and helper.cpu_fraction() == pytest.approx(0.9 * 0.06 + 0.1 * 0.47)
    # "VM row + 10 MB per container": the helper VM's 1 % on the container's memory, its 130 MB once per host
    assert helper.memory_overhead_mib(4096, 2) == pytest.approx(10 + 40.96)
    assert host_reserve_mib("virtualbox", 32768, True, helper_vm=True) == pytest.approx(2048 + 64 + 130)


def test_incompatibility_reasons_say_why():
    assert "PV-capable" in incompatibility(P, WINDOWS, "kvm", None)
    assert "host kernel" in incompatibility(C, WINDOWS, "kvm", None)
    assert "offers no full_bt" in incompatibility(FB, LINUX, "kvm", None)
    assert "linux ones besides, in a helper VM" in incompatibility(C, BSD, "virtualbox", WINDOWS)
    assert incompatibility(C, WINDOWS, "virtualbox", LINUX).endswith("windows guest on a linux kernel")


def test_every_mode_and_type_has_a_sourced_profile():
    assert set(DEFAULT_PROFILES) == {(m, t) for m in VirtMode for t in HypervisorType}
    for key, p in DEFAULT_PROFILES.items():
        assert p.sources, f"{key} has no source"
        for name in PROFILE_FIELDS:
            assert getattr(p, name) >= 0, (key, name)


@pytest.mark.parametrize(
    ("mode", "htype", "kappa", "expected_c"),
    [
        # c = (1 - kappa) * cpu_compute + kappa * cpu_os  (note §8b values)
        (C, T1, 0.1, 0.9 * 0.01 + 0.1 * 0.02),  # 0.011
        (P, T1, 0.1, 0.9 * 0.02 + 0.1 * 0.05),  # 0.023
        (FH, T1, 0.1, 0.9 * 0.05 + 0.1 * 0.15),  # 0.060
        (FB, T1, 0.1, 0.9 * 0.04 + 0.1 * 0.33),  # 0.069
        (FH, T2, 0.1, 0.9 * 0.05 + 0.1 * 0.45),  # 0.090
        (FH, T2, 1.0, 0.45),  # kernel-bound work pays cpu_os (C6: compile at 54.8 % of native)
        (FH, T2, 0.0, 0.05),  # compute-bound work pays cpu_compute (C5)
    ],
)
def test_cpu_overhead_fraction(mode, htype, kappa, expected_c):
    assert DEFAULT_PROFILES[(mode, htype)].cpu_fraction(kappa) == pytest.approx(expected_c)


def test_cpu_ordering_container_below_para_below_full():
    c = {m: DEFAULT_PROFILES[(m, T1)].cpu_fraction() for m in VirtMode}
    assert c[C] < c[P] < c[FH] < c[FB]
    for m in (P, FH):  # a hosted hypervisor costs at least as much as bare metal
        assert DEFAULT_PROFILES[(m, T2)].cpu_fraction() >= DEFAULT_PROFILES[(m, T1)].cpu_fraction()


@pytest.mark.parametrize(
    ("mode", "htype", "product", "guest_mib", "vcpus", "expected_mib"),
    [
        (C, T1, "kvm", 4096, 2, 10.0),  # 10 MB per container, no proportional part [M11]
        # ESXi, PV: 30 MB + 1 % + 4 MB per extra vCPU [M1]: 30 + 40.96 + 12
        (P, T1, "esxi", 4096, 4, 30 + 40.96 + 12),
        # KVM is QEMU-based: 130 MB + 0.2 % + 8 MB per vCPU [M5, M6]: 130 + 32.768 + 4 * 8
        (P, T1, "kvm", 16384, 4, 130 + 32.768 + 32),
        (FH, T1, "kvm", 8192, 4, 130 + 16.384 + 32),
        (FH, T1, "kvm", 1024, 1, 130 + 2.048 + 8),
        # classic ESX with BT: 32 MB + 1 % [M3]
        (FB, T1, "esxi", 1024, 1, 32 + 10.24),
        # Type 2: user-space VMM per VM, 130 MB + 1 % [M5]
        (FH, T2, "virtualbox", 8192, 4, 130 + 81.92),
    ],
)
def test_memory_overhead(mode, htype, product, guest_mib, vcpus, expected_mib):
    p = profile_for(DEFAULT_PROFILES, mode, htype, product)
    assert p.memory_overhead_mib(guest_mib, vcpus) == pytest.approx(expected_mib)


@pytest.mark.parametrize(
    ("product", "host_mib", "containers", "expected"),
    [
        ("kvm", 262144, True, 4096 + 64),  # host processes 4 GB [M7] + containerd [M11]
        ("esxi", 262144, False, 272),  # service console [M2]
        ("virtualbox", 32768, True, 2048 + 64),  # host OS of a Type 2 hypervisor [T1]
        ("xen", 16384, True, 128 + 1024 + 64),  # Xen 128 MB + dom0 floor 1 GiB [M8]
        ("xen", 22528, True, 128 + 1024 + 64),  # the 752 MB row for 20-24 GB lies under the 1 GiB floor
        ("xen", 32768, True, 128 + 2048 + 64),  # dom0 2 GB for 24-48 GB hosts [M8]
        ("xen", 262144, True, 128 + 4096 + 64),  # dom0 4 GB above 64 GB [M8]
    ],
)
def test_host_reservation(product, host_mib, containers, expected):
    assert host_reserve_mib(product, host_mib, containers) == pytest.approx(expected)


def test_overrides_replace_fields_and_mark_the_source():
    profiles = resolve_profiles({P: {T1: {"cpu_compute": 0.1, "boot_s": 1.0}}})
    p = profiles[(P, T1)]
    assert (p.cpu_compute, p.boot_s, p.cpu_os) == (0.1, 1.0, DEFAULT_PROFILES[(P, T1)].cpu_os)
    assert p.sources["cpu_compute"] == "scenario override"
    assert profiles[(P, T2)] == DEFAULT_PROFILES[(P, T2)]


def test_products_declare_their_type():
    assert {p.type for n, p in PRODUCTS.items() if n in ("kvm", "xen", "esxi", "hyperv")} == {T1}
    assert {p.type for n, p in PRODUCTS.items() if n in ("virtualbox", "vmware-workstation")} == {T2}
