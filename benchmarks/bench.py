"""`make bench`: LeNet-5 to 99% MNIST accuracy on the CPU, against the machine's own limit.

Runs, each in its own process (benchmarks/<script>): the CPU's model and flags and its peak,
large matrix products in float32 and bfloat16 (peak.py); a profile of the fast recipe's
training step and its FLOPs per image (profile_step.py); chapter 07's fast recipe for three
seeds, trained on the 55,000-image training split and evaluated once at the end on the
validation and the test set (fast_lenet.py); the pytorch/examples mnist recipe as its users run
it, testing at every epoch end, and with the course's stop rule, validation every quarter epoch
(pytorch_example.py); then numpy_vs_torch.py's main(). Prints the results and writes them,
with the machine, torch version, load average and date, to benchmarks/RESULTS.md.

    python benchmarks/bench.py [--seeds 0 1 2] [--threads 2] [--cap 900] [--skip-example]
        [--keep-numpy-table]

--skip-example leaves out the two pytorch/examples runs (about 5 of the 6 minutes on a quiet
two-core machine): every other section is measured and written, (b) says it was not run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
TARGET = 0.99
NUMPY_HEADING = "## NumPy versus PyTorch: one training step"
# a 1-minute load average above this before the run: not a quiet machine (the load after the
# run is mostly the benchmark's own processes, so it is reported but does not decide)
BUSY = 1.0
GOAL_SECONDS = 3.0  # issue 25: a median of at most 3 s to >= 99.0% test accuracy, every seed

# What was tried on the way to the recipe in torchcourse.lenet.FAST (kept in RESULTS.md).
NOTES = """\
## How the fast recipe was chosen

Every choice was made on validation accuracy: 5,000 of the 60,000 training images held out
with a seeded generator (`torchcourse.lenet.split_indices`), the model trained on the other
55,000; the test set was evaluated only for the table above. Each variant below was trained
with seeds 0, 1 and 2 (`python benchmarks/fast_lenet.py --seed S --threads 1 --set ...`, one
thread because other jobs shared the two cores; the thread count changes the rounding, so the
same seed can differ by a few images with two threads). The starting point, LeNet-5 with
AdamW (weight decay 0.01), batch 128, a one-cycle schedule with max_lr 0.01 and 20% warm-up,
label smoothing 0.1 and channels_last, gave these validation accuracies (seeds 0 / 1 / 2, then
the mean):

| Variant | Validation accuracy | Mean |
|---|---|---|
| 1 epoch | 98.82 / 98.44 / 98.76% | 98.67% |
| 1.25 epochs | 98.96 / 98.68 / 98.90% | 98.85% |
| 1.5 epochs | 99.04 / 98.72 / 98.86% | 98.87% |
| 1.5 epochs, no label smoothing | 98.78 / 98.52 / 98.84% | 98.71% |
| 1.5 epochs, max_lr 0.005 | 98.80 / 98.62 / 98.74% | 98.72% |
| 1.5 epochs, max_lr 0.02 | 98.98 / 98.64 / 98.94% | 98.85% |
| 1.5 epochs, batch 256 | 98.84 / 98.48 / 98.76% | 98.69% |
| 1.5 epochs, bfloat16 autocast | 99.14 / 98.76 / 98.92% | 98.94% |
| 2 epochs | 99.10 / 98.82 / 99.08% | 99.00% |
| 2 epochs, max_lr 0.02 | 99.14 / 98.92 / 99.00% | 99.02% |
| 2 epochs, bfloat16 autocast | 99.06 / 98.96 / 99.16% | 99.06% |
| 2.5 epochs | 99.20 / 98.90 / 99.14% | 99.08% |
| 3 epochs | 99.12 / 99.02 / 99.20% | 99.11% |

Issue 25's levers, tried on the same split with seeds 0, 1 and 2, or 0 to 4 where five are
listed (trained as `fast_lenet.py --set` trains them, one thread, on a machine whose two cores
were shared with up to twenty other processes, which changes no accuracy), starting from the
two-epoch bfloat16 recipe at batch 128 with the fused AdamW:

