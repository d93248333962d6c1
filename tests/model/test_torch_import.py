"""PyTorch and ONNX models in: conversions against the frameworks' forward passes, refusals
that name the operation, and the digits CNN (weights and ONNX export in polyregions/data)."""

import importlib.util
import os

import numpy as np
import pytest

import polyregions as pr

torch = pytest.importorskip("torch", reason="the extra 'torch' is not installed")
nn = torch.nn

DATA = os.path.join(os.path.dirname(pr.__file__), "data")
SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "train_digits_cnn.py")
#: The held-out digit and the four central pixels perturbed in the region count.
DIGIT, PIXELS, RADIUS = 1528, [27, 28, 35, 36], 0.05


def training_script():
    spec = importlib.util.spec_from_file_location("train_digits_cnn", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def torch_forward(model, x, shape):
    with torch.no_grad():
        return model.double()(torch.from_numpy(np.asarray(x, float).reshape((-1,) + shape))).numpy()


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(0.2), nn.Linear(6, 4))

    def forward(self, x):
        return torch.relu(x + self.inner(x))


def test_sequential_with_nested_blocks_batchnorm_and_dropout():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.5),
                          nn.Sequential(Block(), nn.Identity()), nn.Linear(4, 2))
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    model.eval()
    net = pr.Network.from_torch(model, 3)
    assert any(isinstance(layer, pr.Residual) for layer in net.layers)
    x = np.random.default_rng(1).normal(size=(500, 3))
    assert np.abs(net.forward(x) - torch_forward(model, x, (3,))).max() <= 1e-9
    box = pr.Box([-1.0] * 3, [1.0] * 3)
    regions = {tuple(r.bits) for r in pr.enumerate_regions(net, box)}
    sample = np.random.default_rng(2).uniform(-1, 1, size=(20000, 3))
    assert {tuple(p) for p in net.pattern(sample)} <= regions


def test_dilated_grouped_reflect_padded_convolutions_and_padded_pooling():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, dilation=2, padding=2, groups=2, padding_mode="reflect"), nn.ReLU(),
                          nn.AvgPool2d(2, padding=1, ceil_mode=True), nn.Conv2d(4, 2, (2, 3), stride=(1, 2)),
                          nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(6, 3)).eval()
    net = pr.Network.from_torch(model, (2, 6, 6))
    x = np.random.default_rng(8).normal(size=(300, 72))
    assert np.abs(net.forward(x) - torch_forward(model, x, (2, 6, 6))).max() <= 1e-9


def test_unsupported_modules_are_named_with_their_path():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Tanh())).eval()
    with pytest.raises(pr.UnsupportedError, match=r"`1\.1` \(Tanh\)"):
        pr.Network.from_torch(model, 2)
    pool = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)).eval()
    with pytest.raises(pr.UnsupportedError, match=r"`2` \(MaxPool2d\) has ceil_mode=True"):
        pr.Network.from_torch(pool, (1, 7, 7))
    loose = nn.Sequential(nn.ReLU(), nn.BatchNorm1d(2), nn.Linear(2, 2)).eval()
    with pytest.raises(pr.UnsupportedError, match=r"`1` \(BatchNorm1d\) must follow a Linear or Conv2d"):
        pr.Network.from_torch(loose, 2)


def test_a_conversion_that_differs_from_the_module_is_refused(monkeypatch):
    from polyregions.model import torch_import as interop

    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).eval()
    real = interop.torch_records

    def shift_a_bias(module, shape):
        records, reference = real(module, shape)
        records[0] = dict(records[0], bias=np.asarray(records[0]["bias"]) + 1.0)
        return records, reference

    monkeypatch.setattr(interop, "torch_records", shift_a_bias)
    with pytest.raises(pr.UnsupportedError, match="differs from the model's forward pass"):
        pr.Network.from_torch(model, 2)


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    script = training_script()
    model = script.load_model(os.path.join(DATA, "digits_cnn.npz"))
    images, _ = script.load_digits_scaled()
    return model, images


def test_digits_cnn_from_torch_agrees_in_float64(digits):
    model, _ = digits
    net = pr.Network.from_torch(model, (1, 8, 8))
    x = np.random.default_rng(3).uniform(0, 1, size=(1000, 64))
    assert np.abs(net.forward(x) - torch_forward(model, x, (1, 8, 8))).max() <= 1e-9
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Conv2d", "MaxPool2d", "Residual", "Activation", "Flatten", "Dense"]


def test_digits_cnn_from_onnx(digits):
    pytest.importorskip("onnx", reason="the extra 'onnx' is not installed")
    model, _ = digits
    net = pr.Network.from_onnx(os.path.join(DATA, "digits_cnn.onnx"))
    x = np.random.default_rng(4).uniform(0, 1, size=(1000, 64))
    expected = torch_forward(model, x, (1, 8, 8))
    # the exporter folds BatchNorm into the convolution in float32: agreement to float32 precision
    assert np.abs(net.forward(x) - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())


