"""The local executor: ``python -m runner`` in a fresh bubblewrap sandbox per run.

Inside the sandbox the runner sees a nearly empty root: read-only ``/usr`` (and the ``/lib``,
``/bin`` links), the Python interpreter's prefix, the duckdb package, the runner package, the
dataset's directory read-only at ``/data``, a size-limited tmpfs ``/tmp``, its own ``/proc`` and
a minimal ``/dev``. It has no network (its own empty network namespace), its own PID, IPC and UTS
namespaces, no capabilities, no new privileges, and runs as uid/gid 1000 with rlimits on address
space, CPU seconds, processes, file size and core dumps; a wall-clock timer kills it outright.

Two ways to become uid 1000, picked by who runs the server:

* as root (a server container): bwrap does *not* create a user namespace. With one, sandbox uid
  1000 would map to host root, which is exempt from ``RLIMIT_NPROC`` and owns every root file.
  Instead bwrap keeps only CAP_SETUID/SETGID/SETPCAP and ``setpriv`` drops to the real host uid
  1000 (no capabilities, empty bounding set, ``no_new_privs``) before the runner starts.
* as an ordinary user: bwrap creates a user namespace and maps the caller to uid 1000.

Limits are applied by ``prlimit`` inside the sandbox, right before the interpreter starts,
rather than by a ``preexec_fn``: the server runs executors from worker threads, where
``preexec_fn`` can deadlock the forked child (see the ``subprocess`` docs).

Where bubblewrap is missing or cannot create namespaces, ``check`` (and so ``run``) raises
``ExecutorUnavailable`` saying how to fix it. This executor never runs a query unsandboxed.

Known limits (rlimits are not cgroups): ``RLIMIT_NPROC`` counts every process of host uid 1000,
so concurrent sandboxes share the ``pids`` budget; ``RLIMIT_AS`` bounds address space, not
resident memory (hence the headroom below); in root mode the sandboxed process may still create
a user namespace of its own, as any unprivileged user may. Docker/Kubernetes use cgroups.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import runner
from sandbox_server.errors import DatasetInvalid, ExecutorUnavailable
from sandbox_server.executors.base import (
    Execution,
    Executor,
    Limits,
    RunSpec,
    failed_response,
    parse_response,
)

SANDBOX_UID = 1000
SANDBOX_GID = 1000
DATA_ROOT = "/data"
RUNNER_ROOT = "/opt/csvanalyst"
"""Where the runner package and duckdb appear inside the sandbox (the only things on its path)."""

ADDRESS_SPACE_HEADROOM_MB = 768
"""Added to the memory limit for RLIMIT_AS: DuckDB and its allocator reserve ~600 MB of address
space they never touch; without the headroom, allocations fail far below the memory limit."""

WALL_GRACE_S = 2.0
"""The wall-clock kill comes this long after the runner's own timeout (sandbox start-up, and
the runner's watchdog gets the first chance to answer cleanly)."""

KILL_WAIT_S = 5.0
CHECK_TIMEOUT_S = 30.0
INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap), or use --executor docker"


