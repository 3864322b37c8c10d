"""Trace-driven dynamic consolidation: the PlanetLab experiment of Beloglazov & Buyya (2012) as CloudSim
3.0.3 runs it (power-aware placement, overload detection, VM selection, live migration, host switch-off),
and policies of our own."""
