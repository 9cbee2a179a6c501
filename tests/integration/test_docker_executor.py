"""The docker executor on a real Docker engine, with the real runner image.

The session fixture starts dockerd and builds the image through the project's own scripts (both
return at once when done already). The sandbox's properties are checked from inside containers
made with exactly the arguments a run gets (``DockerExecutor.container_kwargs``), only with a
probe as entrypoint. Off CI a machine without Docker skips these; with ``CI=true`` they fail.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

import pytest

from sandbox_server.errors import ExecutorUnavailable
from sandbox_server.executors.base import Bounded, Limits, RunSpec
from sandbox_server.settings import Settings

docker = pytest.importorskip("docker")

from sandbox_server.executors.docker import (  # noqa: E402 - after the importorskip
    LABEL_DEADLINE,
    LABEL_MANAGED,
    LABEL_RUN_ID,
    DockerExecutor,
    interpret,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_PREFIX = f"dockertest-{uuid.uuid4().hex[:8]}-"
"""Every run of this module has an id with this prefix: leftovers are found by it."""


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: Docker is required here)", pytrace=False)
    pytest.skip(reason)


def _script(name: str) -> str:
    done = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / name)], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        _unavailable(f"scripts/{name} failed: {done.stderr.strip()[-1500:]}")
    return done.stdout.strip()


@pytest.fixture(scope="session")
def runner_image() -> str:
    """The runner image's content-hash tag, with Docker running (both made on demand)."""
    if shutil.which("docker") is None and shutil.which("dockerd") is None and os.geteuid() != 0:
        _unavailable("Docker is not installed (run scripts/start-docker.sh as root)")
    _script("start-docker.sh")
    return _script("build-runner-image.sh").splitlines()[-1]


@pytest.fixture(scope="module")
def executor(runner_image: str) -> Iterator[DockerExecutor]:
    executor = DockerExecutor(Settings(), image=runner_image, max_concurrent_runs=4)
    executor.check()
    yield executor
    executor.close()


def spec(dataset: Any, sql: str = "SELECT 1 AS one", **limits: Any) -> RunSpec:
    return RunSpec(
        run_id=RUN_PREFIX + uuid.uuid4().hex[:8], dataset=dataset, sql=sql, limits=Limits(**limits)
    )


def our_containers(executor: DockerExecutor) -> list[str]:
    """Containers of this module's runs still in the engine, whatever their state."""
    listed = executor.client().containers.list(all=True, filters={"label": f"{LABEL_MANAGED}=true"})
    return [c.short_id for c in listed if c.labels.get(LABEL_RUN_ID, "").startswith(RUN_PREFIX)]


def probe(
    executor: DockerExecutor, dataset: Any, code: str, *, wait_s: float = 30, **limits: Any
) -> dict[str, Any]:
    """Run Python ``code`` in a run's sandbox; it prints one JSON object, returned here."""
    kwargs = executor.container_kwargs(spec(dataset, **limits), entrypoint=["python", "-c", code])
    outcome = executor.run_container(kwargs, b"", wait_s=wait_s)
    assert outcome.exit_code == 0, outcome.stderr
    result: dict[str, Any] = json.loads(outcome.stdout)
    return result


# -- a run, end to end


@pytest.mark.docker
def test_query_runs_end_to_end_on_a_demo_dataset(executor: DockerExecutor, ecommerce: Any) -> None:
    with open(Path(ecommerce.directory) / "orders.csv", newline="") as f:
        expected = sorted(Counter(row["status"] for row in csv.DictReader(f)).items())

    execution = executor.run(
        spec(ecommerce, "SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status")
    )

    response = execution.response
    assert response["error"] is None, response
    assert response["status"] == "succeeded"
    assert [c["name"] for c in response["columns"]] == ["status", "n"]
    assert [tuple(row) for row in response["rows"]] == expected
    assert execution.executor == "docker"
    assert len(execution.runner_ref) >= 10 and all(ch in "0123456789abcdef" for ch in execution.runner_ref)
    assert our_containers(executor) == []


@pytest.mark.docker
def test_a_bad_query_comes_back_as_the_runners_error(executor: DockerExecutor, ecommerce: Any) -> None:
    response = executor.run(spec(ecommerce, "SELECT no_such_column FROM orders")).response
    assert response["status"] == "failed"
    assert response["error"]["code"] == "VALIDATION_ERROR"
    assert "no_such_column" in response["error"]["message"]


