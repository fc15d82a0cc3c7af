"""Run a function on a real process group: N processes joined by gloo on 127.0.0.1.

`run_ranks(fn, *args, world_size=2)` starts world_size processes, joins them in a gloo process
group (the rendezvous store sits on a free port that rank 0 picks, so runs never collide), calls
`fn(*args)` in each, and returns the list of results in rank order. It works for functions
defined in a notebook: those are sent by value (their code and the globals they use), because
a new process cannot import them by name. What a rank prints is shown afterwards, prefixed with
its rank. Nothing outlives a call: every process is waited for, or killed after a deadline,
and a rank ends by itself when its parent dies, whatever killed the parent (a lifeline pipe the
parent alone holds: when it closes, the rank exits).

While the ranks run, the parent follows every collective and point-to-point call they make, so
a rank that skips a collective gives a clear message ("rank 1 never joined the all_reduce")
instead of a hang.
"""

from __future__ import annotations

import builtins
import contextlib
import dis
import functools
import importlib
import io
import itertools
import marshal
import math
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import socket
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from datetime import timedelta

import torch
import torch.distributed as dist

from torchcourse.errors import CourseError
from torchcourse.i18n import _

HOST = "127.0.0.1"
COLLECTIVES = (
    "all_reduce",
    "broadcast",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "broadcast_object_list",
    "reduce",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "gather",
    "gather_object",
    "scatter",
    "scatter_object_list",
    "all_to_all",
    "all_to_all_single",
    "barrier",
    "monitored_barrier",
)
POINT_TO_POINT = ("send", "recv", "isend", "irecv")
STALL_SECONDS = 3.0  # every live rank waiting in a call, and nothing happening: a deadlock


class RankError(CourseError):
    """A rank failed: its code raised, the ranks deadlocked, or a deadline passed.

    error_type and detail are the name and message of the exception a rank's code raised
    ("" for a deadlock or a timeout).
    """

    def __init__(
        self, message: str, rank: int | None = None, error_type: str = "", detail: str = ""
    ) -> None:
        super().__init__(message)
        self.rank, self.error_type, self.detail = rank, error_type, detail


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# Sending functions by value ---------------------------------------------------------------


def _importable(fn: types.FunctionType) -> bool:
    """fn can be found again by its module and qualified name in another process."""
    name = fn.__module__
    if name in (None, "__main__", "__mp_main__") or name not in sys.modules:
        return False
    found: object = sys.modules[name]
    for part in fn.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is fn


GLOBAL_OPS = {
    "LOAD_GLOBAL",
    "STORE_GLOBAL",
    "DELETE_GLOBAL",
    "LOAD_NAME",
    "LOAD_FROM_DICT_OR_GLOBALS",
}


def _global_names(code: types.CodeType) -> set[str]:
    """The global names code (and the functions and classes inside it) reads or writes; not
    attribute names such as the `exit` of `sys.exit`, which a notebook's globals may also hold."""
    names = {op.argval for op in dis.get_instructions(code) if op.opname in GLOBAL_OPS}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _function_skeleton(code: bytes, name: str, cells: int) -> types.FunctionType:
    closure = tuple(types.CellType() for _ in range(cells)) or None
    globals_ = {"__builtins__": builtins}
    return types.FunctionType(marshal.loads(code), globals_, name, None, closure)


class _EmptyCell:
    """Stands for a closure cell that holds no value yet."""


def _fill_function(fn: types.FunctionType, state: dict) -> None:
    fn.__globals__.update(state["globals"])
    fn.__defaults__, fn.__kwdefaults__ = state["defaults"], state["kwdefaults"]
    fn.__module__, fn.__qualname__, fn.__doc__ = state["module"], state["qualname"], state["doc"]
    fn.__dict__.update(state["dict"])
    for cell, value in zip(fn.__closure__ or (), state["closure"]):
        if not isinstance(value, _EmptyCell):
            cell.cell_contents = value


def _cell_value(cell: types.CellType) -> object:
    try:
        return cell.cell_contents
    except ValueError:
        return _EmptyCell()


