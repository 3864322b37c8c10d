"""Whole runs as Ray tasks across a cluster: one task per run, each simulating in its own worker process
(the local backend inside the task), results coming back as they finish. ``cloudsim sweep`` and
``cloudsim bench consolidation --backend ray`` fan out through :func:`fan_out`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import ray


def fan_out(
    fn: Callable[..., Any],
    jobs: Sequence[tuple[Any, ...]],
    on_result: Callable[[int, Any], None],
    num_cpus: float = 1,
) -> None:
    """Run ``fn(*job)`` for every job as one Ray task holding ``num_cpus`` CPUs, spread over the cluster.
    ``on_result(index, value)`` sees each result in the order the tasks finish; a task that raised, or whose
    worker died, gives its :class:`ray.exceptions.RayError` as ``value``. ``fn`` must be importable by the
    workers (a module-level function of an installed package).

    Anything that stops the loop (Ctrl-C, ``on_result`` raising) cancels the tasks not finished (their
    workers are ended) before it propagates, so a cluster joined with ``--address`` is left idle."""
    task = ray.remote(num_cpus=num_cpus)(fn)
    # only unfinished tasks stay referenced: a result leaves the object store once on_result has it
    index = {task.remote(*job): i for i, job in enumerate(jobs)}
    pending = list(index)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            if pending:  # collect the others already finished in one go (a long list is costly to wait on)
                more, pending = ray.wait(pending, num_returns=len(pending), timeout=0)
                done += more
            for ref in done:
                i = index.pop(ref)
                try:
                    value = ray.get(ref)
                except ray.exceptions.RayError as exc:  # the task raised, or its worker died
                    value = exc
                on_result(i, value)
    except BaseException:
        # the tasks that finished meanwhile are left alone: cancelling a task whose reply is on its way can trip
        # a check in Ray's core, which aborts the driver (seen once, in a full test run on a loaded machine)
        with contextlib.suppress(Exception):
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=0) if pending else ([], [])
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        raise


def cluster_cpus() -> int:
    """CPUs of the cluster Ray is connected to: how many one-CPU tasks run at once."""
    return int(ray.cluster_resources().get("CPU", 0))


def sweep(jobs: list[tuple[Any, str]], tick: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Consolidation benchmark rows for (scenario, day) pairs, one Ray task each (one CPU), spread over the
    cluster; results come back in the order of ``jobs``. ``tick`` sees each row as it finishes."""
    from cloudsim.bench import one

    rows: list[dict[str, Any] | None] = [None] * len(jobs)

    def done(i: int, row: Any) -> None:
        if isinstance(row, BaseException):
            raise row
        rows[i] = row
        if tick is not None:
            tick(row)

    fan_out(one, jobs, done)
    return [r for r in rows if r is not None]
