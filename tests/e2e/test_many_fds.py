"""The kubelet API keeps serving when the daemon has more than 1,024 file
descriptors open (a node with ~1,000 pods has): connections then get
descriptors past FD_SETSIZE, which select() cannot wait on. The node is
started holding 1,100 extra descriptors, so every socket it accepts is
numbered above 1,024."""
import json
import os
import subprocess

import pytest

from test_cli_run import WASMLET
from test_node import ready_status, node_json, wait_for
from test_pods import push_images

NODE = "wasm-many-fds"


@pytest.fixture(scope="module")
def node(cluster, registry, tmp_path_factory, ports):
    work = tmp_path_factory.mktemp("fds")
    fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(1100)]
    log = open(work / "wasmlet.log", "ab")
    try:
        proc = subprocess.Popen(
            [WASMLET, "serve", "--kubeconfig", str(cluster.kubeconfig),
             "--node-name", NODE, "--node-ip", "127.0.0.1",
             "--port", str(ports(1)[0]), "--data-dir", str(work / "data"),
             "--insecure-registries", registry.host],
            stdout=log, stderr=subprocess.STDOUT, pass_fds=fds)
    finally:
        for fd in fds:
            os.close(fd)
    try:
        wait_for("node Ready", lambda: (ready_status(node_json(cluster, NODE))
                                        or {}).get("status") == "True",
                 timeout=30)
        assert len(os.listdir(f"/proc/{proc.pid}/fd")) > 1100
        yield proc, work
    finally:
        proc.terminate()
        rc = proc.wait(timeout=30)
        log.close()
        cluster.kubectl("delete", "pod", "fds-hello", "--force",
                        "--grace-period=0", "--ignore-not-found", check=False)
        cluster.kubectl("delete", "node", NODE, "--ignore-not-found")
    assert rc == 0, (work / "wasmlet.log").read_text()[-3000:]


def test_kubectl_logs_with_descriptors_past_1024(cluster, registry, node):
    image = push_images(registry, "fds", ("hello",))["hello"]
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "fds-hello"},
           "spec": {"nodeName": NODE, "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "tolerations": [{"key": "kubernetes.io/arch",
                                     "operator": "Exists"}],
                    "containers": [{"name": "main", "image": image}]}}
    cluster.kubectl("create", "-f", "-", input=json.dumps(pod))
    wait_for("fds-hello Succeeded", lambda: json.loads(cluster.kubectl(
        "get", "pod", "fds-hello", "-o", "json").stdout)["status"].get(
        "phase") == "Succeeded", timeout=60)
    # through the API server to the kubelet API, several times (each a new
    # connection, numbered past 1024 in the daemon)
    for _ in range(3):
        out = cluster.kubectl("logs", "fds-hello").stdout
        assert out.startswith("hello from wasm\n"), out
