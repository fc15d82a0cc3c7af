"""torchcourse.distributed: real gloo groups on 127.0.0.1, functions sent by value, clear
messages instead of hangs, and no process left behind."""

from __future__ import annotations

import contextlib
import multiprocessing.forkserver
import os
import pickle
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import types
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from torchcourse import distributed
from torchcourse.distributed import RankError, dumps, free_port, run_group, run_ranks
from torchcourse.errors import CourseError

ROOT = Path(__file__).resolve().parents[1]


def _notebook_function(source: str, name: str, **names):
    """A function defined the way a notebook cell defines it: in a module nobody can import."""
    namespace = {"__name__": "__main__", "torch": torch, "dist": dist, **names}
    exec(compile(textwrap.dedent(source), "<ipython-input-1>", "exec"), namespace)
    return namespace[name]


def _children_of_the_forkserver() -> list[int]:
    """The live processes the forkserver started (Linux: read from /proc)."""
    server = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    if server is None or not Path("/proc").is_dir():
        pytest.skip("needs the forkserver and /proc")
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == server and fields[0] != "Z":
            children.append(int(stat.parent.name))
    return children


def test_results_come_back_in_rank_order_with_the_printed_lines(capsys):
    def rank_and_size():
        print("hello from", dist.get_rank())
        return dist.get_rank(), dist.get_world_size(), dist.get_backend()

    assert run_ranks(rank_and_size) == [(0, 2, "gloo"), (1, 2, "gloo")]
    assert capsys.readouterr().out == "[rank 0] hello from 0\n[rank 1] hello from 1\n"


def test_a_notebook_function_runs_with_its_globals_closure_and_defaults():
    scale = 10

    def helper(t):
        return t * scale  # a closure over scale

    function = _notebook_function(
        """
        def summed(offset, *, extra=1.0):
            t = torch.tensor([dist.get_rank() + offset])
            dist.all_reduce(t)
            return helper(t).item() + extra + factorial(3)

        def factorial(k):  # recursive, found through the module's globals
            return 1 if k <= 1 else k * factorial(k - 1)
        """,
        "summed",
        helper=helper,
    )
    assert run_ranks(function, 1.0, world_size=3) == [67.0, 67.0, 67.0]  # (1 + 2 + 3) * 10 + 1 + 3!


def test_functions_that_another_process_cannot_import_are_sent_by_value():
    function = _notebook_function("def f(x):\n    return x + 1\n", "f")
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(function)  # pickle itself would send a name the rank cannot resolve
    assert pickle.loads(dumps(function))(1) == 2
    assert pickle.loads(dumps(lambda x: x * 2))(4) == 8
    assert pickle.loads(dumps(free_port)) is free_port  # importable: sent by name


def test_a_rank_that_skips_a_collective_is_named_at_once():
    function = _notebook_function(
        """
        def skip():
            t = torch.ones(1)
            if dist.get_rank() == 0:
                dist.all_reduce(t)
        """,
        "skip",
    )
    with pytest.raises(RankError, match="rank 1 never joined the all_reduce"):
        run_group(function, timeout=20)


def test_collectives_called_in_different_orders_are_named():
    function = _notebook_function(
        """
        def swapped():
            t = torch.ones(1)
            if dist.get_rank() == 0:
                dist.all_reduce(t)
            else:
                dist.broadcast(t, 0)
        """,
        "swapped",
    )
    with pytest.raises(RankError, match="rank 0 called all_reduce where rank 1 called broadcast"):
        run_group(function, timeout=20)


def test_a_point_to_point_deadlock_is_reported_and_every_process_ends():
    function = _notebook_function(
        """
        def everyone_sends_first():
            other = 1 - dist.get_rank()
            dist.send(torch.ones(4), other)
            dist.recv(torch.ones(4), other)
        """,
        "everyone_sends_first",
    )
    with pytest.raises(RankError, match="rank 0 waits in send, rank 1 waits in send"):
        run_group(function, timeout=20)
    assert _children_of_the_forkserver() == []


