"""Limits for a process that runs a student's code under `grade`: memory, processes, files.

`enclose` is called first thing in the kernel that runs a student's notebook and in each
process that checks one answer. It caps the address space, the size of files and (as a user
other than root, where the kernel enforces it) the number of processes, and installs an audit
hook (PEP 578) that refuses writes outside the scratch folder and more than `processes`
starts of a process, writing each refusal to a log the grader reads afterwards.

This is a guard against accidents and casual tricks, not a sandbox: code that loads C through
ctypes, or a fresh interpreter it started, is not seen by the hook. The container command in
docs/instructors.md closes those gaps.
"""

from __future__ import annotations

import os
import resource
import sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
STARTS = {"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "subprocess.Popen"}
# event -> positions of its path arguments that it writes
CHANGES = {
    "os.remove": (0,),
    "os.rename": (0, 1),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "shutil.rmtree": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.truncate": (0,),
    "os.symlink": (1,),
    "os.link": (1,),
    "os.utime": (0,),
}
WROTE, STARTED = "write", "processes"  # the kinds of refusal in the log
ALWAYS_WRITABLE = ("/dev/null", "/dev/shm")


def _vm_size() -> int:
    """This process's address space in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _user_tasks(uid: int) -> int:
    """Processes and threads of uid (what RLIMIT_NPROC counts)."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status", encoding="ascii") as status:
                    fields = dict(line.split(":", 1) for line in status if ":" in line)
                if int(fields["Uid"].split()[0]) == uid:
                    count += int(fields["Threads"])
            except (OSError, KeyError, ValueError):
                continue
    return count


def _limit(which: int, value: int) -> None:
    hard = resource.getrlimit(which)[1]
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, hard))


def enclose(scratch: str, memory: int, processes: int, log: str) -> None:
    """Limit this process (and what it starts) as the module docstring says.

    memory: bytes it may add to its address space; processes: how many it may start.
    """
    sys.dont_write_bytecode = True
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, 512 * 2**20)
    if memory and _vm_size():
        _limit(resource.RLIMIT_AS, _vm_size() + memory)
    if os.geteuid() != 0 and os.path.isdir("/proc"):  # root is not held by RLIMIT_NPROC
        _limit(resource.RLIMIT_NPROC, _user_tasks(os.getuid()) + processes + 64)
    roots = [os.path.realpath(scratch)]
    owner, started = os.getpid(), [0]
    log_fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def refuse(kind: str, detail: str) -> None:
        os.write(log_fd, f"{kind}\t{detail}\n".encode("utf-8", "replace"))
        raise PermissionError(f"torchcourse grade: {kind} refused: {detail}")

    def writable(path) -> bool:
        if isinstance(path, int) or path is None:
            return True
        real = os.path.realpath(os.fsdecode(path))
        inside = (*roots, *ALWAYS_WRITABLE)
        return any(real == root or real.startswith(root + os.sep) for root in inside)

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writes = (mode and any(c in mode for c in "wax+")) or (flags or 0) & WRITE_FLAGS
            if writes and not writable(path):
                refuse(WROTE, os.fsdecode(path))
        elif event == "os.mkdir" and os.path.isdir(os.fsdecode(args[0])):
            return  # it exists: mkdir changes nothing (matplotlib asks for its folder so)
        elif event in CHANGES:
            for position in CHANGES[event]:
                if position < len(args) and not writable(args[position]):
                    refuse(WROTE, os.fsdecode(args[position]))
        elif event in STARTS:
            started[0] += 1
            if os.getpid() != owner or started[0] > processes:
                refuse(STARTED, f"more than {processes} ({event})")

    sys.addaudithook(hook)
