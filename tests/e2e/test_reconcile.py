"""A wasmlet that dies hard and comes back: every pod reconciled, nothing
run twice, restart counts right; and many pods at once."""
import json
import os
import signal
import time

import pytest

from test_node import Wasmlet, node_json, ready_status, wait_for
from test_pods import cstatus, delete, get, images, pod  # noqa: F401

# It kills or restarts the API server or etcd: a control plane of its own
# (conftest.py's cluster fixture).
OWN_CLUSTER = True

NODE = "wasm-reconcile"


def run_on_node(cluster, wasmlet, objs, **labels):
    """Starts wasmlet, then creates objs bound to its node (all at once, one
    List) with the suite's label and labels."""
    for o in objs:
        o["spec"]["nodeName"] = NODE
        o["metadata"]["labels"] = {"suite": "reconcile", **labels}
    wasmlet.start()
    wasmlet.ready()
    cluster.kubectl("create", "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": objs}))


def pods_by_name(cluster, selector):
    r = cluster.kubectl("get", "pods", "-l", selector, "-o", "json")
    return {p["metadata"]["name"]: p for p in json.loads(r.stdout)["items"]}


def runs(node, p, container="main"):
    """The run numbers whose logs exist, i.e. the runs that began."""
    d = node.data_dir / "pods" / p["metadata"]["uid"] / container
    return sorted(int(f.stem) for f in d.glob("*.log"))


@pytest.fixture
def wasmlet(cluster, registry, tmp_path, ports):
    w = Wasmlet(cluster, NODE, tmp_path, ports(1)[0],
                "--insecure-registries", registry.host, "--max-pods", "120")

    def ready():
        wait_for("node Ready", lambda: (ready_status(
            node_json(cluster, NODE)) or {}).get("status") == "True",
            timeout=30)
    w.ready = ready
    yield w
    w.stop(signal.SIGKILL)
    cluster.kubectl("delete", "pods", "-l", "suite=reconcile", "--force",
                    "--grace-period=0", check=False)
    cluster.kubectl("delete", "node", NODE, "--ignore-not-found")


def test_kill_9_with_20_pods_then_restart_reconciles_each(cluster, wasmlet,
                                                         images):
    objs = []
    for i in range(8):  # long-running, restartPolicy Always
        objs.append(pod(f"rc-always-{i}", images["sleeper"],
                        restart="Always"))
    for i in range(6):  # long-running, Never: lost, must not run again
        objs.append(pod(f"rc-never-{i}", images["sleeper"]))
    for i in range(6):  # done before the crash: must stay done
        objs.append(pod(f"rc-done-{i}", images["hello"]))
    run_on_node(cluster, wasmlet, objs)

    def settled():
        ps = pods_by_name(cluster, "suite=reconcile")
        want = {n: ("Succeeded" if "done" in n else "Running")
                for n in (o["metadata"]["name"] for o in objs)}
        ok = all(ps.get(n, {}).get("status", {}).get("phase") == ph
                 for n, ph in want.items())
        return ps if ok else None
    before = wait_for("20 pods Running/Succeeded", settled, timeout=90)
    for name, p in before.items():
        assert runs(wasmlet, p) == [0], name

    assert wasmlet.stop(signal.SIGKILL) == -signal.SIGKILL
    mark = len(wasmlet.output())
    wasmlet.start()
    wasmlet.ready()

    def reconciled():
        ps = pods_by_name(cluster, "suite=reconcile")
        for name, p in ps.items():
            st = p["status"]
            cs = (st.get("containerStatuses") or [{}])[0]
            if name.startswith("rc-always"):
                if not (st.get("phase") == "Running" and "running" in
                        cs.get("state", {}) and cs.get("restartCount") == 1):
                    return None
            elif name.startswith("rc-never"):
                if st.get("phase") != "Failed":
                    return None
        return ps
    after = wait_for("pods reconciled", reconciled, timeout=60)

    def started_before(name):
        return cstatus(before[name])["state"]["running"]["startedAt"]

    for name, p in after.items():
        cs = cstatus(p)
        if name.startswith("rc-always"):
            # the lost run is the last state; the new one is run 1
            last = cs["lastState"]["terminated"]
            assert last["reason"] == "ContainerStatusUnknown", last
            assert last["exitCode"] == 137
            # it started when the status said, not at the epoch
            assert last["startedAt"] == started_before(name), (last, name)
            assert runs(wasmlet, p) == [0, 1], name
        elif name.startswith("rc-never"):
            term = cs["state"]["terminated"]
            assert term["reason"] == "ContainerStatusUnknown", term
            assert term["exitCode"] == 137
            assert term["startedAt"] == started_before(name), (term, name)
            assert cs["restartCount"] == 0
            assert runs(wasmlet, p) == [0], name  # never run again
        else:
            assert p["status"]["phase"] == "Succeeded"
            assert cs["state"]["terminated"]["reason"] == "Completed"
            assert runs(wasmlet, p) == [0], name
            log = (wasmlet.data_dir / "pods" / p["metadata"]["uid"] /
                   "main" / "0.log").read_text()
            assert log.count("hello from wasm") == 1, log
    # the restarted daemon loaded the compiled module from its disk cache
    # and compiled nothing
    again = wasmlet.output()[mark:]
    assert "source=disk" in again, again[-3000:]
    assert "source=compiled" not in again
    # the uids did not change: the same pods, adopted
    assert {n: p["metadata"]["uid"] for n, p in before.items()} == \
        {n: p["metadata"]["uid"] for n, p in after.items()}


