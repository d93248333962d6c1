"""polyregions: the exact linear regions of ReLU networks.

The public names below are loaded on first use (PEP 562), so that importing one module of the
package (the certificate checker, say) does not import the rest.

>>> import polyregions as pr
>>> net = pr.Network.from_dense([[[1.0], [-1.0]]], [[0.0, 0.5]])
>>> pr.count_regions(net, pr.Box([-1.0], [1.0])).count
3
"""

import importlib

__version__ = "0.1.0"

#: public name -> the module that defines it
_PUBLIC = {
    "polyregions.api": ["DEFAULT_EPS", "count_regions", "enumerate_regions"],
    "polyregions.errors": ["InvalidInputError", "PolyRegionsError", "SolverError", "UnsupportedError"],
    "polyregions.model.network": ["Activation", "AvgPool2d", "Conv2d", "Dense", "Flatten", "MaxPool2d", "Network",
                                  "Residual", "Unflatten"],
    "polyregions.domains.base": ["Domain", "PolyhedralDomain"],
    "polyregions.domains.convex": ["Ball", "Box", "Polytope", "Whole"],
    "polyregions.domains.slices": ["Line", "Plane", "Volume"],
    "polyregions.result": ["Region", "RegionCount", "SliceRegion", "Stats"],
    "polyregions.cells.measure": ["boundary_distances", "linear_pieces", "regions_per_length"],
    "polyregions.cells.plot": ["plot_partition"],
    "polyregions.cells.plot3d": ["plot_cells3d", "plot_level_set"],
    "polyregions.cells.complex": ["PolyhedralComplex", "polyhedral_complex"],
    "polyregions.cells.facets": ["Facet", "adjacency", "region_facets"],
    "polyregions.cells.geometry": ["region_polytope"],
    "polyregions.cells.mesh": ["LevelSet", "level_set"],
    "polyregions.milp.milp": ["count_regions_milp", "export_model", "max_margin_pattern", "single_region"],
    "polyregions.milp.propagate": ["neuron_bounds"],
    "polyregions.studies.constructions": ["montufar2014_network"],
}
#: public module name -> the module it is
_MODULES = {"bounds": "polyregions.bounds", "io": "polyregions.model.io", "milp": "polyregions.milp",
            "propagate": "polyregions.milp.propagate"}
_WHERE = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = sorted(_WHERE) + sorted(_MODULES)


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    else:
        raise AttributeError(f"module 'polyregions' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
