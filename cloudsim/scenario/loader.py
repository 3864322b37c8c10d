"""Loading a scenario: YAML file or built-in name, ``--set`` overrides, validation, and the one-line
errors that name the field path and the allowed values."""

from __future__ import annotations

import copy
import math
import re
import types
import typing
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from cloudsim.placement.policies import policy_names
from cloudsim.scenario.schema import AZURE_V1_SPLIT_VMS, Scenario
from cloudsim.virt import PRODUCTS, HypervisorType, VirtMode, incompatibility, slower_cores


class ScenarioError(ValueError):
    """A bad scenario: ``path`` is the field (``hosts[1].hypervisor.type``), ``message`` says what is wrong
    and what is allowed. ``str()`` is the one line the CLI prints."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


# ---------------------------------------------------------------------------------------------- built-ins


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with the package."""
    folder = resources.files("cloudsim.scenario") / "builtin"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def builtin_text(name: str) -> str:
    """The YAML text of a built-in scenario, comments included; a ``KeyError`` listing the built-ins when
    there is none of that name."""
    if name not in builtin_names():
        raise KeyError(f"no built-in scenario {name!r}; built-ins: {', '.join(builtin_names())}")
    return (resources.files("cloudsim.scenario") / "builtin" / f"{name}.yaml").read_text(encoding="utf-8")


def builtin_description(name: str) -> str:
    """The first comment line of a built-in scenario."""
    for line in builtin_text(name).splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


# ------------------------------------------------------------------------------------------------ reading

#: Deepest nesting a scenario may have (a real one is under 6 deep).
MAX_DEPTH = 32


class _StrictLoader(yaml.SafeLoader):
    """YAML as a scenario should read: a key given twice, nesting deeper than ``MAX_DEPTH`` and YAML 1.1's
    base-60 numbers (``190:20:30``, read as 685,830 by a plain loader) are not accepted; ``1:30`` stays a
    string."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.constructor.ConstructorError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, typing.Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {str(key)[:40]!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 resolves "1:30" (base 60) as a number, and "off", "on", "yes", "no" as booleans (so the documented
# `empty_hosts: off` read as false, and a scenario named "no" as a boolean); drop those forms from the int, float
# and bool resolvers: a boolean is true or false, as in YAML 1.2 (a boolean field still takes "off" or "no": the
# schema reads those words as false).
_RESOLVED_HERE = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool")
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _RESOLVED_HERE]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    """Parse YAML with :class:`_StrictLoader`."""
    return yaml.load(text, Loader=_StrictLoader)


def read_raw(source: str | Path) -> tuple[dict[str, Any], str]:
    """The scenario mapping from a file path or a built-in name, and a label for where it came from."""
    path = Path(source)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError("scenario", f"cannot read {str(path)!r}: {exc}") from None
        label = str(path)
    elif str(source) in builtin_names():
        text, label = builtin_text(str(source)), f"built-in:{source}"
    elif path.exists():
        raise ScenarioError("scenario", f"{str(path)!r} is not a file")
    else:
        known = ", ".join(builtin_names())
        raise ScenarioError("scenario", f"no file {str(source)!r} and no built-in of that name; built-ins: {known}")
    if not text.strip():
        raise ScenarioError("scenario", f"{label} is empty")
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError("scenario", f"invalid YAML in {label}{where}: {problem}") from None
    if data is None:
        raise ScenarioError("scenario", f"{label} is empty")
    if not isinstance(data, dict):
        raise ScenarioError("scenario", f"{label} must be a mapping of keys (name, hosts, workload, ...)")
    return data, label


_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]")


def _parse_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for dotted in path.split("."):
        pos = 0
        if not dotted:
            raise ScenarioError(f"--set {path}", "empty path segment; use dotted.path or list[0].field")
        while pos < len(dotted):
            m = _TOKEN.match(dotted, pos)
            if not m or (pos > 0 and m.group(1)):
                raise ScenarioError(f"--set {path}", "malformed path; use dotted.path or list[0].field")
            parts.append(m.group(1) if m.group(1) else int(m.group(2)))
            pos = m.end()
    return parts


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply one ``dotted.path=value`` (value parsed as YAML) to the raw scenario mapping in place."""
    if "=" not in assignment:
        raise ScenarioError(f"--set {assignment}", "expected dotted.path=value, e.g. placement.policy=worst-fit")
    path, _, text = assignment.partition("=")
    path = path.strip()
    if not path:
        raise ScenarioError(f"--set {assignment}", "no path before '='; expected dotted.path=value")
    parts = _parse_path(path)
    try:
        value = load_yaml(text) if text.strip() else ""
    except yaml.YAMLError:
        value = text
    _set(data, path, parts, value)


