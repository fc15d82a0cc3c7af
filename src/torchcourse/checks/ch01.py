"""Checks for chapter 01, Tensors."""

import torch

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import call, expect_tensor
from torchcourse.i18n import N_


def _inputs(*shape, dtype=torch.float32):
    generator = torch.Generator().manual_seed(1)
    return torch.randint(-9, 10, shape, generator=generator).to(dtype)


@exercise(
    "01.ex1",
    hints=[N_("torch.arange(n, dtype=torch.float32) counts 0..n-1; then reshape.")],
)
def _arange_grid(answer):
    for rows, cols in [(2, 3), (1, 1), (4, 5)]:
        want = torch.arange(rows * cols, dtype=torch.float32).reshape(rows, cols)
        expect_tensor(call(answer, rows, cols), want, f"arange_grid({rows}, {cols})")
    return "shape, dtype and values agree for 3 sizes."


@exercise(
    "01.ex2",
    hints=[N_("index rows [0, -1] and then columns [0, -1]: x[[0, -1]][:, [0, -1]].")],
)
def _corners(answer):
    for shape, dtype in [((3, 5), torch.float32), ((2, 2), torch.int64), ((6, 4), torch.int64)]:
        x = _inputs(*shape, dtype=dtype)
        want = x[[0, -1]][:, [0, -1]]
        expect_tensor(call(answer, x.clone()), want, f"corners of a {shape[0]}x{shape[1]} tensor")
    return "the four corners come back as a 2x2 tensor."


@exercise(
    "01.ex3",
    hints=[N_("keep dimension 0 and let reshape infer the rest: x.reshape(x.shape[0], -1).")],
)
def _flatten_images(answer):
    cases = [_inputs(8, 1, 28, 28), _inputs(1, 3, 4, 4), _inputs(2, 5, 3, 4).permute(0, 1, 3, 2)]
    for x in cases:
        want = x.reshape(x.shape[0], -1)
        expect_tensor(call(answer, x), want, f"flatten_images of shape {tuple(x.shape)}")
    return "works for any batch size, also on a non-contiguous (permuted) input."


@exercise(
    "01.ex4",
    hints=[N_("give a a trailing axis and b a leading one: a[:, None] + b[None, :].")],
)
def _outer_sum(answer):
    for n, m in [(3, 4), (1, 5), (4, 1)]:
        a, b = _inputs(n), _inputs(m) * 10
        expect_tensor(call(answer, a, b), a[:, None] + b[None, :], f"outer_sum of sizes {n}, {m}")
    return "broadcasting builds the whole (n, m) table."


@exercise(
    "01.ex5",
    hints=[N_("a linear layer is x @ weight.T + bias; `*` multiplies elementwise.")],
)
def _linear(answer):
    for batch, n_in, n_out in [(4, 3, 2), (1, 5, 5), (6, 2, 7)]:
        x, weight, bias = _inputs(batch, n_in), _inputs(n_out, n_in), _inputs(n_out)
        got = call(answer, x, weight, bias)
        expect_tensor(got, x @ weight.T + bias, f"linear for x {tuple(x.shape)}")
    return "matrix product plus a broadcast bias."


@exercise(
    "01.ex6",
    hints=[N_("x.to(device=device, dtype=torch.float32) returns a new tensor.")],
)
def _to_device_float(answer):
    x = torch.arange(6).reshape(2, 3)
    got = call(answer, x, "cpu")
    if not torch.equal(x, torch.arange(6).reshape(2, 3)):
        raise Mismatch("your function changed x itself; return a new tensor instead.")
    expect_tensor(got, x.float(), "to_device_float(x, 'cpu')")
    got = call(answer, x, torch.device("meta"))
    if not isinstance(got, torch.Tensor) or got.device.type != "meta":
        where = got.device.type if isinstance(got, torch.Tensor) else type(got).__name__
        raise Mismatch(
            f"asked for device 'meta', the result is on {where}: use the device argument."
        )
    if got.dtype != torch.float32:
        raise Mismatch(
            f"on device 'meta' the result has dtype {got.dtype}, expected torch.float32."
        )
    return "right dtype, right device, input untouched."
