"""wasmlet serve joins a real cluster as a node: registration, labels,
taints, capacity, nodeInfo, Lease heartbeats, shutdown and death."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import GROUP_LABEL
from test_cli_run import WASMLET


class Wasmlet:
    """One `wasmlet serve` process against the session's cluster."""

    def __init__(self, cluster, name, tmp_path, port, *extra):
        self.cluster = cluster
        self.name = name
        self.port = port
        self.data_dir = tmp_path / f"data-{name}"
        self.log_path = tmp_path / f"wasmlet-{name}.log"
        self.extra = list(extra)
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        # In its module's group (conftest.GROUP_LABEL): the pods the
        # scheduler places from the module's namespace land here.
        group = ["--node-labels", f"{GROUP_LABEL}={self.cluster.namespace}"] \
            if getattr(self.cluster, "namespace", None) else []
        self.proc = subprocess.Popen(
            [WASMLET, "serve", "--kubeconfig", str(self.cluster.kubeconfig),
             "--node-name", self.name, "--node-ip", "127.0.0.1",
             "--port", str(self.port), "--data-dir", str(self.data_dir),
             *group, *self.extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        if self.proc:
            self.log.close()
        return self.proc.returncode

    def output(self):
        return self.log_path.read_text()


def serve_node(cluster, name, tmp_path, port, *extra, selector=None):
    """A module fixture's body: starts a node, waits until it is Ready,
    yields it, then stops it (it must exit 0) and deletes its pods
    (selector, default all) and its Node."""
    w = Wasmlet(cluster, name, tmp_path, port, *extra)
    w.start()
    try:
        wait_for("node Ready", lambda: (ready_status(node_json(cluster, name))
                                        or {}).get("status") == "True",
                 timeout=15)
    except BaseException:
        w.stop(signal.SIGKILL)  # never leave the daemon behind
        raise
    yield w
    rc = w.stop(signal.SIGTERM)
    cluster.kubectl("delete", "pods", *(["-l", selector] if selector
                                        else ["--all"]),
                    "--force", "--grace-period=0", check=False)
    cluster.kubectl("delete", "node", name, "--ignore-not-found")
    assert rc == 0, w.output()[-3000:]


def get_json(cluster, *args):
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def node_json(cluster, name):
    r = cluster.kubectl("get", "node", name, "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def ready_status(node):
    for c in (node or {}).get("status", {}).get("conditions", []):
        if c["type"] == "Ready":
            return c
    return None


def wait_for(what, fn, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture
def node(cluster, tmp_path, ports, request):
    name = "wasm-" + request.node.name.replace("_", "-")[5:40].lower().strip("-")
    w = Wasmlet(cluster, name, tmp_path, ports(1)[0],
                *getattr(request, "param", ()))
    yield w
    w.stop(signal.SIGKILL)
    cluster.kubectl("delete", "node", name, "--ignore-not-found",
                    "--wait=false")


def test_node_ready_within_5s_with_labels_taints_and_info(cluster, node):
    node.extra += ["--max-pods", "57", "--node-labels", "team=wasm,tier=edge"]
    t0 = time.monotonic()
    node.start()
    n = wait_for("node Ready",
                 lambda: (lambda n: n if (ready_status(n) or {}).get("status")
                          == "True" else None)(node_json(cluster, node.name)),
                 timeout=5)
    assert time.monotonic() - t0 < 5

    labels = n["metadata"]["labels"]
    assert labels["kubernetes.io/arch"] == "wasm32-wasi"
    assert labels["kubernetes.io/os"] == "linux"
    # --node-name without --hostname-override: the node is its own
    # topology domain, not the host's (as a kubelet named by its override)
    assert labels["kubernetes.io/hostname"] == node.name
    hostname = [a["address"] for a in n["status"]["addresses"]
                if a["type"] == "Hostname"]
    assert hostname == [node.name], n["status"]["addresses"]
    assert labels["node.kubernetes.io/instance-type"] == "wasmlet"
    assert labels["team"] == "wasm" and labels["tier"] == "edge"

    # Only ours: the node lifecycle controller may add its own (not-ready)
    # for a moment.
    taints = sorted((t["key"], t.get("value"), t["effect"])
                    for t in n["spec"]["taints"]
                    if t["key"] == "kubernetes.io/arch")
    assert taints == [("kubernetes.io/arch", "wasm32-wasi", "NoExecute"),
                      ("kubernetes.io/arch", "wasm32-wasi", "NoSchedule")]

    st = n["status"]
    assert st["capacity"]["cpu"] == str(os.cpu_count())
    assert st["capacity"]["pods"] == "57"
    assert st["allocatable"]["pods"] == "57"
    mem_kib = int(st["capacity"]["memory"].removesuffix("Ki"))
    with open("/proc/meminfo") as f:
        total_kib = int(f.readline().split()[1])
    assert mem_kib == total_kib
    assert int(st["allocatable"]["memory"].removesuffix("Ki")) == \
        total_kib - 100 * 1024
    assert {"type": "InternalIP", "address": "127.0.0.1"} in st["addresses"]
    assert st["daemonEndpoints"]["kubeletEndpoint"]["Port"] == node.port
    info = st["nodeInfo"]
    assert info["kubeletVersion"] == "wasmlet/0.1.0"
    assert info["containerRuntimeVersion"] == "wasmtime://39.0.0"
    assert info["operatingSystem"] == "linux"
    assert info["kernelVersion"] == os.uname().release
    conds = {c["type"]: c for c in st["conditions"]}
    assert set(conds) == {"Ready", "MemoryPressure", "DiskPressure",
                          "PIDPressure"}
    assert conds["Ready"]["reason"] == "KubeletReady"
    assert conds["MemoryPressure"]["status"] == "False"
    assert conds["DiskPressure"]["status"] == "False"
    assert conds["PIDPressure"]["status"] == "False"

    described = cluster.kubectl("describe", "node", node.name).stdout
    assert "kubernetes.io/arch=wasm32-wasi:NoSchedule" in described
    assert "kubernetes.io/arch=wasm32-wasi:NoExecute" in described
    assert "Kubelet Version:            wasmlet/0.1.0" in described
    assert "Container Runtime Version:  wasmtime://39.0.0" in described


def test_lease_is_renewed_and_owned_by_node(cluster, node):
    node.start()
    wait_for("lease", lambda: cluster.kubectl(
        "get", "lease", "-n", "kube-node-lease", node.name,
        check=False).returncode == 0, timeout=10)
    lease = get_json(cluster, "lease", "-n", "kube-node-lease", node.name)
    n = node_json(cluster, node.name)
    assert lease["spec"]["holderIdentity"] == node.name
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"][0]["uid"] == \
        n["metadata"]["uid"]
    first = lease["spec"]["renewTime"]
    # Renewed every 10 s: polled, not slept on.
    wait_for("lease renewed", lambda: get_json(
        cluster, "lease", "-n", "kube-node-lease",
        node.name)["spec"]["renewTime"] > first, timeout=20, interval=0.5)


def test_sigterm_marks_node_not_ready_and_exits_0(cluster, node):
    node.start()
    wait_for("node Ready", lambda: (ready_status(node_json(
        cluster, node.name)) or {}).get("status") == "True", timeout=10)
    assert node.stop(signal.SIGTERM) == 0
    ready = ready_status(node_json(cluster, node.name))
    assert ready["status"] == "False"
    assert ready["reason"] == "KubeletNotReady"
    assert ready["message"] == "wasmlet is shutting down"
    assert "node marked NotReady" in node.output()


def test_killed_node_goes_unknown_and_restart_reuses_it(cluster, node):
    node.start()
    wait_for("node Ready", lambda: (ready_status(node_json(
        cluster, node.name)) or {}).get("status") == "True", timeout=10)
    uid = node_json(cluster, node.name)["metadata"]["uid"]
    node.stop(signal.SIGKILL)
    # The node lifecycle controller notices the Lease stopped (grace period
    # 20 s in scripts/cluster.sh) and sets Ready to Unknown.
    wait_for("node Ready=Unknown", lambda: (ready_status(node_json(
        cluster, node.name)) or {}).get("status") == "Unknown", timeout=60,
        interval=1)
    node.start()
    wait_for("node Ready again", lambda: (ready_status(node_json(
        cluster, node.name)) or {}).get("status") == "True", timeout=15)
    assert node_json(cluster, node.name)["metadata"]["uid"] == uid
    nodes = get_json(cluster, "nodes")["items"]
    assert [x["metadata"]["name"] for x in nodes].count(node.name) == 1
    assert "node exists, taken over" in node.output()


def test_drain_on_exit_cordons_and_evicts(cluster, node):
    node.extra.append("--drain-on-exit")
    node.start()
    wait_for("node Ready", lambda: (ready_status(node_json(
        cluster, node.name)) or {}).get("status") == "True", timeout=10)
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"{node.name}-victim"},
        "spec": {
            "nodeName": node.name,
            "automountServiceAccountToken": False,
            "tolerations": [{"key": "kubernetes.io/arch", "operator": "Exists"}],
            "containers": [{"name": "c", "image": "example.com/x.wasm:1"}],
        },
    }
    cluster.kubectl("create", "-f", "-", input=json.dumps(pod))
    assert node.stop(signal.SIGTERM) == 0
    n = node_json(cluster, node.name)
    assert n["spec"].get("unschedulable") is True
    # Evicted: the pod manager finishes the deletion itself when it gets
    # there before shutting down, else the pod is left terminating.
    r = cluster.kubectl("get", "pod", pod["metadata"]["name"],
                        "-o", "json", check=False)
    if r.returncode == 0:
        assert json.loads(r.stdout)["metadata"].get("deletionTimestamp")
    else:
        assert "NotFound" in r.stderr
    assert f"pod evicted pod={cluster.namespace}/{node.name}-victim" in \
        node.output()
    cluster.kubectl("delete", "pod", pod["metadata"]["name"],
                    "--grace-period=0", "--force", check=False)


def test_bad_configuration_is_a_clear_error(cluster, tmp_path):
    r = subprocess.run([WASMLET, "serve", "--port", "70000"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert '--port "70000": expected a number from 1 to 65535' in r.stderr
    r = subprocess.run([WASMLET, "serve", "--kubeconfig",
                        str(tmp_path / "nope"), "--data-dir",
                        str(tmp_path / "d"), "--node-name", "x"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert str(tmp_path / "nope") in r.stderr
    assert "No such file or directory" in r.stderr
    r = subprocess.run([WASMLET, "serve", "--node-name", "Bad_Name",
                        "--data-dir", str(tmp_path / "d")],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert 'node name "Bad_Name" is not a lower-case DNS subdomain' in r.stderr
    r = subprocess.run([WASMLET, "serve", "--help"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0
    assert "kubernetes.io/arch=wasm32-wasi" in r.stdout
    env = dict(os.environ, WASMLET_MAX_PODS="0")
    r = subprocess.run([WASMLET, "serve"], capture_output=True, text=True,
                       timeout=10, env=env)
    assert r.returncode == 2
    assert 'WASMLET_MAX_PODS "0": expected a number from 1 to 100000' \
        in r.stderr
