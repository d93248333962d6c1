"""The certificate writer's bulk records (`CertificateWriter.regions`, `.empties`): read back by the
standalone checker, against counts known in closed form."""

from __future__ import annotations

import io
import zlib

import exact_reference
import numpy as np
import pytest

import polyregions as pr
from polyregions.errors import CertificateError
from polyregions.exact import certified_count
from polyregions.exact.certified_count import CertificateWriter
from polyregions.exact import checker
from polyregions.exact.checker import MAGIC, SHIFT_MAX, check
from polyregions.exact.fast_bounds import MAX_SPREAD
from polyregions.exact.exact_net import ExactNetwork


def two_thresholds():
    """x -> (relu(x), relu(x - 2)) on the box (-1, 1): the second neuron is off on the whole box, so
    the patterns 10 and 00 have regions (x > 0, x < 0) and the branches 01 and 11 are empty."""
    net = pr.Network([pr.Dense(np.array([[1.0], [1.0]]), np.array([0.0, -2.0]))])
    return net, pr.Box([-1.0], [1.0])


def write(path, net, dom, records):
    writer = CertificateWriter(path, ExactNetwork(net, dom))
    records(writer)
    writer.close({"count": 2, "undecided": 0})


@pytest.mark.parametrize("name", ["bulk.jsonl", "bulk.jsonl.gz", "bulk.cert"])
def test_bulk_regions_and_empties_are_a_certificate_of_the_closed_form_count(tmp_path, name):
    net, dom = two_thresholds()
    path = tmp_path / name

    def records(w):
        w.regions(np.array([[1, 0], [0, 0]]), np.array([[0.5], [-0.375]]))
        # neuron 1 on (x - 2 > 0) contradicts x < 1: the multiplier 1 on position 1 alone
        w.empties(np.array([[0, 1], [1, 1]]), [2, 2], [0, 1, 2], [1, 1], [1, 3])

    write(path, net, dom, records)
    assert check(str(path)).count == 2
    assert path.read_bytes().startswith(MAGIC) == name.endswith(".cert")


def two_rows():
    """x -> (relu(x - 2), relu(3 - x)) on the box (-1, 1): pattern 01 has a region (the whole box); the
    branch 1 (x > 2) is empty by its own row, and 00 (x < 2, x > 3) by the rows ``x < 2`` and ``-x < -3``
    with weights ``w0, w1 > 0`` exactly when ``2 w0 - 3 w1 <= -|w0 - w1|`` (the box's support of
    ``v = w0 - w1``), that is when ``w0 <= 4 w1 / 3``."""
    return pr.Network([pr.Dense(np.array([[1.0], [-1.0]]), np.array([-2.0, 3.0]))]), pr.Box([-1.0], [1.0])


@pytest.mark.parametrize("name", ["shift.jsonl", "shift.jsonl.gz", "shift.cert"])
@pytest.mark.parametrize("val, shift, ok", [([5, 5], [40, 40], True), ([5, 5], [40, 41], True), ([1, 4], [3, 1], True),
                                            ([5, 5], [41, 40], False), ([1, 4], [3, 0], False)])
def test_bulk_empties_with_shifts_are_checked_by_their_value_times_two_to_the_shift(tmp_path, name, val, shift, ok):
    net, dom = two_rows()
    path = tmp_path / name
    writer = CertificateWriter(path, ExactNetwork(net, dom))
    writer.regions(np.array([[0, 1]]), np.array([[0.5]]))
    writer.empties(np.array([[1, 0], [0, 0]]), [1, 2], [0, 1, 3], [0, 0, 1], [1, *val], [0, *shift])
    writer.close({"count": 1, "undecided": 0})
    if ok:  # closed form: one region
        assert check(path).count == 1
    else:
        with pytest.raises(CertificateError, match="does not prove emptiness"):
            check(path)


def test_bulk_shifts_cover_the_compiled_kernels_multipliers():
    """The compiled count's multipliers are a mantissa times 2^e, 0 <= e <= MAX_SPREAD: every one fits a shift."""
    assert 0 < MAX_SPREAD <= SHIFT_MAX