class _Pickler(pickle.Pickler):
    """pickle, plus functions that another process cannot import (sent as code and globals)."""

    def reducer_override(self, obj):
        if isinstance(obj, types.ModuleType):
            if obj.__name__ in ("__main__", "__mp_main__"):
                raise pickle.PicklingError(_("the notebook's own module cannot be sent"))
            return importlib.import_module, (obj.__name__,)
        if isinstance(obj, types.FunctionType) and not _importable(obj):
            code = obj.__code__
            used = _global_names(code)
            state = {
                "globals": {k: v for k, v in obj.__globals__.items() if k in used},
                "defaults": obj.__defaults__,
                "kwdefaults": obj.__kwdefaults__,
                "module": obj.__module__,
                "qualname": obj.__qualname__,
                "doc": obj.__doc__,
                "dict": obj.__dict__,
                "closure": [_cell_value(c) for c in obj.__closure__ or ()],
            }
            args = (marshal.dumps(code), obj.__name__, len(obj.__closure__ or ()))
            return _function_skeleton, args, state, None, None, _fill_function
        return NotImplemented


def dumps(obj: object) -> bytes:
    """obj pickled so that another process can load it, functions from a notebook included."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


# What runs in each rank -------------------------------------------------------------------


class _Watch:
    """Tells the parent about every torch.distributed call this rank makes (outermost only)."""

    def __init__(self, conn) -> None:
        self.conn, self.depth, self.calls = conn, threading.local(), itertools.count()

    def wrap(self, name: str, real):
        kind = "collective" if name in COLLECTIVES else "p2p"

        @functools.wraps(real)
        def watched(*args, **kwargs):
            if getattr(self.depth, "value", 0):
                return real(*args, **kwargs)
            call = next(self.calls)
            self.conn.send(("start", call, name, kind, _size(args, kwargs)))
            self.depth.value = 1
            try:
                work = real(*args, **kwargs)
            except BaseException as err:
                _tag(err, name)
                raise
            finally:
                self.depth.value = 0
                self.conn.send(("end", call))
            return _WatchedWork(work, name, self) if _is_work(work) else work

        return watched

    def install(self) -> None:
        from torch.distributed import distributed_c10d

        for name in COLLECTIVES + POINT_TO_POINT:
            real = getattr(distributed_c10d, name, None)
            if real is not None:
                watched = self.wrap(name, real)
                setattr(distributed_c10d, name, watched)
                setattr(dist, name, watched)


def _tag(err: BaseException, call: str) -> None:
    """Mark an exception as raised inside a torch.distributed call (not by the learner's code)."""
    with contextlib.suppress(AttributeError):
        err.torchcourse_call = call


def _size(args: tuple, kwargs: dict) -> int:
    """The number of elements of the tensor a call sends (its first argument)."""
    tensor = args[0] if args else kwargs.get("tensor")
    return tensor.numel() if isinstance(tensor, torch.Tensor) else 0


def _is_work(value: object) -> bool:
    return hasattr(value, "wait") and hasattr(value, "is_completed")


class _WatchedWork:
    """An async handle whose wait() the parent sees (a rank may block there)."""

    def __init__(self, work, name: str, watch: _Watch) -> None:
        self._work, self._name, self._watch = work, name, watch

    def wait(self, *args, **kwargs):
        call = next(self._watch.calls)
        waiting = _("the wait of {call}").format(call=self._name)
        self._watch.conn.send(("start", call, waiting, "wait", 0))
        try:
            return self._work.wait(*args, **kwargs)
        except BaseException as err:
            _tag(err, self._name)
            raise
        finally:
            self._watch.conn.send(("end", call))

    def __getattr__(self, name: str):
        return getattr(self._work, name)


def _silence_output_fds() -> None:
    """C++ warnings of this rank must not land in a notebook cell: fds 1 and 2 to devnull."""
    null = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        with contextlib.suppress(OSError):
            os.dup2(null, fd)
    os.close(null)


def _no_core_dumps() -> None:
    """A rank that gloo aborts should end at once, not spend seconds writing a core file."""
    try:
        import resource
    except ImportError:  # Windows
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def use_libuv() -> bool:
    """TCPStore's default libuv backend, except where it is missing: PyTorch's Windows wheels
    lack it. USE_LIBUV=0 turns it off, as torchrun reads it."""
    return sys.platform != "win32" and os.environ.get("USE_LIBUV", "1") == "1"


def _join_group(rank: int, world_size: int, conn, timeout: timedelta) -> None:
    options = {"timeout": timeout, "use_libuv": use_libuv()}
    if rank == 0:
        store = dist.TCPStore(
            HOST, 0, world_size, is_master=True, wait_for_workers=False, **options
        )
        conn.send(("port", store.port))
    else:
        store = dist.TCPStore(HOST, conn.recv(), world_size, is_master=False, **options)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size, timeout=timeout)


