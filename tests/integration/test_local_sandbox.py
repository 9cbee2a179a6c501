"""The local executor's bubblewrap sandbox, proven from the inside.

A probe script runs through ``LocalExecutor.sandbox_argv`` — the very construction real runs
get — and reports what it can see and do: identity, capabilities, network, filesystem, PIDs,
rlimits, environment. Then real runs: a GROUP BY on a demo dataset, a query over its time limit,
one over its memory limit, and a sandbox that must be killed on the wall clock.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sandbox_server.errors import ExecutorUnavailable
from sandbox_server.executors.base import Limits, RunSpec
from sandbox_server.executors.local import (
    ADDRESS_SPACE_HEADROOM_MB,
    WALL_GRACE_S,
    LocalExecutor,
    interpret,
)
from sandbox_server.registry import ColumnInfo, Dataset, TableInfo

PROBE_LIMITS = Limits(timeout_s=20, memory_mb=256, pids=16, tmp_mb=8)

PROBE = r"""
import errno, json, os, resource, signal, socket, sys, time

limits = json.loads(sys.argv[1])
facts = {}

def attempt(action):
    try:
        action()
        return "ok"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc))

def write(path, size=1):
    with open(path, "wb") as fh:
        fh.write(b"x" * size)

status = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
facts["uid"], facts["euid"], facts["gid"] = os.getuid(), os.geteuid(), os.getgid()
facts["cap_eff"], facts["cap_prm"] = status["CapEff"].strip(), status["CapPrm"].strip()
facts["no_new_privs"] = status["NoNewPrivs"].strip()

facts["tcp"] = attempt(lambda: socket.create_connection(("192.0.2.1", 80), timeout=3))
facts["udp"] = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("192.0.2.1", 53)))
facts["interfaces"] = sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:])

facts["write_root"] = attempt(lambda: write("/probe"))
facts["write_usr"] = attempt(lambda: write("/usr/probe"))
facts["write_data"] = attempt(lambda: write("/data/probe"))
facts["append_data"] = attempt(lambda: open("/data/t.csv", "a").write("1,1\n"))
facts["write_tmp"] = attempt(lambda: write("/tmp/probe"))
facts["overfill_tmp"] = attempt(lambda: write("/tmp/big", (limits["tmp_mb"] + 1) << 20))
facts["data_listing"] = sorted(os.listdir("/data"))
facts["visible_host_paths"] = [
    p for p in ("/work", "/home", "/var", "/etc/passwd", "/etc/shadow", "/root/.bashrc", "/run")
    if os.path.exists(p)
]
facts["env"] = sorted(os.environ)
facts["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
facts["rlimits"] = {
    n: list(resource.getrlimit(getattr(resource, "RLIMIT_" + n))) for n in ("AS", "CPU", "NPROC", "FSIZE", "CORE")
}

try:
    bytearray((limits["memory_mb"] + limits["headroom_mb"]) << 20)
    facts["big_allocation"] = "ok"
except MemoryError:
    facts["big_allocation"] = "MemoryError"

children = []
try:
    for _ in range(limits["pids"] * 2):
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        children.append(pid)
    facts["fork"] = "unlimited"
except OSError as exc:
    facts["fork"] = errno.errorcode.get(exc.errno, str(exc))
facts["forked"] = len(children)
for pid in children:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)