| Variant | Validation accuracy | Mean |
|---|---|---|
| 1.5 epochs, max_lr 0.02, 10% warm-up | 99.10 / 98.78 / 98.96% | 98.95% |
| 1.75 epochs | 99.00 / 98.84 / 99.02% | 98.95% |
| 1.75 epochs, max_lr 0.02 | 98.94 / 98.70 / 99.00% | 98.88% |
| 1.75 epochs, 10% warm-up | 99.04 / 98.80 / 99.14% | 98.99% |
| 2 epochs | 99.00 / 98.80 / 99.12 / 98.90 / 98.88% | 98.94% |
| 2 epochs, max_lr 0.02 | 98.90 / 98.94 / 98.98 / 98.94 / 98.94% | 98.94% |
| 2 epochs, batch 200, max_lr 0.015 | 99.06 / 98.80 / 99.04% | 98.97% |
| 2 epochs, batch 250, max_lr 0.02 | 99.10 / 98.74 / 99.00% | 98.95% |
| 2 epochs, batch 250, max_lr 0.02, 10% warm-up | 99.00 / 98.90 / 98.86% | 98.92% |
| 2 epochs, batch 250, max_lr 0.03 | 99.04 / 98.80 / 98.94% | 98.93% |
| 1.5 epochs, batch 250, max_lr 0.02 | 98.94 / 98.76 / 98.84% | 98.85% |
| 2.5 epochs | 99.00 / 99.00 / 99.14 / 98.88 / 99.00% | 99.00% |
| 2.5 epochs, batch 250, max_lr 0.02 (FAST then) | 99.22 / 98.88 / 99.18 / 98.84 / 98.98% | 99.02% |
| 2 epochs, batch 500, max_lr 0.01 | 98.20 / 98.32 / 98.68% | 98.40% |
| 2 epochs, batch 500, max_lr 0.02 | 98.70 / 98.56 / 98.68% | 98.65% |
| 2 epochs, batch 500, max_lr 0.03 | 98.90 / 98.50 / 98.78% | 98.73% |
| 1.5 epochs, batch 500, max_lr 0.02 | 98.56 / 98.40 / 98.48% | 98.48% |
| 2 epochs, batch 1000, max_lr 0.03 | 98.20 / 97.52 / 97.14% | 97.62% |
| 2 epochs, batch 1000, max_lr 0.05 | 98.34 / 97.80 / 96.94% | 97.69% |
| 2.5 epochs, batch 1000, max_lr 0.03 | 98.42 / 98.04 / 98.44% | 98.30% |

(Batch sizes 200, 250, 500 and 1000 divide the 55,000 images, so every batch has one shape.)

A third round, five seeds each (0 to 4, one thread, two runs at a time on a machine shared with
other jobs), from FAST as it then was (2.5 epochs, batch 250, max_lr 0.02, 20% warm-up, label
smoothing 0.1, weight decay 0.01), changing what the row says:

| Variant | Validation accuracy | Mean |
|---|---|---|
| 2 epochs, max_lr 0.01 | 98.90 / 98.76 / 98.90 / 98.78 / 98.82% | 98.83% |
| 2 epochs, max_lr 0.015 | 99.18 / 98.70 / 98.92 / 98.78 / 98.70% | 98.86% |
| 2 epochs, 30% warm-up | 99.14 / 98.88 / 99.00 / 99.00 / 98.96% | 98.996% |
| 2 epochs, 40% warm-up | 98.98 / 99.06 / 98.98 / 98.98 / 98.94% | 98.99% |
| 2 epochs, 30% warm-up, max_lr 0.015 | 99.12 / 98.92 / 99.02 / 98.86 / 98.88% | 98.96% |
| 2 epochs, 30% warm-up, max_lr 0.025 | 99.02 / 98.78 / 99.08 / 98.96 / 98.94% | 98.96% |
| 2 epochs, 30% warm-up, weight decay 0.05 | 99.18 / 98.84 / 98.98 / 98.82 / 98.92% | 98.95% |
| 2 epochs, 30% warm-up, label smoothing 0.15 | 99.12 / 98.82 / 99.10 / 98.94 / 98.84% | 98.96% |
| 2 epochs, no weight decay | 99.10 / 98.78 / 99.08 / 98.92 / 98.84% | 98.94% |
| 2 epochs, label smoothing 0.05 | 99.12 / 98.78 / 99.10 / 98.78 / 98.90% | 98.94% |
| 2 epochs, batch 500, max_lr 0.02 | 98.84 / 98.56 / 98.66 / 98.56 / 98.62% | 98.65% |
| 2 epochs, batch 500, max_lr 0.03 | 98.90 / 98.62 / 98.80 / 98.72 / 98.56% | 98.72% |
| 2 epochs, batch 500, max_lr 0.04 | 98.76 / 98.56 / 98.90 / 98.70 / 98.76% | 98.74% |
| 2.5 epochs, batch 500, max_lr 0.03 | 99.02 / 98.78 / 98.92 / 98.98 / 98.84% | 98.91% |
| 2 epochs, Nesterov SGD, max_lr 0.1 | 97.58 / 97.92 / 97.84 / 96.50 / 97.94% | 97.56% |
| 2.25 epochs | 99.14 / 98.88 / 99.02 / 98.88 / 98.96% | 98.98% |
| 2.25 epochs, 30% warm-up (FAST) | 99.26 / 98.88 / 99.10 / 99.00 / 99.10% | 99.07% |

