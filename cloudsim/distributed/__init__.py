"""Everything that imports Ray: the shard actor, the Ray backend and the session helper.

Import this package only when a Ray run is asked for; the rest of cloudsim never imports Ray."""

from cloudsim.distributed.ray_backend import RayBackend, ShardActor, sweep
from cloudsim.distributed.session import RayConnectError, ray_session

__all__ = ["RayBackend", "RayConnectError", "ShardActor", "ray_session", "sweep"]
