"""The standalone checker (polyregions.exact.checker) against honest, forged and malformed certificates.

Independent sources: every count asserted is the exact rational reference's
(tests/exact_reference.py) or a closed form; a forged certificate must be rejected with a
one-line CertificateError, never accepted with another count.
"""

from __future__ import annotations

import gzip
import io
import json
import pathlib
import random
import re
import subprocess
import sys
import zlib
from unittest import mock

import exact_reference
import numpy as np
import pytest

import polyregions as pr
from polyregions.errors import CertificateError
from polyregions.exact import certified_count, checker
from polyregions.exact.checker import check
from polyregions.exact.spec import check_certificate, domain_spec, network_spec, report_lines
from polyregions.exact.upgrade import upgrade

BOX = pr.Box([-1.0, -1.0], [1.0, 1.0])


def small_net(seed=7, widths=(5, 3)):
    rng = np.random.default_rng(seed)
    weights, biases, fan_in = [], [], 2
    for n in widths:
        weights.append(rng.integers(-3, 4, size=(n, fan_in)).astype(float))
        biases.append(rng.integers(-2, 3, size=n).astype(float) / 2)
        fan_in = n
    return weights, biases


def write(path, records):
    path.write_text("".join(json.dumps(rec, separators=(",", ":")) + "\n" for rec in records))


def certify(net, dom, path):
    # the audited Python search: it also writes shared certificates ("cert" and "ref" records) to forge
    with mock.patch.object(certified_count, "fast_applies", return_value=False):
        res = pr.count_regions(net, dom, certify=True, certificate=path)
    assert res.certified
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def genuine_once(tmp_path_factory):
    weights, biases = small_net()
    net = pr.Network.from_dense(weights, biases)
    path = tmp_path_factory.mktemp("genuine") / "cert.jsonl"
    records = certify(net, BOX, path)
    truth = exact_reference.exact_count(weights, biases, BOX, eps=0)
    return net, path.read_text(), records, truth


@pytest.fixture
def genuine(genuine_once, tmp_path):
    """A genuine certificate (computed once per module), copied for each test to tamper with."""
    net, text, records, truth = genuine_once
    path = tmp_path / "cert.jsonl"
    path.write_text(text)
    return net, path, json.loads(json.dumps(records)), truth


def rejected(path, match=None):
    with pytest.raises(CertificateError, match=match) as info:
        check(path)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_honest_certificate_passes_and_states_its_network_and_domain(genuine):
    net, path, records, truth = genuine
    res = check_certificate(path, net, BOX)
    assert res.count == truth
    assert res.empty == sum(1 for r in records if "empty" in r)
    assert res.network_fingerprint == checker.fingerprint(network_spec(net))
    text = "\n".join(report_lines(res))
    assert f"has {truth} regions" in text and "lo = [-1, -1], hi = [1, 1]" in text and res.domain_fingerprint in text


def test_another_network_or_domain_is_refused(genuine):
    net, path, _, _ = genuine
    leaky = pr.Network([pr.Dense(W, b, negative_slope=0.1) for W, b in net.hidden])  # same weights, LeakyReLU
    with pytest.raises(CertificateError, match="another network"):
        check_certificate(path, leaky)
    with pytest.raises(CertificateError, match="another domain"):
        check_certificate(path, net, pr.Box([-1.0, -1.0], [1.0, 1.5]))
    with pytest.raises(CertificateError, match="another domain"):
        check(path, domain=domain_spec(pr.Ball([0.0, 0.0], 1.0, p=1)))


def _first(records, pred):
    return next(i for i, r in enumerate(records) if pred(r))


def test_forged_negative_index_is_rejected(genuine):
    _, path, records, _ = genuine
    k = _first(records, lambda r: "y" in r)
    records[k]["y"] = {"-2": "1", **records[k]["y"]}
    write(path, records)
    rejected(path, "neither a neuron nor a domain row")


