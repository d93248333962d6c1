"""BLAS held to one thread while a count runs.

The search multiplies small matrices (a layer's weights by a node's affine map: tens of rows);
numpy's BLAS would run each product on every core, and the threads' hand-over costs more than
the product, most of all when other processes load the cores (up to 6x slower in 784
dimensions, ``benchmarks/blas_threads.py``). So counting and enumerating run with
:data:`BLAS_THREADS` BLAS threads (threadpoolctl), and the caller's setting is restored when the
count returns or the enumeration ends; nested and interleaved uses share one limit, set by the
first and restored by the last. The limit is process-wide: other threads' BLAS calls run with it
meanwhile; a BLAS library first loaded during a count (by a solver imported then) is held from
the next count on. Parallel counts use processes, each held to one thread the same way.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading

from threadpoolctl import ThreadpoolController

__all__ = ["BLAS_THREADS", "ONE_THREAD_GEMM", "ONE_THREAD_GEMV", "one_blas_thread", "one_blas_thread_while_iterating",
           "one_thread_product", "only_openblas"]

#: BLAS threads while counting (None: leave BLAS as the caller set it).
BLAS_THREADS = 1
#: OpenBLAS multiplies an (m, k) by a (k, n) matrix on the calling thread alone when
#: ``m n k <= 65536 GEMM_MULTITHREAD_THRESHOLD`` (interface/gemm.c, ``SMP_THRESHOLD_MIN``), whatever
#: number of threads it is set to. The build's threshold is 4 unless set otherwise; a larger one
#: only widens the margin (with numpy's and scipy's OpenBLAS 0.3.30-0.3.31 set to two threads, a
#: 64 x 64 x 64 product runs on the calling thread alone, a 256 x 64 x 64 one on two).
ONE_THREAD_GEMM = 65536 * 4
#: The same for a matrix-vector product (interface/gemv.c): an (m, n) matrix with
#: ``m n < 2304 GEMM_MULTITHREAD_THRESHOLD``; numpy calls it for a product with a vector (or a
#: matrix of one row or column), gemm otherwise.
ONE_THREAD_GEMV = 2304 * 4


def only_openblas() -> bool:
    """Whether every BLAS library in this process (that threadpoolctl finds) is OpenBLAS, whose
    thresholds :func:`one_thread_product` reads; for another BLAS they are unknown, and a count
    holds it to one thread."""
    with _LOCK:
        controller = _blas_controller()
    return all(lib.internal_api == "openblas" for lib in controller.lib_controllers if lib.user_api == "blas")


def one_thread_product(m: int, k: int, n: int) -> bool:
    """Whether OpenBLAS multiplies an (m, k) by a (k, n) matrix (double or single precision, as a
    matrix or a matrix-vector product) on the calling thread alone, however many threads it is
    set to (:data:`ONE_THREAD_GEMM`, :data:`ONE_THREAD_GEMV`): a count whose every product passes
    needs no thread limit."""
    if m == 1 or n == 1:  # numpy multiplies by a vector (one row or column) with gemv
        return k * max(m, n) < ONE_THREAD_GEMV
    return m * k * n <= ONE_THREAD_GEMM

_LOCK = threading.Lock()
_holders = 0
_limiter = None
_controller = None
_modules_seen = -1


def _blas_controller():
    """The libraries threadpoolctl controls, found again when modules were imported since (a new
    module may have loaded a BLAS library): finding them costs about 0.3 ms, limiting 0.03 ms."""
    global _controller, _modules_seen
    if _controller is None or len(sys.modules) != _modules_seen:
        _controller = ThreadpoolController()
        _modules_seen = len(sys.modules)
    return _controller


@contextlib.contextmanager
def one_blas_thread():
    """Hold BLAS to :data:`BLAS_THREADS` threads inside the block (also a decorator)."""
    global _holders, _limiter
    with _LOCK:
        if _holders == 0 and BLAS_THREADS is not None:
            _limiter = _blas_controller().limit(limits=BLAS_THREADS, user_api="blas")
        _holders += 1
    try:
        yield
    finally:
        with _LOCK:
            _holders -= 1
            if _holders == 0 and _limiter is not None:
                _limiter.restore_original_limits()
                _limiter = None


def _held(iterator):
    with one_blas_thread():
        yield from iterator


def one_blas_thread_while_iterating(func):
    """Decorate a function returning an iterator: BLAS is held from the first item to the last
    (or until the iterator is closed); the function itself runs as it is."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return _held(func(*args, **kwargs))

    return wrapper
