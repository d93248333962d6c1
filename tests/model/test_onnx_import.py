"""ONNX graphs built with onnx.helper (no exporter needed), against NumPy written here, and
checked by polyregions against onnxruntime or, without it, onnx's reference evaluator."""

import sys

import numpy as np
import pytest

import polyregions as pr

onnx = pytest.importorskip("onnx", reason="the extra 'onnx' is not installed")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


@pytest.fixture(params=["onnxruntime", "reference evaluator"])
def runtime(request, monkeypatch):
    """Run the test with onnxruntime, and again as if it were not installed."""
    if request.param == "onnxruntime":
        pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    else:
        monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    return request.param


def save_graph(tmp_path, nodes, weights, n_in, n_out, dtype=TensorProto.DOUBLE, batch="batch"):
    n_in = list(n_in) if isinstance(n_in, (tuple, list)) else [n_in]
    n_out = list(n_out) if isinstance(n_out, (tuple, list)) else [n_out]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", dtype, [batch, *n_in])],
        [helper.make_tensor_value_info("y", dtype, [batch, *n_out])],
        [numpy_helper.from_array(v.astype(np.float64 if dtype == TensorProto.DOUBLE else np.float32), k)
         for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    return path


def test_gemm_leaky_relu_and_a_residual_add(tmp_path, runtime):
    rng = np.random.default_rng(0)
    W1, b1, W2, b2 = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=(3, 3)), rng.normal(size=3)
    nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["z1"], transB=1),
             helper.make_node("LeakyRelu", ["z1"], ["h1"], alpha=0.1),
             helper.make_node("MatMul", ["h1", "W2t"], ["z2"]),
             helper.make_node("Add", ["z2", "b2"], ["z2b"]),
             helper.make_node("Add", ["x", "z2b"], ["s"]),
             helper.make_node("Relu", ["s"], ["y"])]
    path = save_graph(tmp_path, nodes, {"W1": W1, "b1": b1, "W2t": W2.T, "b2": b2}, 3, 3)
    net = pr.Network.from_onnx(path)
    x = rng.normal(size=(100, 3))
    h1 = x @ W1.T + b1
    h1 = np.where(h1 > 0, h1, 0.1 * h1)
    assert np.allclose(net.forward(x), np.maximum(x + h1 @ W2.T + b2, 0), atol=1e-12)
    assert isinstance(net.layers[0], pr.Residual)


def test_unsupported_operator_is_named(tmp_path):
    nodes = [helper.make_node("Gemm", ["x", "W"], ["z"], transB=1, name="fc"),
             helper.make_node("Sigmoid", ["z"], ["y"], name="squash")]
    path = save_graph(tmp_path, nodes, {"W": np.eye(2)}, 2, 2)
    with pytest.raises(pr.UnsupportedError, match=r"`squash` \(Sigmoid\)"):
        pr.Network.from_onnx(path)


def test_a_missing_or_corrupt_file_names_the_path(tmp_path):
    with pytest.raises(pr.InvalidInputError, match="does not exist"):
        pr.Network.from_onnx(tmp_path / "none.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all")
    with pytest.raises(pr.InvalidInputError, match="not a readable ONNX file"):
        pr.Network.from_onnx(bad)


