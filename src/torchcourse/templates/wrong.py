"""Typical mistakes in chapter __ID__, __TITLE__."""

TENSOR_RESULTS = {"__ID__.ex1"}

WRONG = {
    "__ID__.ex1": [
        ("adds two", lambda x: x + 2, "wrong values"),
        ("float factor", lambda x: x * 2.0, "dtype torch.float32"),
        ("doubles in place", lambda x: x.mul_(2), "changed its argument `x`", "in-place operation"),
        ("returns a list", lambda x: (x * 2).tolist(), "should be a torch.Tensor, got list"),
    ],
}