(Their test accuracies, looked at only after FAST was chosen: 2.25 epochs with 30% warm-up gave
99.20 / 99.15 / 99.21 / 99.17 / 99.20% for seeds 0 to 4 with one thread.)

The rule: the fewest epochs whose mean validation accuracy reaches 99.0%, then the fastest
variant of that length. The first table's two epochs qualified with three seeds (99.06%); with
the fused AdamW, whose rounding differs, the same three seeds gave 98.97%, and with five seeds
two epochs gave 98.94% (at max_lr 0.01 and 0.02 alike). The second round settled on 2.5 epochs
at batch 250 (99.02%; batch 250 costs about a sixth less per image than batch 128, the speed
table below). In the third round no two-epoch variant reached 99.0% (the closest, 30% warm-up,
gave 98.996%), and 2.25 epochs with 30% warm-up gave 99.07%, so FAST now trains 2.25 epochs at
batch 250 with max_lr 0.02 and 30% warm-up: 10% fewer steps than 2.5 epochs. With 5,000
validation images one seed's accuracy has a standard error of about 0.14%, so a mean of five
has about 0.06%: every variant from 1.5 to 2.5 epochs at batch 128 to 250 lies within noise of
99.0%, and so many variants tried on one validation split favour a lucky one. The rule keeps
to 99.0% on purpose (a recipe that only ties with it on validation may miss it on test), and
the bench reports the test accuracy of every seed.
A fourth round, with the same protocol, tried AdamW's beta2. beta2 is the decay rate of its
running mean of squared gradients, and short schedules sometimes do better with a lower one.
Each row starts from two epochs with 30% warm-up:

| Variant | Validation accuracy | Mean |
|---|---|---|
| beta2 0.99 | 99.18 / 98.82 / 99.04 / 98.94 / 99.08% | 99.012% |
| beta2 0.99, max_lr 0.015 | 99.14 / 99.00 / 99.12 / 98.80 / 98.96% | 99.004% |
| beta2 0.99, max_lr 0.03 | 99.06 / 98.74 / 98.86 / 98.86 / 99.04% | 98.91% |
| beta2 0.95 | 99.02 / 98.72 / 98.98 / 98.90 / 98.82% | 98.89% |

