"""Network files and region files."""

import numpy as np
import pytest

import polyregions as pr
from polyregions.model.io import load_network, load_regions, save_network, write_regions


def test_npz_round_trip(tmp_path, rng, random_dense_net):
    net = random_dense_net(rng, 3, (4, 5), output_dim=2)
    path = tmp_path / "net.npz"
    save_network(net, path)
    back = load_network(path)
    x = rng.normal(size=(50, 3))
    assert np.array_equal(back.pattern(x), net.pattern(x))
    assert np.allclose(back.forward(x), net.forward(x))


def test_npz_layout_is_W0_b0_W_out(tmp_path):
    """The documented .npz layout, written by hand (not by save_network)."""
    W0, b0 = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.0, -0.5])
    Wo, bo = np.array([[1.0, 1.0]]), np.array([2.0])
    np.savez(tmp_path / "hand.npz", W0=W0, b0=b0, W_out=Wo, b_out=bo)
    net = load_network(tmp_path / "hand.npz")
    assert net.widths == (2,) and net.output is not None
    x = np.array([0.3, 0.7])
    assert np.allclose(net.forward(x), Wo @ np.maximum(W0 @ x + b0, 0) + bo)


def test_json_conv_round_trip(tmp_path, rng):
    net = pr.Network([pr.Conv2d(rng.normal(size=(2, 1, 2, 2)), rng.normal(size=2), stride=1),
                      pr.AvgPool2d((2, 2), stride=1), pr.Flatten(), pr.Dense(rng.normal(size=(3, 2)), rng.normal(size=3))],
                     input_shape=(1, 3, 3), output=(rng.normal(size=(1, 3)), rng.normal(size=1)))
    path = tmp_path / "net.json"
    save_network(net, path)
    back = load_network(path)
    x = rng.normal(size=(20, 9))
    assert np.array_equal(back.pattern(x), net.pattern(x))
    assert np.allclose(back.forward(x), net.forward(x))


def test_bad_files(tmp_path):
    with pytest.raises(pr.InvalidInputError, match="path"):
        load_network(tmp_path / "missing.npz")
    (tmp_path / "net.txt").write_text("x")
    with pytest.raises(pr.InvalidInputError, match="path"):
        load_network(tmp_path / "net.txt")
    np.savez(tmp_path / "empty.npz", x=np.zeros(2))
    with pytest.raises(pr.InvalidInputError, match="hidden layer"):
        load_network(tmp_path / "empty.npz")
    (tmp_path / "bad.json").write_text('{"input_shape": 2, "layers": [{"type": "lstm"}]}')
    with pytest.raises(pr.UnsupportedError, match="lstm"):
        load_network(tmp_path / "bad.json")


def test_region_file_streams_in_chunks(tmp_path):
    """Three lines in general position in a box around their triangle: 7 regions (Zaslavsky: 1 + 3 + 3)."""
    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], [[0.0, 0.0, -1.0]])
    path = tmp_path / "regions.npz"
    n = write_regions(path, pr.enumerate_regions(net, pr.Box([-2, -2], [2, 2])), chunk=2)
    patterns, points, radii = load_regions(path)
    assert n == 7 == len(patterns) == len(points) == len(radii)
    bits = np.unpackbits(patterns, axis=1, count=3).astype(bool)
    assert np.array_equal(net.pattern(points), bits)
    assert len({row.tobytes() for row in patterns}) == 7
    assert np.all(radii > 0)


def test_npz_layers_must_be_numbered_without_gaps(tmp_path):
    np.savez(tmp_path / "gap.npz", W0=np.eye(2), b0=np.zeros(2), W2=np.eye(2), b2=np.zeros(2))
    with pytest.raises(pr.InvalidInputError, match=r"hidden layers \[0, 2\] but no layer 1"):
        load_network(tmp_path / "gap.npz")
    np.savez(tmp_path / "nob.npz", W0=np.eye(2), b0=np.zeros(2), W1=np.eye(2))
    with pytest.raises(pr.InvalidInputError, match="has W1 but no b1"):
        load_network(tmp_path / "nob.npz")
    np.savez(tmp_path / "out.npz", W0=np.eye(2), b0=np.zeros(2), b_out=np.zeros(1))
    with pytest.raises(pr.InvalidInputError, match="both W_out and b_out"):
        load_network(tmp_path / "out.npz")


