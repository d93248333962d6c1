"""A small two-dimensional count in one compiled call.

The planar algorithm (:mod:`polyregions.cells.planar`) refines a polygon layer by layer; between
two layers it multiplies the kept cells' maps by the next layer's weights with BLAS, in
batches, and the driver (:mod:`polyregions.driver`) checks its limits between them. On a
small network (a few hundred regions) that Python around the kernels costs more than the
kernels. :func:`count_small_planar` counts such a network in one compiled call,
:func:`polyregions.cells.planar_kernel.count_cells`: the first layer in the domain's frame, every layer's splits
(:func:`polyregions.cells.polygon.split_cells_kernel`, the planar algorithm's own), the next
maps by plain loops, and the statistics the result reports (the number of cells, the smallest
inradius, near-eps decisions, cells made), with nothing else in Python but the checks.

The same cells are made as by the planar algorithm, by the same decisions; the maps of a layer
are the same sums of products, but summed over the live neurons in another order than BLAS
does (a difference of rounding, which the decisions' tolerances hold). It serves a count
without limits, progress reports or checkpoints (the driver's business), of a plain ReLU
network of at most :data:`SMALL_NEURONS` neurons and :data:`SMALL_WIDTH` per layer, on a
domain the planar algorithm serves in two dimensions; it answers None for anything else, and
for anything its kernel meets that the planar algorithm decides with an error or a refusal (a
first layer that overflows float64 on the domain, sizes beyond the rounding bounds), so that
the planar algorithm's own path says so in its words.

Preparation kept between counts: per network (immutable: a frozen dataclass whose layer arrays
are read-only copies; the preparation is made again should its layers be replaced) its layers
flattened for the kernel and its size bounds (:func:`polyregions.cells.size_range.size_growth`);
per domain, by its numbers (:meth:`~polyregions.domains.base.Domain.key`: equal keys, equal
domains; a domain changed in place has new numbers, a domain made anew with the same numbers
finds its preparation), its frame and polygon, for the last :data:`DOMAIN_CACHE_SIZE` domains. The kernel
checks the size bounds on the domain (a few products per neuron) at every count.
"""

from __future__ import annotations

import threading
import time
import weakref

import numpy as np

from ..result import NEAR_EPS_FACTOR, RegionCount, Stats
from ..solvers.jit import compile_seconds
from .planar_kernel import count_cells
from .polygon import ZERO_RTOL
from .size_range import SIZE_LIMIT, size_growth

__all__ = ["DOMAIN_CACHE_SIZE", "SMALL_NEURONS", "SMALL_WIDTH", "count_small_planar"]

#: The most neurons (all layers) of a network :func:`count_small_planar` serves: beyond, the
#: planar algorithm's BLAS products and batches pay for their Python.
SMALL_NEURONS = 128
#: The widest layer it serves (its loops multiply a cell's maps by the next layer's weights in
#: ``O(n_l n_{l+1})``, as BLAS does, but without BLAS's speed).
SMALL_WIDTH = 16


class _SmallNet:
    """A network's layers as :func:`~polyregions.cells.planar_kernel.count_cells` takes them, made once per network; ``small``:
    whether :func:`count_small_planar` serves it (only then are the layers made)."""

    def __init__(self, net):
        self.hidden = net.hidden
        self.widths = np.array([W.shape[0] for W, _ in net.hidden], np.int64)
        self.small = bool(self.widths.sum() <= SMALL_NEURONS and self.widths.max() <= SMALL_WIDTH)
        if not self.small:
            return
        M, self.size_c, _ = size_growth(net)
        self.size_M = np.ascontiguousarray(M)
        W1, b1 = net.hidden[0]
        self.W1, self.b1 = np.ascontiguousarray(W1, dtype=np.float64), np.ascontiguousarray(b1, dtype=np.float64)
        later = [part for W, b in net.hidden[1:] for part in (np.asarray(W, np.float64).T.ravel(), b)]
        self.weights = np.ascontiguousarray(np.concatenate(later) if later else np.zeros(0))
        with np.errstate(over="ignore"):  # beyond float32: refused by the size bounds before a count
            self.abs_weights = np.abs(self.weights).astype(np.float32)