def test_an_endless_loop_meets_the_deadline_and_is_killed():
    function = _notebook_function("def forever():\n    while True:\n        pass\n", "forever")
    with pytest.raises(RankError, match="did not finish within 2 s"):
        run_group(function, timeout=2)
    assert _children_of_the_forkserver() == []


@pytest.mark.parametrize(
    ("ending", "words"),
    [
        ("os._exit(3)", "exit code 3"),
        ("os.kill(os.getpid(), signal.SIGKILL)", "killed by signal SIGKILL"),
    ],
)
def test_a_rank_whose_process_dies_is_named_with_how_it_ended(ending, words):
    function = _notebook_function(
        f"def dies():\n    if dist.get_rank() == 1:\n        {ending}\n",
        "dies",
        os=os,
        signal=signal,
    )
    with pytest.raises(RankError, match=f"rank 1's process ended \\({words}\\)") as caught:
        run_group(function, timeout=20)
    assert "recv" not in str(caught.value), "nothing was received: say how it ended, no guess"


def test_a_recv_that_gets_more_than_its_tensor_holds_is_named():
    function = _notebook_function(
        """
        def mismatch():
            if dist.get_rank() == 0:
                dist.send(torch.ones(1000), 1)
            else:
                dist.recv(torch.ones(10), 0)
        """,
        "mismatch",
    )
    with pytest.raises(RankError, match="recv"):
        run_group(function, timeout=30)


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"world_size": 0}, "world_size must be a whole number of processes, 1 or more, not 0"),
        ({"world_size": -1}, "not -1"),
        ({"world_size": 2.0}, "not 2.0"),
        ({"timeout": 0}, "timeout must be a positive number of seconds, not 0"),
        ({"timeout": -5}, "not -5"),
        ({"timeout": float("nan")}, "not nan"),
    ],
)
def test_impossible_arguments_are_one_line_before_anything_starts(arguments, words):
    with pytest.raises(CourseError, match=re.escape(words)) as caught:
        run_ranks(os.getpid, **arguments)
    assert "\n" not in str(caught.value)


def test_attributes_named_like_unpicklable_notebook_globals_are_not_sent():
    """IPython's globals hold `exit` and `quit` (which reach its sqlite history): a function
    using `sys.exit` or `ns.exit` uses the attribute, not those globals."""
    function = _notebook_function(
        """
        def uses_attributes():
            ns = types.SimpleNamespace(exit=dist.get_rank())
            return ns.exit, sys.exit.__name__
        """,
        "uses_attributes",
        types=types,
        sys=sys,
        exit=threading.Lock(),  # cannot be pickled, like IPython's ExitAutocall
        quit=threading.Lock(),
    )
    assert run_ranks(function) == [(0, "exit"), (1, "exit")]