def test_pod_dirs_of_pods_deleted_while_down_are_removed(cluster, wasmlet,
                                                        images):
    run_on_node(cluster, wasmlet, [pod("rc-gone", images["hello"])])
    p = wait_for("rc-gone done", lambda: (lambda p: p if p and p["status"].get(
        "phase") == "Succeeded" else None)(get(cluster, "rc-gone")),
        timeout=30)
    d = wasmlet.data_dir / "pods" / p["metadata"]["uid"]
    assert d.is_dir()
    wasmlet.stop(signal.SIGKILL)
    cluster.kubectl("delete", "pod", "rc-gone", "--force", "--grace-period=0")
    wasmlet.start()
    wasmlet.ready()
    wait_for("dir removed", lambda: not d.exists(), timeout=20)


def test_100_pods_created_at_once_all_succeed(cluster, wasmlet, images):
    objs = []
    for i in range(100):
        objs.append(pod(f"rc-many-{i}", images["hello"], args=[f"pod{i}"]))
    run_on_node(cluster, wasmlet, objs, many="yes")

    def all_done():
        ps = pods_by_name(cluster, "many=yes")
        phases = [p["status"].get("phase") for p in ps.values()]
        return ps if len(ps) == 100 and set(phases) == {"Succeeded"} else None
    ps = wait_for("100 pods Succeeded", all_done, timeout=240, interval=1)
    for name, p in ps.items():
        cs = cstatus(p)
        assert cs["state"]["terminated"]["exitCode"] == 0, name
        assert runs(wasmlet, p) == [0], name
    cluster.kubectl("delete", "pods", "-l", "many=yes", "--wait=false")
    wait_for("100 pods deleted", lambda: not pods_by_name(
        cluster, "many=yes"), timeout=120, interval=1)
    # statuses go through the coalescing writer: a short-lived pod costs
    # at most 4 status writes (issue: benchmarks, churn)
    assert wasmlet.stop(signal.SIGTERM) == 0
    line = next(ln for ln in wasmlet.output().splitlines()
                if "pod writer stats" in ln)
    stats = dict(kv.split("=") for kv in line.split() if "=" in kv)
    written = int(stats["written"])
    assert 100 <= written <= 400, line


def test_apiserver_restart_pods_keep_running_and_status_catches_up(
        cluster, wasmlet, images):
    objs = [pod("rc-long", images["sleeper"], restart="Always"),
            pod("rc-short", images["sleeper"], args=["4"])]
    run_on_node(cluster, wasmlet, objs)
    wait_for("both Running", lambda: all(
        (get(cluster, n) or {}).get("status", {}).get("phase") == "Running"
        for n in ("rc-long", "rc-short")), timeout=40)

    os.kill(cluster.pids()["kube-apiserver"], signal.SIGKILL)
    time.sleep(6)  # rc-short ends while nobody can be told
    cluster.script("start")

    # the status written while the API server was away arrives after it
    done = wait_for("rc-short Succeeded", lambda: (lambda p: p if p and p[
        "status"].get("phase") == "Succeeded" else None)(
        get(cluster, "rc-short")), timeout=40)
    assert cstatus(done)["state"]["terminated"]["exitCode"] == 0
    long = get(cluster, "rc-long")
    assert long["status"]["phase"] == "Running"
    assert cstatus(long)["restartCount"] == 0  # kept running throughout
    assert runs(wasmlet, long) == [0] and runs(wasmlet, done) == [0]


def test_sigterm_while_apiserver_is_down_stops_promptly(cluster, wasmlet,
                                                        images):
    run_on_node(cluster, wasmlet,
                [pod("rc-asleep", images["sleeper"], restart="Always")])
    wait_for("Running", lambda: (get(cluster, "rc-asleep") or {}).get(
        "status", {}).get("phase") == "Running", timeout=40)
    os.kill(cluster.pids()["kube-apiserver"], signal.SIGKILL)
    time.sleep(1)
    try:
        t0 = time.monotonic()
        assert wasmlet.stop(signal.SIGTERM, timeout=30) == 0
        took = time.monotonic() - t0
        # the pod writer gives up on its last statuses after 5 s
        assert took < 15, took
    finally:
        cluster.script("start")
        wait_for("API server back", lambda: cluster.kubectl(
            "get", "--raw", "/readyz", check=False).returncode == 0,
            timeout=60)