def test_corrupt_files_name_the_file(tmp_path):
    np.savez(tmp_path / "good.npz", W0=np.eye(2), b0=np.zeros(2))
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:40])
    (tmp_path / "cut.json").write_text('{"layers": [')
    (tmp_path / "dir.json").mkdir()
    for name, match in [("cut.npz", "is not a .npz archive"), ("cut.json", "not a readable JSON network file"),
                        ("dir.json", "is a directory")]:
        with pytest.raises(pr.InvalidInputError, match=match) as info:
            load_network(tmp_path / name)
        assert name in str(info.value)


def test_json_layer_records_are_checked(tmp_path):
    spec = {"input_shape": [1, 2, 2], "layers": [{"type": "avgpool2d", "kernel": 0}, {"type": "flatten"},
                                                 {"type": "dense", "weight": [[1.0]], "bias": [0.0]}]}
    with pytest.raises(pr.InvalidInputError, match=r"`layers\[0\].kernel` must be a positive integer"):
        pr.io.network_from_dict(spec)
    spec["layers"][0] = {"type": "avgpool2d", "kernel": [2, 2], "stride": -1}
    with pytest.raises(pr.InvalidInputError, match=r"`layers\[0\].stride`"):
        pr.io.network_from_dict(spec)
    with pytest.raises(pr.InvalidInputError, match=r"layers\[0\] \(dense\) has no field 'weight'"):
        pr.io.network_from_dict({"input_shape": 2, "layers": [{"type": "dense", "bias": [0.0]}]})
    # a valid pooling record still loads: a 2x2 average then a dense unit is one linear map of the 4 pixels
    spec["layers"][0] = {"type": "avgpool2d", "kernel": [2, 2]}
    spec["layers"].append({"type": "dense", "weight": [[1.0]], "bias": [-0.5]})
    net = pr.io.network_from_dict(spec)
    assert net.input_dim == 4


@pytest.mark.parametrize("chunk", [0, -3, 1.5, True])
def test_write_regions_refuses_a_bad_chunk(tmp_path, chunk):
    with pytest.raises(pr.InvalidInputError, match="`chunk` must be a positive integer"):
        write_regions(tmp_path / "r.npz", iter(()), chunk=chunk)
    assert not (tmp_path / "r.npz").exists()


def test_every_layer_type_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    layers = [pr.Conv2d(rng.normal(size=(2, 1, 2, 2)), rng.normal(size=2), 1, 1, 0.1),
              pr.MaxPool2d(2, 1),
              pr.Residual([pr.Conv2d(rng.normal(size=(2, 2, 3, 3)), rng.normal(size=2), 1, 1),
                           pr.Conv2d(rng.normal(size=(2, 2, 1, 1)), rng.normal(size=2), 1, 0, 1.0)]),
              pr.Activation(-0.3), pr.AvgPool2d((2, 2), 1), pr.Flatten(),
              pr.Dense(rng.normal(size=(8, 8)), rng.normal(size=8)), pr.Unflatten((2, 2, 2)),
              pr.Flatten(), pr.Dense(rng.normal(size=(3, 8)), rng.normal(size=3), 1.0)]
    net = pr.Network(layers, input_shape=(1, 3, 3))
    x = rng.normal(size=(30, 9))
    for name in ("net.json", "net.npz"):
        pr.io.save_network(net, tmp_path / name)
        back = pr.io.load_network(tmp_path / name)
        assert pr.io.network_to_dict(back) == pr.io.network_to_dict(net)
        assert np.array_equal(back.forward(x), net.forward(x))
        assert [st.slopes.tolist() for st in back.stages] == [st.slopes.tolist() for st in net.stages]


# ---------------------------------------------------------------- round trips preserve the function
def act(z, slope):
    return np.where(z > 0, z, slope * z)