# -- the sandbox, seen from inside

SANDBOX_PROBE = r"""
import errno, json, os, shutil, socket, sys

def attempt(fn):
    try:
        fn()
        return "ok"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc))

def connect():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(("1.1.1.1", 53))

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return line.split()[1]

def cgroup(*paths):
    for p in paths:
        if os.path.exists(p):
            return open(p).read().strip()

def exec_from_tmp():
    shutil.copy(sys.executable, "/tmp/py")
    os.chmod("/tmp/py", 0o755)
    os.execv("/tmp/py", ["/tmp/py", "-c", "pass"])

print(json.dumps({
    "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "connect": attempt(connect),
    "interfaces": sorted(os.listdir("/sys/class/net")),
    "write_root": attempt(lambda: open("/opt/csvanalyst/x", "w")),
    "write_etc": attempt(lambda: open("/etc/passwd", "a")),
    "write_data": attempt(lambda: open("/data/x.csv", "w")),
    "data_files": sorted(os.listdir("/data")),
    "write_tmp": attempt(lambda: open("/tmp/x", "w").write("x")),
    "exec_tmp": attempt(exec_from_tmp),
    "cap_eff": status("CapEff"), "cap_bnd": status("CapBnd"), "no_new_privs": status("NoNewPrivs"),
    "pids_max": cgroup("/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids.max"),
    "memory_max": cgroup("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"),
    "shell": any(os.path.exists(p) for p in ("/bin/sh", "/bin/bash", "/usr/bin/sh", "/usr/bin/dash")),
}))
"""


@pytest.fixture(scope="module")
def inside(executor: DockerExecutor, ecommerce: Any) -> dict[str, Any]:
    return probe(executor, ecommerce, SANDBOX_PROBE)


@pytest.mark.docker
def test_runs_as_uid_1000_without_capabilities(inside: dict[str, Any]) -> None:
    assert (inside["uid"], inside["gid"]) == (1000, 1000)
    assert inside["groups"] in ([], [1000])
    assert int(inside["cap_eff"], 16) == 0
    assert int(inside["cap_bnd"], 16) == 0
    assert inside["no_new_privs"] == "1"


@pytest.mark.docker
def test_network_is_unreachable(inside: dict[str, Any]) -> None:
    assert inside["interfaces"] == ["lo"]
    assert inside["connect"] in ("ENETUNREACH", "EHOSTUNREACH", "EACCES", "EPERM")


@pytest.mark.docker
def test_root_and_data_are_read_only_and_tmp_is_noexec(inside: dict[str, Any]) -> None:
    assert inside["write_root"] == "EROFS"
    assert inside["write_etc"] in ("EROFS", "EACCES")
    assert inside["write_data"] == "EROFS"
    assert {"orders.csv", "order_items.csv", "inventory.csv"} <= set(inside["data_files"])
    assert inside["write_tmp"] == "ok"
    assert inside["exec_tmp"] == "EACCES"
    assert inside["shell"] is False


@pytest.mark.docker
def test_pids_and_memory_are_limited(inside: dict[str, Any]) -> None:
    assert inside["pids_max"] == "64"
    assert int(inside["memory_max"]) == 512 << 20


FORK_BOMB = r"""
import json, os, signal, time
children = []
error = None
for _ in range(1000):
    try:
        pid = os.fork()
    except OSError as exc:
        error = exc.strerror
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.kill(pid, signal.SIGKILL)
print(json.dumps({"forked": len(children), "error": error}))
"""


@pytest.mark.docker
def test_a_fork_bomb_is_stopped_by_the_pids_limit(executor: DockerExecutor, ecommerce: Any) -> None:
    result = probe(executor, ecommerce, FORK_BOMB, pids=16)
    assert result["error"] is not None
    assert result["forked"] < 16


# -- limits that end a run


@pytest.mark.docker
def test_a_query_over_its_time_limit_ends_in_runner_timeout(executor: DockerExecutor, ecommerce: Any) -> None:
    slow = "SELECT count(*) FROM orders a, order_items b, inventory c WHERE a.total + b.price > c.stock"
    started = time.monotonic()
    response = executor.run(spec(ecommerce, slow, timeout_s=1)).response
    assert response["error"]["code"] == "RUNNER_TIMEOUT"
    assert time.monotonic() - started < 15