def test_cli_counts_an_onnx_file_like_the_same_weights_given_as_arrays(tmp_path, capsys, runtime):
    import json

    from polyregions.cli.main import main

    rng = np.random.default_rng(1)
    W1, b1, W2, b2 = rng.normal(size=(5, 2)), rng.normal(size=5), rng.normal(size=(3, 5)), rng.normal(size=3)
    nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["z1"], transB=1), helper.make_node("Relu", ["z1"], ["h1"]),
             helper.make_node("Gemm", ["h1", "W2", "b2"], ["z2"], transB=1), helper.make_node("Relu", ["z2"], ["y"])]
    path = save_graph(tmp_path, nodes, {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, 2, 3)
    assert main(["count", str(path), "--box", "-1", "1", "--json", "--workers", "1", "--method", "dfs"]) == 0
    count = json.loads(capsys.readouterr().out)["count"]
    assert count == pr.count_regions(pr.Network.from_dense([W1, W2], [b1, b2]), pr.Box([-1, -1], [1, 1])).count


# ---------------------------------------------------------------- NumPy references written from the ONNX specification
def conv2d(x, W, b):
    """Cross-correlation, stride 1, no padding: x (N, c, h, w), W (d, c, f1, f2)."""
    N, c, h, w = x.shape
    d, _, f1, f2 = W.shape
    out = np.empty((N, d, h - f1 + 1, w - f2 + 1))
    for i in range(h - f1 + 1):
        for j in range(w - f2 + 1):
            out[:, :, i, j] = np.einsum("ncab,dcab->nd", x[:, :, i:i + f1, j:j + f2], W) + b
    return out


def pool2d(x, k, stride, reduce):
    N, c, h, w = x.shape
    rows, cols = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.empty((N, c, rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[:, :, i, j] = reduce(x[:, :, i * stride:i * stride + k, j * stride:j * stride + k], axis=(2, 3))
    return out


def batchnorm(x, gamma, beta, mean, var, eps):
    """ONNX BatchNormalization in inference, channels on axis 1."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    r = lambda v: v.reshape(shape)  # noqa: E731
    return (x - r(mean)) / np.sqrt(r(var) + eps) * r(gamma) + r(beta)


def float32_exact(**arrays):
    """The arrays rounded to float32 (onnxruntime has no float64 Conv): the graph's weights exactly."""
    return {k: v.astype(np.float32).astype(np.float64) for k, v in arrays.items()}


def test_batch_normalization_after_gemm_and_conv(tmp_path, runtime):
    """BatchNormalization divides by sqrt(var + eps): variances far from 1 tell it from var + eps."""
    rng = np.random.default_rng(5)
    w = float32_exact(W1=rng.normal(size=(2, 1, 2, 2)), b1=rng.normal(size=2), W2=rng.normal(size=(3, 8)),
                      b2=rng.normal(size=3))
    stats = float32_exact(g1=rng.uniform(0.5, 2, 2), be1=rng.normal(size=2), m1=rng.normal(size=2),
                          v1=np.array([0.05, 9.0]), g2=rng.uniform(0.5, 2, 3), be2=rng.normal(size=3),
                          m2=rng.normal(size=3), v2=np.array([0.2, 4.0, 25.0]))
    W1, b1, W2, b2 = w["W1"], w["b1"], w["W2"], w["b2"]
    eps1 = 2.0 ** -10  # a float32 attribute: exactly representable
    nodes = [helper.make_node("Conv", ["x", "W1", "b1"], ["c"]),
             helper.make_node("BatchNormalization", ["c", "g1", "be1", "m1", "v1"], ["cn"], epsilon=eps1),
             helper.make_node("Relu", ["cn"], ["h"]), helper.make_node("Flatten", ["h"], ["f"]),
             helper.make_node("Gemm", ["f", "W2", "b2"], ["z"], transB=1),
             helper.make_node("BatchNormalization", ["z", "g2", "be2", "m2", "v2"], ["zn"]),
             helper.make_node("Relu", ["zn"], ["y"])]
    path = save_graph(tmp_path, nodes, {**w, **stats}, (1, 3, 3), 3, dtype=TensorProto.FLOAT)
    net = pr.Network.from_onnx(path)
    x = rng.normal(size=(200, 1, 3, 3))
    h = np.maximum(batchnorm(conv2d(x, W1, b1), stats["g1"], stats["be1"], stats["m1"], stats["v1"], eps1), 0)
    z = h.reshape(200, -1) @ W2.T + b2
    eps2 = float(np.float32(1e-5))  # the default epsilon of ONNX, a float32 attribute
    expected = np.maximum(batchnorm(z, stats["g2"], stats["be2"], stats["m2"], stats["v2"], eps2), 0)
    assert np.abs(net.forward(x.reshape(200, -1)) - expected).max() <= 1e-12 * max(1, np.abs(expected).max())


@pytest.mark.parametrize("op, reduce", [("MaxPool", np.max), ("AveragePool", np.mean)])
def test_pooling_without_strides_has_stride_one(tmp_path, runtime, op, reduce):
    rng = np.random.default_rng(6)
    w = float32_exact(W1=rng.normal(size=(2, 1, 2, 2)), b1=rng.normal(size=2), W2=rng.normal(size=(1, 18)),
                      b2=rng.normal(size=1))
    W1, b1, W2, b2 = w["W1"], w["b1"], w["W2"], w["b2"]
    nodes = [helper.make_node("Conv", ["x", "W1", "b1"], ["c"]), helper.make_node("Relu", ["c"], ["h"]),
             helper.make_node(op, ["h"], ["p"], kernel_shape=[2, 2]), helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "W2", "b2"], ["y"], transB=1)]
    path = save_graph(tmp_path, nodes, w, (1, 5, 5), 1, dtype=TensorProto.FLOAT)
    net = pr.Network.from_onnx(path)
    x = rng.normal(size=(100, 1, 5, 5))
    pooled = pool2d(np.maximum(conv2d(x, W1, b1), 0), 2, 1, reduce)  # 4x4 -> 3x3 at stride 1
    expected = pooled.reshape(100, -1) @ W2.T + b2
    assert np.abs(net.forward(x.reshape(100, -1)) - expected).max() <= 1e-12


def test_a_graph_exported_for_batch_one(tmp_path, runtime):
    rng = np.random.default_rng(7)
    W1, b1, W2, b2 = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(2, 4)), rng.normal(size=2)
    nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["z"], transB=1), helper.make_node("Relu", ["z"], ["h"]),
             helper.make_node("Gemm", ["h", "W2", "b2"], ["y"], transB=1)]
    path = save_graph(tmp_path, nodes, {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, 3, 2, batch=1)
    net = pr.Network.from_onnx(path, check_points=rng.normal(size=(3, 3)))
    x = rng.normal(size=(50, 3))
    assert np.abs(net.forward(x) - (np.maximum(x @ W1.T + b1, 0) @ W2.T + b2)).max() <= 1e-12


def test_torch_export_with_its_default_batch_of_one(tmp_path):
    torch = pytest.importorskip("torch", reason="the extra 'torch' is not installed")
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2)).eval()
    path = tmp_path / "model.onnx"
    torch.onnx.export(model, torch.zeros(1, 3), path, dynamo=False)
    net = pr.Network.from_onnx(path)
    x = np.random.default_rng(8).normal(size=(100, 3))
    with torch.no_grad():
        expected = model.double()(torch.from_numpy(x)).numpy()
    assert np.abs(net.forward(x) - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())


