"""The starter scenario that ``cloudsim init`` writes: a small data centre and a generated workload, every
section explained in comments. The allowed values in the comments come from the code (the schema's
choices, the products, the placement policies), so they cannot drift from what the loader accepts."""

from __future__ import annotations

import typing
from string import Template

from pydantic import BaseModel

from cloudsim.placement.policies import policy_names
from cloudsim.scenario.schema import SPECPOWER_TABLES, Arrivals, Dist, Dynamics, Placement, Power
from cloudsim.virt import PRODUCTS, HypervisorType, OSFamily, VirtMode

_TEMPLATE = Template("""\
# My scenario: what it models, in one line (the first comment line is the scenario's description).
#
# Written by `cloudsim init`. Change what you need, then
#   cloudsim validate $path
#       checks it and runs nothing
#   cloudsim run $path --backend local
#       runs it and prints the summary
# --set changes a field for one run: --set placement.policy=worst-fit --set 'hosts[0].count=8'.
# Durations: 300s, 5m, 6h, 1d, 250ms or a number of seconds. An unknown key is an error.

name: my-scenario       # the run's label (summary "scenario", metrics label scenario="...")
seed: 1                 # every random draw derives from it; --seed overrides it
duration: 1d            # simulated time
tick: 5m                # step: utilizations redrawn, one time-series row and metrics update per tick

# hosts: groups of identical hosts, named {name}-0 .. {name}-{count-1}, in this order.
#   cpu: cores and mips_per_core (the speed of one core); memory_gib: physical memory
#   hypervisor.type: $htypes
#   hypervisor.product: $products
#   hypervisor.host_os (type2 only: the OS the hypervisor runs on): $oses (default linux)
#   power.model: $power_models (default linear)
#     linear: max_w (W at 100 % CPU, default 250) and idle_fraction (idle W / max_w, 0-1, default 0.7)
#     specpower: table, a SPECpower_ssj2008 server: $tables
#   power.empty_hosts: $empty_hosts (an empty host is switched off, or draws idle power; default off)
hosts:
  - name: kvm
    count: 4
    cpu: {cores: 32, mips_per_core: 2600}
    memory_gib: 128
    hypervisor: {type: type1, product: kvm}
    power: {model: specpower, table: P11}   # Dell PowerEdge R640
  - name: desk
    count: 1
    cpu: {cores: 8, mips_per_core: 3000}
    memory_gib: 32
    hypervisor: {type: type2, product: virtualbox, host_os: linux}
    power: {model: linear, max_w: 250, idle_fraction: 0.7}

# workload: generated arrivals (arrivals, lifetime and classes, as below), or instead a list of guests:
#   guests: [{name: a, mode: para, os: linux, vcpus: 2, memory_gib: 4, arrival: 1m, lifetime: 1h}, ...]
#   Recorded traces and VM requests: see `cloudsim scenarios show planetlab-lr-mmt` and `... show azure-v1`.
#   arrivals.process: $processes
#     poisson and fixed take rate_per_hour, batch takes count; at: when they start (default 0)
#   lifetime and cpu_utilization are distributions: $distributions
#     constant (value), uniform (low, high), normal (mean, std), exponential (mean; lifetimes only)
#     a lifetime is a duration (omit it and guests run to the end); a utilization is the share of
#     the guest's vCPUs in use, 0-1, redrawn every tick (omit it: constant 1.0)
#   classes: each arrival picks one, with probability weight / sum of weights
#     mode: $modes
#       (which product offers which mode to which OS: README, "Compatibility rules")
#     os: $oses
#     vcpus, memory_gib: what the guest asks for; its mode's overhead comes on top
workload:
  arrivals: {process: poisson, rate_per_hour: 20}
  lifetime: {distribution: exponential, mean: 2h}
  classes:
    - name: web
      weight: 3
      mode: container
      os: linux
      vcpus: 2
      memory_gib: 2
      cpu_utilization: {distribution: uniform, low: 0.1, high: 0.6}
    - name: db
      weight: 1
      mode: para
      os: linux
      vcpus: 4
      memory_gib: 16
      cpu_utilization: {distribution: normal, mean: 0.5, std: 0.15}
    - name: legacy
      weight: 1
      mode: full_hw
      os: windows
      vcpus: 2
      memory_gib: 8
      cpu_utilization: {distribution: constant, value: 0.4}

# placement: where an arriving guest goes.
#   policy: $policies
#     (`cloudsim policies` describes each)
#   overcommit: capacity multipliers placement may book (cpu: 2.0 books the vCPUs twice over)
#   wave_order: $wave_orders (guests arriving at the same instant: largest first, or in arrival order)
placement:
  policy: best-fit
  overcommit: {cpu: 1.0, memory: 1.0}
  wave_order: decreasing

# Optional sections (README, "Scenario format"):
#   consolidation: live migration and host switch-off every tick (`cloudsim scenarios show consolidation-demo`)
#   faults: host failures, repairs and restarts (`cloudsim scenarios show ha-demo`)
#   overheads: one virtualization overhead figure per mode and hypervisor type, e.g.
#     overheads: {para: {type1: {cpu_compute: 0.03}}}
#   dynamics.model: $dynamics (how hosts share an oversubscribed CPU; cloudsim: CloudSim 3.0.3's rules)
#   ray.hosts_per_actor: auto, or a number of hosts per Ray actor
""")


def _choices(model: type[BaseModel], field: str) -> str:
    """The allowed values of a ``Literal`` field of the schema, as ``a | b | c``."""
    return " | ".join(typing.get_args(model.model_fields[field].annotation))


def _products() -> str:
    by_type = {t: [p.name for p in PRODUCTS.values() if p.type is t] for t in HypervisorType}
    return "; ".join(f"{' | '.join(names)} ({t.value})" for t, names in by_type.items())


def starter_text(path: str = "scenario.yaml") -> str:
    """The starter scenario's YAML text, comments included (valid as written); ``path``, where it is
    written, appears in the commands it suggests."""
    return _TEMPLATE.substitute(
        path=" ".join(path.splitlines()),  # a comment stays one line
        htypes=" | ".join(t.value for t in HypervisorType),
        products=_products(),
        oses=" | ".join(o.value for o in OSFamily),
        power_models=_choices(Power, "model"),
        tables=", ".join(f"{k}" for k in SPECPOWER_TABLES),
        empty_hosts=_choices(Power, "empty_hosts"),
        processes=_choices(Arrivals, "process"),
        distributions=_choices(Dist, "distribution"),
        modes=" | ".join(m.value for m in VirtMode),
        policies=" | ".join(policy_names()),
        wave_orders=_choices(Placement, "wave_order"),
        dynamics=_choices(Dynamics, "model"),
    )