@pytest.mark.docker
def test_a_container_past_the_wall_clock_is_killed(executor: DockerExecutor, ecommerce: Any) -> None:
    """The runner's own watchdog did not answer (nor read its stdin): the executor kills it."""
    run = spec(ecommerce, timeout_s=1)
    kwargs = executor.container_kwargs(run, entrypoint=["python", "-c", "import time; time.sleep(120)"])
    started = time.monotonic()
    outcome = executor.run_container(kwargs, b"x" * (16 << 20), wait_s=1)
    assert outcome.timed_out
    assert time.monotonic() - started < 20
    assert interpret(outcome, run.limits)["error"]["code"] == "RUNNER_TIMEOUT"
    assert our_containers(executor) == []


@pytest.mark.docker
def test_a_query_over_its_memory_limit_ends_in_resource_exceeded(
    executor: DockerExecutor, ecommerce: Any
) -> None:
    greedy = "SELECT list(o.order_id) FROM orders o, order_items i"
    response = executor.run(spec(ecommerce, greedy, memory_mb=256, timeout_s=30)).response
    assert response["error"]["code"] == "RUNNER_RESOURCE_EXCEEDED"


@pytest.mark.docker
def test_an_oom_kill_ends_in_resource_exceeded(executor: DockerExecutor, ecommerce: Any) -> None:
    """Memory DuckDB does not account for: the cgroup's OOM killer stops the container."""
    run = spec(ecommerce, memory_mb=128)
    kwargs = executor.container_kwargs(run, entrypoint=["python", "-c", "b = b'x' * (1 << 30)"])
    outcome = executor.run_container(kwargs, b"", wait_s=30)
    assert outcome.oom_killed or outcome.exit_code == 137
    assert interpret(outcome, run.limits)["error"]["code"] == "RUNNER_RESOURCE_EXCEEDED"


# -- many runs, and clean-up


@pytest.mark.docker
def test_ten_concurrent_runs_all_succeed(executor: DockerExecutor, ecommerce: Any) -> None:
    bounded = Bounded(executor, max_concurrent=4)
    runs = [spec(ecommerce, f"SELECT count(*) + {i} AS n FROM order_items") for i in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        executions = list(pool.map(bounded.run, runs))
    with open(Path(ecommerce.directory) / "order_items.csv", newline="") as f:
        items = sum(1 for _ in csv.DictReader(f))
    assert [e.response["rows"] for e in executions] == [[[items + i]] for i in range(10)]
    assert len({e.runner_ref for e in executions}) == 10
    assert our_containers(executor) == []


@pytest.mark.docker
def test_sweep_removes_only_containers_past_their_deadline(executor: DockerExecutor, ecommerce: Any) -> None:
    client = executor.client()
    stale = executor.container_kwargs(spec(ecommerce))
    stale["labels"] = {**stale["labels"], LABEL_DEADLINE: "1"}  # a server died long ago
    fresh = executor.container_kwargs(spec(ecommerce))
    stale_container = client.containers.create(**stale)
    fresh_container = client.containers.create(**fresh)
    try:
        removed = executor.sweep()
        assert stale_container.short_id in removed
        assert fresh_container.short_id not in removed
        assert our_containers(executor) == [fresh_container.short_id]
    finally:
        for container in (stale_container, fresh_container):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)


@pytest.mark.docker
def test_a_missing_image_says_how_to_build_it(runner_image: str) -> None:
    executor = DockerExecutor(Settings(), image="csvanalyst-runner:no-such-tag")
    with pytest.raises(ExecutorUnavailable, match=r"does not exist.*build-runner-image\.sh") as caught:
        executor.check()
    assert "scripts/build-runner-image.sh" in (caught.value.suggestion or "")


@pytest.mark.docker
def test_no_container_is_left_behind(executor: DockerExecutor) -> None:
    """Runs last in this module: every container of every run above is gone."""
    assert our_containers(executor) == []


# -- no engine at all (needs no Docker)


def test_an_unreachable_engine_is_executor_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dead = f"unix://{tmp_path}/no-docker.sock"
    monkeypatch.setenv("DOCKER_HOST", dead)
    executor = DockerExecutor(Settings())
    with pytest.raises(ExecutorUnavailable, match="Docker engine not reachable at") as caught:
        executor.check()
    assert dead in caught.value.message
    assert "--executor local" in caught.value.message