@pytest.mark.parametrize("bits", ["x", "2", " ", "*"])
def test_forged_bits_that_are_not_0_or_1_are_rejected(genuine, bits):
    _, path, records, _ = genuine
    k = _first(records, lambda r: "region" in r)
    records[k]["region"] = bits + records[k]["region"][1:]
    write(path, records)
    rejected(path, "not a string of 0, 1")


@pytest.mark.parametrize("cut", [1, -1])
def test_forged_witness_of_the_wrong_length_is_rejected(genuine, cut):
    _, path, records, _ = genuine
    k = _first(records, lambda r: "region" in r)
    records[k]["point"] = records[k]["point"][:-1] if cut == 1 else records[k]["point"] + ["0"]
    write(path, records)
    rejected(path, "must be a list of 2")


def test_all_zero_multipliers_are_rejected(genuine):
    # a region replaced by an "empty" line with zero multipliers: y = 0 gives v = 0 and s = 0,
    # which passes every inequality; only "some multiplier is positive" refuses it
    _, path, records, _ = genuine
    k = _first(records, lambda r: "region" in r)
    bits = records[k]["region"]
    records[k] = {"empty": bits, "y": {"0": "0"}}
    records[-1]["count"] -= 1
    write(path, records)
    rejected(path, "all zero")


def test_a_region_whose_last_layer_bit_is_wrong_is_rejected(tmp_path):
    # the last neuron is on over the whole box (bias 10), so each region's sibling with the last
    # bit off is a certified empty leaf of full length; forging that sibling as a region with the
    # region's own point is caught only by the last layer's check
    W1, b1 = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.0, 0.0])
    W2, b2 = np.array([[1.0, 1.0]]), np.array([10.0])
    net = pr.Network.from_dense([W1, W2], [b1, b2])
    path = tmp_path / "c.jsonl"
    records = certify(net, BOX, path)
    assert check(path).count == 4  # two lines through the origin
    region = next(r for r in records if "region" in r)
    sibling = region["region"][:-1] + "0"
    k = _first(records, lambda r: r.get("empty") == sibling)
    records[k] = {"region": sibling, "den": region["den"], "point": region["point"]}
    records[-1]["count"] += 1
    write(path, records)
    rejected(path, "wrong state")