def test_a_compiled_count_writes_wide_multipliers_in_bulk(tmp_path):
    """Float weights of two layers (denominators far apart): the drops' multipliers spread beyond int64, and
    still none is a record of its own; the count is the exact reference's."""
    rng = np.random.default_rng(7)
    weights = [rng.normal(size=(6, 2)), rng.normal(size=(5, 6))]
    biases = [rng.normal(size=6) * 0.3, rng.normal(size=5) * 0.3]
    net, dom = pr.Network.from_dense(weights, biases), pr.Box([-1.0, -1.0], [1.0, 1.0])
    path = tmp_path / "c.cert"
    assert pr.count_regions(net, dom, certify=True, certificate=path).certified
    blocks = list(checker._blocks(path.read_bytes()))
    records = [line for tag, p in blocks if tag == b"json" for line in p.decode().splitlines()]
    empt = [p for tag, p in blocks if tag == b"empt"]
    shifts = [np.lib.format.read_array(f) for f in (io.BytesIO(p) for p in empt) for _ in range(6)][5::6]
    assert empt and max(int(s.max()) for s in shifts) > 62 - 24 and not any('"y"' in r for r in records)
    assert check(path).count == exact_reference.exact_count(weights, biases, dom, eps=0)


@pytest.mark.parametrize("name", ["wrong.jsonl", "wrong.cert"])
def test_bulk_records_fail_the_checker_when_wrong(tmp_path, name):
    net, dom = two_thresholds()
    path = tmp_path / name

    def records(w):  # the point 0.5 is not in the region of pattern 00
        w.regions(np.array([[1, 0], [0, 0]]), np.array([[0.5], [0.5]]))
        w.empties(np.array([[0, 1], [1, 1]]), [2, 2], [0, 1, 2], [1, 1], [1, 1])

    write(path, net, dom, records)
    with pytest.raises(CertificateError):
        check(str(path))


@pytest.mark.parametrize("args", [
    dict(prefix_len=[3]),                      # longer than a pattern
    dict(y_ptr=[0, 0]),                        # no multiplier
    dict(y_pos=[2]),                           # a position beyond the prefix
    dict(y_val=[0]),                           # not positive
    dict(y_pos=[-1]),                          # negative
    dict(prefix_bits=np.array([[1, 2]])),      # not 0/1
    dict(prefix_bits=np.array([[1, 1, 0]])),   # not N positions
    dict(y_shift=[-1]),                        # a negative shift
    dict(y_shift=[SHIFT_MAX + 1]),             # beyond the limit
    dict(y_shift=[1, 2]),                      # one per multiplier
    dict(y_shift=[1.0]),                       # not integers
])
def test_malformed_bulk_empties_are_refused(tmp_path, args):
    net, dom = two_thresholds()
    w = CertificateWriter(None, ExactNetwork(net, dom))
    full = dict(prefix_bits=np.array([[1, 1]]), prefix_len=[2], y_ptr=[0, 1], y_pos=[1], y_val=[1]) | args
    with pytest.raises(ValueError, match="empties"):
        w.empties(**full)


def test_bulk_regions_refuse_non_finite_points():
    net, dom = two_thresholds()
    w = CertificateWriter(None, ExactNetwork(net, dom))
    with pytest.raises(ValueError, match="regions"):
        w.regions(np.array([[1, 0]]), np.array([[np.nan]]))


def test_bulk_regions_refuse_bits_that_are_not_patterns():
    net, dom = two_thresholds()
    w = CertificateWriter(None, ExactNetwork(net, dom))
    for bits, points in [([[1, 2]], [[0.5]]), ([[1, 0, 0]], [[0.5]]), ([[1, 0]], [[0.5, 0.5]])]:
        with pytest.raises(ValueError, match="regions"):
            w.regions(np.array(bits), np.array(points))


def test_parts_of_bulk_blocks_join_byte_for_byte(tmp_path, monkeypatch):
    """Parts written by writers without a header (as a parallel count's tasks write them) are joined
    behind the main file's records; small ROWS splits the bulk records over several blocks."""
    net, dom = two_thresholds()
    exact = ExactNetwork(net, dom)
    monkeypatch.setattr(CertificateWriter, "ROWS", 1)
    for name in ("joined.cert", "joined.jsonl.gz"):
        main = CertificateWriter(tmp_path / name, exact)
        main.regions(np.array([[1, 0]]), np.array([[0.5]]))
        for task, write_part in enumerate([
                lambda w: w.regions(np.array([[0, 0]]), np.array([[-0.375]])),
                lambda w: (w.empties(np.array([[0, 1]]), [2], [0, 1], [1], [1]),
                           w.empties(np.array([[1, 1]]), [2], [0, 1], [1], [3]))], start=1):
            part = CertificateWriter(main.part_path(task), exact, header=False)
            write_part(part)
            part.close()
            main.parts.append(part.path)
        main.close({"count": 2, "undecided": 0})
        assert check(tmp_path / name).count == 2  # closed form: x > 0 and x < 0
        assert not main.folder and not list(tmp_path.glob("polyregions-cert-*"))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_certified_count_writes_format_3_by_its_suffix(tmp_path, workers):
    weights = [np.array([[1.0, 2.0], [-1.0, 1.0], [3.0, -1.0], [0.5, 0.5]]), np.array([[1.0, -1.0, 1.0, 1.0]])]
    biases = [np.array([0.1, -0.2, 0.3, 0.0]), np.array([0.05])]
    net, dom = pr.Network.from_dense(weights, biases), pr.Box([-1.0, -1.0], [1.0, 1.0])
    res = pr.count_regions(net, dom, certify=True, certificate=tmp_path / "c.cert", workers=workers)
    assert (tmp_path / "c.cert").read_bytes().startswith(MAGIC)
    assert res.certified and check(tmp_path / "c.cert").count == res.count == exact_reference.exact_count(
        weights, biases, dom, eps=0)