Two variants passed 99.0% by about 0.01 point. That is a fifth of the standard error of a
five-seed mean, so before the leading one could replace FAST, it and the same recipe with the
default beta2 0.999 each trained five more seeds (5 to 9). beta2 0.99 gave 99.02 / 98.88 /
98.98 / 99.02 / 98.84% (98.95%) and beta2 0.999 gave 99.02 / 98.88 / 98.98 / 99.08 / 98.90%
(98.97%). Over ten seeds the two average 98.98%. The first five seeds were lucky, so FAST
stays at 2.25 epochs. From now on, a variant that passes 99.0% by less than one standard error
trains five more seeds before it is adopted.
A fifth round tried the knobs that Recipe does not expose: OneCycleLR's other arguments,
NAdam, and evaluating a running average of the weights (EMA) instead of the weights
(`benchmarks/schedule_trials.py`, lenet.train's loop with those knobs; same protocol). A
two-epoch recipe would train 11% fewer steps than FAST. Each row starts from two epochs with
30% warm-up:

| Variant | Validation accuracy | Mean |
|---|---|---|
| none (two epochs, as in the third round) | 99.14 / 98.88 / 99.00 / 99.00 / 98.96% | 98.996% |
| weight average, decay 0.99 | 99.14 / 98.90 / 98.96 / 98.98 / 98.96% | 98.99% |
| weight average, decay 0.995 | 98.94 / 98.66 / 98.84 / 98.72 / 98.82% | 98.80% |
| beta1 fixed at 0.9 (no momentum cycling) | 99.08 / 98.82 / 99.10 / 98.94 / 99.04% | 99.00% |
| div_factor 10 (starts at max_lr / 10) | 98.98 / 98.90 / 98.98 / 98.88 / 98.92% | 98.93% |
| linear annealing | 99.20 / 98.90 / 99.02 / 98.86 / 99.02% | 99.00% |
| final_div_factor 30 | 99.16 / 98.84 / 99.06 / 98.90 / 98.98% | 98.99% |
| final_div_factor 100 | 99.16 / 98.84 / 99.04 / 99.02 / 99.06% | 99.024% |
| final_div_factor 1,000 | 99.18 / 98.80 / 99.00 / 98.98 / 99.02% | 99.00% |
| final_div_factor 100, linear annealing | 99.20 / 98.94 / 98.94 / 98.94 / 99.04% | 99.012% |
| final_div_factor 100, beta1 fixed at 0.9 | 99.08 / 98.92 / 99.06 / 98.92 / 99.02% | 99.00% |
| final_div_factor 100, 25% warm-up | 99.04 / 98.80 / 99.06 / 98.70 / 98.98% | 98.92% |
| final_div_factor 100, max_lr 0.025 | 98.94 / 98.78 / 99.02 / 98.82 / 98.88% | 98.89% |
| NAdam | 98.62 / 97.80 / 98.92 / 96.16 / 98.98% | 98.10% |

(final_div_factor: OneCycleLR ends at max_lr / div_factor / final_div_factor, by default
max_lr / 250,000.) final_div_factor 100 passed 99.0% by less than one standard error, so it
trained five more seeds: 99.00 / 98.92 / 98.88 / 99.06 / 98.90%, and its ten-seed mean is
98.99%. Like the fourth round's, this round moved no mean beyond the noise around 98.99%, so
FAST stays at 2.25 epochs.
Bigger batches cost accuracy per epoch: batch 500 needs more than two epochs, which eats the
speed it gains per image. The MNIST test images are on average easier than the held-out
training images, so test accuracies run a little above validation accuracies.

Speed levers, measured one at a time on the training step (interleaved rounds, the median of
seven; CPU seconds of the process per 1,000 training images with one intra-op thread,
because wall-clock times on the shared machine varied threefold from minute to minute):

| Step variant (batch 128 unless said) | CPU ms per 1,000 images |
|---|---:|
| bfloat16 autocast, channels_last, foreach AdamW (the previous FAST) | 66.1 |
| + fused AdamW (FAST) | 63.1 |
| + images stored in bfloat16 before the clock | 63.7 |
| + pooling before ReLU (the same function, fewer ReLU elements) | 63.6 |
| float32, channels_last | 78.3 |
| float32, contiguous (NCHW) | 81.5 |
| bfloat16 autocast, contiguous (NCHW) | 92.1 |
| fused AdamW, batch 250 | 53.1 |
| fused AdamW, batch 500 | 48.2 |
| fused AdamW, batch 1000 | 45.7 |

So bfloat16 pays only together with channels_last (oneDNN's bfloat16 convolutions want the
channels innermost), the fused AdamW saves about 5%, and bfloat16 storage and reordering ReLU
and pooling save nothing measurable; laying the images out in channels_last before the clock
(`lenet.laid_out`) takes a 170 MB copy out of the timed run. Bigger batches save up to 28% per
image but need more epochs (table above). The profile above shows why the rest is hard:
PyTorch's CPU max pooling has no vectorised path for 6 channels (conv1's output), so pooling
takes a share of the step comparable to the convolutions', and at batch 128 every step pays
Python, dispatch and the optimizer for only 128 images.

The same profile, operator by operator (100 steps of FAST with two threads, self CPU time
per step): conv2's backward 1.50 ms, the max pooling of conv1's output 1.36 ms forward and
0.28 ms backward, the zero fill of that pooling's input gradient 0.47 ms, conv1 0.72 ms forward
and 0.44 ms backward, conv2's forward 0.34 ms, the AdamW step 0.23 ms. Two of the levers above
were measured again on the full training run: images stored in bfloat16 took a median of
3.40 s against 3.49 s for three interleaved seeds (the same accuracies, since autocast casts
each batch to bfloat16 anyway). Pooling before ReLU took 7.03 ms per step against 6.87 ms, the
medians of eight interleaved rounds. Both differences are inside the run-to-run spread, so
FAST keeps neither.

torch.compile (inductor, CPU), measured again at batch 1000 with bfloat16 autocast: the first
compiled training step took 443 s on the busy machine (one thread), and the compiled step then
ran at less than half the eager speed (2.1 s against 0.6 to 0.9 s per step), so FAST does not
compile: compiling alone costs a hundred times the 3 s budget. With other processes busy on
the two cores, two intra-op threads ran up to ten times slower than one (the threads wait for
each other at every operation); on a quiet machine two threads were about 1.4 times faster
than one in earlier runs. Check the load average above.

