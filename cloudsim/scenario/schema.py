"""The scenario schema (pydantic v2). Every number has its unit in its name (``memory_gib``,
``mips_per_core``, ``rate_per_hour``) or is a duration that accepts a unit suffix (``300s``, ``5m``,
``6h``, ``1d``, or plain seconds). Unknown keys are errors."""

from __future__ import annotations

import datetime as _dt
import math
import re
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from cloudsim.virt import PROFILE_FIELDS, HypervisorType, OSFamily, VirtMode

_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(ms|s|m|min|h|d)?\s*$", re.ASCII)
_UNIT_S = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds from ``300s``, ``5m``, ``6h``, ``1d``, ``250ms`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 300s, 5m, 6h, 1d or a number of seconds")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNIT_S[m.group(2)]
    else:
        raise ValueError(f"malformed duration {value!r}; use 300s, 5m, 6h, 1d or a number of seconds")
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be a finite number of seconds, got {value!r}")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def format_duration(seconds: float) -> str:
    """A duration as a scenario writes it, in the largest unit that holds it whole: ``1d``, ``6h``,
    ``30m``, ``300s`` (``8195m`` for 491,700 s; ``0.25s`` for a fraction of a second). ``parse_duration``
    reads it back to the same number."""
    for unit in ("d", "h", "m"):
        n = seconds / _UNIT_S[unit]
        if n >= 1 and n == int(n):
            return f"{int(n)}{unit}"
    return f"{int(seconds)}s" if seconds == int(seconds) else f"{seconds!r}s"


Duration = Annotated[float, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


def _is_number(annotation: Any) -> bool:
    """Whether a field holds an int or a float (under ``Optional[...]`` and ``Annotated[...]``)."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    parts = typing.get_args(annotation) if union else (annotation,)
    return any((typing.get_args(p)[0] if typing.get_origin(p) is Annotated else p) in (int, float) for p in parts)


class Strict(BaseModel):
    """Base of every scenario section: unknown keys are errors, values are validated on assignment,
    numbers are finite and no field takes a boolean."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans(cls, data: Any) -> Any:
        # pydantic would read YAML's true/yes/on as the number 1 (count: yes -> one host)
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, bool) and key in cls.model_fields and _is_number(cls.model_fields[key].annotation):
                    raise ValueError(f"{key}: expected a number, not the boolean {str(value).lower()}")
        return data


class Cpu(Strict):
    cores: int = Field(gt=0, description="physical cores")
    mips_per_core: float = Field(gt=0, description="MIPS of one core")


class Hypervisor(Strict):
    type: HypervisorType
    product: str = Field(description="kvm, xen, esxi, hyperv (type1); virtualbox, vmware-workstation (type2)")
    host_os: OSFamily | None = Field(None, description="the host OS under a Type 2 hypervisor (default linux)")


# The SPECpower tables of reference/overhead-calibration.md §6a, watts at 0%, 10%, ..., 100% load.
SPECPOWER_TABLES: dict[str, tuple[str, tuple[float, ...]]] = {
    "P1": ("HP ProLiant ML110 G4", (86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117)),
    "P2": ("HP ProLiant ML110 G5", (93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135)),
    "P3": ("HP ProLiant ML110 G3", (105, 112, 118, 125, 131, 137, 147, 153, 157, 164, 169)),
    "P4": ("IBM x3250 (Xeon X3470)", (41.6, 46.7, 52.3, 57.9, 65.4, 73, 80.7, 89.5, 99.6, 105, 113)),
    "P5": ("IBM x3250 (Xeon X3480)", (42.3, 46.7, 49.7, 55.4, 61.8, 69.3, 76.1, 87, 96.1, 106, 113)),
    "P6": ("IBM x3550 (Xeon X5670)", (66, 107, 120, 131, 143, 156, 173, 191, 211, 229, 247)),
    "P7": ("IBM x3550 (Xeon X5675)", (58.4, 98, 109, 118, 128, 140, 153, 170, 189, 205, 222)),
    "P8": ("IBM x3650 M2 (Xeon X5570)", (81.4, 110, 125, 139, 153, 167, 182, 199, 214, 229, 244)),
    "P9": ("Dell PowerEdge R830", (86.4, 181, 215, 253, 287, 315, 340, 377, 421, 483, 562)),
    "P10": ("Dell PowerEdge R740", (52.3, 129, 147, 170, 195, 224, 255, 292, 344, 408, 457)),
    "P11": ("Dell PowerEdge R640", (55, 125, 151, 176, 202, 232, 261, 301, 357, 421, 469)),
    "P12": ("Dell PowerEdge R940", (106, 245, 292, 336, 383, 437, 502, 583, 694, 820, 915)),
}


class Power(Strict):
    """Host power. ``linear``: P(u) = idle + (max - idle) u with idle = idle_fraction * max; defaults are
    CloudSim's examples, max 250 W and k = 0.7 [P14] (2008-era servers; k ~ 0.12 for 2017-era [P16]).
    ``specpower``: linear interpolation in a SPECpower table [P13], by row ID (P1..P12)."""

    model: Literal["linear", "specpower"] = "linear"
    max_w: float = Field(250.0, gt=0)
    idle_fraction: Fraction = 0.7
    table: str | None = Field(None, description="SPECpower row ID P1..P12 (model: specpower)")
    empty_hosts: Literal["off", "idle"] = Field(
        "off", description="an empty host is switched off (0 W) or stays on drawing idle power"
    )

    @model_validator(mode="after")
    def _table(self) -> Power:
        if self.model == "specpower":
            if self.table is None:
                raise ValueError(f"table: specpower needs a table; one of: {', '.join(SPECPOWER_TABLES)}")
            if self.table not in SPECPOWER_TABLES:
                raise ValueError(f"table: unknown {self.table!r}; one of: {', '.join(SPECPOWER_TABLES)}")
        return self

    def curve_w(self) -> tuple[float, ...]:
        """Watts at 0, 10, ..., 100 % CPU (a linear model is sampled at the same points; exact)."""
        if self.model == "specpower":
            return SPECPOWER_TABLES[self.table or ""][1]
        idle = self.idle_fraction * self.max_w
        return tuple(idle + (self.max_w - idle) * i / 10 for i in range(11))


class HostGroup(Strict):
    """``count`` identical hosts named ``{name}-0`` .. ``{name}-{count-1}``."""

    name: str = Field(min_length=1)
    count: int = Field(1, gt=0)
    cpu: Cpu
    memory_gib: float = Field(gt=0)
    hypervisor: Hypervisor
    power: Power = Power()


_DIST_PARAMS: dict[str, tuple[str, ...]] = {
    "constant": ("value",),
    "uniform": ("low", "high"),
    "normal": ("mean", "std"),
    "exponential": ("mean",),
}


class Dist(Strict):
    """A distribution: ``constant`` (value), ``uniform`` (low, high), ``normal`` (mean, std; a draw outside
    the valid range is clipped to it: [0, 1] for a utilization, >= 0 for a lifetime) or ``exponential`` (mean)."""

    distribution: Literal["constant", "uniform", "normal", "exponential"]
    value: float | None = None
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    std: float | None = None

    @model_validator(mode="after")
    def _params(self) -> Dist:
        need = _DIST_PARAMS[self.distribution]
        given = {k for k in ("value", "low", "high", "mean", "std") if getattr(self, k) is not None}
        if missing := [k for k in need if k not in given]:
            raise ValueError(f"{missing[0]}: {self.distribution} needs {', '.join(need)}; missing {', '.join(missing)}")
        if extra := sorted(given - set(need)):
            raise ValueError(f"{extra[0]}: {self.distribution} takes only {', '.join(need)}; remove {', '.join(extra)}")
        if self.distribution == "uniform" and self.low > self.high:  # type: ignore[operator]
            raise ValueError(f"high: uniform needs low <= high (low {self.low}, high {self.high})")
        if self.std is not None and self.std < 0:
            raise ValueError("std: must be >= 0")
        return self


class UtilizationDist(Dist):
    """CPU utilization of a guest's vCPUs, a fraction in [0, 1], drawn afresh each tick."""

    @model_validator(mode="after")
    def _range(self) -> UtilizationDist:
        for k in ("value", "low", "high", "mean"):
            v = getattr(self, k)
            if v is not None and not 0.0 <= v <= 1.0:
                raise ValueError(f"{k}: must be a utilization fraction in [0, 1], got {v}")
        if self.distribution == "exponential":
            raise ValueError("distribution: a utilization is constant, uniform or normal")
        return self


class LifetimeDist(Dist):
    """A guest's lifetime; values are durations (``2h``)."""

    value: Duration | None = None
    low: Duration | None = None
    high: Duration | None = None
    mean: Duration | None = None
    std: Duration | None = None


FULL_UTILIZATION = UtilizationDist(distribution="constant", value=1.0)


class GuestShape(Strict):
    """What a guest is and asks for."""

    mode: VirtMode
    os: OSFamily
    vcpus: int = Field(gt=0)
    memory_gib: float = Field(gt=0)
    mips_per_vcpu: float | None = Field(None, gt=0, description="default: one host core's MIPS per vCPU")
    cpu_utilization: UtilizationDist = Field(
        FULL_UTILIZATION, description="share of its vCPUs the guest uses (default: all of them)"
    )
    kernel_intensity: Fraction = Field(
        0.1, description="share of OS-intensive work; weights cpu_os against cpu_compute (note §8a)"
    )


class GuestClass(GuestShape):
    name: str = Field(min_length=1)
    weight: float = Field(1.0, gt=0)


class GuestSpec(GuestShape):
    """One explicitly listed guest."""

    name: str | None = None
    arrival: Duration = 0.0
    lifetime: PositiveDuration | None = Field(None, description="default: runs to the end")


class Arrivals(Strict):
    """``poisson`` (rate_per_hour), ``fixed`` (evenly spaced at rate_per_hour) or ``batch`` (count at ``at``)."""

    process: Literal["poisson", "fixed", "batch"]
    rate_per_hour: float | None = Field(None, gt=0)
    count: int | None = Field(None, gt=0)
    at: Duration = 0.0
    initial: int = Field(0, ge=0, description="poisson, fixed: guests already there at ``at`` (a warm data centre)")

    @model_validator(mode="after")
    def _params(self) -> Arrivals:
        if self.process in ("poisson", "fixed") and self.rate_per_hour is None:
            raise ValueError(f"rate_per_hour: {self.process} arrivals need a rate_per_hour")
        if self.process == "batch" and self.count is None:
            raise ValueError("count: batch arrivals need a count")
        if self.process == "batch" and self.initial:
            raise ValueError("initial: batch arrivals take a count, not initial guests")
        return self


class VmType(Strict):
    """A VM size of a trace-driven workload (CloudSim's EC2-like types)."""

    name: str = Field(min_length=1)
    mips: float = Field(gt=0, description="MIPS of the VM's one vCPU")
    memory_mib: float = Field(gt=0)
    bandwidth_mbps: float = Field(100.0, gt=0)


#: CloudSim's four VM types (Constants.java of the power examples), assigned in blocks of ceil(n/4).
CLOUDSIM_VM_TYPES = [
    VmType(name="high-cpu-medium", mips=2500, memory_mib=870),
    VmType(name="extra-large", mips=2000, memory_mib=1740),
    VmType(name="small", mips=1000, memory_mib=1740),
    VmType(name="micro", mips=500, memory_mib=613),
]


def _day_text(value: object) -> object:
    """A day written as a YAML number (``day: 20110303``) or date (``2011-03-03``) is the same day as the
    string ``"20110303"``."""
    if isinstance(value, _dt.date):
        return value.strftime("%Y%m%d")
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class Trace(Strict):
    """VMs driven by recorded CPU utilization: one PlanetLab file per VM (``format: planetlab``), taken in
    sorted file-name order; VM ``i`` gets ``vm_types[i // ceil(n / len(vm_types))]``. ``mode`` adds the
    virtualization overhead of that mode on the hosts' hypervisor type (CloudSim models none: ``none``).
    The files are read from ``path``, or, when it is not given, from the data cache's folder of ``day``
    (see :mod:`cloudsim.data`)."""

    format: Literal["planetlab"] = Field("planetlab", description="the file format; planetlab is the only one")
    path: str | None = Field(
        None, description="a PlanetLab day folder; default: the cached day ``day`` (cloudsim data fetch planetlab)"
    )
    day: Annotated[str, BeforeValidator(_day_text)] = Field(
        "20110303", description="the PlanetLab day (YYYYMMDD) read from the data cache when no path is given"
    )
    limit: int | None = Field(None, gt=0, description="use only the first N VMs (sorted names)")
    vm_types: list[VmType] = Field(default_factory=lambda: list(CLOUDSIM_VM_TYPES), min_length=1)
    mode: VirtMode | Literal["none"] = "none"
    os: OSFamily = OSFamily.LINUX
    kernel_intensity: Fraction = 0.1


#: VMs in each split of the Azure V1 requests (the data's README); the memory estimate uses them.
AZURE_V1_SPLIT_VMS = {"train": 1_200_998, "dev": 259_159, "test": 410_276}


class Requests(Strict):
    """Recorded VM requests (``format: azure-v1``): the Azure Public Dataset V1 VM arrivals as pre-processed
    by Huawei Cloud (flavor, tenant batch, 5-minute arrival bin, lifetime bin), one guest per VM. The data
    carry sizes and lifetimes only; ``mode``, ``os`` and ``cpu_utilization`` apply to every VM."""

    format: Literal["azure-v1"] = "azure-v1"
    path: str | None = Field(
        None, description="the data folder (maps/ and traces/); default: the cache's (cloudsim data fetch azure-v1)"
    )
    split: Literal["test", "dev", "train"] = Field(
        "test", description="train needs its lifetime file (v1.train.c1800000.txt), which the snapshot lacks"
    )
    limit: int | None = Field(None, gt=0, description="use only the first N VMs of the split (file order)")
    mode: VirtMode = VirtMode.FULL_HW
    os: OSFamily = OSFamily.LINUX
    cpu_utilization: UtilizationDist = Field(
        FULL_UTILIZATION, description="share of its vCPUs each VM uses (the data have none; default: all)"
    )
    kernel_intensity: Fraction = 0.1


class Workload(Strict):
    """Generated arrivals (``arrivals`` + ``lifetime`` + ``classes``), an explicit ``guests`` list, a
    recorded ``trace`` (with a ``consolidation`` section), or recorded ``requests``."""

    arrivals: Arrivals | None = None
    lifetime: LifetimeDist | None = None
    classes: list[GuestClass] | None = None
    guests: list[GuestSpec] | None = None
    trace: Trace | None = None
    requests: Requests | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Workload:
        generated = (self.arrivals, self.classes)
        for name in ("trace", "requests"):
            others = [x for x in ("arrivals", "lifetime", "classes", "guests", "trace", "requests") if x != name]
            if getattr(self, name) is not None:
                if given := [x for x in others if getattr(self, x) is not None]:
                    if name == "trace" and self.trace.model_fields_set <= {"day"}:  # type: ignore[union-attr]
                        raise ValueError("trace: this workload has no trace, so no PlanetLab day to pick (--day)")
                    raise ValueError(f"give {name} alone, without {'/'.join(given)}")
                return self
        if self.guests is not None:
            if any(x is not None for x in (*generated, self.lifetime)):
                raise ValueError("give either guests or arrivals/lifetime/classes, not both")
            if not self.guests:
                raise ValueError("guests: the list is empty")
        else:
            if self.arrivals is None or not self.classes:
                raise ValueError("give arrivals and classes (with a lifetime), or an explicit guests list")
        return self


class Overcommit(Strict):
    cpu: float = Field(1.0, gt=0)
    memory: float = Field(1.0, gt=0)


class Placement(Strict):
    policy: str = "best-fit"
    overcommit: Overcommit = Overcommit()
    wave_order: Literal["decreasing", "arrival"] = Field(
        "decreasing",
        description="guests arriving at the same instant are placed largest first (FFD) or in arrival order",
    )


class ProfileOverride(Strict):
    """Any field of an overhead profile (see ``cloudsim/virt/profiles.py``)."""

    cpu_compute: Fraction | None = Field(None, lt=1.0)
    cpu_os: Fraction | None = Field(None, lt=1.0)
    mem_fixed_mib: float | None = Field(None, ge=0)
    mem_frac: float | None = Field(None, ge=0)
    mem_per_extra_vcpu_mib: float | None = Field(None, ge=0)
    disk_seq: float | None = Field(None, gt=0)
    disk_rand: float | None = Field(None, gt=0)
    net_tput: float | None = Field(None, gt=0)
    net_lat_add_us: float | None = Field(None, ge=0)
    boot_s: Duration | None = None

    def values(self) -> dict[str, float]:
        return {k: v for k in PROFILE_FIELDS if (v := getattr(self, k)) is not None}


class Consolidation(Strict):
    """Dynamic consolidation, a phase of the controller at every tick (Beloglazov & Buyya 2012, as CloudSim
    3.0.3 runs it), for trace and synthetic workloads alike.

    ``allocation``: ``npa`` (no power management: every host on at full power), ``dvfs`` (power follows
    load, no migration) or ``migrate`` (overload ``detector`` with its ``safety`` parameter, VM
    ``selection``, power-aware best fit decreasing, underloaded hosts emptied and switched off)."""

    allocation: Literal["npa", "dvfs", "migrate"] = "migrate"
    detector: Literal["thr", "iqr", "mad", "lr", "lrr"] = "lr"
    safety: float = Field(1.2, gt=0, description="THR: the threshold; IQR/MAD/LR/LRR: the safety parameter s")
    selection: Literal["mmt", "mc", "rs", "mu"] = "mmt"
    migration: Literal["cloudsim", "precopy"] = Field(
        "precopy", description="cloudsim: RAM / (BW / 2), no downtime; precopy: rounds and downtime (note §5b)"
    )
    compat: bool = Field(True, description="CloudSim 3.0.3 behaviour (LRR fits like LR, as released)")
    host_order: Literal["interleaved", "grouped"] = Field(
        "interleaved", description="host i takes group i mod n (CloudSim) or groups follow one another"
    )
    host_bandwidth_gbps: float = Field(1.0, gt=0)
    wake: Literal["cheapest", "last-resort"] = Field(
        "cheapest",
        description="VMs leaving an overloaded host may wake an off host whenever it adds least power "
        "(cheapest, CloudSim) or only when no host that is on can take them (last-resort)",
    )
    retarget: bool = Field(
        True, description="the underload pass may empty a host just chosen as a target (CloudSim: yes)"
    )
    underload_below: Fraction = Field(
        1.0,
        description="the underload pass empties only hosts using less than this share of their CPU (CloudSim: "
        "every host under 100 %, 1.0); lower values bound its work at scale",
    )
    max_migrations: int | None = Field(
        None, gt=0, description="at most this many migrations start per step, overloads first (CloudSim: no limit)"
    )


class Dynamics(Strict):
    """How the host shards turn utilization into allocation, power and SLA.

    ``fair`` (default): an oversubscribed host scales every request by capacity / requests; energy is the
    power of each interval's state times its length. ``cloudsim``: CloudSim 3.0.3's power package, for
    runs that must match it: a request is capped at one core; an oversubscribed host floors every
    allocation; energy is the trapezoid between events, 0 W for a host at 0 % CPU; trace utilization is
    interpolated at every event; a VM requesting 0 MIPS counts as finished and leaves; the clock runs at
    0.1 + k x tick; only instantiation books memory and bandwidth. In both, a migrating guest keeps
    ``1 - migration_slowdown`` of its allocation on the source and the target books ``target_share`` of
    its request while the migration runs (CloudSim's 90 % / 10 %)."""

    model: Literal["fair", "cloudsim"] = "fair"
    migration_slowdown: Fraction = Field(0.1, lt=1.0, description="share of a migrating guest's CPU lost [L9, L10]")
    target_share: Fraction = Field(0.1, description="share of a migrating guest's request booked on the target")


class HostFailure(Strict):
    """One scheduled failure: host ``host`` (``kvm-3``) fails at ``at`` and is repaired ``down`` later."""

    host: str = Field(min_length=1)
    at: Duration
    down: PositiveDuration


class Faults(Strict):
    """Host failures: each host fails after exponential times of mean ``mtbf`` and is repaired after
    exponential times of mean ``mttr`` (seeded), and/or on a ``schedule``. The guests of a failed host
    restart elsewhere, with the boot time of their mode, or wait until something fits. ``maintenance``
    drains a host first: its guests live-migrate away, then it goes down."""

    mtbf: PositiveDuration | None = Field(None, description="mean time between failures of one host")
    mttr: PositiveDuration = Field(3600.0, description="mean time to repair")
    schedule: list[HostFailure] = Field(default_factory=list)
    maintenance: list[HostFailure] = Field(
        default_factory=list,
        description="drains: at `at` the host takes no new guests and live-migrates its guests away; when the "
        "last migration completes it goes down for `down`",
    )


class RaySettings(Strict):
    hosts_per_actor: int | Literal["auto"] = Field(
        "auto",
        description="hosts grouped in one Ray actor: auto (about one actor per CPU of the cluster but the "
        "controller's; one shard on the local backend) or a number (1: one actor per host)",
    )

    @model_validator(mode="after")
    def _positive(self) -> RaySettings:
        if self.hosts_per_actor != "auto" and self.hosts_per_actor < 1:  # type: ignore[operator]
            raise ValueError("hosts_per_actor: auto or a whole number >= 1")
        return self


class Scenario(Strict):
    """A whole scenario. See README.md for an annotated example."""

    name: str = Field(min_length=1)
    seed: int = Field(0, ge=0, lt=2**63, description="every random draw derives from it")
    duration: PositiveDuration
    tick: PositiveDuration = 300.0
    hosts: list[HostGroup] = Field(min_length=1)
    workload: Workload
    placement: Placement = Placement()
    overheads: dict[VirtMode, dict[HypervisorType, ProfileOverride]] = Field(default_factory=dict)
    ray: RaySettings = RaySettings()
    consolidation: Consolidation | None = None
    dynamics: Dynamics = Dynamics()
    faults: Faults | None = None

    @model_validator(mode="after")
    def _trace_needs_consolidation(self) -> Scenario:
        if self.workload.trace is not None and self.consolidation is None:
            raise ValueError("consolidation: a trace workload needs a consolidation section (npa, dvfs or migrate)")
        return self