def _die_with_parent(lifeline) -> None:
    """End this process as soon as the parent's end of the lifeline closes: the parent died
    (killed, out of memory, a crashed kernel) and nobody will ever collect this rank."""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv_bytes()  # the parent never writes: this returns when it dies
        os._exit(1)

    threading.Thread(target=watch, name="torchcourse-lifeline", daemon=True).start()


def _rank_main(
    rank: int, world_size: int, conn, lifeline, payload: bytes, timeout_s: float
) -> None:
    """One rank: join the group, run the function, report, wait for the parent's go to exit."""
    _die_with_parent(lifeline)
    _silence_output_fds()
    _no_core_dumps()
    torch.set_num_threads(1)
    out = io.StringIO()
    try:
        _join_group(rank, world_size, conn, timedelta(seconds=timeout_s))
        _Watch(conn).install()
        fn, args = _load(payload)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            result = fn(*args)
        message = ("done", _dump_result(result), out.getvalue())
    except BaseException as err:  # reported to the parent, which decides what to say
        call = getattr(err, "torchcourse_call", None)
        message = ("error", type(err).__name__, _text(err), call, out.getvalue())
    try:
        conn.send(message)
        conn.recv()  # the parent's go: all ranks are done, or it gave up on them
    except (EOFError, OSError):
        pass
    finally:
        if dist.is_initialized():
            with contextlib.suppress(Exception):
                dist.destroy_process_group()
        conn.close()


def _load(payload: bytes):
    try:
        return pickle.loads(payload)
    except Exception as err:
        raise RuntimeError(
            _(
                "the function needs something that a new process cannot load ({error}): define "
                "the classes it uses inside the function, or in a module"
            ).format(error=_text(err))
        ) from None


def _dump_result(result: object) -> bytes:
    try:
        return dumps(result)
    except Exception as err:
        raise RuntimeError(
            _("the function's result cannot be sent back: {error}").format(error=_text(err))
        ) from None


def _text(err: BaseException) -> str:
    try:
        return " ".join(str(err).split())
    except Exception:
        return ""


# The parent: start, follow, diagnose, tear down ------------------------------------------


@dataclass
class _Rank:
    rank: int
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection
    collectives: list[str] = field(default_factory=list)
    waiting: str | None = None  # the call it is blocked in now, if any
    call: int | None = None
    finished: bool = False
    result: object = None
    error: tuple[str, str, str | None] | None = None  # (type, message, dist call or None)
    output: str = ""
    sent: int = 0  # tensor elements sent with send/isend
    unwaited: int = 0  # isend/irecv requests started but not waited for


