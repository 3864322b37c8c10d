"""Virtualization vocabulary: hypervisor types and products, modes, OS families, compatibility rules and
overhead profiles. Pure Python, no Ray."""

from cloudsim.virt.profiles import (
    DEFAULT_KERNEL_INTENSITY,
    DEFAULT_PROFILES,
    PROFILE_FIELDS,
    OverheadProfile,
    host_reserve_mib,
    profile_for,
    resolve_profiles,
)
from cloudsim.virt.types import (
    HTYPE_INDEX,
    HYPERVISOR_TYPES,
    MODE_INDEX,
    MODES,
    PRODUCTS,
    PV_CAPABLE_OS,
    HypervisorType,
    OSFamily,
    Product,
    VirtMode,
    host_kernel,
    in_helper_vm,
    incompatibility,
    slower_cores,
)

__all__ = [
    "DEFAULT_KERNEL_INTENSITY",
    "DEFAULT_PROFILES",
    "HTYPE_INDEX",
    "HYPERVISOR_TYPES",
    "MODES",
    "MODE_INDEX",
    "PRODUCTS",
    "PROFILE_FIELDS",
    "PV_CAPABLE_OS",
    "HypervisorType",
    "OSFamily",
    "OverheadProfile",
    "Product",
    "VirtMode",
    "host_kernel",
    "host_reserve_mib",
    "in_helper_vm",
    "incompatibility",
    "profile_for",
    "resolve_profiles",
    "slower_cores",
]