def test_constants_computed_from_initializers(tmp_path, runtime):
    """A bias that is the sum of two initializers, a weight behind an Identity, and a final MatMul
    with a vector (output shape (batch,))."""
    rng = np.random.default_rng(9)
    W1, b1a, b1b, v = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=4), rng.normal(size=4)
    nodes = [helper.make_node("Identity", ["W1"], ["W1i"]), helper.make_node("Add", ["b1a", "b1b"], ["b1"]),
             helper.make_node("Gemm", ["x", "W1i"], ["z0"], transB=1), helper.make_node("Add", ["z0", "b1"], ["z"]),
             helper.make_node("Relu", ["z"], ["h"]), helper.make_node("MatMul", ["h", "v"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["batch", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["batch"])],
                              [numpy_helper.from_array(a, k) for k, a in
                               {"W1": W1, "b1a": b1a, "b1b": b1b, "v": v}.items()])
    path = tmp_path / "consts.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    net = pr.Network.from_onnx(path)
    x = rng.normal(size=(100, 3))
    expected = np.maximum(x @ W1.T + b1a + b1b, 0) @ v
    assert np.abs(net.forward(x).reshape(-1) - expected).max() <= 1e-12


def test_a_negative_variance_is_named(tmp_path, runtime):
    nodes = [helper.make_node("Gemm", ["x", "W"], ["z"], transB=1, name="fc"),
             helper.make_node("BatchNormalization", ["z", "g", "b", "m", "v"], ["n"], name="bn"),
             helper.make_node("Relu", ["n"], ["y"])]
    weights = {"W": np.eye(2), "g": np.ones(2), "b": np.zeros(2), "m": np.zeros(2), "v": np.array([1.0, -0.5])}
    with pytest.raises(pr.InvalidInputError, match=r"`bn` \(BatchNormalization\).*running_var"):
        pr.Network.from_onnx(save_graph(tmp_path, nodes, weights, 2, 2))


def test_without_onnxruntime_a_wrong_conversion_is_refused(tmp_path, monkeypatch):
    """The reference evaluator stands in for onnxruntime: a wrong fold of BatchNormalization is caught."""
    from polyregions.model import onnx_import

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    real = onnx_import.batchnorm_fold

    def var_plus_eps(gamma, beta, mean, var, eps, path, what):
        return real(gamma, beta, mean, (var + eps) ** 2 - eps, eps, path, what)

    monkeypatch.setattr(onnx_import, "batchnorm_fold", var_plus_eps)
    nodes = [helper.make_node("Gemm", ["x", "W"], ["z"], transB=1),
             helper.make_node("BatchNormalization", ["z", "g", "b", "m", "v"], ["n"]),
             helper.make_node("Relu", ["n"], ["y"])]
    weights = {"W": np.eye(2), "g": np.ones(2), "b": np.zeros(2), "m": np.zeros(2), "v": np.array([4.0, 0.25])}
    with pytest.raises(pr.UnsupportedError, match="differs from the model's forward pass"):
        pr.Network.from_onnx(save_graph(tmp_path, nodes, weights, 2, 2))


def test_a_constant_added_anywhere(tmp_path, runtime):
    """x + c on the input, after an activation, and a bias that varies within a channel after a Conv."""
    rng = np.random.default_rng(10)
    w = float32_exact(W1=rng.normal(size=(2, 1, 2, 2)), c0=rng.normal(size=(1, 1, 3, 3)),
                      c1=rng.normal(size=(2, 1, 1)), c2=rng.normal(size=(1, 2, 2, 2)), W2=rng.normal(size=(1, 8)))
    nodes = [helper.make_node("Add", ["x", "c0"], ["x0"]), helper.make_node("Conv", ["x0", "W1"], ["z"]),
             helper.make_node("Add", ["z", "c2"], ["z2"]), helper.make_node("Relu", ["z2"], ["h"]),
             helper.make_node("Add", ["c1", "h"], ["h1"]), helper.make_node("Flatten", ["h1"], ["f"]),
             helper.make_node("Gemm", ["f", "W2"], ["y"], transB=1)]
    path = save_graph(tmp_path, nodes, w, (1, 3, 3), 1, dtype=TensorProto.FLOAT)
    net = pr.Network.from_onnx(path)
    x = rng.normal(size=(100, 1, 3, 3))
    h = np.maximum(conv2d(x + w["c0"], w["W1"], np.zeros(2)) + w["c2"], 0) + w["c1"]
    expected = h.reshape(100, -1) @ w["W2"].T
    assert np.abs(net.forward(x.reshape(100, -1)) - expected).max() <= 1e-12 * max(1, np.abs(expected).max())
