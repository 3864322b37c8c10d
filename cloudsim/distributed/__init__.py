"""Everything that imports Ray: the shard actor, the Ray backend, the session helper, and whole runs as
Ray tasks (``fan_out``, used by ``cloudsim sweep`` and the benchmark sweep).

Import this package only when a Ray run is asked for; the rest of cloudsim never imports Ray."""

from cloudsim.distributed.ray_backend import RayBackend, ShardActor
from cloudsim.distributed.session import RayConnectError, ray_session
from cloudsim.distributed.tasks import cluster_cpus, fan_out, sweep

__all__ = ["RayBackend", "RayConnectError", "ShardActor", "cluster_cpus", "fan_out", "ray_session", "sweep"]