@pytest.mark.parametrize("mutate, match", [
    (lambda text: re.sub(r'("y":\{"[0-9d]+":)"[0-9a-f]+"', r"\1Infinity", text, count=1), "not a number"),
    (lambda text: text.replace('"count":', '"count":' + "9" * 5000 + ",\"c\":", 1), "too large"),
    (lambda text: "this is not JSON\n" + text.split("\n", 1)[1], "line 1 is not a JSON"),
    (lambda text: text[: len(text) // 2], "not valid JSON|trailer|newline"),
    (lambda text: text.replace('"undecided":0', '"undecided":0,"extra":1'), "keys"),
    (lambda text: re.sub(r'"count":([0-9]+)', r'"count":"\1"', text), "JSON integer"),
    (lambda text: re.sub(r'"count":([0-9]+)', r'"count":\1.0', text), "not allowed"),
    (lambda text: text.replace('"undecided":0', '"undecided":2'), "undecided"),
    (lambda text: "", "is empty"),
])
def test_malformed_files_get_one_line_errors(genuine, mutate, match):
    _, path, _, _ = genuine
    text = path.read_text()
    new = mutate(text)
    assert new != text
    path.write_text(new)
    rejected(path, match)


@pytest.mark.parametrize("den, match", [("0", "denominator"), ("-1", "denominator"), ("01", "hexadecimal"),
                                        ("1_0", "hexadecimal"), (1, "hexadecimal")])
def test_bad_denominators(genuine, den, match):
    _, path, records, _ = genuine
    records[_first(records, lambda r: "region" in r)]["den"] = den
    write(path, records)
    rejected(path, match)


def test_a_coverage_gap_raises(genuine):
    _, path, records, _ = genuine
    del records[_first(records, lambda r: "empty" in r)]
    write(path, records)
    rejected(path, "coverage fails")


def test_missing_binary_and_gzip_files(genuine, tmp_path):
    _, path, _, truth = genuine
    rejected(tmp_path / "missing.jsonl", "cannot be read")
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(bytes(range(256)) * 4)
    rejected(binary, "cannot be read|not a JSON")
    packed = tmp_path / "cert.jsonl.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert check(packed).count == truth
    packed.write_bytes(gzip.compress(path.read_bytes())[:-20])
    rejected(packed, "cannot be read|not valid JSON|trailer")


def test_huge_integers_have_no_digit_limit(tmp_path):
    # 15 layers of weight 5e-324 (2^-1074): the common scale is 2^(-1074 * 15), far past 4,300 digits
    tiny = 5e-324
    net = pr.Network.from_dense([np.array([[1.0, 0.0], [0.0, 1.0]])] + [np.eye(2) * tiny] * 14,
                                [np.zeros(2)] + [np.zeros(2)] * 14)
    path = tmp_path / "c.jsonl"
    res = pr.count_regions(net, BOX, certify=True, certificate=path)
    assert res.certified and res.count == 4  # the quadrants; every later layer copies the first
    assert check(path).count == 4


def mutations(value, rng):
    """Mutated copies of one JSON field value."""
    if isinstance(value, str):
        out = [value[:-1], value + "0", "-" + value if not value.startswith("-") else value[1:], "", "1", "0"]
        if value and set(value) <= set("01*"):
            i = rng.randrange(len(value))
            out.append(value[:i] + ("1" if value[i] == "0" else "0") + value[i + 1:])
        return out
    if isinstance(value, bool) or value is None:
        return [None, 0]
    if isinstance(value, int):
        return [value + 1, value - 1, -1, str(value)]
    if isinstance(value, list):
        return [value[:-1], value + value[:1], list(reversed(value)), []]
    if isinstance(value, dict):
        keys = list(value)
        out = [{}, {**value, "extra": "1"}]
        if keys:
            k = rng.choice(keys)
            out += [{kk: v for kk, v in value.items() if kk != k}, {**value, k: "0"},
                    {**value, str(int(k) + 1) if k.isdigit() else k: value[k]}]
        return out
    return [None]


@pytest.mark.parametrize("seed, widths, dom", [(1, (4,), BOX), (2, (3, 2), BOX), (3, (3, 2), pr.Whole(2)),
                                               (4, (3, 2), pr.Ball([0.0, 0.5], 1.5, p=1)),
                                               (5, (2, 2), pr.Ball([0.25, 0.0], 1.25))])
def test_fuzz_every_mutation_is_rejected_or_keeps_the_true_count(seed, widths, dom, tmp_path):
    weights, biases = small_net(seed, widths)
    net = pr.Network.from_dense(weights, biases)
    path = tmp_path / "c.jsonl"
    records = certify(net, dom, path)
    truth = exact_reference.exact_count(weights, biases, dom, eps=0)
    assert check(path).count == truth
    rng = random.Random(seed)
    tried = 0
    for k, rec in enumerate(records):
        for field in list(rec):
            for value in mutations(rec[field], rng):
                recs = json.loads(json.dumps(records))
                recs[k][field] = value
                write(path, recs)
                try:
                    assert check(path).count == truth
                except CertificateError:
                    pass
                tried += 1
    for k in range(1, len(records)):  # drop or duplicate a whole line
        for recs in (records[:k] + records[k + 1:], records[:k] + [records[k]] + records[k:]):
            write(path, recs)
            try:
                assert check(path).count == truth
            except CertificateError:
                pass
    assert tried > 50


def test_the_checker_stands_alone(genuine, tmp_path):
    _, path, _, truth = genuine
    source = pathlib.Path(checker.__file__)
    assert len(source.read_text().splitlines()) < 400  # short enough to audit
    code = ("import sys; from polyregions.exact.checker import check; r = check(sys.argv[1]); "
            "print(r.count, sorted(m for m in sys.modules if m.startswith('polyregions')))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                         cwd=tmp_path).stdout  # outside the repository: import the installed package
    count, modules = out.split(" ", 1)
    assert int(count) == truth
    assert modules.strip() == str(["polyregions", "polyregions.exact", "polyregions.exact.checker"])
    alone = tmp_path / "checker.py"  # a copy outside the package, run as a script
    alone.write_text(source.read_text())
    run = subprocess.run([sys.executable, str(alone), str(path)], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0 and f"has {truth} regions" in run.stdout and '"kind": "box"' in run.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n")
    run = subprocess.run([sys.executable, str(alone), str(bad)], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1


def test_parallel_check_agrees(genuine, monkeypatch):
    _, path, _, truth = genuine
    monkeypatch.setattr(checker, "BATCH", 3)
    assert check(path, workers=2).count == truth


def hexes(*values):
    return [format(v, "x") if v >= 0 else "-" + format(-v, "x") for v in values]


#: Networks whose float64 forward pass at the point x (denominator 1) rounds the last neuron's sign across
#: zero, the forged pattern (what the float sign says) and the neuron the exact pass finds wrong:
#: * the rounding of the layer itself: z_1 = 2^60 x - 20, z_2 = 2^60 x, z_3 = z_1 - z_2 + 10 (x = 1: z_3 = -10
#:   exactly, but float64 rounds z_1 to 2^60 and computes +10);
#: * the rounding carried from the layer before: z_1 = 2^70 x_1 + 2^16 x_2 - (2^70 - 2^30) (x = (1, 1): float64
#:   rounds 2^70 + 2^16 to 2^70 and gives 2^30, exactly 2^30 + 2^16), z_2 = z_1 - (2^30 + 2^15) (exactly 2^15,
#:   in float64 -2^15, while its own rounding bound is about 2^-17).
ROUNDED = {
    "own": ([[[2 ** 60], [2 ** 60]], [[1, -1]]], [[-20, 0], [10]], [1], "111", 2),
    "carried": ([[[2 ** 70, 2 ** 16]], [[1]]], [[-(2 ** 70 - 2 ** 30)], [-(2 ** 30 + 2 ** 15)]], [1, 1], "10", 1),
}


def rounded_case(name):
    weights, biases, point, forged, wrong = ROUNDED[name]
    layers = [{"den": "1", "weight": [hexes(*row) for row in W], "bias": hexes(*b)} for W, b in zip(weights, biases)]
    net = {"input_dim": len(point), "activation": "relu", "layers": layers}
    return net, {"kind": "box", "den": "1", "lo": ["0"] * len(point), "hi": ["2"] * len(point)}, point, forged, wrong


@pytest.mark.parametrize("name", sorted(ROUNDED))
def test_a_point_rounded_across_zero_is_judged_exactly(name, tmp_path):
    net, dom, point, forged, wrong = rounded_case(name)
    weights, biases = ROUNDED[name][:2]
    exact, rounded = list(point), [float(v) for v in point]
    for W, b in zip(weights, biases):  # the premise: float64 gives the forged pattern, exact arithmetic another
        exact = [sum(w * v for w, v in zip(row, exact)) + c for row, c in zip(W, b)]
        rounded = [float(np.dot(np.array(row, dtype=float), rounded) + c) for row, c in zip(W, b)]
        exact, rounded = [max(v, 0) for v in exact], [max(v, 0.0) for v in rounded]
    assert (rounded[-1] > 0) == (forged[-1] == "1") and (exact[-1] > 0) != (forged[-1] == "1")
    header = {"format": checker.FORMAT, "version": checker.TEXT_VERSION, "network": net, "domain": dom}
    path = tmp_path / "forged.jsonl"
    write(path, [header, {"region": forged, "den": "1", "point": hexes(*point)}, {"count": 1, "undecided": 0}])
    assert f"neuron {wrong} of region {forged} has the wrong state" in rejected(path)  # not the float sign
    ck = checker._Checker(net, dom)
    assert not ck.proven([(2, forged, 1, point)]).any()


def test_the_point_filter_proves_points_far_from_zero():
    net, dom, _, _, _ = rounded_case("own")
    ck = checker._Checker(net, dom)  # x = 2^-62: z = (-19.75, 0.25, 9.75), each far beyond its bound
    assert ck.proven([(2, "011", 1 << 62, [1]), (2, "011", 3, [1 << 60])]).tolist() == [True, False]
    ck.check_region("110", 1, [1])  # the honest pattern at x = 1, which the filter leaves to the exact pass


def test_thin_regions_below_float_resolution_are_certified_and_checked(tmp_path):
    """Closed form: on (0, 2) the patterns are 011 on (0, 10 / 2^60), 010 on (10 / 2^60, 20 / 2^60) and 110
    beyond (z_3 = 10 - 2^60 x while only z_2 is on, -10 when both are): 3 regions."""
    net = pr.Network.from_dense([np.array([[2.0 ** 60], [2.0 ** 60]]), np.array([[1.0, -1.0]])],
                                [np.array([-20.0, 0.0]), np.array([10.0])])
    path = tmp_path / "thin.jsonl"
    certify(net, pr.Box([0.0], [2.0]), path)
    assert check(path).count == 3


def test_a_reference_must_name_a_certificate_whose_assignment_it_extends(genuine, tmp_path):
    _, path, records, _ = genuine
    certs = {r["cert"]: r["assign"] for r in records if "cert" in r}
    k = next(i for i, r in enumerate(records) if "ref" in r)
    assign, bits = certs[records[k]["ref"]], records[k]["empty"]
    fixed = [i for i, a in enumerate(assign) if a != "*"]
    flipped = bits[: fixed[0]] + "10"[int(bits[fixed[0]])] + bits[fixed[0] + 1:]
    for change, match in [({"ref": max(certs) + 1}, "no certificate"), ({"empty": flipped}, "does not extend"),
                          ({"empty": bits[: fixed[-1]]}, "does not extend")]:
        write(path, records[:k] + [{**records[k], **change}] + records[k + 1:])
        assert f"line {k + 1}" in rejected(path, match)


# ---------------------------------------------------------------------- format 3 (the binary container)
ARRAY_COUNT = {b"regs": 2, b"empt": 5}


def v3_blocks(path):
    """The blocks of a version 3 file: ``[tag, payload]``, a bulk block's payload its list of arrays."""
    blocks = []
    for tag, payload in checker._blocks(pathlib.Path(path).read_bytes()):
        f = io.BytesIO(payload)
        blocks.append([tag, [np.lib.format.read_array(f) for _ in range(ARRAY_COUNT[tag])]
                       if tag in ARRAY_COUNT else payload])
    return blocks


def npy(arrays):
    out = io.BytesIO()
    for a in arrays:
        np.lib.format.write_array(out, a, allow_pickle=True)
    return out.getvalue()


def write_v3(path, blocks, version=3):
    """Write `blocks` as a version 3 file, with no check of their content."""
    body = b""
    for tag, payload in blocks:
        data = zlib.compress(payload if isinstance(payload, bytes) else npy(payload))
        body += tag + len(data).to_bytes(8, "little") + data
    pathlib.Path(path).write_bytes(checker.MAGIC + version.to_bytes(4, "little") + body)


@pytest.fixture(scope="module")
def genuine_v3_once(tmp_path_factory):
    weights, biases = small_net(7, (5, 2))  # N = 7 positions: one padding bit per packed pattern
    net = pr.Network.from_dense(weights, biases)
    folder = tmp_path_factory.mktemp("genuine3")
    certify(net, BOX, folder / "cert.jsonl")
    truth = exact_reference.exact_count(weights, biases, BOX, eps=0)
    moved = upgrade(folder / "cert.jsonl", folder / "cert.cert")
    blocks = v3_blocks(folder / "cert.cert")
    assert moved > 0 and {b"head", b"json", b"regs", b"empt"} <= {tag for tag, _ in blocks}
    return net, blocks, truth


@pytest.fixture
def genuine_v3(genuine_v3_once, tmp_path):
    """A genuine version 3 certificate with bulk blocks; its blocks, copied for each test to tamper with."""
    net, blocks, truth = genuine_v3_once
    path = tmp_path / "cert.cert"
    copied = [[tag, [a.copy() for a in p] if isinstance(p, list) else p] for tag, p in blocks]
    write_v3(path, copied)
    return net, path, copied, truth


def bulk(blocks, tag):
    return next(p for t, p in blocks if t == tag)


def test_v3_honest_certificate_passes_alone_in_parallel_and_as_a_script(genuine_v3, tmp_path, monkeypatch):
    net, path, blocks, truth = genuine_v3
    res = check_certificate(path, net, BOX)
    assert res.count == truth and res.empty == len(bulk(blocks, b"empt")[1]) + sum(
        line.startswith(b'{"empty"') for t, p in blocks if t == b"json" for line in p.split(b"\n"))
    monkeypatch.setattr(checker, "BATCH", 3)
    assert check(path, workers=2).count == truth
    alone = tmp_path / "checker.py"
    alone.write_text(pathlib.Path(checker.__file__).read_text())
    run = subprocess.run([sys.executable, str(alone), str(path)], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0 and f"has {truth} regions" in run.stdout


def edit(blocks, tag, k, f):
    p = bulk(blocks, tag)
    p[k] = f(p[k])


V3_FORGERIES = [  # (block, array index, change, message)
    (b"empt", 3, lambda a: np.concatenate([[-2], a[1:]]).astype(a.dtype), "position -2 is not fixed"),
    (b"empt", 3, lambda a: a + 64, "is not fixed"),                               # beyond the prefix
    (b"empt", 4, lambda a: np.concatenate([[0], a[1:]]).astype(a.dtype), "not positive"),
    (b"empt", 4, lambda a: np.zeros_like(a), "not positive"),
    (b"empt", 1, lambda a: np.concatenate([[-1], a[1:]]).astype(a.dtype), "prefix length"),
    (b"empt", 1, lambda a: a + 100, "prefix length"),
    (b"empt", 1, lambda a: np.maximum(a - 1, 0), "bits beyond its prefix|coverage|not prove|not fixed"),
    (b"empt", 2, lambda a: a + 1, "shape|ptr"),
    (b"empt", 2, lambda a: np.concatenate([[0, 0], a[2:]]), "no multiplier"),
    (b"empt", 2, lambda a: a.astype(np.int32), "must be <i8"),
    (b"empt", 3, lambda a: a.astype(np.int64), "must be <i4"),
    (b"regs", 1, lambda a: a[:, :-1], "shape"),                                   # a point too short
    (b"regs", 1, lambda a: np.concatenate([a, a[:, :1]], axis=1), "shape"),        # too long
    (b"regs", 1, lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.nan, a), "not finite"),
    (b"regs", 1, lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.inf, a), "not finite"),
    (b"regs", 1, lambda a: a.astype(np.float32), "must be <f8"),
    (b"regs", 1, lambda a: a.astype(">f8"), "must be <f8"),
    (b"regs", 1, lambda a: a.astype(object), "cannot be read"),                    # pickled: refused
    (b"regs", 1, lambda a: a[::-1].copy(), "wrong state|not inside"),             # points swapped between regions
    (b"regs", 0, lambda a: np.unpackbits(a, axis=1), "shape"),                    # bits not packed (0/1 bytes)
    (b"regs", 0, lambda a: a.astype(bool), "must be |u1"),
    (b"regs", 0, lambda a: a | 1, "beyond its 7 positions"),                      # the padding bit set
    (b"regs", 0, lambda a: np.concatenate([a, a[:1]]), "shape"),
]


@pytest.mark.parametrize("tag, k, change, match", V3_FORGERIES)
def test_v3_forged_or_malformed_arrays_are_rejected(genuine_v3, tag, k, change, match):
    _, path, blocks, _ = genuine_v3
    edit(blocks, tag, k, change)
    write_v3(path, blocks)
    rejected(path, match)


def test_v3_bits_beyond_a_prefix_are_rejected(genuine_v3):
    # a prefix's interval is read from its first `length` bits only: a bit set beyond them would move it
    _, path, blocks, _ = genuine_v3
    bits, length = bulk(blocks, b"empt")[:2]
    e = int(np.flatnonzero(length < 7)[0])
    unpacked = np.unpackbits(bits, axis=1)
    unpacked[e, 6] = 1
    bulk(blocks, b"empt")[0] = np.packbits(unpacked, axis=1)
    write_v3(path, blocks)
    rejected(path, "bits beyond its prefix")


@pytest.mark.parametrize("change, match", [
    (lambda data: data[: len(data) - 7], "truncated"),
    (lambda data: data[: len(data) // 2], "truncated"),
    (lambda data: data[: 24 + int.from_bytes(data[16:24], "little")], "trailer"),   # the header alone
    (lambda data: b"\x89PRCERX\n" + data[8:], "cannot be read|not a JSON"),   # bad magic: read as text
    (lambda data: data[:8] + (4).to_bytes(4, "little") + data[12:], "version"),
    (lambda data: data + b"xtra" + (3).to_bytes(8, "little") + b"abc", "unknown tag"),
    (lambda data: data + b"json" + (3).to_bytes(8, "little") + b"abc", "zlib stream"),
    (lambda data: data[:12], "header"),
])
def test_v3_malformed_containers_get_one_line_errors(genuine_v3, change, match):
    _, path, _, _ = genuine_v3
    data = path.read_bytes()
    path.write_bytes(change(data))
    rejected(path, match)


@pytest.mark.parametrize("change, match", [
    (lambda b: b.append([b"regs", bulk(b, b"regs") + [np.zeros(3)]]), "more than its arrays"),   # an extra member
    (lambda b: b.insert(1, [b"head", b[0][1]]), "second header"),
    (lambda b: b.insert(1, [b"json", b'{"count":' + b"9" * 5000 + b',"undecided":0}\n']), "too large"),
    (lambda b: b.insert(1, [b"json", b'{"count":1,"undecided":0}']), "newline"),
    (lambda b: b.insert(1, [b"json", b'{"count":1,"undecided":0}\n']), "trailer"),         # two trailers
    (lambda b: b.__setitem__(0, [b"head", b[0][1].replace(b'"version": 3', b'"version": 2')]), "version"),
    (lambda b: b.__setitem__(0, [b"head", b[0][1].replace(b'"relu"', b'"leaky"')]), "relu"),
    (lambda b: edit(b, b"empt", 0, lambda a: a[1:]) or edit(b, b"empt", 1, lambda a: a[1:]) or edit(
        b, b"empt", 2, lambda a: a[1:] - a[1]) or edit(b, b"empt", 3, lambda a: a[len(a) - bulk(b, b"empt")[2][-1]:])
     or edit(b, b"empt", 4, lambda a: a[len(a) - bulk(b, b"empt")[2][-1]:]), "coverage fails"),   # a row dropped
    (lambda b: edit(b, b"regs", 0, lambda a: np.concatenate([a, a[:1]])) or edit(
        b, b"regs", 1, lambda a: np.concatenate([a, a[:1]])), "already covered"),                  # a row twice
])
def test_v3_malformed_blocks_get_one_line_errors(genuine_v3, change, match):
    _, path, blocks, _ = genuine_v3
    change(blocks)
    write_v3(path, blocks)
    rejected(path, match)


def test_v3_fuzz_every_mutation_is_rejected_or_keeps_the_true_count(genuine_v3):
    """Every array entry of the bulk blocks changed (+1, -1, 0, a flipped bit, 2^62, -2^62), every bulk row
    dropped or doubled, every per-record line mutated as in format 2."""
    _, path, blocks, truth = genuine_v3
    rng, tried = random.Random(3), 0

    def accepted_count_is_true(new):
        nonlocal tried
        write_v3(path, new)
        tried += 1
        try:
            assert check(path).count == truth
        except CertificateError:
            pass

    for b, (tag, payload) in enumerate(blocks):
        copy = lambda: [[t, [a.copy() for a in p] if isinstance(p, list) else p] for t, p in blocks]  # noqa: E731
        if tag in ARRAY_COUNT:
            for k, a in enumerate(payload):
                for i in range(a.size):
                    for value in ([a.flat[i] ^ (1 << rng.randrange(8))] if a.dtype == np.uint8 else
                                  [a.flat[i] + 1, a.flat[i] - 1, 0, 2.0 ** 62 if a.dtype == float else np.iinfo(a.dtype).max,
                                   -a.flat[i]]):
                        new = copy()
                        new[b][1][k].flat[i] = value
                        accepted_count_is_true(new)
        elif tag == b"json":
            lines = [json.loads(line) for line in payload.decode().splitlines()]
            for j, rec in enumerate(lines):
                for field in list(rec):
                    for value in mutations(rec[field], rng):
                        recs = json.loads(json.dumps(lines))
                        recs[j][field] = value
                        new = copy()
                        new[b][1] = "".join(json.dumps(r) + "\n" for r in recs).encode()
                        accepted_count_is_true(new)
    for tag in ARRAY_COUNT:  # drop or double the first and the last row of a bulk block
        for r in (0, -1):
            for keep in (lambda a, r=r: np.delete(a, r, axis=0), lambda a, r=r: np.concatenate([a, a[r:][:1]])):
                new = [[t, [a.copy() for a in p] if isinstance(p, list) else p] for t, p in blocks]
                arrays = bulk(new, tag)
                if tag == b"regs":
                    arrays[:] = [keep(a) for a in arrays]
                else:
                    sizes = keep(np.diff(arrays[2]))
                    starts = keep(arrays[2][:-1])
                    arrays[3] = np.concatenate([arrays[3][s: s + z] for s, z in zip(starts, sizes)])
                    arrays[4] = np.concatenate([arrays[4][s: s + z] for s, z in zip(starts, sizes)])
                    arrays[:3] = [keep(arrays[0]), keep(arrays[1]), np.concatenate([[0], np.cumsum(sizes)])]
                accepted_count_is_true(new)
    assert tried > 200


def test_v3_patterns_of_more_than_61_positions_are_covered_in_python_integers(tmp_path):
    """Closed form: 62 neurons, of which x and y and 60 copies of x + 100 (on over the whole box): the 4
    quadrants. The pattern intervals then reach 2^62, past int64's coverage arithmetic."""
    W = np.vstack([np.eye(2), np.tile([[1.0, 0.0]], (60, 1))])
    net = pr.Network.from_dense([W], [np.concatenate([[0.0, 0.0], np.full(60, 100.0)])])
    certify(net, BOX, tmp_path / "c.jsonl")
    assert upgrade(tmp_path / "c.jsonl", tmp_path / "c.cert") >= 4
    assert check(tmp_path / "c.cert").count == check(tmp_path / "c.cert", workers=2).count == 4
    assert checker._Checker(network_spec(net), domain_spec(BOX)).weights.dtype == object
