"""``cloudsim run`` as a user runs it: the real entry point in a subprocess (local backend, no Ray)."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from cloudsim.cli import _hms, _interrupted_line
from cloudsim.engine.core import PHASES
from tests.helpers import same_run_json


def test_sigterm_stops_the_run_and_keeps_what_it_computed(tmp_path: Path) -> None:
    out = tmp_path / "run"
    # a long run: 300 KVM hosts for 20 simulated days, ~10,000 guests
    cmd = [sys.executable, "-m", "cloudsim.cli", "run", "mixed-modes", "--backend", "local", "--no-progress",
           "--set", "duration=20d", "--set", "workload.arrivals.rate_per_hour=500", "--set", "hosts[0].count=300",
           "--out", str(out), "--checkpoint-every", "1d"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    # the first day's checkpoint says the simulation is under way (a fixed sleep after --out appeared once
    # let the signal land before the first tick on a loaded machine)
    while not (out / "checkpoint.pkl").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr + stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True
    assert 0 < summary["sim_time_s"] < 20 * 86400
    # the user is told how far it got and how to go on (the table says so too)
    reached = _hms(summary["sim_time_s"])
    assert stderr.strip().splitlines()[-1] == (
        f"interrupted at {reached} of 20d 00:00:00 simulated: the summary covers the time run; continue it from "
        f"its last checkpoint with: cloudsim run --resume {out}"
    )
    assert re.search(rf"simulated / wall time\s+│\s+{reached} \(interrupted\) /", stdout), stdout
    assert summary["guests"]["placed"] > 0
    rows = (out / "timeseries.csv").read_text().splitlines()
    assert len(rows) == summary["ticks"] + 1


def test_an_interrupted_runs_line_names_the_resume_only_with_a_checkpoint(tmp_path: Path) -> None:
    """Without ``--out``, or without a checkpoint there, the line says how far the run got only; a folder whose
    name needs quoting is quoted, so the command can be pasted as printed."""
    out = tmp_path / "my run"
    assert _interrupted_line(90061, 86400 * 3, None) == (
        "interrupted at 1d 01:01:01 of 3d 00:00:00 simulated: the summary covers the time run"
    )
    out.mkdir()
    assert _interrupted_line(300, 3600, out).endswith("the summary covers the time run")
    (out / "checkpoint.pkl").write_bytes(b"")
    assert shlex.split(_interrupted_line(300, 3600, out).split("with: ")[1]) == [
        "cloudsim",
        "run",
        "--resume",
        str(out),
    ]


def test_run_writes_its_outputs(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.run(
        [sys.executable, "-m", "cloudsim.cli", "run", "quickstart", "--backend", "local", "--out", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "virtualization overhead by mode" in proc.stdout
    assert all(line.strip() for line in proc.stderr.splitlines()), proc.stderr  # no bar drawn off a terminal
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "metrics.jsonl", "placements.jsonl", "scenario.yaml", "summary.json", "timeseries.csv"
    ]  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["scenario"] == "quickstart"
    row = next(ln for ln in proc.stdout.splitlines() if "start-up / total wall time" in ln)
    startup, total = (float(x) for x in re.findall(r"([\d.]+) s", row))
    assert (startup, total) == (round(summary["startup_s"], 2), round(summary["total_wall_time_s"], 2))
    # where the simulation's wall time went: the phases add up to it (but for the summary), the largest printed
    phases = summary["wall_time_by_phase_s"]
    assert set(phases) == set(PHASES) and 0 < sum(phases.values()) <= summary["wall_time_s"] + 0.004  # (ms each)
    largest = max(phases, key=phases.get)
    share = f"{phases[largest] / summary['wall_time_s']:.0%}"
    assert re.search(rf"wall time: largest phases\s+│\s+{largest} {share}", proc.stdout), proc.stdout


def _sigint_as_in_a_terminal() -> None:
    # a job started in the background (CI) inherits SIGINT ignored, and Python then leaves it ignored;
    # the run under test gets SIGINT as a terminal's Ctrl-C delivers it
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signals", [[signal.SIGTERM], [signal.SIGINT, signal.SIGINT]], ids=["sigterm", "ctrl-c-twice"])
def test_a_stop_on_the_ray_backend_keeps_the_outputs(tmp_path: Path, signals: list[signal.Signals]) -> None:
    """ray.init installs its own SIGTERM handler; the CLI puts its own back, so a scheduler's SIGTERM stops
    a Ray run like Ctrl-C: exit 130, the summary marked interrupted, every output written whole. A second
    Ctrl-C while the outputs are written does not cut them short.

    The private Ray instance takes seconds to start: the progress on stderr says so first (plain lines, as
    stderr is not a terminal), and the summary counts the start-up in the total wall time."""
    from tests.test_prometheus import free_port, get, poll

    out = tmp_path / "run"
    port = free_port()
    cmd = [sys.executable, "-m", "cloudsim.cli", "run", "consolidation-demo", "--set", "duration=30d",
           "--metrics-port", str(port), "--realtime-factor", "20000", "--out", str(out)]  # fmt: skip
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "COLUMNS": "100"}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_sigint_as_in_a_terminal)  # fmt: skip
    try:

        def running() -> bool:
            lines = get(f"http://127.0.0.1:{port}/metrics").decode().splitlines()
            t = [ln for ln in lines if ln.startswith("cloudsim_sim_time_seconds{")]
            return bool(t) and float(t[0].split()[-1]) > 3600

        poll(running, timeout=120, what="the run on Ray to simulate an hour")
        for sig in signals:
            proc.send_signal(sig)
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr + stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["backend"] == "ray"
    assert 3600 < summary["sim_time_s"] < 30 * 86400
    lines = stderr.splitlines()
    assert f"Starting a local Ray instance ({os.cpu_count()} CPUs)…" in lines and "Starting the host actors…" in lines
    assert 0 < summary["startup_s"] < summary["total_wall_time_s"]
    rows = (out / "timeseries.csv").read_text().splitlines()
    assert len(rows) == summary["ticks"] + 1
    assert (out / "metrics.jsonl").read_text().count("\n") == summary["ticks"]


def test_resume_continues_an_interrupted_run_to_the_same_summary(tmp_path: Path) -> None:
    """Checkpoints every 2 simulated hours; SIGTERM after 5 hours; --resume ends with the summary of a run
    that was never stopped."""
    from tests.test_prometheus import free_port, get, poll

    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    base = [sys.executable, "-m", "cloudsim.cli", "run"]
    common = ["--backend", "local", "--no-progress", "--set", "duration=2d", "--run-id", "r"]
    # the run never stopped goes side by side with the one stopped
    straight = subprocess.Popen([*base, "consolidation-demo", *common, "--json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    out, port = tmp_path / "run", free_port()
    proc = subprocess.Popen([*base, "consolidation-demo", *common, "--out", str(out), "--checkpoint-every", "2h",
                             "--metrics-port", str(port), "--realtime-factor", "20000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:

        def past_five_hours() -> bool:
            lines = get(f"http://127.0.0.1:{port}/metrics").decode().splitlines()
            t = [ln for ln in lines if ln.startswith("cloudsim_sim_time_seconds{")]
            return bool(t) and float(t[0].split()[-1]) > 5 * 3600

        poll(past_five_hours, timeout=120, what="five simulated hours")
        proc.send_signal(signal.SIGTERM)
        _, stopped_err = proc.communicate(timeout=60)
        straight_out, straight_err = straight.communicate(timeout=300)
    finally:
        for p in (proc, straight):
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert straight.returncode == 0, straight_err
    assert proc.returncode == 130 and (out / "checkpoint.pkl").is_file()
    assert json.loads((out / "summary.json").read_text())["interrupted"] is True
    # the command the stopped run printed to go on, as printed
    said = shlex.split(stopped_err.strip().splitlines()[-1].split("continue it from its last checkpoint with: ")[1])
    assert said == ["cloudsim", "run", "--resume", str(out)]
    resumed = subprocess.run([*base, *said[2:], "--backend", "local", "--no-progress", "--json"],
                             capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    a, b = json.loads(straight_out), json.loads(resumed.stdout)
    assert same_run_json(a) == same_run_json(b) and a["migrations"] > 0  # all but the wall-clock times
    assert json.loads((out / "summary.json").read_text())["sim_time_s"] == 2 * 86400
    assert not (out / "checkpoint.pkl").exists()  # a finished run keeps no checkpoint


def test_a_signal_during_start_up_leaves_no_traceback_and_no_ray_processes() -> None:
    """SIGTERM while Python imports, while Ray starts, and just after: exit 130, at most one line, and the
    Ray processes the run started are gone (the run had its own session)."""
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    for delay in (0.2, 1.0, 2.5):
        proc = subprocess.Popen([sys.executable, "-m", "cloudsim.cli", "run", "quickstart", "--no-progress"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                start_new_session=True)  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, (delay, err[-2000:], out[-500:])  # (was -2 at times: see exit_now)
        assert "Traceback" not in err and len([ln for ln in err.splitlines() if ln.strip()]) <= 1, (delay, err)
        deadline = time.monotonic() + 30
        while True:
            left = subprocess.run(["ps", "-o", "pid,comm", "--no-headers", "-s", str(proc.pid)],
                                  capture_output=True, text=True).stdout.strip()  # fmt: skip
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert not left, (delay, left)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_that_ray_init_swallows_still_stops_the_start(monkeypatch: pytest.MonkeyPatch, sig: int) -> None:
    """ray.init starts processes; a stop whose KeyboardInterrupt lands in a fork callback is printed and
    ignored by Python, and the run went on (seen: exit 0 after a SIGTERM). The session keeps the stop, cleans
    up and raises KeyboardInterrupt; Ray does not put its own SIGTERM handler in place meanwhile, and the
    handlers before are back afterwards."""
    import ray

    from cloudsim.distributed import session

    seen: dict[str, object] = {}

    def rays(signum: int, frame: object) -> None:
        raise SystemExit(signum)

    def init(**kwargs: object) -> None:
        ray._private.utils.set_sigterm_handler(rays)  # as ray.init does: a no-op meanwhile
        seen["handler"] = signal.getsignal(signal.SIGTERM)
        try:  # swallowed, as in a fork callback: Python hands it to sys.unraisablehook, which must not print it
            signal.raise_signal(sig)
        except KeyboardInterrupt as exc:
            args = {"exc_type": type(exc), "exc_value": exc, "exc_traceback": exc.__traceback__, "err_msg": None}
            sys.unraisablehook(types.SimpleNamespace(**args, object=init))

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)  # (the suite's own session may be up)
    monkeypatch.setattr(session, "_private_token", lambda: None)
    monkeypatch.setattr(session, "_shutdown", lambda started: seen.setdefault("shutdown", started))
    printed: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", printed.append)  # what Python would print
    # a background job's SIGINT is ignored, and stays so (pytest started with `&` from a script): not here
    ignored = signal.getsignal(sig) == signal.SIG_IGN
    if ignored:
        signal.signal(sig, signal.default_int_handler)
    try:
        before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt), session.ray_session(None):
            pass
        assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    finally:
        if ignored:
            signal.signal(sig, signal.SIG_IGN)
    assert seen["shutdown"] is True and seen["handler"] not in (*before, rays)
    assert not printed and sys.unraisablehook == printed.append  # no "Exception ignored in ..." traceback


def _swallowed_stop() -> None:
    """SIGTERM raised in a weakref callback, as the import system's module locks have: the handler's
    KeyboardInterrupt lands where nothing can catch it, and Python swallows it ("Exception ignored")."""
    import weakref

    class Lock:
        pass

    lock = Lock()
    ref = weakref.ref(lock, lambda _: signal.raise_signal(signal.SIGTERM))
    del lock
    assert ref() is None


def test_a_stop_python_swallows_during_the_run_stops_it_at_the_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stop whose KeyboardInterrupt Python swallows (seen: exit 0 after a full run, "Exception ignored in:
    <function _get_module_lock.<locals>.cb>" on stderr) is kept: the run stops at the end of that tick, keeps
    its outputs and exits 130, and Python prints nothing about it."""
    from cloudsim.cli import main
    from cloudsim.metrics.recorder import Recorder

    publish = Recorder.publish

    def publish_then_stop(self: Recorder) -> None:
        publish(self)
        if len(self.rows) == 5:
            _swallowed_stop()

    monkeypatch.setattr(Recorder, "publish", publish_then_stop)
    out = tmp_path / "run"
    code = main(["run", "quickstart", "--backend", "local", "--no-progress", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 130 and "Exception ignored" not in err and "KeyboardInterrupt" not in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["ticks"] == 5


def test_a_stop_as_the_outputs_are_written_keeps_them_whole_and_says_the_run_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGTERM after the last tick, while the run folder is written: the writing goes on, the summary is the
    whole run's (not marked interrupted), one line says so, exit 130."""
    from cloudsim.cli import main
    from cloudsim.metrics.recorder import Recorder

    write = Recorder.write

    def stop_then_write(self: Recorder, out_dir: Path, summary: dict) -> list[Path]:
        os.kill(os.getpid(), signal.SIGTERM)
        return write(self, out_dir, summary)

    monkeypatch.setattr(Recorder, "write", stop_then_write)
    out = tmp_path / "run"
    code = main(["run", "quickstart", "--backend", "local", "--no-progress", "--json", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 130
    assert captured.err.strip().splitlines() == [
        "stopping: finishing the outputs first",
        "stopped as the run finished: the summary covers the whole run, and every output is written",
    ]
    printed, kept = json.loads(captured.out), json.loads((out / "summary.json").read_text())
    assert printed == kept and "interrupted" not in kept and kept["sim_time_s"] == 4 * 3600  # quickstart: 4h
    assert len((out / "timeseries.csv").read_text().splitlines()) == kept["ticks"] + 1


def test_a_stop_python_swallows_before_the_command_stops_it_as_it_begins(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before a command's own handler is in place a stop raises through :data:`cloudsim._signals.interrupt`,
    which keeps it: swallowed there, it stops the command as soon as the command's handler is in place."""
    from cloudsim import cli

    command = cli._command()

    def swallow_then_run(*args: object, **kwargs: object) -> object:
        _swallowed_stop()
        return command(*args, **kwargs)

    monkeypatch.setattr(cli, "_command", lambda: swallow_then_run)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT), sys.unraisablehook
    code = cli.main(["run", "quickstart", "--backend", "local", "--no-progress", "--json"])
    captured = capsys.readouterr()
    assert code == 130 and captured.out == ""  # one line, as for a stop the command's handler raises
    assert captured.err.strip().splitlines() == ["interrupted before the simulation started; nothing to keep"]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT), sys.unraisablehook) == before


def test_only_a_swallowed_stop_goes_unprinted(monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudsim._signals import lost_stops_quiet

    printed: list[type] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: printed.append(u.exc_type))
    with lost_stops_quiet():
        for exc_type in (KeyboardInterrupt, ValueError):
            sys.unraisablehook(types.SimpleNamespace(exc_type=exc_type))
    assert printed == [ValueError]


def test_a_stop_caught_after_it_left_exec_d_code_still_exits_130_under_python_m(tmp_path: Path) -> None:
    """CPython marks a KeyboardInterrupt leaving code that ``exec`` ran from a string as unhandled even when it
    is caught, and under ``python -m`` such an interpreter exits by SIGINT at the end: ``exit_now(130)`` ends
    the process itself (as ``python -m cloudsim.cli`` does)."""
    program = (
        "import sys\n"
        "from cloudsim._entry import exit_now\n"
        "try:\n"
        "    exec('raise KeyboardInterrupt')  # as a dataclass's __init__ is made, with a stop landing there\n"
        "except KeyboardInterrupt:\n"
        "    pass\n"
        "exit_now(int(sys.argv[1]))\n"
    )
    (tmp_path / "stopped_in_exec.py").write_text(program)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), str(tmp_path)])}
    proc = subprocess.run([sys.executable, "-m", "stopped_in_exec", "130"], env=env, cwd=tmp_path)
    assert proc.returncode == 130


def test_a_finished_command_ends_without_the_interpreter_teardown(tmp_path: Path) -> None:
    """``exit_now`` flushes and ends the process: the teardown (a quarter of a second of numba's and LLVM's
    modules, with SIGINT and SIGTERM back at the system's default, so a stop then killed the process by its
    signal, exit -15) never runs, and what was printed is all there."""
    program = (
        "import atexit, sys\n"
        "from cloudsim._entry import exit_now\n"
        "atexit.register(lambda: print('teardown ran'))\n"
        "sys.stdout.write('the summary\\n' * 10000)\n"
        "exit_now(int(sys.argv[1]))\n"
    )
    (tmp_path / "finished.py").write_text(program)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    for code in (0, 2):
        proc = subprocess.run([sys.executable, str(tmp_path / "finished.py"), str(code)], env=env,
                              capture_output=True, text=True)  # fmt: skip
        assert proc.returncode == code and proc.stdout == "the summary\n" * 10000, proc.stderr
