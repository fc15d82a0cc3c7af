"""This machine's CPU and its measured peak: large matrix products in float32 and bfloat16.

The peak is what torch.mm (oneDNN or MKL) reaches on an n x n product with the given number
of intra-op threads: 2 n^3 FLOPs per product, the best of `--repeats` timed products after a
warm-up one (the best, because a product can only be slowed, never sped up, by other
programs). bfloat16 is timed where the CPU has bfloat16 instructions (the avx512_bf16 or
amx_bf16 flag); elsewhere torch emulates it and the figure is no peak. Prints one JSON line.

    python benchmarks/peak.py [--threads 2] [--size 2048] [--repeats 10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import time
from pathlib import Path

import torch

SHOWN_FLAGS = ("avx2", "fma", "avx512", "avx_vnni", "amx")


def cpu() -> dict:
    """The CPU's model name, logical CPU count and its vector and matrix flags."""
    model, flags = platform.processor() or platform.machine(), []
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in ("", platform.machine()):
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = value.split()
    shown = sorted(f for f in flags if f.startswith(SHOWN_FLAGS))
    return {
        "model": model,
        "logical_cpus": os.cpu_count(),
        "flags": shown,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def matmul_flops(dtype: torch.dtype, size: int, repeats: int) -> dict:
    """FLOP/s of size x size products in dtype: the best and the median of the repeats."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(dtype)
    b = torch.randn(size, size, generator=generator).to(dtype)
    torch.mm(a, b)  # warm-up: oneDNN or MKL pick and prepare their kernel
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        rates.append(2 * size**3 / (time.perf_counter() - start))
    rates.sort()
    return {"best": rates[-1], "median": rates[len(rates) // 2]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    info = cpu()
    result = {"cpu": info, "threads": args.threads, "size": args.size}
    result["float32"] = matmul_flops(torch.float32, args.size, args.repeats)
    bf16_hardware = any(f in info["flags"] for f in ("avx512_bf16", "amx_bf16"))
    if bf16_hardware:
        result["bfloat16"] = matmul_flops(torch.bfloat16, args.size, args.repeats)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
