"""Static pods in wasmlet serve (--pod-manifest-path): each manifest of the
directory runs on the node and is shown in the API server as a mirror pod
(annotations, owner, name <pod>-<node>), kept in step with the files; bad
manifests are logged, not run."""
import json
import time

import pytest

from test_node import serve_node, wait_for
from test_pods import push_images

NODE = "wasm-static"
MIRROR = "kubernetes.io/config.mirror"


def manifest(name, image, args, namespace):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"app": "static"}},
            "spec": {"restartPolicy": "Always",
                     "containers": [{"name": "main", "image": image,
                                     "args": args}]}}


@pytest.fixture(scope="module")
def images(registry):
    return push_images(registry, "static", ("sleeper",))


@pytest.fixture(scope="module")
def setup(cluster, registry, images, tmp_path_factory, ports):
    work = tmp_path_factory.mktemp("static")
    d = work / "manifests"
    d.mkdir()
    (d / "web.yaml").write_text(json.dumps(
        manifest("web", images["sleeper"], ["3600"], cluster.namespace)))
    # refused, each with its reason in the log: an unknown field, and an
    # image that is a file
    bad = manifest("typo", images["sleeper"], ["1"], cluster.namespace)
    bad["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    (d / "typo.yaml").write_text(json.dumps(bad))
    (work / "x.wasm").write_bytes(b"\0asm\x01\0\0\0")
    (d / "local.yaml").write_text(json.dumps(
        manifest("local", str(work / "x.wasm"), [], cluster.namespace)))
    (d / "notes.txt").write_text("not a manifest")
    # The node's own identity (TLS bootstrapping), not the admin's: the
    # API server's NodeRestriction must accept the mirror pods.
    gen = serve_node(cluster, NODE, work, ports(1)[0],
                     "--bootstrap-kubeconfig", str(cluster.bootstrap_kubeconfig),
                     "--kubeconfig", str(work / "kubelet.kubeconfig"),
                     "--insecure-registries", registry.host,
                     "--pod-manifest-path", str(d), selector="app=static")
    w = next(gen)
    yield w, d
    next(gen, None)


def mirror(cluster, name):
    r = cluster.kubectl("get", "pod", f"{name}-{NODE}", "-o", "json",
                        check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def running(cluster, name):
    p = mirror(cluster, name)
    return p if p and p["status"].get("phase") == "Running" and \
        not p["metadata"].get("deletionTimestamp") else None


def test_manifest_runs_as_a_mirror_pod(cluster, setup):
    w, _ = setup
    p = wait_for("mirror pod web Running", lambda: running(cluster, "web"),
                 timeout=60)
    meta = p["metadata"]
    ann = meta["annotations"]
    assert ann[MIRROR] == ann["kubernetes.io/config.hash"]
    assert len(ann[MIRROR]) == 32
    assert ann["kubernetes.io/config.source"] == "file"
    assert "kubernetes.io/config.seen" in ann
    node_uid = json.loads(cluster.kubectl(
        "get", "node", NODE, "-o", "json").stdout)["metadata"]["uid"]
    assert meta["ownerReferences"] == [{
        "apiVersion": "v1", "kind": "Node", "name": NODE, "uid": node_uid,
        "controller": True}]
    assert meta["namespace"] == cluster.namespace
    assert p["spec"]["nodeName"] == NODE
    assert meta["labels"] == {"app": "static"}
    assert {"key": "kubernetes.io/arch", "operator": "Equal",
            "value": "wasm32-wasi", "effect": "NoExecute"} in \
        p["spec"]["tolerations"]
    log = cluster.kubectl("logs", f"web-{NODE}").stdout
    assert log == "sleeping 3600 s\n"
    # the bad manifests: not mirrored, each logged once with its reason
    assert mirror(cluster, "typo") is None and mirror(cluster, "local") is None
    out = w.output()
    assert out.count("typo.yaml: pod \"typo\": spec.containers[0]."
                     "imagePullPolicyy: unknown field") == 1, out[-3000:]
    assert out.count("image " + str(setup[1].parent / "x.wasm") +
                     " is a file; static pods of wasmlet serve pull their "
                     "images from a registry") == 1, out[-3000:]
    assert "notes.txt" not in out


def test_mirror_pod_deleted_by_hand_comes_back(cluster, setup):
    before = wait_for("web", lambda: running(cluster, "web"), timeout=60)
    cluster.kubectl("delete", "pod", f"web-{NODE}", "--wait=true",
                    timeout=90)
    after = wait_for("web back", lambda: running(cluster, "web"),
                     timeout=60)
    assert after["metadata"]["uid"] != before["metadata"]["uid"]


def test_changed_manifest_replaces_and_removed_deletes(cluster, setup, images):
    _, d = setup
    before = wait_for("web", lambda: running(cluster, "web"), timeout=60)
    (d / "web.yaml").write_text(json.dumps(
        manifest("web", images["sleeper"], ["1800"], cluster.namespace)))

    def replaced():
        p = running(cluster, "web")
        return p if p and p["metadata"]["annotations"][MIRROR] != \
            before["metadata"]["annotations"][MIRROR] else None
    p = wait_for("web replaced", replaced, timeout=90)
    assert p["spec"]["containers"][0]["args"] == ["1800"]
    assert cluster.kubectl("logs", f"web-{NODE}").stdout == \
        "sleeping 1800 s\n"

    (d / "web.yaml").unlink()
    wait_for("web gone", lambda: mirror(cluster, "web") is None, timeout=90)
