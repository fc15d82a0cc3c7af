"""Checks for chapter 01, Tensors."""

import torch

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import call, call_leaving_inputs, expect_tensor, kind_of
from torchcourse.i18n import N_, _


def _inputs(*shape, dtype=torch.float32):
    generator = torch.Generator().manual_seed(1)
    return torch.randint(-9, 10, shape, generator=generator).to(dtype)


def _matches(got, candidate: torch.Tensor) -> bool:
    """got is a tensor equal to candidate in shape and (closely) in values."""
    return (
        isinstance(got, torch.Tensor)
        and got.shape == candidate.shape
        and got.device.type != "meta"
        and bool(torch.isclose(got.detach().cpu().double(), candidate.double()).all())
    )


@exercise(
    "01.ex1",
    hints=[
        N_(
            "let a factory count for you: make the numbers in one long row first, then give "
            "them the shape (rows, cols)."
        ),
        N_(
            "torch.arange counts 0, 1, 2, ... and gives int64 unless you pass a dtype; "
            "reshape then lays the numbers out row by row."
        ),
        N_("torch.arange(rows * cols, dtype=torch.float32).reshape(rows, cols)"),
    ],
)
def _arange_grid(answer):
    for rows, cols in [(2, 3), (1, 1), (4, 5), (3, 1)]:
        want = torch.arange(rows * cols, dtype=torch.float32).reshape(rows, cols)
        what = _("arange_grid({rows}, {cols})").format(rows=rows, cols=cols)
        got = call(answer, rows, cols)
        if _matches(got, want) and not got.is_floating_point():
            raise Mismatch(
                _("{what} has the right numbers but dtype {got}, expected torch.float32").format(
                    what=what, got=got.dtype
                ),
                hint=N_(
                    "a factory that counts in whole numbers gives whole numbers (int64) unless "
                    "you ask for a dtype; the statement asks for float32."
                ),
            )
        expect_tensor(got, want, what)
    return _("shape, dtype and values agree for 4 sizes.")


@exercise(
    "01.ex2",
    hints=[
        N_(
            "you want a block: the first and the last row, and of those rows the first and the "
            "last column. Negative indices count from the end."
        ),
        N_(
            "two index lists inside one pair of brackets are paired position by position and "
            "give single elements; select the rows with one index list, then the columns of "
            "that result with another."
        ),
        N_("x[[0, -1]][:, [0, -1]]"),
    ],
)
def _corners(answer):
    cases = [((3, 5), torch.float32), ((1, 1), torch.int32), ((6, 1), torch.float64)]
    for shape, dtype in [*cases, ((1, 3), torch.int64)]:  # one row, one column, one element
        x = _inputs(*shape, dtype=dtype)
        want = torch.stack([torch.stack([x[0, 0], x[0, -1]]), torch.stack([x[-1, 0], x[-1, -1]])])
        paired = torch.stack([x[0, 0], x[-1, -1]])
        what = _("corners of a {rows}x{cols} tensor").format(rows=shape[0], cols=shape[1])
        got = call_leaving_inputs(answer, x, names=("x",))
        if _matches(got, paired) and paired.shape != want.shape:
            raise Mismatch(
                _(
                    "{what} is 2 elements, top-left and bottom-right: two index lists in one "
                    "pair of brackets are paired position by position, they do not select a "
                    "block"
                ).format(what=what),
                hint=N_(
                    "index lists in the same pair of brackets are read together, one element "
                    "per position; to get a block, pick the rows first, then index the columns "
                    "of that result in a second pair of brackets."
                ),
            )
        if _matches(got, want) and got.dtype != x.dtype:
            raise Mismatch(
                _(
                    "{what} has the right numbers but dtype {got}, while x is {want}: the "
                    "corners must keep x's dtype; converting them, or rebuilding them from "
                    "Python numbers (.item(), .tolist(), torch.tensor), changes it"
                ).format(what=what, got=got.dtype, want=x.dtype),
                hint=N_(
                    "indexing a tensor gives a tensor of the same dtype and device; taking the "
                    "numbers out and building a new tensor lets torch.tensor choose a dtype "
                    "(float32 or int64) of its own."
                ),
            )
        expect_tensor(got, want, what)
    return _("the four corners come back as a 2x2 tensor, for 4 shapes.")