A sixth round looked for what still separates FAST from the 3 s goal. First the length and
the initialisation (`benchmarks/schedule_trials.py`, same protocol, seeds 0 to 4; each row
changes FAST as the row says):

| Variant | Validation accuracy | Mean |
|---|---|---|
| 2.05 epochs | 99.22 / 98.82 / 99.06 / 98.90 / 98.90% | 98.98% |
| 2.1 epochs | 99.20 / 98.88 / 99.10 / 98.78 / 99.00% | 98.99% |
| 2.15 epochs | 99.20 / 99.00 / 99.04 / 98.98 / 98.98% | 99.04% |
| 2 epochs, He initialisation | 98.90 / 98.70 / 98.82 / 98.62 / 98.98% | 98.80% |
| 2 epochs, He init., fc3 at zero | 98.90 / 98.66 / 98.78 / 98.82 / 98.94% | 98.82% |
| 2 epochs, He init., max_lr 0.03 | 98.94 / 98.88 / 98.76 / 98.82 / 99.00% | 98.88% |

2.15 epochs passed 99.0% by less than one standard error, so it trained seeds 5 to 9:
99.06 / 98.98 / 98.98 / 99.06 / 98.82% (98.98%), a ten-seed mean of 99.01%. FAST's own seeds
5 to 9 gave 99.02 / 98.88 / 98.96 / 99.02 / 98.98% (98.97%), a ten-seed mean of 99.02%. Every
length from 2 to 2.25 epochs sits at 99.0% within the noise. Switching to 2.15 epochs would
save 4% of the steps on the strength of a 0.01-point margin, so FAST stays at 2.25 epochs.
He initialisation (`kaiming_normal_` for ReLU, zero biases, in every layer but fc3, which
keeps PyTorch's default unless the row says otherwise) loses to PyTorch's default here.

Then the step. conv1's max pooling works on 6 channels, and PyTorch's channels_last CPU kernel
vectorises across channels (32 bfloat16 values at a time with AVX-512), so it runs scalar
code. `benchmarks/pooling_trials.py` times FAST's step with other ways to compute the same
pooling. Each of them gives bit-identical values and input gradients, ties included, and the
script checks this on a real batch. Two bounds replace pooling by taking every other row and
column: those models are not LeNet-5, but they show the most that any pooling kernel could
save. ms per step, the median of nine interleaved rounds of 150 steps, two threads:

| Step variant | ms per step |
|---|---:|
| LeNet-5 (FAST) | 6.72 |
| pooling before ReLU, F.max_pool2d | 6.61 |
| oneDNN's pooling primitive (through `to_mkldnn`) | 6.83 |
| elementwise maxima in an `autograd.Function` | 6.93 |
| the batch moved into the channels (1, N x 6, 28, 28), where the kernel vectorises | 7.51 |
| bound: conv1's pooling costs nothing | 5.47 |
| bound: both poolings cost nothing | 5.30 |

conv1's pooling costs 1.25 ms of the 6.72 ms step (19%). No exact rewrite from PyTorch
operators saves more than 2% (pooling before ReLU), inside the spread of the rounds, and the
others are slower. An earlier set of nine rounds, with a loop that left out the schedule, gave
6.46 ms for the step and 6.32 to 6.59 ms for the rewrites: no gain there either. The
elementwise version spends its time in comparisons that write booleans and in strided copies,
each about as slow per element as the scalar kernel.

FAST's 495 steps fit in 3 s at 6.06 ms per step, so conv1's pooling would have to cost about
0.6 ms instead of 1.25 ms in this run, and less on a busier machine. That takes a C++ kernel
that vectorises across the batch or the width, which a course installed with pip (on Colab too)
should not have to compile. Upstream, CPU max pooling is an open performance issue
(pytorch/pytorch#51393, #28733).

Process settings, measured with `fast_lenet.py` (seeds 0 to 2, two interleaved rounds, two
threads):
- glibc's allocator kept from returning freed memory to the system (`MALLOC_MMAP_THRESHOLD_`
  and `MALLOC_TRIM_THRESHOLD_` at 1 GiB): minor page faults per run fell from about 93,000 to
  770, and system time from 0.18 s to 0.01 s. The median was 3.56 s, against 3.64 s as is;
- threads pinned to cores (`OMP_PROC_BIND=close OMP_PLACES=cores`): 3.53 s.

The eighteen runs ranged from 3.24 to 4.04 s, so neither setting changed anything beyond the
spread.

The same code on the issue's machine and on this one: the recipe that the issue timed at 4.9 s
on an Intel Xeon with AMX (FAST as it then was: two epochs at batch 128, max_lr 0.01, 20%
warm-up, the foreach AdamW) took 3.92 / 3.92 / 3.93 s here. In the same minutes, FAST took
3.43 to 3.54 s. This AMD EPYC runs the old recipe about a fifth faster than that Xeon did.
"""


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def run(script: str, *args: str) -> dict:
    """Run a benchmark script in its own process; return the JSON of its last output line."""
    command = [sys.executable, str(HERE / script), *args]
    print(f"$ {Path(sys.executable).name} benchmarks/{script} {' '.join(args)}", flush=True)
    lines = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("#"):
                print("  " + line.rstrip(), flush=True)
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"benchmarks/{script} failed with exit status {proc.returncode}")
    return json.loads(lines[-1])


def kept_numpy_table() -> str:
    """The NumPy-versus-PyTorch section of the current RESULTS.md, without its heading."""
    text = RESULTS.read_text() if RESULTS.is_file() else ""
    _, found, table = text.partition(NUMPY_HEADING + "\n")
    if not found:
        raise SystemExit(f"--keep-numpy-table: {RESULTS.name} has no {NUMPY_HEADING!r} section")
    return table.strip() + "\n"


def numpy_vs_torch() -> str:
    """Call benchmarks/numpy_vs_torch.py's main() and return its table (what it prints)."""
    path = HERE / "numpy_vs_torch.py"
    if not path.is_file():
        return "_benchmarks/numpy_vs_torch.py does not exist yet: no table._\n"
    spec = importlib.util.spec_from_file_location("numpy_vs_torch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        returned = module.main()
    text = returned if isinstance(returned, str) and returned.strip() else printed.getvalue()
    print(text)
    return text


def gflops(flops_per_second: float) -> str:
    return f"{flops_per_second / 1e9:,.1f}"


def machine_section(peak: dict, threads: int) -> list[str]:
    cpu = peak["cpu"]
    lines = [
        "## This machine's peak",
        "",
        f"CPU: {cpu['model']}, {cpu['logical_cpus']} logical CPUs; torch's CPU capability "
        f"{cpu['torch_cpu_capability']}. Flags: {', '.join(cpu['flags']) or 'none shown'}.",
        "",
        f"A {peak['size']} x {peak['size']} matrix product (torch.mm, 2 n^3 FLOPs) with "
        f"{threads} intra-op thread{'s' if threads != 1 else ''}, as the recipe runs; the best "
        "of the timed products is the peak (another program can only slow a product down).",
        "",
        "| dtype | peak (best) GFLOP/s | median GFLOP/s |",
        "|---|---:|---:|",
    ]
    for dtype in ("float32", "bfloat16"):
        if dtype in peak:
            lines.append(
                f"| {dtype} | {gflops(peak[dtype]['best'])} | {gflops(peak[dtype]['median'])} |"
            )
    if "bfloat16" not in peak:
        lines.append("| bfloat16 | not timed: no avx512_bf16 or amx_bf16 flag | |")
    if not any(f.startswith("amx") for f in cpu["flags"]):
        lines += ["", "This CPU has no AMX: its bfloat16 products run on AVX-512 BF16."]
    return lines + [""]


def median_run(fast: list[dict]) -> dict:
    """The run of (a) with the median training time (the lower middle one for an even count)."""
    ranked = sorted(fast, key=lambda r: r["seconds"])
    return ranked[(len(ranked) - 1) // 2]


def limit_section(profile: dict, fast: list[dict], peak: dict) -> list[str]:
    per_image = profile["flops_per_image"]
    median = median_run(fast)
    by_op = profile["flops_by_operator"]
    lines = [
        "## How close to the limit",
        "",
        f"LeNet-5 costs **{per_image / 1e6:.2f} MFLOP per training image**, forward and "
        "backward, counted by `torch.utils.flop_counter.FlopCounterMode` (2 FLOPs per "
        "multiply-add; benchmarks/profile_step.py): "
        + "; ".join(f"{op.removeprefix('aten.')} {n / 1e6:.3f} M" for op, n in by_op.items())
        + ". By hand: conv1 has 6 x 28 x 28 outputs of 25 multiply-adds (0.235 MFLOP), conv2 "
        "16 x 10 x 10 of 150 (0.480), the linear layers 400 x 120 + 120 x 84 + 84 x 10 "
        "(0.118): 0.833 MFLOP forward. Backward computes each layer's weight gradient and its "
        "input gradient, twice the forward, except conv1's input gradient, which autograd "
        "skips (the images need none): 2 x 0.833 - 0.235 = 1.431 MFLOP. Biases, ReLU, pooling, "
        "the loss and the optimizer add about 2% more and are left out.",
        "",
    ]
    achieved = per_image * median["images"] / median["seconds"]
    return lines + [
        f"The median seed of (a) trained {median['images']:,} images in "
        f"{median['seconds']:.2f} s: **{gflops(achieved)} GFLOP/s**, "
        + ", ".join(
            f"**{achieved / peak[d]['best']:.1%}** of the {d} peak"
            for d in ("bfloat16", "float32")
            if d in peak
        )
        + " measured above. The recipe's convolutions and matrix products run in bfloat16 "
        "under autocast, so the bfloat16 peak is its limit.",
        "",
    ]


def profile_section(profile: dict) -> list[str]:
    step = profile["step_ms"]
    lines = [
        "## Where a training step's time goes",
        "",
        f"torch.profiler over {profile['steps']} steps of the fast recipe (batch "
        f"{profile['batch_size']}, {profile['threads']} intra-op threads) after 20 warm-up "
        "steps: "
        f"{step:.2f} ms per step while profiled. Each operator's self CPU time counts in one "
        "group (benchmarks/profile_step.py says how); what is left of the step's wall-clock "
        "time is Python and dispatch between operators.",
        "",
        "| Where | ms per step | share of the step |",
        "|---|---:|---:|",
    ]
    for group, ms in profile["groups_ms"].items():
        lines.append(f"| {group} | {ms:.2f} | {ms / step:.0%} |")
    return lines + [""]


def per_image(example: dict, fast: dict, lenet_flops: float) -> str:
    """How (b)'s time splits into more images and more time per image than (a)'s."""
    images = example["images"] / fast["images"]
    seconds = (example["seconds"] / example["images"]) / (fast["seconds"] / fast["images"])
    return (
        f"It trained {example['images']:,} images, {images:.1f} times as many as (a)'s median "
        f"seed, and each took {seconds:.1f} times as long (its network costs "
        f"{example['flops_per_image'] / 1e6:.1f} MFLOP per training image, "
        f"{example['flops_per_image'] / lenet_flops:.0f} times LeNet-5's, and its DataLoader "
        "transforms every image in Python)."
    )


def example_section(
    users: dict | None, valid: dict | None, fast: dict, lenet_flops: float
) -> list[str]:
    lines = ["## The pytorch/examples recipe", ""]
    if users is None and valid is None:
        return lines + ["Not run this time (`--skip-example`).", ""]
    if users is not None:
        curve = "; ".join(
            f"{c['epoch']}, {c['seconds']} s, {c['test_accuracy']:.2%}" for c in users["curve"]
        )
        if users["seconds"] is not None:
            lines.append(
                f"(b) As its users run it (all 60,000 training images, test accuracy at every "
                f"epoch end): first >= 99% test accuracy at the end of epoch {users['epochs']}, "
                f"after **{users['seconds']:.1f} s** of training ({users['wall_seconds']:.1f} s "
                f"with its test evaluations): **{users['seconds'] / fast['seconds']:.0f} times** "
                f"the median of (a). " + per_image(users, fast, lenet_flops)
            )
        else:
            lines.append(
                f"(b) As its users run it: no epoch reached 99% test accuracy within "
                f"{users['trained']:.0f} s of training."
            )
        lines += ["", f"Epoch, training seconds, test accuracy: {curve}.", ""]
    if valid is not None:
        curve = "; ".join(
            f"{c['epoch']}, {c['seconds']} s, {c['valid_accuracy']:.2%}" for c in valid["curve"]
        )
        reached = (
            f"stopped at {valid['curve'][-1]['epoch']} epochs after **{valid['seconds']:.1f} s**"
            if valid["seconds"] is not None
            else f"did not reach 99% within {valid['trained']:.0f} s"
        )
        lines += [
            f"(b') With the course's stop rule instead (the 55,000-image split, shuffled, "
            f"validation accuracy every quarter epoch, the test set once at the end): {reached}, "
            f"with {valid['valid_accuracy']:.2%} validation and {valid['accuracy']:.2%} test "
            f"accuracy"
            + (
                f", {valid['seconds'] / fast['seconds']:.0f} times the median of (a). "
                + per_image(valid, fast, lenet_flops)
                if valid["seconds"] is not None
                else "."
            )
            + f" Epoch, training seconds, validation accuracy: {curve}.",
            "",
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cap", type=float, default=900.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--skip-example", action="store_true", help="skip the slow pytorch/examples runs"
    )
    parser.add_argument(
        "--keep-numpy-table",
        action="store_true",
        help="keep the NumPy-versus-PyTorch section of RESULTS.md instead of measuring it again",
    )
    args = parser.parse_args(argv)
    started, clock, load_before = dt.datetime.now(), time.perf_counter(), load()
    busy_before = os.getloadavg()[0] > BUSY
    threads = ["--threads", str(args.threads)]
    print(
        f"torch {torch.__version__} on {platform.system()} {platform.release()}, load {load_before}"
    )

    peak = run("peak.py", *threads)
    profile = run("profile_step.py", *threads)
    fast = [run("fast_lenet.py", "--seed", str(s), *threads) for s in args.seeds]
    for r in fast:
        print(
            f"  (a) seed {r['seed']}: {r['seconds']:.2f} s of training, validation accuracy "
            f"{r['valid_accuracy']:.2%}, test accuracy {r['accuracy']:.2%}"
        )
    fast_median = statistics.median(r["seconds"] for r in fast)
    users = valid = None
    if not args.skip_example:
        cap = ["--cap", str(args.cap)]
        users = run("pytorch_example.py", "--as-users", *cap, *threads)
        valid = run("pytorch_example.py", "--validation", *cap, *threads)
    table = kept_numpy_table() if args.keep_numpy_table else numpy_vs_torch()

    tests = [r["accuracy"] for r in fast]
    spread = statistics.stdev(tests) if len(tests) > 1 else 0.0
    met = all(t >= TARGET for t in tests) and fast_median <= GOAL_SECONDS
    recipe = fast[0]["recipe"]
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (benchmarks/bench.py); rerun it to refresh this file.",
        "",
        f"- date: {started:%Y-%m-%d %H:%M}; the whole run took {time.perf_counter() - clock:.0f} s",
        f"- machine: {peak['cpu']['model']}, {peak['cpu']['logical_cpus']} logical CPUs, "
        f"{platform.system()} {platform.release()}",
        f"- torch {torch.__version__}, intra-op threads per run: {args.threads}",
        f"- load average (1 / 5 / 15 min): {load_before} before, {load()} after",
        "",
        *(
            [
                f"**Measured on a busy machine** (load average {load_before} before the run): "
                "other programs shared the cores, so the times below are not quiet-machine "
                "figures.",
                "",
            ]
            if busy_before
            else []
        ),
        *machine_section(peak, args.threads),
        "## LeNet-5 to 99% MNIST accuracy on the CPU",
        "",
        "Training time only: the data is loaded, normalised and laid out before the clock; "
        "evaluation is excluded. The recipe trains on 55,000 of the 60,000 training images "
        "(`torchcourse.lenet.split_indices`), and each trained model is evaluated once, at the "
        "end, on the other 5,000 (validation) and on the 10,000 test images.",
        "",
        "| Recipe | Seed | Training time | Validation accuracy | Test accuracy |",
        "|---|---|---|---|---|",
    ]
    for r in fast:
        lines.append(
            f"| (a) chapter 07, LeNet-5 fast recipe, fixed length | {r['seed']} "
            f"| {r['seconds']:.2f} s | {r['valid_accuracy']:.2%} | {r['accuracy']:.2%} |"
        )
    lines += [
        "",
        f"(a) over {len(fast)} seed{'s' if len(fast) != 1 else ''}: median training time "
        f"**{fast_median:.2f} s**; test "
        f"accuracy {statistics.mean(tests):.2%} on average (standard deviation {spread:.2%}), "
        f"from {min(tests):.2%} to {max(tests):.2%}.",
        "",
        f"Goal: a median of at most {GOAL_SECONDS:.0f} s of training on this machine, every "
        f"seed at >= 99.0% test accuracy: **{'met' if met else 'not met'}**.",
        "",
        "Recipe (a), `torchcourse.lenet.FAST`: "
        + ", ".join(f"{k}={v}" for k, v in recipe.items())
        + ".",
        "",
        *limit_section(profile, fast, peak),
        *profile_section(profile),
        *example_section(users, valid, median_run(fast), profile["flops_per_image"]),
        NOTES,
        NUMPY_HEADING,
        "",
        table.rstrip(),
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines[lines.index("## This machine's peak") :]))
    print(f"wrote {RESULTS.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