def slice_network(net, centre, pixels):
    """`net` on ``x = centre + sum_k t_k e_{pixels[k]}``: a linear Dense and an Unflatten in front."""
    U = np.zeros((centre.size, len(pixels)))
    U[pixels, np.arange(len(pixels))] = 1.0
    return pr.Network([pr.Dense(U, centre, 1.0), pr.Unflatten(net.input_shape)] + list(net.layers),
                      input_shape=len(pixels))


def test_digits_cnn_regions_near_a_test_digit(digits):
    model, images = digits
    net = pr.Network.from_torch(model, (1, 8, 8))
    sliced = slice_network(net, images[DIGIT].reshape(-1).astype(float), PIXELS)
    ball = pr.Ball(np.zeros(len(PIXELS)), RADIUS, p=np.inf)
    regions = {tuple(r.bits) for r in pr.enumerate_regions(sliced, ball)}
    assert len(regions) > 10
    assert pr.count_regions(sliced, ball, backend="highs").count == len(regions)
    t = np.random.default_rng(5).uniform(-RADIUS, RADIUS, size=(50000, len(PIXELS)))
    assert {tuple(p) for p in sliced.pattern(t)} <= regions


def test_digits_cnn_round_trips_through_files(digits, tmp_path):
    model, _ = digits
    net = pr.Network.from_torch(model, (1, 8, 8))
    x = np.random.default_rng(6).uniform(0, 1, size=(20, 64))
    for name in ("cnn.json", "cnn.npz"):
        pr.io.save_network(net, tmp_path / name)
        back = pr.io.load_network(tmp_path / name)
        assert [type(layer) for layer in back.layers] == [type(layer) for layer in net.layers]
        assert np.array_equal(back.forward(x), net.forward(x))


