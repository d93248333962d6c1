"""polyregions: the exact linear regions of ReLU networks.

>>> import polyregions as pr
>>> net = pr.Network.from_dense([[[1.0], [-1.0]]], [[0.0, 0.5]])
>>> pr.count_regions(net, pr.Box([-1.0], [1.0])).count
3
"""

from . import bounds, io, milp, propagate
from .constructions import montufar2014_network
from .domains import Ball, Box, Domain, Line, Plane, Polytope, Whole
from .enumerate import DEFAULT_EPS, count_regions, enumerate_regions
from .errors import InvalidInputError, PolyRegionsError, SolverError, UnsupportedError
from .measure import boundary_distances, linear_pieces, regions_per_length
from .milp import count_regions_milp, export_model, max_margin_pattern, single_region
from .network import AvgPool2d, Conv2d, Dense, Flatten, Network
from .propagate import neuron_bounds
from .result import Region, RegionCount, Stats
from .slicing import SliceRegion

__version__ = "0.1.0"

__all__ = [
    "AvgPool2d", "Ball", "Box", "Conv2d", "DEFAULT_EPS", "Dense", "Domain", "Flatten", "InvalidInputError",
    "Line", "Network", "Plane", "Polytope", "PolyRegionsError", "Region", "RegionCount", "SolverError", "Stats",
    "UnsupportedError", "Whole", "bounds", "count_regions", "count_regions_milp", "enumerate_regions",
    "export_model", "io", "max_margin_pattern", "milp", "montufar2014_network", "neuron_bounds", "propagate",
    "single_region", "SliceRegion", "boundary_distances", "linear_pieces", "regions_per_length", "plot_partition",
]


def __getattr__(name):
    if name == "plot_partition":  # the pictures import numba's kernels and matplotlib on first use
        from .plot import plot_partition

        return plot_partition
    raise AttributeError(f"module 'polyregions' has no attribute {name!r}")