@contextlib.contextmanager
def _without_main_module():
    """Hide the caller's __main__ while processes start, so that they never run it again.

    multiprocessing re-imports the main script in new processes (hence the usual
    `if __name__ == "__main__":` guard); the ranks need nothing from it, since functions are
    sent by value.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        # DistributedDataParallel imports torch._dynamo when it is built: seconds, once here
        context.set_forkserver_preload(["torchcourse.distributed", "torch._dynamo"])
        return context
    return multiprocessing.get_context("spawn")


class _Group:
    """world_size processes running fn, followed until they finish, deadlock or time out."""

    def __init__(self, payload: bytes, world_size: int, timeout: float) -> None:
        self.world_size, self.timeout = world_size, timeout
        self.ranks: list[_Rank] = []
        self.problem: RankError | None = None
        context = _context()
        lifeline, self.lifeline = context.Pipe(duplex=False)  # the ranks read, we hold the end
        for rank in range(world_size):
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=_rank_main,
                args=(rank, world_size, child_end, lifeline, payload, timeout),
                daemon=True,
                name=f"torchcourse-rank-{rank}",
            )
            with _without_main_module():
                process.start()
            child_end.close()
            self.ranks.append(_Rank(rank, process, parent_end))
        lifeline.close()

    def follow(self) -> None:
        deadline = time.monotonic() + self.timeout
        last_event = time.monotonic()
        while self.problem is None and not all(r.finished for r in self.ranks):
            now = time.monotonic()
            if now > deadline:
                self.problem = self._timed_out()
                return
            if now - last_event > STALL_SECONDS and self._all_waiting():
                self.problem = self._stalled()
                return
            live = [r.conn for r in self.ranks if not r.finished]
            for conn in multiprocessing.connection.wait(live, timeout=0.2):
                rank = next(r for r in self.ranks if r.conn is conn)
                self._receive(rank)
                last_event = time.monotonic()

    def _receive(self, rank: _Rank) -> None:
        try:
            message = rank.conn.recv()
        except (EOFError, OSError):
            rank.finished, rank.error = True, ("", "", None)
            self.problem = self._crashed(rank)
            return
        kind = message[0]
        if kind == "port":
            for other in self.ranks[1:]:
                other.conn.send(message[1])
        elif kind == "start":
            call, name, what, size = message[1:]
            rank.waiting, rank.call = name, call
            if name in ("send", "isend"):
                rank.sent += size
            if name in ("isend", "irecv"):
                rank.unwaited += 1
            if what == "wait":
                rank.unwaited = max(0, rank.unwaited - 1)
            if what == "collective":
                rank.collectives.append(name)
                self._check_order(rank)
                self._check_skipped()
        elif kind == "end":
            if rank.call == message[1]:
                rank.waiting, rank.call = None, None
        elif kind == "done":
            rank.finished, rank.result, rank.output = True, message[1], message[2]
            self._check_skipped()
        elif kind == "error":
            rank.finished, rank.error, rank.output = True, message[1:4], message[4]
            if message[3] is None:  # the learner's own code raised: that is the news
                self.problem = RankError(
                    _("on rank {rank} your code raised {error_type}: {error}").format(
                        rank=rank.rank, error_type=message[1], error=message[2]
                    ),
                    rank.rank,
                    message[1],
                    message[2],
                )
            else:
                self._check_skipped()

    def _check_order(self, rank: _Rank) -> None:
        index = len(rank.collectives) - 1
        for other in self.ranks:
            if other is not rank and len(other.collectives) > index:
                if other.collectives[index] != rank.collectives[index]:
                    first, second = sorted((rank, other), key=lambda r: r.rank)
                    self.problem = RankError(
                        _(
                            "rank {a} called {name_a} where rank {b} called {name_b} (collective "
                            "call {n} of each): every rank must call the same collectives in "
                            "the same order"
                        ).format(
                            a=first.rank,
                            name_a=first.collectives[index],
                            b=second.rank,
                            name_b=second.collectives[index],
                            n=index + 1,
                        )
                    )
                    return

    def _check_skipped(self) -> None:
        """A rank that has returned never joins another collective: whoever waits in one waits
        forever."""
        for finished in (r for r in self.ranks if r.finished):
            count = len(finished.collectives)
            for other in self.ranks:
                if len(other.collectives) <= count or (other.finished and other.error is None):
                    continue
                self.problem = RankError(
                    _(
                        "rank {missing} never joined the {name}: it returned after {count} "
                        "collective call(s), while rank {waiting} waited in its call number "
                        "{n}. Every rank must make the same collective calls; a rank that skips "
                        "one leaves the others waiting forever"
                    ).format(
                        missing=finished.rank,
                        name=other.collectives[count],
                        count=count,
                        waiting=other.rank,
                        n=count + 1,
                    )
                )
                return

    def _all_waiting(self) -> bool:
        live = [r for r in self.ranks if not r.finished]
        return bool(live) and all(r.waiting for r in live)

    def _describe_waits(self) -> str:
        parts = []
        for r in self.ranks:
            if r.finished:
                parts.append(_("rank {rank} has returned").format(rank=r.rank))
            elif r.waiting:
                parts.append(_("rank {rank} waits in {call}").format(rank=r.rank, call=r.waiting))
            else:
                parts.append(_("rank {rank} is still computing").format(rank=r.rank))
        return _(", ").join(parts)  # a list separator: "，" in Chinese

    def _crashed(self, rank: _Rank) -> RankError:
        rank.process.join(5)  # its exit code tells how it ended
        code = rank.process.exitcode
        how = (
            _("killed by signal {name}").format(name=signal.Signals(-code).name)
            if code is not None and code < 0 and -code in signal.valid_signals()
            else _("exit code {code}").format(code=code)
        )
        if "recv" in (rank.waiting or ""):  # recv, irecv, or the wait of an irecv
            return RankError(
                _(
                    "rank {rank}'s process crashed ({how}) in {call}. With gloo this happens "
                    "when a recv gets more data than its tensor holds: every recv needs a tensor "
                    "of the size of the matching send"
                ).format(rank=rank.rank, how=how, call=rank.waiting),
                rank.rank,
            )
        return RankError(
            _(
                "rank {rank}'s process ended ({how}) before its function returned: something "
                "in it exited the process (os._exit, a crash in a library), or it was killed "
                "(out of memory?)"
            ).format(rank=rank.rank, how=how),
            rank.rank,
        )

    def _stalled(self) -> RankError:
        if any(r.unwaited for r in self.ranks):
            return RankError(
                _(
                    "the ranks are stuck ({waits}; nothing happened for {seconds:.0f} s), and "
                    "some dist.isend or dist.irecv was never waited for: keep the request each "
                    "returns and call its .wait(), or the transfer may never happen"
                ).format(waits=self._describe_waits(), seconds=STALL_SECONDS)
            )
        if any(r.finished for r in self.ranks):
            return RankError(
                _(
                    "the ranks are stuck ({waits}; nothing happened for {seconds:.0f} s): a rank "
                    "returned without sending what another one waits for"
                ).format(waits=self._describe_waits(), seconds=STALL_SECONDS)
            )
        return RankError(
            _(
                "the ranks are stuck waiting for each other ({waits}; nothing happened for "
                "{seconds:.0f} s): a send waits for the matching recv on the other rank, so "
                "if every rank sends first (or receives first) none can go on"
            ).format(waits=self._describe_waits(), seconds=STALL_SECONDS)
        )

    def _timed_out(self) -> RankError:
        return RankError(
            _(
                "the ranks did not finish within {seconds:.0f} s ({waits}): look for an "
                "endless loop, or a call that waits for a rank that never answers"
            ).format(seconds=self.timeout, waits=self._describe_waits())
        )

    def finish(self) -> None:
        """Let every process go when all are done (kill them otherwise); wait for all."""
        done = self.problem is None and all(r.finished for r in self.ranks)
        deadline = time.monotonic() + 5
        for r in self.ranks:
            if done:
                with contextlib.suppress(OSError, ValueError):
                    r.conn.send("exit")
        for r in self.ranks:
            if done:
                r.process.join(max(0.0, deadline - time.monotonic()))
            if r.process.is_alive():
                r.process.kill()
            r.process.join()
            r.process.close()
            r.conn.close()
        self.lifeline.close()

    def diagnosis(self) -> RankError | None:
        if self.problem is not None:
            return self.problem
        for r in self.ranks:
            if r.error is not None:
                error_type, message, call = r.error
                return RankError(
                    _("on rank {rank}, {call} raised {error_type}: {error}").format(
                        rank=r.rank, call=call or "", error_type=error_type, error=message
                    ),
                    r.rank,
                    error_type,
                    message,
                )
        return None


def _check_arguments(world_size: object, timeout: object) -> None:
    """A CourseError (one line) for a world_size or timeout that cannot work."""
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise CourseError(
            _(
                "world_size must be a whole number of processes, 1 or more, not {value}: e.g. "
                "run_ranks(fn, world_size=2)"
            ).format(value=repr(world_size))
        )
    number = isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
    if not (number and math.isfinite(timeout) and timeout > 0):
        raise CourseError(
            _(
                "timeout must be a positive number of seconds, not {value}: e.g. "
                "run_ranks(fn, timeout=60)"
            ).format(value=repr(timeout))
        )


@dataclass
class Outcome:
    """Per rank: what it returned and printed, its collective calls, tensor elements sent."""

    results: list
    outputs: list[str]
    collectives: list[list[str]]
    sent: list[int]


def run_group(fn, *args, world_size: int = 2, timeout: float = 60.0) -> Outcome:
    """Run fn(*args) on world_size ranks; their results, outputs and elements sent.

    Raises RankError when a rank raised, the ranks deadlocked or the deadline passed; every
    process has ended by the time this returns or raises.
    """
    _check_arguments(world_size, timeout)
    try:
        payload = dumps((fn, args))
    except (pickle.PicklingError, TypeError, AttributeError) as err:
        raise RankError(
            _("{name} cannot be sent to other processes: {error}").format(
                name=getattr(fn, "__name__", _("the function")), error=_text(err)
            )
        ) from None
    group = _Group(payload, world_size, timeout)
    try:
        group.follow()
    finally:
        group.finish()
    problem = group.diagnosis()
    if problem is not None:
        raise problem
    results = [pickle.loads(r.result) for r in group.ranks]
    ranks = group.ranks
    return Outcome(
        results, [r.output for r in ranks], [r.collectives for r in ranks], [r.sent for r in ranks]
    )


def run_ranks(fn, *args, world_size: int = 2, timeout: float = 60.0) -> list:
    """Run fn(*args) in world_size processes joined in a gloo group; return their results.

    Each rank's printed lines are shown afterwards, in rank order, prefixed with its rank.
    """
    outcome = run_group(fn, *args, world_size=world_size, timeout=timeout)
    for rank, text in enumerate(outcome.outputs):
        for line in text.splitlines():
            print(f"[rank {rank}] {line}")
    return outcome.results
