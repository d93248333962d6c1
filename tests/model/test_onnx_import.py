"""ONNX graphs built with onnx.helper (no exporter needed), against NumPy and onnxruntime."""

import numpy as np
import pytest

import polyregions as pr

onnx = pytest.importorskip("onnx", reason="the extra 'onnx' is not installed")
pytest.importorskip("onnxruntime", reason="the extra 'onnx' is not installed")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def save_graph(tmp_path, nodes, weights, n_in, n_out, dtype=TensorProto.DOUBLE):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", dtype, ["batch", n_in])],
        [helper.make_tensor_value_info("y", dtype, ["batch", n_out])],
        [numpy_helper.from_array(v.astype(np.float64 if dtype == TensorProto.DOUBLE else np.float32), k)
         for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    return path


def test_gemm_leaky_relu_and_a_residual_add(tmp_path):
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


def test_cli_counts_an_onnx_file_like_the_same_weights_given_as_arrays(tmp_path, capsys):
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