print(json.dumps(facts))
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A readable one-table dataset (pytest's tmp dirs are 0700; uid 1000 must read this)."""
    directory = tmp_path_factory.mktemp("tiny")
    (directory / "t.csv").write_text("k,v\na,1\nb,2\na,3\n")
    directory.chmod(0o755)
    # World-writable on the host, so a refused write inside proves the read-only mount.
    (directory / "t.csv").chmod(0o666)
    return directory


@pytest.fixture(scope="module")
def tiny(data_dir: Path) -> Dataset:
    columns = [ColumnInfo(name="k", type="VARCHAR"), ColumnInfo(name="v", type="BIGINT")]
    return Dataset(
        id="tiny",
        version_hash="0" * 64,
        tables=[TableInfo(name="t", file="t.csv", columns=columns)],
        directory=data_dir,
    )


@pytest.fixture(scope="module")
def probe(local_executor: LocalExecutor, data_dir: Path) -> dict[str, Any]:
    """What a process inside a fresh sandbox (built exactly as for a run) reports about itself."""
    settings = {
        "tmp_mb": PROBE_LIMITS.tmp_mb,
        "memory_mb": PROBE_LIMITS.memory_mb,
        "headroom_mb": ADDRESS_SPACE_HEADROOM_MB,
        "pids": PROBE_LIMITS.pids,
    }
    command = [local_executor.python, "-P", "-c", PROBE, json.dumps(settings)]
    argv = local_executor.sandbox_argv(PROBE_LIMITS, command, data_dir=data_dir)
    done = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


# -- from inside the sandbox


def test_runs_as_uid_1000_without_capabilities(probe: dict[str, Any]) -> None:
    assert (probe["uid"], probe["euid"], probe["gid"]) == (1000, 1000, 1000)
    assert int(probe["cap_eff"], 16) == 0 and int(probe["cap_prm"], 16) == 0
    assert probe["no_new_privs"] == "1"


def test_network_is_unreachable(probe: dict[str, Any]) -> None:
    assert probe["tcp"] == "ENETUNREACH"
    assert probe["udp"] == "ENETUNREACH"
    assert probe["interfaces"] == ["lo"]


def test_root_and_data_are_read_only_and_tmp_is_bounded(probe: dict[str, Any]) -> None:
    assert probe["write_root"] == "EROFS"
    assert probe["write_usr"] == "EROFS"
    assert probe["write_data"] == "EROFS"
    assert probe["append_data"] == "EROFS"
    assert probe["write_tmp"] == "ok"
    assert probe["overfill_tmp"] in ("ENOSPC", "EFBIG")
    assert probe["data_listing"] == ["t.csv"]


def test_host_is_not_visible(probe: dict[str, Any]) -> None:
    assert probe["visible_host_paths"] == []
    assert not any(name.startswith(("CSVANALYST_", "OPENAI", "AWS_")) for name in probe["env"])
    assert set(probe["env"]) <= {
        "PYTHONPATH",
        "PYTHONNOUSERSITE",
        "PYTHONDONTWRITEBYTECODE",
        "HOME",
        "TMPDIR",
        "PATH",
        "LANG",
        "PWD",
        "LC_CTYPE",
    }


def test_processes_are_isolated_and_limited(probe: dict[str, Any]) -> None:
    # Its own PID namespace: bwrap's init and the probe, nothing of the host.
    assert max(probe["pids"]) < 10
    assert probe["fork"] == "EAGAIN"
    assert probe["forked"] < PROBE_LIMITS.pids


def test_rlimits_are_applied(probe: dict[str, Any]) -> None:
    limits = probe["rlimits"]
    assert limits["AS"][0] == (PROBE_LIMITS.memory_mb + ADDRESS_SPACE_HEADROOM_MB) << 20
    assert limits["NPROC"] == [PROBE_LIMITS.pids, PROBE_LIMITS.pids]
    assert limits["FSIZE"][0] == PROBE_LIMITS.tmp_mb << 20
    assert limits["CORE"] == [0, 0]
    assert 0 < limits["CPU"][0] <= PROBE_LIMITS.timeout_s + 2
    assert probe["big_allocation"] == "MemoryError"


# -- real runs


def test_group_by_on_demo_dataset(local_executor: LocalExecutor, ecommerce: Dataset) -> None:
    with (ecommerce.directory / "orders.csv").open(newline="") as fh:  # type: ignore[operator]
        expected = Counter(row["status"] for row in csv.DictReader(fh))
    spec = RunSpec(
        run_id="local-groupby",
        dataset=ecommerce,
        sql="SELECT status, count(*) AS orders FROM orders GROUP BY status ORDER BY status",
    )
    execution = local_executor.run(spec)
    response = execution.response
    assert response["status"] == "succeeded", response
    assert response["columns"] == [
        {"name": "status", "type": "VARCHAR"},
        {"name": "orders", "type": "BIGINT"},
    ]
    assert response["rows"] == [[status, n] for status, n in sorted(expected.items())]
    assert execution.executor == "local" and execution.runner_ref.startswith("bwrap:")


def test_join_on_tiny_dataset_and_escape_refused(local_executor: LocalExecutor, tiny: Dataset) -> None:
    ok = local_executor.run(
        RunSpec(run_id="tiny-1", dataset=tiny, sql="SELECT k, sum(v) FROM t GROUP BY k ORDER BY k")
    )
    assert ok.response["rows"] == [["a", 4], ["b", 2]]
    escape = local_executor.run(
        RunSpec(run_id="tiny-2", dataset=tiny, sql="SELECT * FROM read_csv('/data/../etc/passwd')")
    )
    assert escape.response["error"]["code"] == "SQL_POLICY_VIOLATION"


def test_query_over_time_limit_is_runner_timeout(local_executor: LocalExecutor, tiny: Dataset) -> None:
    limits = Limits(timeout_s=1.0)
    started = time.monotonic()
    execution = local_executor.run(
        RunSpec(
            run_id="slow",
            dataset=tiny,
            sql="SELECT count(*) FROM range(100000) a, range(100000) b",
            limits=limits,
        )
    )
    assert execution.response["status"] == "failed"
    assert execution.response["error"]["code"] == "RUNNER_TIMEOUT"
    assert time.monotonic() - started < limits.timeout_s + WALL_GRACE_S + 5


def test_query_over_memory_limit_is_resource_exceeded_and_harmless(
    local_executor: LocalExecutor, tiny: Dataset
) -> None:
    limits = Limits(memory_mb=128, timeout_s=20)
    execution = local_executor.run(
        RunSpec(run_id="greedy", dataset=tiny, sql="SELECT list(i) FROM range(200000000) t(i)", limits=limits)
    )
    assert execution.response["error"]["code"] == "RUNNER_RESOURCE_EXCEEDED", execution.response
    # The caller is fine, and the next run works.
    after = local_executor.run(RunSpec(run_id="after", dataset=tiny, sql="SELECT count(*) FROM t"))
    assert after.response["rows"] == [[3]]


def test_unresponsive_sandbox_is_killed_on_the_wall_clock(
    local_executor: LocalExecutor, data_dir: Path
) -> None:
    marker = f"csvanalyst-wall-{os.getpid()}"
    limits = Limits(timeout_s=0.5)
    command = [local_executor.python, "-c", "import time; time.sleep(60)", marker]
    started = time.monotonic()
    execution = local_executor.execute_argv(
        local_executor.sandbox_argv(limits, command, data_dir=data_dir), b"", limits
    )
    elapsed = time.monotonic() - started
    assert execution.response["error"]["code"] == "RUNNER_TIMEOUT"
    assert "wall clock" in execution.response["error"]["message"]
    assert elapsed < limits.timeout_s + WALL_GRACE_S + 5
    time.sleep(0.2)  # the PID namespace is torn down asynchronously
    leftovers = [p for p in Path("/proc").iterdir() if p.name.isdigit() and marker.encode() in _cmdline(p)]
    assert leftovers == []


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


# -- without a working bubblewrap (no sandbox needed for these)


def test_missing_bwrap_is_executor_unavailable_with_install_hint(tiny: Dataset) -> None:
    executor = LocalExecutor(bwrap="bwrap-not-installed-here")
    with pytest.raises(ExecutorUnavailable) as info:
        executor.check()
    assert "apt-get install bubblewrap" in (info.value.suggestion or "")
    with pytest.raises(ExecutorUnavailable):  # and run() never falls back to running unsandboxed
        executor.run(RunSpec(run_id="never", dataset=tiny, sql="SELECT 1"))


def test_bwrap_that_cannot_create_namespaces_is_executor_unavailable(tmp_path: Path) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    executor = LocalExecutor(bwrap=str(fake))
    with pytest.raises(ExecutorUnavailable) as info:
        executor.check()
    assert "No permissions to create new namespace" in info.value.message
    with pytest.raises(ExecutorUnavailable):  # the verdict is cached
        executor.check()


@pytest.mark.parametrize(
    ("stdout", "stderr", "returncode", "code"),
    [
        (b'{"status": "succeeded", "rows": [], "error": null}', "", 0, None),
        (b"", "", 128 + 24, "RUNNER_TIMEOUT"),  # SIGXCPU: the CPU-seconds limit
        (b"", "", 128 + 9, "RUNNER_RESOURCE_EXCEEDED"),  # SIGKILL: the OOM killer
        (b"", "MemoryError", 1, "RUNNER_RESOURCE_EXCEEDED"),
        (
            b"",
            "terminate called after throwing an instance of 'std::bad_alloc'",
            134,
            "RUNNER_RESOURCE_EXCEEDED",
        ),
        (b"not json", "Traceback ...", 1, "RUNNER_INTERNAL_ERROR"),
    ],
)
def test_sandbox_endings_map_to_codes(stdout: bytes, stderr: str, returncode: int, code: str | None) -> None:
    response = interpret(stdout, stderr, returncode, timed_out=False, limits=Limits())
    assert (response["error"] or {}).get("code") == code
    if code:
        assert response["status"] == "failed" and response["stderr_trunc"] == stderr