def windows(x, k, s, reduce):
    """`reduce` over every (k1, k2) window at strides (s1, s2) of x (N, c, h, w)."""
    (k1, k2), (s1, s2) = k, s
    rows, cols = (x.shape[2] - k1) // s1 + 1, (x.shape[3] - k2) // s2 + 1
    out = np.empty(x.shape[:2] + (rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[:, :, i, j] = reduce(x[:, :, i * s1:i * s1 + k1, j * s2:j * s2 + k2], axis=(2, 3))
    return out


def convolve(x, W, b, stride, padding):
    """Cross-correlation of x (N, c, h, w) with W (d, c, f1, f2), zero padding on every side."""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    f1, f2 = W.shape[2:]
    rows, cols = (x.shape[2] - f1) // stride + 1, (x.shape[3] - f2) // stride + 1
    out = np.empty((x.shape[0], W.shape[0], rows, cols))
    for i in range(rows):
        for j in range(cols):
            patch = x[:, :, i * stride:i * stride + f1, j * stride:j * stride + f2]
            out[:, :, i, j] = np.einsum("ncab,dcab->nd", patch, W) + b
    return out


def run_layers(layers, h):
    """The layers applied one after the other to a batch h, written from their definitions."""
    for layer in layers:
        if isinstance(layer, pr.Dense):
            h = act(h @ layer.weight.T + layer.bias, layer.negative_slope)
        elif isinstance(layer, pr.Conv2d):
            h = act(convolve(h, layer.weight, layer.bias, layer.stride, layer.padding), layer.negative_slope)
        elif isinstance(layer, (pr.AvgPool2d, pr.MaxPool2d)):
            k = tuple(layer.kernel)
            s = k if layer.stride is None else (tuple(layer.stride) if np.ndim(layer.stride) else (layer.stride,) * 2)
            h = windows(h, k, s, np.mean if isinstance(layer, pr.AvgPool2d) else np.max)
        elif isinstance(layer, pr.Flatten):
            h = h.reshape(len(h), -1)
        elif isinstance(layer, pr.Unflatten):
            h = h.reshape((len(h),) + tuple(layer.shape))
        elif isinstance(layer, pr.Activation):
            h = act(h, layer.negative_slope)
        elif isinstance(layer, pr.Residual):
            h = h + run_layers(layer.body, h)
        else:
            raise AssertionError(type(layer))
    return h


def reference_forward(layers, input_shape, output, x):
    h = run_layers(layers, x.reshape((len(x),) + tuple(input_shape))).reshape(len(x), -1)
    return h if output is None else h @ output[0].T + output[1]


SLOPES = (0.0, 0.0, 0.1, -0.3, 1.0)


def random_stack(rng):
    """A random network: layers that fit their input shape, a linear tail (square Dense, 1x1 linear
    convolution, pooling) or not, an output layer or not. Returns (layers, input_shape, output)."""
    shape = (int(rng.integers(1, 3)), int(rng.integers(3, 6)), int(rng.integers(3, 6))) if rng.random() < 0.5 \
        else (int(rng.integers(2, 5)),)
    input_shape, layers = shape, []
    for _ in range(int(rng.integers(1, 5))):
        if len(shape) == 3:
            c, h, w = shape
            pick = rng.integers(6)
            if pick <= 1:
                d, stride, padding = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(0, 2))
                f = int(rng.integers(1, min(h, w) + 2 * padding + 1))
                layers.append(pr.Conv2d(rng.normal(size=(d, c, f, f)), rng.normal(size=d), stride, padding,
                                        SLOPES[rng.integers(len(SLOPES))]))
                shape = (d, (h + 2 * padding - f) // stride + 1, (w + 2 * padding - f) // stride + 1)
            elif pick == 2 and min(h, w) >= 2:
                k, s = int(rng.integers(1, 3)), int(rng.integers(1, 3))
                layers.append(pr.MaxPool2d(k, s) if rng.random() < 0.5 else pr.AvgPool2d((k, k), s))
                shape = (c, (h - k) // s + 1, (w - k) // s + 1)
            elif pick == 3:
                layers.append(pr.Residual([pr.Conv2d(rng.normal(size=(c, c, 3, 3)), rng.normal(size=c), 1, 1, 0.0),
                                           pr.Conv2d(rng.normal(size=(c, c, 1, 1)), rng.normal(size=c), 1, 0, 1.0)]))
            elif pick == 4:
                layers.append(pr.Activation(SLOPES[rng.integers(len(SLOPES))]))
            else:
                layers.append(pr.Flatten())
                shape = (c * h * w,)
        else:
            n = shape[0]
            pick = rng.integers(4)
            if pick <= 1:
                m = int(rng.integers(2, 7))
                layers.append(pr.Dense(rng.normal(size=(m, n)), rng.normal(size=m), SLOPES[rng.integers(len(SLOPES))]))
                shape = (m,)
            elif pick == 2:
                layers.append(pr.Residual([pr.Dense(rng.normal(size=(n, n)), rng.normal(size=n))]))
            elif n % 2 == 0:
                layers.append(pr.Unflatten((2, n // 2, 1)))
                shape = (2, n // 2, 1)
    layers.append(pr.Activation(0.0))  # at least one activation
    tail = rng.integers(4)
    if tail == 1 and len(shape) == 1:
        layers.append(pr.Dense(rng.normal(size=(shape[0], shape[0])), rng.normal(size=shape[0]), 1.0))
    elif tail == 1:
        c = shape[0]
        layers.append(pr.Conv2d(rng.normal(size=(c, c, 1, 1)), rng.normal(size=c), 1, 0, 1.0))
    elif tail == 2 and len(shape) == 3 and min(shape[1:]) >= 2:
        layers.append(pr.AvgPool2d((2, 2), 1))
        shape = (shape[0], shape[1] - 1, shape[2] - 1)
    size = int(np.prod(shape))
    output = (rng.normal(size=(2, size)), rng.normal(size=2)) if rng.random() < 0.5 else None
    return layers, input_shape, output


@pytest.mark.parametrize("seed", range(40))
def test_round_trips_preserve_the_function_of_random_stacks(tmp_path, seed):
    """Every layer type, with and without a linear tail and an output layer, through .json and .npz:
    the network computes the layers' function (written out above) before and after the file."""
    rng = np.random.default_rng(seed)
    layers, input_shape, output = random_stack(rng)
    net = pr.Network(layers, input_shape=input_shape, output=output)
    x = rng.normal(size=(25, int(np.prod(input_shape))))
    expected = reference_forward(layers, input_shape, output, x)
    assert np.allclose(net.forward(x).reshape(25, -1), expected, rtol=1e-12, atol=1e-12)
    for name in ("net.json", "net.npz"):
        save_network(net, tmp_path / name)
        back = load_network(tmp_path / name)
        assert back.input_shape == net.input_shape
        assert np.array_equal(back.forward(x), net.forward(x)), name
        assert np.array_equal(back.pattern(x), net.pattern(x)), name


@pytest.mark.parametrize("tail", ["dense", "dense+output", "conv1x1"])
@pytest.mark.parametrize("name", ["net.json", "net.npz"])
def test_a_square_linear_tail_is_applied_once_after_loading(tmp_path, tail, name):
    rng = np.random.default_rng(1)
    W1, b1, W2, b2 = rng.normal(size=(8, 2)), rng.normal(size=8), rng.normal(size=(8, 8)), rng.normal(size=8)
    Wo, bo = rng.normal(size=(3, 8)), rng.normal(size=3)
    x = rng.normal(size=(40, 2))
    if tail == "conv1x1":
        Wc, bc = rng.normal(size=(2, 2, 1, 1)), rng.normal(size=2)
        net = pr.Network([pr.Dense(W1, b1), pr.Unflatten((2, 2, 2)), pr.Conv2d(Wc, bc, 1, 0, 1.0)], input_shape=2)
        h = np.maximum(x @ W1.T + b1, 0).reshape(40, 2, 2, 2)
        expected = (np.einsum("dc,nchw->ndhw", Wc[:, :, 0, 0], h) + bc[None, :, None, None]).reshape(40, -1)
    else:
        output = (Wo, bo) if tail == "dense+output" else None
        net = pr.Network([pr.Dense(W1, b1), pr.Dense(W2, b2, 1.0)], input_shape=2, output=output)
        expected = np.maximum(x @ W1.T + b1, 0) @ W2.T + b2
        expected = expected @ Wo.T + bo if output else expected
    assert np.allclose(net.forward(x), expected, rtol=1e-12)
    save_network(net, tmp_path / name)
    assert np.allclose(load_network(tmp_path / name).forward(x), expected, rtol=1e-12)


def test_a_dense_network_on_a_tensor_input_keeps_its_shape_in_npz(tmp_path):
    rng = np.random.default_rng(2)
    net = pr.Network([pr.Flatten(), pr.Dense(rng.normal(size=(4, 12)), rng.normal(size=4))], input_shape=(1, 3, 4))
    dense_only = pr.Network([pr.Dense(rng.normal(size=(4, 12)), rng.normal(size=4))], input_shape=(1, 3, 4))
    for model in (net, dense_only):
        save_network(model, tmp_path / "net.npz")
        assert load_network(tmp_path / "net.npz").input_shape == (1, 3, 4)


_CONV = {"type": "conv2d", "weight": [[[[1.0]]]], "bias": [0.0]}


@pytest.mark.parametrize("record, fragment", [
    (dict(_CONV, stride=2.5), "`layers[0].stride` must be a positive integer"),
    (dict(_CONV, stride=2.0), "`layers[0].stride` must be a positive integer"),
    (dict(_CONV, stride="2"), "`layers[0].stride` must be a positive integer"),
    (dict(_CONV, stride=True), "`layers[0].stride` must be a positive integer"),
    (dict(_CONV, padding=0.9), "`layers[0].padding` must be a non-negative integer"),
    (dict(_CONV, padding=True), "`layers[0].padding` must be a non-negative integer"),
    (dict(_CONV, padding=-1), "`layers[0].padding` must be a non-negative integer"),
    (dict(_CONV, negative_slope=True), "`layers[0].negative_slope` must be a number"),
    (dict(_CONV, negative_slope="0.5"), "`layers[0].negative_slope` must be a number"),
    (dict(_CONV, negative_slope=float("nan")), "`layers[0].negative_slope` must be a finite number"),
    (dict(_CONV, strides=2), "unknown field(s) 'strides'"),
    ({"type": "maxpool2d", "kernel": [2.5, 2]}, "`layers[0].kernel` must be a positive integer"),
    ({"type": "unflatten", "shape": [1, 1.0, 1]}, "`layers[0].shape` must be a (c, h, w) triple"),
    ({"type": 3}, "unsupported type 3"),
])
def test_every_field_of_a_json_record_is_checked(tmp_path, record, fragment):
    spec = {"input_shape": [1, 2, 2], "layers": [record, {"type": "flatten"},
                                                 {"type": "dense", "weight": [[1.0] * 4], "bias": [0.0]}]}
    path = tmp_path / "net.json"
    path.write_text(__import__("json").dumps(spec))
    with pytest.raises(pr.PolyRegionsError) as info:
        load_network(path)
    assert fragment in str(info.value) and "net.json" in str(info.value)


@pytest.mark.parametrize("spec, fragment", [
    ({"input_shape": [2.5], "layers": [{"type": "dense", "weight": [[1.0, 1.0]], "bias": [0.0]}]}, "`input_shape`"),
    ({"input_shape": True, "layers": [{"type": "dense", "weight": [[1.0]], "bias": [0.0]}]}, "`input_shape`"),
    ({"input_shape": 2, "layer": []}, "unknown field(s) 'layer'"),
    ({"input_shape": 1, "layers": [{"type": "dense", "weight": [[1.0]], "bias": [0.0]}],
      "output": {"weight": [[1.0]]}}, "\"output\" must be an object with exactly"),
])
def test_every_field_of_a_network_structure_is_checked(spec, fragment):
    with pytest.raises(pr.InvalidInputError) as info:
        pr.io.network_from_dict(spec)
    assert fragment in str(info.value)
