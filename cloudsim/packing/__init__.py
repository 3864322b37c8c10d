"""Bin packing: instances, lower bounds, constructive policies and local search (numba)."""