class LocalExecutor(Executor):
    """Runs each RunSpec as ``python -m runner`` inside a fresh bubblewrap sandbox."""

    name = "local"

    def __init__(self, *, bwrap: str = "bwrap", uid: int = SANDBOX_UID, gid: int = SANDBOX_GID) -> None:
        self.bwrap = bwrap
        self.uid = uid
        self.gid = gid
        self.as_root = os.geteuid() == 0
        # The real interpreter, not the venv's symlink: the sandbox gets the prefix it lives in.
        self.python = os.path.realpath(sys.executable)
        self._checked = False
        self._unavailable: ExecutorUnavailable | None = None

    # -- the sandbox

    @functools.cached_property
    def _bwrap_options(self) -> frozenset[str]:
        """The options this bwrap knows (newer ones are used only where they exist)."""
        try:
            done = subprocess.run([self.bwrap, "--help"], capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return frozenset()
        return frozenset(re.findall(r"--[a-z-]+", done.stdout.decode("utf-8", "replace")))

    def runner_command(self) -> list[str]:
        """The command that runs the runner inside the sandbox.

        -S: no site (PYTHONPATH says where everything is), -P: no cwd on sys.path, -B: no .pyc.
        """
        return [self.python, "-S", "-P", "-B", "-m", "runner"]

    def sandbox_argv(self, limits: Limits, command: Sequence[str], *, data_dir: Path | None) -> list[str]:
        """The full argv that runs ``command`` in a fresh sandbox with ``limits``.

        Tests run their probes through exactly this, so they check the sandbox runs get.
        """
        bwrap = shutil.which(self.bwrap) or self.bwrap
        argv = [bwrap, "--die-with-parent", "--new-session"]
        if self.as_root:
            argv += [
                "--unshare-ipc",
                "--unshare-pid",
                "--unshare-net",
                "--unshare-uts",
                "--unshare-cgroup-try",
            ]
            argv += ["--cap-drop", "ALL"]
            argv += [arg for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP") for arg in ("--cap-add", cap)]
        else:
            argv += ["--unshare-all", "--unshare-user", "--uid", str(self.uid), "--gid", str(self.gid)]
            if "--disable-userns" in self._bwrap_options:  # bwrap >= 0.8
                argv.append("--disable-userns")
            argv += ["--cap-drop", "ALL"]
        argv += self._filesystem(limits, data_dir)
        argv += ["--chdir", "/tmp", "--clearenv"]
        for key, value in self._environment().items():
            argv += ["--setenv", key, value]
        argv.append("--")
        if self.as_root:
            argv += [
                shutil.which("setpriv") or "/usr/bin/setpriv",
                f"--reuid={self.uid}",
                f"--regid={self.gid}",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--no-new-privs",
            ]
        argv += [shutil.which("prlimit") or "/usr/bin/prlimit", *rlimit_args(limits), "--"]
        return argv + list(command)

    def _filesystem(self, limits: Limits, data_dir: Path | None) -> list[str]:
        binds: list[tuple[str, str]] = [("/usr", "/usr")]
        links: list[str] = []
        for top in ("/lib", "/lib64", "/bin", "/sbin"):
            if os.path.islink(top):
                links += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                binds.append((top, top))
        prefix = os.path.realpath(sys.base_prefix)
        if not _under(prefix, "/usr"):
            binds.append((prefix, prefix))
        binds.append((str(Path(runner.__file__).resolve().parent), f"{RUNNER_ROOT}/runner"))
        for package in duckdb_paths():
            binds.append((str(package), f"{RUNNER_ROOT}/site-packages/{package.name}"))
        if data_dir is not None:
            binds.append((str(data_dir.resolve()), DATA_ROOT))

        args: list[str] = []
        made: set[str] = {"/"}
        for _, dest in binds:
            # bwrap copies the modes of the host's parent directories (/root is 0700): create
            # the parents ourselves, world-traversable, so uid 1000 can reach what is bound.
            for parent in reversed(PurePosixPath(dest).parents):
                name = str(parent)
                if name not in made and not any(_under(name, d) for _, d in binds):
                    args += ["--perms", "0755", "--dir", name]
                    made.add(name)
        for source, dest in binds:
            args += ["--ro-bind", source, dest]
        args += links
        args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
        args += ["--proc", "/proc", "--dev", "/dev"]
        if "--size" in self._bwrap_options:  # bwrap >= 0.7; older ones rely on RLIMIT_FSIZE alone
            args += ["--size", str(limits.tmp_mb << 20)]
        args += ["--perms", "1777", "--tmpfs", "/tmp"]
        # The root is a tmpfs bwrap built; once everything is mounted on it, nobody writes to it.
        args += ["--remount-ro", "/"]
        return args

    def _environment(self) -> dict[str, str]:
        return {
            "PYTHONPATH": f"{RUNNER_ROOT}:{RUNNER_ROOT}/site-packages",
            "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "HOME": "/tmp",
            "TMPDIR": "/tmp",
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
        }

    # -- the Executor interface

    def check(self) -> None:
        """Start one sandbox that imports the runner; cache the verdict (either way)."""
        if not self._checked:
            self._unavailable = self._probe()
            self._checked = True
        if self._unavailable is not None:
            raise self._unavailable

    def _probe(self) -> ExecutorUnavailable | None:
        missing = [tool for tool in (self.bwrap, "prlimit") if shutil.which(tool) is None]
        if self.as_root and shutil.which("setpriv") is None:
            missing.append("setpriv")
        if missing:
            return ExecutorUnavailable(
                f"the local executor needs {', '.join(missing)} on PATH",
                suggestion=INSTALL_HINT + " (setpriv and prlimit come with util-linux)",
            )
        argv = self.sandbox_argv(
            Limits(), [self.python, "-P", "-c", "import duckdb, runner.engine"], data_dir=None
        )
        try:
            done = subprocess.run(argv, capture_output=True, timeout=CHECK_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return ExecutorUnavailable(
                f"bubblewrap could not start a sandbox: {exc}", suggestion=INSTALL_HINT
            )
        if done.returncode != 0:
            stderr = done.stderr.decode("utf-8", "replace").strip()[-2000:]
            return ExecutorUnavailable(
                f"bubblewrap cannot create a sandbox here (exit {done.returncode}): {stderr}",
                suggestion="bwrap needs user namespaces (or root with CAP_SYS_ADMIN); "
                "in a container, use --executor docker or kubernetes",
            )
        return None

    def run(self, spec: RunSpec) -> Execution:
        self.check()
        if spec.dataset.directory is None:
            raise DatasetInvalid(f"dataset {spec.dataset.id!r} has no directory to mount")
        request = json.dumps(spec.runner_request(data_root=DATA_ROOT)).encode()
        argv = self.sandbox_argv(spec.limits, self.runner_command(), data_dir=spec.dataset.directory)
        return self.execute_argv(argv, request, spec.limits)

    def execute_argv(self, argv: Sequence[str], stdin: bytes, limits: Limits) -> Execution:
        """Start ``argv`` (a ``sandbox_argv``), feed it ``stdin``, enforce the wall clock, and
        turn whatever came back into a runner response."""
        started = time.perf_counter()
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # one process group to kill on the wall-clock limit
            )
        except OSError as exc:
            raise ExecutorUnavailable(f"cannot start bubblewrap: {exc}", suggestion=INSTALL_HINT) from exc
        try:
            stdout, stderr = proc.communicate(stdin, timeout=limits.timeout_s + WALL_GRACE_S)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            try:
                stdout, stderr = proc.communicate(timeout=KILL_WAIT_S)
            except subprocess.TimeoutExpired:  # something still holds the pipes: give up on them
                stdout, stderr = b"", b""
            timed_out = True
        response = interpret(
            stdout, stderr.decode("utf-8", "replace"), proc.returncode, timed_out=timed_out, limits=limits
        )
        return Execution(
            response=response,
            executor=self.name,
            runner_ref=f"bwrap:{proc.pid}",
            wall_ms=(time.perf_counter() - started) * 1000,
        )


def rlimit_args(limits: Limits) -> list[str]:
    """``prlimit`` options for one run: soft limit first, the hard limit a step later."""
    cpu_s = math.ceil(limits.timeout_s * max(1, limits.threads)) + 1
    address_space = (limits.memory_mb + ADDRESS_SPACE_HEADROOM_MB) << 20
    return [
        f"--as={address_space}",
        f"--cpu={cpu_s}:{cpu_s + 1}",  # SIGXCPU at the soft limit, SIGKILL at the hard one
        f"--nproc={limits.pids}",
        f"--fsize={limits.tmp_mb << 20}",
        "--nofile=256",
        "--core=0",
    ]


def duckdb_paths() -> list[Path]:
    """The top-level files and packages of the installed duckdb distribution, with its
    ``.dist-info`` (duckdb reads its own version from it at import)."""
    try:
        dist = importlib.metadata.distribution("duckdb")
    except importlib.metadata.PackageNotFoundError as exc:
        raise ExecutorUnavailable(
            "duckdb is not installed", suggestion="pip install 'csvanalyst[server]'"
        ) from exc
    tops = {PurePosixPath(str(f)).parts[0] for f in dist.files or []}
    keep = sorted(t for t in tops if t.lstrip("_").startswith("duckdb") and not t.endswith("-stubs"))
    return [Path(str(dist.locate_file(t))).resolve() for t in keep]


def interpret(
    stdout: bytes, stderr: str, returncode: int | None, *, timed_out: bool, limits: Limits
) -> dict[str, Any]:
    """The runner's response, or — when the sandbox ended without one — a failed response that
    says why: killed on the wall clock or CPU limit (timeout), out of memory, or a crash."""
    if timed_out:
        return failed_response(
            "RUNNER_TIMEOUT", f"the run was killed after {limits.timeout_s:g} s (wall clock)", stderr=stderr
        )
    response = parse_response(stdout)
    if response is not None and returncode == 0:
        return response
    if returncode in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
        return failed_response(
            "RUNNER_TIMEOUT", f"the run used up its CPU time limit ({limits.timeout_s:g} s)", stderr=stderr
        )
    if any(m in stderr for m in ("MemoryError", "bad_alloc", "Cannot allocate memory", "Out of Memory")) or (
        returncode in (-signal.SIGKILL, 128 + signal.SIGKILL)
    ):
        return failed_response(
            "RUNNER_RESOURCE_EXCEEDED",
            f"the run ran out of memory (limit {limits.memory_mb} MB) and was stopped",
            stderr=stderr,
        )
    return failed_response(
        "RUNNER_INTERNAL_ERROR",
        f"the sandbox ended without a valid response (exit {returncode}); see stderr",
        stderr=stderr,
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL bwrap's process group; --die-with-parent and the PID namespace take the rest."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")
