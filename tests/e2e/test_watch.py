"""The list+watch primitive against the real API server, through
`wasmlet watch`: every change is reported exactly once and in order, also
across a restart of kube-apiserver in the middle of the watch."""
import os
import signal
import subprocess
import time

import pytest

from test_cli_run import WASMLET
from test_node import wait_for

# It kills or restarts the API server or etcd: a control plane of its own
# (conftest.py's cluster fixture).
OWN_CLUSTER = True


class Watch:
    def __init__(self, cluster, path, log):
        self.log_path = log
        self.out = open(log, "w")
        self.err_path = str(log) + ".err"
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [WASMLET, "watch", "--kubeconfig", str(cluster.kubeconfig), path],
            stdout=self.out, stderr=self.err)

    def lines(self):
        return [line.split()[:2] for line in
                open(self.log_path).read().splitlines()]

    def wait_lines(self, n, timeout=30):
        return wait_for(f"{n} watch lines (have {self.lines()})",
                        lambda: len(self.lines()) >= n and self.lines(),
                        timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.out.close()
        self.err.close()
        return self.proc.returncode


@pytest.fixture
def namespace(cluster):
    ns = "wl-watch"
    cluster.kubectl("create", "namespace", ns)
    yield ns
    cluster.kubectl("delete", "namespace", ns, "--wait=false")


def test_watch_survives_apiserver_restart(cluster, namespace, tmp_path):
    cluster.kubectl("create", "configmap", "-n", namespace, "before",
                    "--from-literal=k=v")
    w = Watch(cluster, f"/api/v1/namespaces/{namespace}/configmaps",
              tmp_path / "watch.out")
    try:
        # The list: kube-root-ca.crt (made by the controller-manager) may
        # or may not exist yet, so only "before" is checked.
        wait_for("initial list", lambda: ["ADDED", f"{namespace}/before"]
                 in w.lines(), timeout=10)
        cluster.kubectl("create", "configmap", "-n", namespace, "a",
                        "--from-literal=k=1")
        wait_for("ADDED a", lambda: ["ADDED", f"{namespace}/a"] in w.lines(),
                 timeout=10)

        apiserver = cluster.pids()["kube-apiserver"]
        os.kill(apiserver, signal.SIGKILL)
        time.sleep(2)  # the watch sees its stream break and starts retrying
        cluster.script("start")

        cluster.kubectl("create", "configmap", "-n", namespace, "b",
                        "--from-literal=k=2")
        cluster.kubectl("patch", "configmap", "-n", namespace, "a", "-p",
                        '{"data":{"k":"changed"}}')
        cluster.kubectl("delete", "configmap", "-n", namespace, "before")
        wait_for("events after restart",
                 lambda: ["DELETED", f"{namespace}/before"] in w.lines(),
                 timeout=60)
        time.sleep(1)  # anything duplicated would arrive now
        mine = [line for line in w.lines()
                if not line[1].endswith("/kube-root-ca.crt")]
        assert mine == [
            ["ADDED", f"{namespace}/before"],
            ["ADDED", f"{namespace}/a"],
            ["ADDED", f"{namespace}/b"],
            ["MODIFIED", f"{namespace}/a"],
            ["DELETED", f"{namespace}/before"],
        ]
    finally:
        assert w.stop() == 0
    assert "resuming from resourceVersion" in open(w.err_path).read()


def test_watch_rejects_a_bad_path():
    r = subprocess.run([WASMLET, "watch", "pods"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2
    assert "expected one API path such as /api/v1/pods" in r.stderr