def _descendants(pid: int) -> set[int]:
    """The live processes below pid (Linux: read from /proc); zombies count as ended."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_ranks_die_with_a_parent_killed_by_sigkill(tmp_path):
    """What the out-of-memory killer or a crashed Jupyter does to a kernel running run_ranks:
    the ranks, the forkserver and the resource tracker must not stay behind."""
    script = tmp_path / "kernel.py"
    script.write_text(
        "import time\n"
        "from torchcourse.distributed import run_ranks\n"
        "def waits():\n"
        "    print('running', flush=True)\n"
        "    time.sleep(120)\n"
        "run_ranks(waits, timeout=300)\n"
    )
    kernel = subprocess.Popen([sys.executable, str(script)], env=_env())
    try:
        deadline = time.monotonic() + 240
        below: set[int] = set()
        while time.monotonic() < deadline and len(below) < 4:  # 2 ranks, forkserver, tracker
            time.sleep(0.5)
            below = _descendants(kernel.pid)
        assert len(below) >= 4, f"the ranks did not start: {below}"
        time.sleep(1)
        below = _descendants(kernel.pid)
    finally:
        kernel.kill()
        kernel.wait()
    deadline = time.monotonic() + 5
    while (survivors := [pid for pid in below if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in survivors:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert survivors == [], "processes outlived their parent by 5 s"


def test_an_exception_reports_its_rank_type_and_message():
    function = _notebook_function(
        "def fails():\n    if dist.get_rank() == 1:\n        raise ValueError('boom')\n", "fails"
    )
    with pytest.raises(RankError) as caught:
        run_group(function, timeout=20)
    assert (caught.value.rank, caught.value.error_type, caught.value.detail) == (
        1,
        "ValueError",
        "boom",
    )
    assert "on rank 1 your code raised ValueError: boom" in str(caught.value)


def test_no_process_outlives_a_run():
    outcome = run_group(os.getpid)
    for pid in outcome.results:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_elements_sent_and_collectives_are_counted():
    function = _notebook_function(
        """
        def exchange():
            rank = dist.get_rank()
            if rank == 0:
                dist.send(torch.ones(5), 1)
            else:
                dist.recv(torch.ones(5), 0)
            dist.barrier()
        """,
        "exchange",
    )
    outcome = run_group(function)
    assert outcome.sent == [5, 0]
    assert outcome.collectives == [["barrier"], ["barrier"]]


# A script without a main guard. Its ranks all-reduce until this test's own group has run
# meanwhile (the test then creates `stop`), so two groups surely run at the same time.
SCRIPT = """\
import os, sys, time, torch, torch.distributed as dist
from torchcourse.distributed import run_ranks
print('script ran')
def until_stopped(folder):
    open(os.path.join(folder, f'running{dist.get_rank()}'), 'w').close()
    t = torch.ones(1)
    while True:
        stop = torch.tensor([float(os.path.exists(os.path.join(folder, 'stop')))])
        dist.all_reduce(stop, op=dist.ReduceOp.MAX)  # the ranks stop together
        if stop.item():
            return dist.get_rank()
        dist.all_reduce(t)
        time.sleep(0.01)
print(run_ranks(until_stopped, sys.argv[1], timeout=240))
"""


@pytest.fixture(scope="module")
def script_beside_a_group(tmp_path_factory) -> dict:
    """SCRIPT in a process of its own and, while its ranks run, a group of this process (as
    under pytest-xdist): the script's return code, output and errors, this group's results,
    and whether the script's ranks ran before and after this group."""
    folder = tmp_path_factory.mktemp("script")
    (folder / "script.py").write_text(SCRIPT)
    script = subprocess.Popen(
        [sys.executable, str(folder / "script.py"), str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )

    def total():
        t = torch.ones(1)
        for _ in range(200):
            dist.all_reduce(t)
            t /= 2
        return t.item()

    try:
        deadline = time.monotonic() + 240
        running = [folder / f"running{rank}" for rank in (0, 1)]
        while not all(p.exists() for p in running) and script.poll() is None:
            assert time.monotonic() < deadline, "the script's ranks did not start"
            time.sleep(0.1)
        before = all(p.exists() for p in running) and script.poll() is None
        here = run_ranks(total)
        after = script.poll() is None
    finally:
        (folder / "stop").touch()
    out, err = script.communicate(timeout=300)
    return {"script": (script.returncode, out, err), "here": here, "overlap": before and after}


def test_a_script_without_a_main_guard_is_not_run_again_in_the_ranks(script_beside_a_group):
    returncode, out, err = script_beside_a_group["script"]
    assert returncode == 0, err
    assert out == "script ran\n[0, 1]\n", "the script ran once, in its own process only"


def test_two_groups_at_once_on_one_machine_pick_their_own_ports(script_beside_a_group):
    """Two processes each running a group at the same time."""
    assert script_beside_a_group["overlap"], "the script's group ran all through this one's"
    assert script_beside_a_group["here"] == [1.0, 1.0]
    returncode, out, err = script_beside_a_group["script"]
    assert returncode == 0, err
    assert out.endswith("[0, 1]\n")


def test_free_port_can_be_bound():
    port = free_port()
    with socket.socket() as sock:
        sock.bind((distributed.HOST, port))


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{path}".rstrip(os.pathsep)}