@exercise(
    "01.ex3",
    hints=[
        N_(
            "the batch dimension stays as it is; every other dimension is merged into one, "
            "whatever the sizes are."
        ),
        N_(
            "let PyTorch work out the merged size with -1, and use an operation that copies "
            "when it must: view refuses some non-contiguous inputs, such as a permuted one."
        ),
        N_("x.reshape(x.shape[0], -1), or x.flatten(1)"),
    ],
)
def _flatten_images(answer):
    cases = [
        _inputs(8, 1, 28, 28),
        _inputs(1, 3, 4, 4),
        _inputs(3, 2, 1, 5),
        _inputs(2, 5, 3, 4).permute(0, 1, 3, 2),
    ]
    for x in cases:
        want = x.reshape(x.shape[0], -1)
        what = _("flatten_images of shape {shape}").format(shape=tuple(x.shape))
        expect_tensor(call_leaving_inputs(answer, x, names=("x",)), want, what)
    return _("works for any batch size, also on a non-contiguous (permuted) input.")


@exercise(
    "01.ex4",
    hints=[
        N_(
            "picture the table as a column of a-values plus a row of b-values: broadcasting "
            "stretches both to (n, m)."
        ),
        N_(
            "give a a new axis of size 1 at the end, so that its shape is (n, 1); b of shape "
            "(m,) already counts as a row (1, m) when broadcast."
        ),
        N_("a[:, None] + b[None, :], or a.unsqueeze(1) + b"),
    ],
)
def _outer_sum(answer):
    for n, m in [(3, 4), (1, 5), (4, 1), (3, 3)]:
        a, b = _inputs(n), _inputs(m) * 10
        want = a[:, None] + b[None, :]
        what = _("outer_sum of sizes {n}, {m}").format(n=n, m=m)
        got = call_leaving_inputs(answer, a, b, names=("a", "b"))
        if n != m and _matches(got, want.T):
            raise Mismatch(
                _("{what} is transposed: row i must hold a[i] + b[j] for every j").format(
                    what=what
                ),
                hint=N_(
                    "the new axis of size 1 decides which input runs down the rows: a must "
                    "become a column (one row per element of a), b a row."
                ),
            )
        expect_tensor(got, want, what)
    return _("broadcasting builds the whole (n, m) table, inputs untouched.")


def _linear_mistakes(x, weight, bias) -> list[tuple[torch.Tensor, str, str]]:
    """Results of typical mistakes (computed before the answer runs): what each means, a hint."""
    mistakes = [
        (
            x @ weight.T,
            N_("the bias is missing: add it to every row"),
            N_("a linear layer is a matrix product and then one more step, for every output."),
        ),
        (
            (x @ weight.T + bias).T,
            N_("the result is transposed: it needs one row per example of x"),
            N_(
                "the result has one row per example and one column per output; a product "
                "whose left operand is the weight puts the outputs in the rows instead."
            ),
        ),
    ]
    if weight.shape[0] == weight.shape[1]:
        mistakes.append(
            (
                x @ weight + bias,
                N_(
                    "weight is used as it is, not transposed: its shape is (n_out, n_in), one "
                    "row of weights per output, and output j of example i pairs row i of x with "
                    "row j of weight"
                ),
                _TRANSPOSE_WEIGHT,
            )
        )
    if x.shape == weight.shape:
        mistakes.append(
            (
                x * weight + bias,
                N_(
                    "the result is an elementwise product (`*`): a linear layer needs the matrix "
                    "product (`@`), which sums over n_in for every pair of example and output"
                ),
                N_(
                    "`*` multiplies element by element; each output needs a sum over the n_in "
                    "inputs, which is what a matrix product computes."
                ),
            )
        )
    return mistakes


_TRANSPOSE_WEIGHT = N_(
    "in a matrix product the last size of the left operand must meet the first size of the "
    "right one; weight is stored as (n_out, n_in), so it has to be transposed first."
)


