"""Why a guest went where it went: one decision of the placement pipeline, host by host.

Off the hot path: :func:`decide` keeps only the winner and the runner-up; this module re-scores one
decision on the same snapshot, with the same compiled filters and scorers (``_decide``, ``_scores``), and
keeps every number: each host's filter outcome (with what the guest would reserve there and what is
free), and for each scored candidate, per scorer, the raw score, the min-max normalised score, the weight
and the contribution (weight x normalised) to its total. The totals add the contributions in scorer
order, as the kernel does, so the winner's total is the decision's score to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cloudsim.placement.policies import (
    FILTERS,
    Decision,
    Policy,
    Request,
    Snapshot,
    _buffers,
    _compiled,
    _decide,
    _scores,
    _spread,
    decide,
)

#: The outcome of a host that passed every filter and was scored.
CANDIDATE = "candidate"
#: The outcome of an empty host in the same state as an earlier empty host of its group: it passes the same
#: filters with the same scores, so it is counted as that host and not scored.
TWIN = "same_as"


@dataclass(frozen=True)
class Term:
    """One scorer's part of a candidate's total."""

    scorer: str
    raw: float  # the scorer's own value (higher is better)
    normalised: float  # min-max over the scored candidates, 0..1 (0 for all when they are all equal)
    weight: float
    contribution: float  # weight x normalised


@dataclass(frozen=True)
class HostOutcome:
    """One host in one decision."""

    host: int
    outcome: str  # CANDIDATE, TWIN, or the name of the first filter it failed
    cpu_requested_mips: float  # what the guest would reserve there (overhead included)
    cpu_free_mips: float  # capacity x overcommit - reserved, before the guest
    mem_requested_mib: float
    mem_free_mib: float
    twin_of: int | None = None  # for TWIN: the host it is counted as
    why: str = ""  # for ``incompatible``: why the guest cannot run there (the reason after "host: ")
    terms: tuple[Term, ...] = ()  # for CANDIDATE
    total: float | None = None  # for CANDIDATE: the sum of the contributions


@dataclass(frozen=True)
class Explanation:
    """A decision and every host's part in it (in host order)."""

    policy: Policy
    decision: Decision
    hosts: list[HostOutcome]

    def ranked(self) -> list[HostOutcome]:
        """The scored candidates, best first (ties: lowest host id, as the pipeline breaks them)."""
        scored = [h for h in self.hosts if h.outcome == CANDIDATE]
        return sorted(scored, key=lambda h: (-(h.total or 0.0), h.host))

    @property
    def margin(self) -> float | None:
        """The winner's total minus the runner-up's (None without a runner-up)."""
        d = self.decision
        return None if d.score is None or d.runner_up_score is None else d.score - d.runner_up_score

    def filtered(self) -> dict[str, int]:
        """Hosts per outcome: each filter's rejections, the scored candidates and the twins."""
        out: dict[str, int] = {}
        for h in self.hosts:
            out[h.outcome] = out.get(h.outcome, 0) + 1
        return out


def explain(policy: Policy, snapshot: Snapshot, request: Request) -> Explanation:
    """The decision :func:`decide` takes for ``request`` on ``snapshot``, with every host's outcome and
    every scored candidate's weighted scores. O(hosts x scorers) with Python per host: for one decision,
    not for a run."""
    s, r = snapshot, request
    n = len(s.cpu_cap)
    d = decide(policy, s, r)
    codes, weights, curves = _compiled(policy, s)
    cand, raw_buf, total_buf = _buffers(n)
    counts = np.zeros(6, dtype=np.int64)
    _decide(codes, weights, r.group, r.group_cpu, r.group_mem, r.group_ok, r.group_overhead, s.cpu_cap, s.mem_cap,
            s.cpu_used, s.mem_used, s.guests, curves, cand, raw_buf, total_buf, counts)  # fmt: skip
    scored = cand[: int(counts[5])].copy()
    m = len(scored)
    terms: list[list[Term]] = [[] for _ in range(m)]
    total = np.zeros(m)
    for name, code, weight in zip(policy.weights, codes.tolist(), weights.tolist(), strict=True):
        raw = np.empty(m)
        _scores(code, m, scored, r.group, r.group_cpu, r.group_mem, r.group_overhead, s.cpu_cap, s.mem_cap,
                s.cpu_used, s.mem_used, curves, raw)  # fmt: skip
        lo, spread = _spread(raw, m)
        norm = np.zeros(m) if spread == 0.0 else (raw - lo) / spread
        part = weight * norm
        total += part
        for i in range(m):
            terms[i].append(Term(name, float(raw[i]), float(norm[i]), weight, float(part[i])))
    at = {int(h): i for i, h in enumerate(scored.tolist())}
    failed = np.full(n, "", dtype=object)
    for fname, fn in FILTERS.items():
        failed[(failed == "") & ~fn(s, r)] = fname
    first_empty: dict[int, int] = {}
    hosts: list[HostOutcome] = []
    cpu_req, mem_req = r.cpu, r.mem
    for h in range(n):
        g = int(r.group[h])
        if s.guests[h] == 0:
            first_empty.setdefault(g, h)
        common = {
            "host": h,
            "cpu_requested_mips": float(cpu_req[h]),
            "cpu_free_mips": float(s.cpu_cap[h] - s.cpu_used[h]),
            "mem_requested_mib": float(mem_req[h]),
            "mem_free_mib": float(s.mem_cap[h] - s.mem_used[h]),
        }
        if failed[h]:
            why = r.why_incompatible(h).partition(": ")[2] if failed[h] == "incompatible" else ""
            hosts.append(HostOutcome(outcome=str(failed[h]), why=why, **common))
        elif h in at:
            i = at[h]
            hosts.append(HostOutcome(outcome=CANDIDATE, terms=tuple(terms[i]), total=float(total[i]), **common))
        else:
            hosts.append(HostOutcome(outcome=TWIN, twin_of=first_empty[g], **common))
    return Explanation(policy, d, hosts)