def test_pickles_need_trust_and_exported_programs_load(tmp_path, capsys):
    from polyregions.cli.main import main

    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(0.1), nn.Linear(4, 3), nn.ReLU()).eval()
    pickled = tmp_path / "model.pt"
    torch.save(model, pickled)
    assert main(["count", str(pickled), "--box", "-1", "1", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "--trust-pickle" in err and "Traceback" not in err
    assert main(["count", str(pickled), "--box", "-1", "1", "--workers", "1", "--trust-pickle", "--json"]) == 0
    capsys.readouterr()
    exported = tmp_path / "model.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, 2),)), exported)
    net = pr.io.load_network(exported)
    x = np.random.default_rng(7).normal(size=(100, 2))
    assert np.abs(net.forward(x) - torch_forward(model, x, (2,))).max() <= 1e-9
    assert [layer.negative_slope for layer in net.layers] == [pytest.approx(0.1), 0.0]


def test_the_readme_torch_block_runs(tmp_path, monkeypatch):
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "from_torch" in b)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the project's own README
    net = pr.io.load_network(tmp_path / "model.json")
    assert namespace["count"] == pr.count_regions(net, pr.Box([-1, -1], [1, 1])).count >= 1


# ---------------------------------------------------------------- additions with alpha and constants
class ScaledBranch(nn.Module):
    """``h + alpha g`` (or ``h - alpha g``) with a branch ``g`` that is zero wherever |x| is small."""

    def __init__(self, alpha, subtract=False, swap=False):
        super().__init__()
        self.fc1, self.fc2, self.alpha, self.subtract, self.swap = nn.Linear(2, 4), nn.Linear(4, 4), alpha, subtract, swap
        with torch.no_grad():
            self.fc2.bias.fill_(-8.0)  # off on every N(0, 1) sample, on far out

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        g = torch.relu(self.fc2(h))
        first, second = (g, h) if self.swap else (h, g)
        if self.subtract:
            return torch.sub(first, second, alpha=self.alpha)
        return torch.add(first, second, alpha=self.alpha)


@pytest.mark.parametrize("alpha, subtract, swap", [(-3.0, False, False), (0.5, True, False), (2.0, False, True),
                                                   (-0.25, True, True), (1.0, True, False), (0.0, False, True)])
def test_add_and_sub_with_alpha_are_converted_exactly(alpha, subtract, swap):
    """torch.add(a, b, alpha) = a + alpha b and torch.sub(a, b, alpha) = a - alpha b, whichever
    side is the skip, against torch's forward pass far out where the branch is on."""
    torch.manual_seed(0)
    model = ScaledBranch(alpha, subtract, swap).eval()
    net = pr.Network.from_torch(model, 2)
    x = np.random.default_rng(0).uniform(-40, 40, size=(2000, 2))
    expected = torch_forward(model, x, (2,))
    assert np.abs(expected).max() > 1  # the branch is on somewhere: a lost alpha would show
    assert np.abs(net.forward(x) - expected).max() <= 1e-9 * max(1.0, np.abs(expected).max())


class ConstantAdd(nn.Module):
    def __init__(self, conv=False):
        super().__init__()
        self.conv = conv
        self.layer = nn.Conv2d(2, 3, 2) if conv else nn.Linear(3, 4)
        self.register_buffer("shift", torch.linspace(-1, 1, 3).reshape(3, 1, 1) if conv else torch.linspace(-1, 1, 4))

    def forward(self, x):
        x = 2.5 + x - 0.5  # on the input: a constant before any layer
        z = torch.relu(self.layer(x))
        return 1.0 - (z + self.shift)


@pytest.mark.parametrize("conv, shape", [(False, (3,)), (True, (2, 3, 3))])
def test_additions_of_constants_and_buffers(conv, shape):
    torch.manual_seed(2)
    model = ConstantAdd(conv).eval()
    net = pr.Network.from_torch(model, shape)
    x = np.random.default_rng(2).normal(size=(300, int(np.prod(shape))))
    expected = torch_forward(model, x, shape).reshape(300, -1)
    assert np.abs(net.forward(x) - expected).max() <= 1e-12


# ---------------------------------------------------------------- the forward check
class FarBranch(nn.Module):
    """``fc3(relu(fc1 x) + relu(fc2 x))``: fc2's units switch on only where |x| > 5 or so."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(2, 4), nn.Linear(2, 3), nn.Linear(4, 1)
        with torch.no_grad():
            self.fc2.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
            self.fc2.bias.fill_(-12.0)

    def forward(self, x):
        far = torch.relu(self.fc2(x))
        return self.fc3(torch.relu(self.fc1(x))) + far.sum(dim=1, keepdim=True)


def _dropping_a_layer(monkeypatch, index):
    """Make torch_records forget record `index` (set its weight to zero): a conversion fault."""
    from polyregions.model import torch_import as interop

    real = interop.torch_records

    def drop(module, shape):
        records, reference = real(module, shape)
        records[index] = dict(records[index], weight=np.zeros_like(np.asarray(records[index]["weight"], float)))
        return records, reference

    monkeypatch.setattr(interop, "torch_records", drop)


def test_the_forward_check_samples_far_from_the_origin(monkeypatch):
    """A conversion that loses a branch active only where |x| > 8 (never on N(0, 1) samples) is refused."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1)).eval()
    with torch.no_grad():
        model[2].bias.fill_(-8.0)
        model[2].weight.abs_()
        model[0].weight.abs_()
        model[0].bias.zero_()
    x = np.random.default_rng(0).standard_normal((64, 2))
    hidden = torch_forward(nn.Sequential(*model[:4]), x, (2,))
    assert not hidden.any()  # the second layer is off on every standard normal sample
    pr.Network.from_torch(model, 2)  # the faithful conversion passes
    _dropping_a_layer(monkeypatch, 1)
    with pytest.raises(pr.UnsupportedError, match="differs from the model's forward pass"):
        pr.Network.from_torch(model, 2)


def hat_model(centre=5.0, width=1e-3):
    """A hat of height 1 and half-width `width` around x = centre (1-D), zero elsewhere."""
    model = nn.Sequential(nn.Linear(1, 3), nn.ReLU(), nn.Linear(3, 1)).eval()
    with torch.no_grad():
        s = 1.0 / width
        model[0].weight.copy_(torch.tensor([[s], [s], [s]]))
        model[0].bias.copy_(torch.tensor([-s * centre + 1, -s * centre, -s * centre - 1]))
        model[2].weight.copy_(torch.tensor([[1.0, -2.0, 1.0]]))
        model[2].bias.zero_()
    return model


def test_check_points_are_the_users_own_inputs(monkeypatch):
    model = hat_model()
    assert torch_forward(model, np.array([[5.0]]), (1,))[0, 0] == pytest.approx(1.0)
    pr.Network.from_torch(model, 1, check_points=[[5.0], [4.9995]])

    from polyregions.model import torch_import as interop

    real = interop.torch_records

    def flatten_the_hat(module, shape):
        records, reference = real(module, shape)
        return [records[0], dict(records[1], weight=np.zeros((1, 3)))], reference

    monkeypatch.setattr(interop, "torch_records", flatten_the_hat)
    pr.Network.from_torch(model, 1)  # random samples never land on a hat 2e-3 wide at x = 5
    with pytest.raises(pr.UnsupportedError, match="differs from the model's forward pass"):
        pr.Network.from_torch(model, 1, check_points=np.array([[5.0]]))


@pytest.mark.parametrize("points, match", [([[1.0, 2.0]], "check_points"), ([[np.nan]], "check_points"),
                                           ("abc", "check_points"), (np.zeros((0, 1)), "check_points")])
def test_bad_check_points_are_named(points, match):
    with pytest.raises(pr.InvalidInputError, match=match):
        pr.Network.from_torch(hat_model(), 1, check_points=points)


# ---------------------------------------------------------------- training mode
def test_training_mode_is_refused_only_where_it_changes_the_function():
    torch.manual_seed(4)
    plain = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))  # torch's default: training mode
    assert plain.training
    net = pr.Network.from_torch(plain, 2)
    x = np.random.default_rng(4).normal(size=(100, 2))
    assert np.abs(net.forward(x) - torch_forward(plain, x, (2,))).max() <= 1e-12
    assert plain.training  # the caller's module is left as it was
    for model, where in [(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU()), "`1` (BatchNorm1d)"),
                         (nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Dropout(0.2))),
                          "`2.0` (Dropout)")]:
        with pytest.raises(pr.UnsupportedError, match="training mode") as info:
            pr.Network.from_torch(model, 2)
        assert where in str(info.value)