def test_bulk_records_are_split_into_blocks_of_rows(tmp_path, monkeypatch):
    net, dom = two_thresholds()
    monkeypatch.setattr(CertificateWriter, "ROWS", 1)
    path = tmp_path / "split.cert"
    write(path, net, dom, lambda w: (w.regions(np.array([[1, 0], [0, 0]]), np.array([[0.5], [-0.375]])),
                                     w.empties(np.array([[0, 1], [1, 1]]), [2, 2], [0, 1, 2], [1, 1], [1, 3])))
    tags = [tag for tag, _ in checker._blocks(path.read_bytes())]
    assert tags == [b"head", b"regs", b"regs", b"empt", b"empt", b"json"]
    assert check(path).count == 2


@pytest.mark.parametrize("suffix", [".cert", ".jsonl"])
def test_bulk_records_are_copied_when_handed_over(tmp_path, suffix):
    # a caller refills its buffers (the compiled path's output arrays) after each call: what the
    # file holds must be what was handed over, not what the buffers hold when the block is written
    net, dom = two_thresholds()
    path = tmp_path / ("refilled" + suffix)
    bits, points = np.array([[1, 0], [0, 0]]), np.array([[0.5], [-0.375]])
    prefixes, lengths, ptr, pos, val, shift = np.array([[0, 1], [1, 1]]), np.array([2, 2]), np.array([0, 1, 2]), \
        np.array([1, 1]), np.array([1, 3]), np.array([0, 2])

    def records(w):
        w.regions(bits, points)
        w.empties(prefixes, lengths, ptr, pos, val, shift)
        points[:] = 0.5  # the buffers refilled: 0.5 is not in the region of 00,
        val[:] = 0       # and zero multipliers prove nothing

    write(path, net, dom, records)
    assert check(str(path)).count == 2


@pytest.mark.parametrize("use_isal", [False, True])
def test_blocks_are_zlib_streams_of_their_payload_with_either_compressor(tmp_path, monkeypatch, use_isal):
    if use_isal and certified_count._isal_compress is None:
        pytest.skip("isal (the extra 'fast') is not installed")
    monkeypatch.setattr(certified_count, "USE_ISAL", use_isal)
    payload = np.arange(5000, dtype=np.int64).tobytes() * 3
    data = certified_count._block(b"json", payload)
    assert data[:4] == b"json" and int.from_bytes(data[4:12], "little") == len(data) - 12
    assert zlib.decompress(data[12:]) == payload  # the stdlib's zlib, as the checker reads it
    net, dom = two_thresholds()
    path = tmp_path / "either.cert"
    write(path, net, dom, lambda w: (w.regions(np.array([[1, 0], [0, 0]]), np.array([[0.5], [-0.375]])),
                                     w.empties(np.array([[0, 1], [1, 1]]), [2, 2], [0, 1, 2], [1, 1], [1, 3])))
    assert check(path).count == 2  # closed form: x > 0 and x < 0


def test_bulk_empties_are_written_with_no_bit_beyond_their_prefix(tmp_path):
    # 13 neurons (two packed bytes per prefix); the caller's bits beyond each prefix are set at random
    net = pr.Network([pr.Dense(np.ones((13, 1)), np.zeros(13))])
    dom = pr.Box([-1.0], [1.0])
    rng = np.random.default_rng(5)
    lengths = np.array([1, 5, 7, 8, 9, 12, 13, 3])
    bits = rng.integers(0, 2, size=(len(lengths), 13))
    path = tmp_path / "prefixes.cert"
    writer = CertificateWriter(path, ExactNetwork(net, dom))
    writer.empties(bits, lengths, np.arange(len(lengths) + 1), np.zeros(len(lengths), int), np.ones(len(lengths), int))
    writer.close()
    (payload,) = [p for tag, p in checker._blocks(path.read_bytes()) if tag == b"empt"]
    written = np.lib.format.read_array(io.BytesIO(payload), allow_pickle=False)
    # independent: the prefixes cut bit by bit, then packed
    assert np.array_equal(written, np.packbits(bits * (np.arange(13) < lengths[:, None]), axis=1))