def set_value(data: dict[str, Any], path: str, value: Any) -> None:
    """Set the field at ``path`` (``dotted.path`` or ``list[0].field``) of the raw scenario mapping to
    ``value`` as it is (the Python API's ``set={path: value}``; ``--set`` parses its text as YAML first)."""
    _set(data, path.strip(), _parse_path(path.strip()), value)


def _set(data: dict[str, Any], path: str, parts: list[str | int], value: Any) -> None:
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = _format_loc(parts[: i + 1])
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ScenarioError(f"--set {path}", f"{_format_loc(parts[:i]) or 'scenario'} is not a list")
            if part >= len(node):
                raise ScenarioError(f"--set {path}", f"{where} is out of range ({len(node)} entries)")
        elif not isinstance(node, dict):
            raise ScenarioError(f"--set {path}", f"{_format_loc(parts[:i])} is not a mapping")
        if last:
            node[part] = value
        else:
            if isinstance(part, str) and part not in node:
                node[part] = [] if isinstance(parts[i + 1], int) else {}
            node = node[part]


# ------------------------------------------------------------------------------------------------- errors


def _format_loc(loc: typing.Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unwrap(annotation: Any) -> Any:
    """The model or container type inside Optional[...] / Annotated[...]."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _annotation_at(loc: typing.Sequence[str | int]) -> Any:
    """The annotation of the scenario field at ``loc`` (None when the path leaves the schema)."""
    ann: Any = Scenario
    for part in loc:
        ann = _unwrap(ann)
        origin = typing.get_origin(ann)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            if not isinstance(part, str) or part not in ann.model_fields:
                return None
            ann = ann.model_fields[part].annotation
        elif origin is list:
            ann = typing.get_args(ann)[0]
        elif origin is dict:
            ann = typing.get_args(ann)[1]
        else:
            return None
    return _unwrap(ann)


def _allowed(ann: Any) -> str | None:
    ann = _unwrap(ann)
    if isinstance(ann, type) and issubclass(ann, Enum):
        return ", ".join(str(m.value) for m in ann)
    if typing.get_origin(ann) is typing.Literal:
        return ", ".join(str(a) for a in typing.get_args(ann))
    return None


def _message(err: dict[str, Any]) -> tuple[str, str]:
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    kind, value = err["type"], err.get("input")
    if loc and loc[-1] == "[key]":  # a bad key of a mapping such as overheads: pydantic appends "[key]"
        loc = loc[:-1]
        allowed = _allowed(typing.get_args(_unwrap(_annotation_at(loc[:-1])))[0])
        return _format_loc(loc), f"unknown key {loc[-1]!r}; allowed: {allowed}"
    path = _format_loc(loc)
    if kind == "extra_forbidden":
        parent = _unwrap(_annotation_at(loc[:-1]))
        if typing.get_origin(parent) is dict:  # a key of a mapping such as overheads
            key_ann = typing.get_args(parent)[0]
            return path, f"unknown key {loc[-1]!r}; allowed: {_allowed(key_ann)}"
        keys = ", ".join(parent.model_fields) if isinstance(parent, type) and issubclass(parent, BaseModel) else ""
        return path, f"unknown key {loc[-1]!r}; allowed keys: {keys}"
    if kind == "missing":
        return path, "is required"
    if kind in ("enum", "literal_error"):
        return path, f"{value!r} is not one of: {_allowed(_annotation_at(loc)) or err['ctx'].get('expected')}"
    if kind == "value_error":
        msg = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
        # a validator may name a sub-field as "field: message"
        head, sep, tail = msg.partition(": ")
        parent = _annotation_at(loc)
        if sep and isinstance(parent, type) and issubclass(parent, BaseModel) and head in parent.model_fields:
            return _format_loc([*loc, head]), tail
        return path, msg
    msg = err["msg"][0].lower() + err["msg"][1:]
    shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
    return path, f"{msg}{shown}"


def validate(data: dict[str, Any], max_memory_gib: float | None = None) -> Scenario:
    """A :class:`Scenario` from a raw mapping, or a :class:`ScenarioError` for the first problem (including a
    run too large for ``max_memory_gib``, by default half this machine's memory)."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        path, message = _message(exc.errors(include_url=False)[0])
        raise ScenarioError(path, message) from None
    use_cache(scenario)
    check_semantics(scenario)
    check_size(scenario, max_memory_gib)
    return scenario


def use_cache(s: Scenario) -> None:
    """A trace or requests workload that names no folder reads the data cache (``cloudsim data``): the
    PlanetLab day ``workload.trace.day``, or the Azure V1 folder. Sets the path to the cached folder, or
    raises a :class:`ScenarioError` on the path field saying how to fetch the data."""
    from cloudsim.data import PLANETLAB_DAYS, DataError, azure_v1_folder, planetlab_day

    tr, rq = s.workload.trace, s.workload.requests
    try:
        if tr is not None:
            if tr.day not in PLANETLAB_DAYS:
                raise ScenarioError("workload.trace.day", f"{tr.day!r} is not one of: {', '.join(PLANETLAB_DAYS)}")
            if tr.path is None:
                tr.path = str(planetlab_day(tr.day))
        if rq is not None and rq.path is None:
            rq.path = str(azure_v1_folder())
    except DataError as exc:
        raise ScenarioError("workload.trace.path" if tr is not None else "workload.requests.path", str(exc)) from None


#: Rough memory a run holds per guest, per host and per tick (recorder rows and snapshots), in bytes,
#: measured on the built-ins and the 10,000-host benchmark (a guest ~1 KB with its history, a host ~2 KB).
_BYTES_PER_GUEST, _BYTES_PER_HOST, _BYTES_PER_TICK = 1_500, 3_000, 4_000


def machine_memory_gib() -> float:
    """This machine's physical memory, GiB."""
    import os

    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (ValueError, OSError, AttributeError):
        return 8.0


def estimate(s: Scenario) -> dict[str, float]:
    """The work a scenario asks for, before it runs: ticks, hosts, guests (expected arrivals) and bytes."""
    ticks = s.duration / s.tick
    hosts = float(sum(g.count for g in s.hosts))
    wl = s.workload
    if wl.guests is not None:
        guests = float(len(wl.guests))
    elif wl.trace is not None:
        guests = float(wl.trace.limit or 1_052)  # a PlanetLab day has about a thousand VMs
    elif wl.requests is not None:
        guests = float(min(wl.requests.limit or math.inf, AZURE_V1_SPLIT_VMS[wl.requests.split]))
    elif wl.arrivals is not None and wl.arrivals.process == "batch":
        guests = float(wl.arrivals.count or 0)
    else:
        rate = wl.arrivals.rate_per_hour if wl.arrivals is not None else 0.0
        guests = float(rate or 0.0) * max(s.duration - (wl.arrivals.at if wl.arrivals else 0.0), 0.0) / 3600
        guests += float(wl.arrivals.initial if wl.arrivals else 0)
    memory = guests * _BYTES_PER_GUEST + hosts * _BYTES_PER_HOST + ticks * _BYTES_PER_TICK
    return {"ticks": ticks, "hosts": hosts, "guests": guests, "bytes": memory}


def check_size(s: Scenario, max_memory_gib: float | None = None) -> None:
    """Refuse a run that would not fit in memory: one line naming the figure and the flag that raises the
    limit (``--max-memory``, default half this machine's memory)."""
    limit = max_memory_gib if max_memory_gib is not None else machine_memory_gib() / 2
    e = estimate(s)
    need = e["bytes"] / 2**30
    if need > limit:
        biggest = max(
            (("ticks", "duration / tick"), ("guests", "expected guests"), ("hosts", "hosts")),
            key=lambda kv: (
                e[kv[0]] * {"ticks": _BYTES_PER_TICK, "guests": _BYTES_PER_GUEST, "hosts": _BYTES_PER_HOST}[kv[0]]
            ),
        )
        path = {"ticks": "tick", "guests": "workload", "hosts": "hosts"}[biggest[0]]
        raise ScenarioError(
            path,
            f"the run would need about {_gib(need)} GiB ({_fig(e['ticks'])} ticks, {_fig(e['hosts'])} hosts, "
            f"{_fig(e['guests'])} guests; {biggest[1]} is the largest part), more than the {_gib(limit)} GiB "
            "allowed; raise the limit with --max-memory GIB",
        )


def _gib(x: float) -> str:
    """GiB for a message: one decimal, or three significant digits below 1 (0.0109, not 0.0)."""
    return _fig(x, 1) if x >= 1 else f"{x:.3g}"


def _fig(x: float, decimals: int = 0) -> str:
    """A figure for a message: with thousands separators, or in scientific notation when huge."""
    return f"{x:,.{decimals}f}" if x < 1e12 else f"{x:.3g}"


def check_semantics(s: Scenario) -> None:
    """What the schema alone cannot say: known policy and products, unique names, runnable guests."""
    known = policy_names()
    if s.placement.policy not in known:
        raise ScenarioError("placement.policy", f"unknown policy {s.placement.policy!r}; known: {', '.join(known)}")
    seen: set[str] = set()
    for i, group in enumerate(s.hosts):
        hv = group.hypervisor
        if group.name in seen:
            raise ScenarioError(f"hosts[{i}].name", f"duplicate host group name {group.name!r}")
        seen.add(group.name)
        if hv.product not in PRODUCTS:
            by_type = "; ".join(
                f"{t.value}: {', '.join(p for p, v in PRODUCTS.items() if v.type is t)}" for t in HypervisorType
            )
            raise ScenarioError(f"hosts[{i}].hypervisor.product", f"unknown product {hv.product!r}; known: {by_type}")
        if PRODUCTS[hv.product].type is not hv.type:
            same = ", ".join(p for p, v in PRODUCTS.items() if v.type is hv.type)
            raise ScenarioError(
                f"hosts[{i}].hypervisor.product",
                f"{hv.product} is a {PRODUCTS[hv.product].type.value} hypervisor; {hv.type.value} products: {same}",
            )
        if hv.host_os is not None and hv.type is HypervisorType.TYPE1:
            raise ScenarioError(f"hosts[{i}].hypervisor.host_os", "only a type2 hypervisor runs on a host OS")
    if s.faults is not None:
        names = {f"{g.name}-{k}" for g in s.hosts for k in range(min(g.count, 10**6))}
        for key in ("schedule", "maintenance"):
            for i, f in enumerate(getattr(s.faults, key)):
                if f.host not in names:
                    raise ScenarioError(f"faults.{key}[{i}].host", f"no host {f.host!r}; hosts are <group>-<index>")
    wl = s.workload
    if wl.trace is not None:
        _check_trace(s)
    if wl.requests is not None:
        _check_requests(s)
    shapes: list[tuple[str, Any]] = [(f"workload.classes[{i}]", c) for i, c in enumerate(wl.classes or [])]
    shapes += [(f"workload.guests[{i}]", g) for i, g in enumerate(wl.guests or [])]
    if wl.requests is not None:
        shapes.append(("workload.requests", wl.requests))
    for where, g in shapes:
        reasons = [incompatibility(g.mode, g.os, h.hypervisor.product, h.hypervisor.host_os) for h in s.hosts]
        if all(reasons):
            detail = "; ".join(f"{h.name}: {r}" for h, r in zip(s.hosts, reasons, strict=True))
            raise ScenarioError(
                f"{where}.mode",
                f"no host in the scenario can run a {g.os.value} guest in {g.mode.value} mode ({detail})",
            )
        speed = getattr(g, "mips_per_vcpu", None)
        if all(
            r or slower_cores(speed, h.cpu.mips_per_core, s.dynamics.model)
            for h, r in zip(s.hosts, reasons, strict=True)
        ):
            fastest = max(h.cpu.mips_per_core for h, r in zip(s.hosts, reasons, strict=True) if not r)
            raise ScenarioError(
                f"{where}.mips_per_vcpu",
                f"a vCPU runs on one core at a time, and the cores of the hosts that can run this guest give at "
                f"most {fastest:g} MIPS; got {speed:g}",
            )


def _check_trace(s: Scenario) -> None:
    tr = s.workload.trace
    assert tr is not None
    assert tr.path is not None  # use_cache gave it one
    if not Path(tr.path).is_dir():
        raise ScenarioError(
            "workload.trace.path", f"no such folder {tr.path!r} (a PlanetLab day folder, one file per VM)"
        )
    if tr.mode != "none":
        for i, h in enumerate(s.hosts):
            if why := incompatibility(VirtMode(tr.mode), tr.os, h.hypervisor.product, h.hypervisor.host_os):
                raise ScenarioError(
                    "workload.trace.mode", f"{tr.os.value} guests in {tr.mode} mode cannot run on hosts[{i}]: {why}"
                )
    covered = 288 * 300.0  # a PlanetLab day: 288 samples 5 minutes apart
    if s.duration > covered:
        raise ScenarioError("duration", f"a PlanetLab trace covers 1d ({covered:g} s); got {s.duration:g} s")
    if s.consolidation is not None and s.consolidation.allocation == "migrate":
        c = s.consolidation
        if c.detector == "thr" and not 0 < c.safety <= 1:
            raise ScenarioError("consolidation.safety", f"the THR threshold is a utilization in (0, 1], got {c.safety}")


def _check_requests(s: Scenario) -> None:
    """The requests folder holds the files of its split. (Their content is read when the guests are made;
    ``cloudsim validate`` reads it too.)"""
    from cloudsim.workload.azure import AzureError, split_files

    rq = s.workload.requests
    assert rq is not None and rq.path is not None  # use_cache gave it one
    try:
        split_files(rq.path, rq.split)
    except AzureError as exc:
        raise ScenarioError(f"workload.requests.{exc.key}", str(exc)) from None


def read_base(source: str | Path) -> dict[str, Any]:
    """The raw mapping of a scenario file or built-in name, before overrides. A relative trace or requests
    path written in a scenario file is taken relative to that file's folder."""
    raw, _ = read_raw(source)
    raw = copy.deepcopy(raw)
    workload = raw.get("workload") if isinstance(raw.get("workload"), dict) else {}
    for form in (workload.get("trace"), workload.get("requests")):
        in_file = Path(source).is_file() and isinstance(form, dict) and isinstance(form.get("path"), str)
        if in_file and not Path(form["path"]).is_absolute():  # type: ignore[index]
            form["path"] = str(Path(source).resolve().parent / form["path"])  # type: ignore[index]
    return raw


def with_overrides(
    raw: dict[str, Any],
    overrides: typing.Iterable[str] = (),
    seed: int | None = None,
    max_memory_gib: float | None = None,
) -> tuple[Scenario, dict[str, Any]]:
    """Apply ``--set`` overrides (and ``seed``) to a raw mapping in place and validate it: the scenario and
    the mapping. A trace path given with ``--set`` is relative to the current folder."""
    for assignment in overrides:
        apply_override(raw, assignment)
    if seed is not None:
        raw["seed"] = seed
    return validate(raw, max_memory_gib), raw


def load_scenario(
    source: str | Path,
    overrides: typing.Iterable[str] = (),
    seed: int | None = None,
    max_memory_gib: float | None = None,
) -> tuple[Scenario, dict[str, Any]]:
    """The validated scenario and the raw mapping it came from (after ``--set`` overrides). A relative trace
    or requests path written in a scenario file is taken relative to that file's folder (one given with
    ``--set``, relative to the current folder)."""
    return with_overrides(read_base(source), overrides, seed, max_memory_gib)