def test_an_unsupported_layer_is_named_before_training_mode():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Tanh())
    with pytest.raises(pr.UnsupportedError, match=r"`2` \(Tanh\) is not supported"):
        pr.Network.from_torch(model, 2)


# ---------------------------------------------------------------- bad arguments
def test_a_wrong_input_shape_is_one_message_and_nothing_on_stderr(capfd):
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU()).eval()
    with pytest.raises(pr.InvalidInputError, match="`input_shape`"):
        pr.Network.from_torch(model, 4)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("shape", [2.0, True, (2, 0), "2", (2.5,), None, (1, 1, 1, 1, 2)])
def test_input_shape_must_be_positive_integers(shape):
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU()).eval()
    with pytest.raises(pr.InvalidInputError, match="`input_shape`"):
        pr.Network.from_torch(model, shape)


def test_a_negative_running_variance_is_named():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU()).eval()
    with torch.no_grad():
        model[1].running_var.copy_(torch.tensor([1.0, -0.5, 2.0]))
    with pytest.raises(pr.InvalidInputError, match=r"`1` \(BatchNorm1d\).*running_var"):
        pr.Network.from_torch(model, 2)


# ---------------------------------------------------------------- torch.export programs
class ProgramWithConstants(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(2, 4), nn.Linear(4, 3)
        self.register_buffer("offset", torch.tensor([0.5, -1.0, 2.0, 0.0]))

    def forward(self, x):
        h = torch.relu(self.fc1(x + 1.0) + self.offset)
        return self.fc2(h) - 2.0


def test_exported_programs_with_constant_additions(tmp_path):
    torch.manual_seed(5)
    model = ProgramWithConstants().eval()
    path = tmp_path / "model.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, 2),)), path)
    net = pr.io.load_network(path)
    x = np.random.default_rng(5).normal(size=(200, 2))
    assert np.abs(net.forward(x) - torch_forward(model, x, (2,))).max() <= 1e-12


def test_exported_program_with_alpha_and_a_negative_variance(tmp_path):
    torch.manual_seed(6)
    model = ScaledBranch(-3.0).eval()
    path = tmp_path / "alpha.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, 2),)), path)
    net = pr.io.load_network(path)
    x = np.random.default_rng(6).uniform(-40, 40, size=(500, 2))
    expected = torch_forward(model, x, (2,))
    assert np.abs(net.forward(x) - expected).max() <= 1e-9 * max(1.0, np.abs(expected).max())
    bn = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU()).eval()
    with torch.no_grad():
        bn[1].running_var.copy_(torch.tensor([1.0, -0.5, 2.0]))
    torch.export.save(torch.export.export(bn, (torch.zeros(2, 2),)), tmp_path / "bn.pt2")
    with pytest.raises(pr.InvalidInputError, match="running_var"):
        pr.io.load_network(tmp_path / "bn.pt2")


def test_load_network_checks_a_program_on_check_points(tmp_path, monkeypatch):
    model = hat_model()
    path = tmp_path / "hat.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, 1),)), path)
    assert pr.io.load_network(path, check_points=[[5.0]]).forward(np.array([5.0]))[0] == pytest.approx(1.0)
    with pytest.raises(pr.InvalidInputError, match="check_points"):
        pr.io.load_network(path, check_points=[[5.0, 1.0]])
    from polyregions.model import torch_import as adapter

    real = adapter.exported_records

    def flatten_the_hat(p):
        records, shape, reference = real(p)
        return [records[0], dict(records[1], weight=np.zeros((1, 3)))], shape, reference

    monkeypatch.setattr(adapter, "exported_records", flatten_the_hat)
    pr.io.load_network(path)  # random samples miss the hat
    with pytest.raises(pr.UnsupportedError, match="on `check_points`"):
        pr.io.load_network(path, check_points=[[5.0]])