#: Each network's :class:`_SmallNet`, dropped with the network.
_NETS = weakref.WeakKeyDictionary()

class _Domain2D:
    """A domain's frame and polygon (:func:`_domain`), or ``reason`` why the planar algorithm does
    not serve it in two dimensions."""

    def __init__(self, domain, fingerprint):
        self.fingerprint = fingerprint
        # the planar algorithm's conditions (:func:`polyregions.cells.planar.unsupported_reason`) in
        # two dimensions: a frame of two (a domain of two dimensions is its own frame, or a line's)
        self.reason = "not two-dimensional"
        if domain.dim != 2 and domain.frame_dim() != 2:
            return
        self.frame = domain.working_frame()
        if self.frame[1].shape[1] != 2:
            return
        self.reason = domain.polyhedron_reason()
        if self.reason is None:
            origin, Q = self.frame[:2]
            self.origin, self.Q = np.ascontiguousarray(origin, np.float64), np.ascontiguousarray(Q, np.float64)
            self.verts = np.ascontiguousarray(domain.polygon(), dtype=np.float64)


#: Prepared domains by their numbers (:func:`_fingerprint`): at most :data:`DOMAIN_CACHE_SIZE`,
#: the oldest dropped first. A domain made anew with the same numbers is not prepared again.
_DOMAINS = {}
DOMAIN_CACHE_SIZE = 64
_DOMAINS_LOCK = threading.Lock()


def _fingerprint(domain):
    """The numbers of `domain` (its :meth:`~polyregions.domains.base.Domain.key`, which names its
    type) as bytes."""
    return tuple((x.dtype.str, x.shape, x.tobytes()) if isinstance(x, np.ndarray) else x for x in domain.key())


def _domain(domain) -> _Domain2D:
    """The :class:`_Domain2D` of `domain`, kept by its numbers (a domain changed in place has new
    numbers; a domain without a key is prepared anew at every count)."""
    try:
        fingerprint = _fingerprint(domain)
    except NotImplementedError:
        return _Domain2D(domain, None)
    with _DOMAINS_LOCK:
        prepared = _DOMAINS.get(fingerprint)
    if prepared is None:
        prepared = _Domain2D(domain, fingerprint)
        with _DOMAINS_LOCK:
            if len(_DOMAINS) >= DOMAIN_CACHE_SIZE:
                del _DOMAINS[next(iter(_DOMAINS))]
            _DOMAINS[fingerprint] = prepared
    return prepared


def count_small_planar(net, domain, eps: float) -> RegionCount | None:
    """The count of :func:`polyregions.cells.planar.count_planar` (no limits, no progress) in one
    compiled call (:func:`~polyregions.cells.planar_kernel.count_cells`), or None where this does not serve (module docstring):
    the caller then counts by the planar algorithm's own path. `net` is a plain ReLU network
    and `eps` a positive float (checked by the caller)."""
    small = _NETS.get(net)
    if small is None or small.hidden is not net.hidden:
        small = _NETS[net] = _SmallNet(net)
    if not small.small:
        return None
    dom = _domain(domain)
    if dom.reason is not None:
        return None
    t0, compiling0 = time.perf_counter(), compile_seconds()
    count, radius, near_eps, nodes, status = count_cells(
        dom.verts, small.W1, small.b1, dom.origin, dom.Q, small.weights, small.abs_weights, small.widths,
        small.size_M, small.size_c, SIZE_LIMIT, eps, NEAR_EPS_FACTOR, ZERO_RTOL)
    if status != 0:
        return None
    seconds = time.perf_counter() - t0 - (compile_seconds() - compiling0)
    stats = Stats(nodes=int(nodes), seconds=seconds, min_radius=float(radius), min_kept_depth=float(radius),
                  near_eps=int(near_eps), eps=eps)
    return RegionCount(int(count), stats)