@exercise(
    "01.ex5",
    hints=[
        N_(
            "for every example (a row of x) and every output, a linear layer takes the dot "
            "product of the example with that output's weights, then adds that output's bias."
        ),
        N_(
            "that is a matrix product, and its inner sizes must agree: x is (batch, n_in) but "
            "weight is (n_out, n_in), so transpose weight first; the bias (n_out,) then "
            "broadcasts over the rows."
        ),
        N_("x @ weight.T + bias"),
    ],
)
def _linear(answer):
    for batch, n_in, n_out in [(3, 3, 3), (4, 3, 2), (1, 5, 5), (6, 2, 7)]:
        x, weight, bias = _inputs(batch, n_in), _inputs(n_out, n_in), _inputs(n_out) + 0.5
        want = x @ weight.T + bias
        mistakes = _linear_mistakes(x, weight, bias)
        what = _("linear for x {x}, weight {w}").format(x=tuple(x.shape), w=tuple(weight.shape))
        got = call_leaving_inputs(answer, x, weight, bias, names=("x", "weight", "bias"))
        for result, meaning, hint in mistakes:
            if not _matches(got, want) and _matches(got, result):
                raise Mismatch(
                    _("{what}: {meaning}").format(what=what, meaning=_(meaning)), hint=hint
                )
        expect_tensor(got, want, what)
    return _("matrix product plus a broadcast bias, inputs untouched.")


def _on_meta(answer) -> None:
    """The device argument must be used: ask for PyTorch's data-less `meta` device."""
    x = torch.arange(6).reshape(2, 3)
    got = call_leaving_inputs(answer, x, torch.device("meta"), names=("x", "device"))
    if not isinstance(got, torch.Tensor) or got.device.type != "meta":
        where = got.device.type if isinstance(got, torch.Tensor) else kind_of(got)
        raise Mismatch(
            _("asked for device 'meta', the result is on {where}: use the device argument").format(
                where=where
            ),
            hint=N_(
                "the function receives the device to use as its second argument: the result "
                "must end up there, whichever device that is."
            ),
        )
    if got.dtype != torch.float32:
        raise Mismatch(
            _("on device 'meta' the result has dtype {dtype}, expected torch.float32").format(
                dtype=got.dtype
            )
        )
    if got.shape != x.shape:
        raise Mismatch(
            _("on device 'meta' the result has shape {shape}, expected {want}").format(
                shape=tuple(got.shape), want=tuple(x.shape)
            )
        )


def _shares_memory(got: torch.Tensor, x: torch.Tensor) -> bool:
    return got.device == x.device and (
        got.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    )


@exercise(
    "01.ex6",
    hints=[
        N_(
            "one call can change both the dtype and the device; the question is what that call "
            "returns when x already has the dtype and device you ask for."
        ),
        N_(
            "when nothing needs converting, .to returns x itself; ask for a copy explicitly, "
            "with one more argument of .to or with clone()."
        ),
        N_("x.to(device=device, dtype=torch.float32, copy=True)"),
    ],
)
def _to_device_float(answer):
    cases = [
        (torch.arange(6).reshape(2, 3), "cpu"),
        (torch.linspace(-1, 1, 5, dtype=torch.float64), torch.device("cpu")),
        (_inputs(2, 2) / 4, torch.device("cpu")),  # already float32 on the CPU
    ]
    _on_meta(answer)
    for x, target in cases:
        want = x.to(torch.float32, copy=True)
        what = _("to_device_float(x, 'cpu') for x of dtype {dtype}").format(dtype=x.dtype)
        got = call_leaving_inputs(answer, x, target, names=("x", "device"))
        expect_tensor(got, want, what)
        if _shares_memory(got, x):
            raise Mismatch(
                _(
                    "{what} shares memory with x (it is x itself or a view of x): even when x "
                    "is already float32 on that device the result must be a new tensor"
                ).format(what=what),
                hint=N_(
                    "a conversion that has nothing to convert gives back the very same tensor; "
                    "the statement wants a new one every time, so ask for a copy explicitly."
                ),
            )
    return _("right dtype and device, always a new tensor, input untouched.")
