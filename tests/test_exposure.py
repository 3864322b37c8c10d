"""A private Ray instance refuses every call that lacks its token: Ray 2.60 binds its servers to all
interfaces, so authentication is what keeps a local run from taking calls from the network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

CLIENT = textwrap.dedent(
    """
    import sys
    from ray._raylet import GcsClient
    try:
        GcsClient(address=sys.argv[1]).get_all_node_info(timeout=20)
        print("OK")
    except Exception as exc:
        print(type(exc).__name__)
    """
)

PROBE = textwrap.dedent(
    """
    import json, os, subprocess, sys, ray
    import psutil  # Ray ships it
    from cloudsim.distributed.session import ray_session, _TOKEN

    def call(address, **auth):  # a client in a process of its own; the four run side by side
        env = {**os.environ, "RAY_AUTH_MODE": "token" if auth else "disabled", **auth}
        env.pop("RAY_AUTH_TOKEN", None) if not auth else None
        cmd = [sys.executable, "-c", sys.argv[1], address]
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)

    with ray_session(num_cpus=1) as info:
        gcs = ray.get_runtime_context().gcs_address
        tree = psutil.Process().children(recursive=True)
        clients = {
            "anonymous": call(gcs),
            "loopback_anonymous": call("127.0.0.1:" + gcs.rsplit(":", 1)[1]),
            "wrong": call(gcs, RAY_AUTH_TOKEN="0" * 64),
            "token": call(gcs, RAY_AUTH_TOKEN=_TOKEN),
        }
        result = {k: p.communicate(timeout=120)[0].strip() for k, p in clients.items()}
        result.update(
            started=info["started"],
            token_on_a_command_line=any(_TOKEN in " ".join(p.cmdline()) for p in tree),
            still_works=ray.get(ray.remote(lambda: 7).remote()),
        )
    # a second private instance in the same process works (Ray keeps the first token it read)
    with ray_session(num_cpus=1):
        result["again"] = ray.get(ray.remote(lambda: 8).remote())
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)  # as the tests do
    result["then_plain_init"] = ray.get(ray.remote(lambda: 9).remote())
    ray.shutdown()
    result["token_file"] = os.path.exists(os.path.expanduser("~/.ray/auth_token"))
    print(json.dumps(result))
    """
)


def test_a_private_instance_takes_no_call_without_its_token(tmp_path):
    # the user's (and this suite's) RAY_AUTH_MODE=disabled does not open a private instance
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "HOME": str(tmp_path)}
    env.pop("RAY_ADDRESS", None)
    cmd = [sys.executable, "-c", PROBE, CLIENT]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["started"] == "yes"
    assert result["anonymous"] == result["loopback_anonymous"] == result["wrong"] == "AuthenticationError"
    assert result["token"] == "OK" and result["still_works"] == 7
    assert not result["token_on_a_command_line"]  # other users can read command lines, not environments
    assert not result["token_file"]  # nothing written to ~/.ray
    assert result["again"] == 8 and result["then_plain_init"] == 9
