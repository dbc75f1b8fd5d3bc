"""Volumes on a wasmlet node, end to end: configMap, secret, downwardAPI,
projected (with the service account token the admission plugin injects)
and hostPath, as a real cluster hands them to the node; contents read by a
module (tests/wasm/catloop.c), layout and modes checked on the host."""
import base64
import json
import os
import stat
import time

import pytest

from test_node import serve_node, wait_for
from test_pods import create, get, push_images
from test_pods import phase as pods_phase

NODE = "wasm-volumes"
TOLERATE = [{"key": "kubernetes.io/arch", "operator": "Exists"}]
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture(scope="module")
def images(registry):
    return push_images(registry, "vols", ("catloop", "files"))


@pytest.fixture(scope="module")
def node(cluster, registry, tmp_path_factory, ports):
    yield from serve_node(cluster, NODE, tmp_path_factory.mktemp("vols"),
                          ports(1)[0], "--insecure-registries", registry.host)


def vpod(name, image, args, *, volumes=(), mounts=(), restart="Never",
         automount=False, labels=None, annotations=None):
    c = {"name": "main", "image": image, "args": args,
         "volumeMounts": list(mounts)}
    spec = {"restartPolicy": restart, "tolerations": TOLERATE,
            "nodeName": NODE, "containers": [c], "volumes": list(volumes),
            "terminationGracePeriodSeconds": 2}
    if not automount:
        spec["automountServiceAccountToken"] = False
    meta = {"name": name}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def phase(cluster, name, want, timeout=40):
    return pods_phase(cluster, name, want, timeout=timeout)


def log_text(node, p):
    path = node.data_dir / "pods" / p["metadata"]["uid"] / "main" / "0.log"
    if not path.exists():
        return ""
    return "\n".join(line.split(" ", 3)[3] if line.count(" ") >= 3 else ""
                     for line in path.read_text().splitlines())


def wait_log(node, cluster, name, needle, timeout=40):
    def found():
        p = get(cluster, name)
        return p if p and needle in log_text(node, p) else None
    return wait_for(f"{needle!r} in the log of {name}", found, timeout=timeout)


def vol_dir(node, p, vol):
    return node.data_dir / "pods" / p["metadata"]["uid"] / "volumes" / vol


def waiting(p):
    cs = p["status"].get("containerStatuses") or [{}]
    return cs[0].get("state", {}).get("waiting", {})


def events(cluster, name):
    r = cluster.kubectl("get", "events", "--field-selector",
                        f"involvedObject.name={name}", "-o", "json")
    return [(e["reason"], e["message"]) for e in json.loads(r.stdout)["items"]]


def delete(cluster, name, wait=False):
    cluster.kubectl("delete", "pod", name, f"--wait={str(wait).lower()}",
                    "--timeout=30s", check=False)


def kubectl_apply(cluster, obj):
    cluster.kubectl("apply", "-f", "-", input=json.dumps(obj))


def configmap(name, data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name}, "data": data}


def test_configmap_items_mode_layout_update_and_cleanup(cluster, node, images):
    kubectl_apply(cluster, configmap("vol-cm", {"a": "alpha", "b": "beta"}))
    vols = [{"name": "cfg", "configMap": {
        "name": "vol-cm", "defaultMode": 0o644,
        "items": [{"key": "a", "path": "dir/a.txt", "mode": 0o640}]}}]
    create(cluster, vpod("cm", images["catloop"],
                         ["1", "/cfg/dir/a.txt", "/cfg/b"], volumes=vols,
                         mounts=[{"name": "cfg", "mountPath": "/cfg"}],
                         restart="Always"))
    p = wait_log(node, cluster, "cm", "/cfg/dir/a.txt=alpha")
    assert "/cfg/b=" not in log_text(node, p)  # items: only a
    d = vol_dir(node, p, "cfg")
    assert os.readlink(d / "dir") == "..data/dir"
    ts = os.readlink(d / "..data")
    assert ts.startswith("..20") and (d / ts).is_dir()
    assert stat.S_IMODE(os.stat(d / "dir" / "a.txt").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o755
    assert sorted(e for e in os.listdir(d) if not e.startswith("..")) == ["dir"]

    # An update reaches the running module without a restart.
    t0 = time.monotonic()
    kubectl_apply(cluster, configmap("vol-cm", {"a": "ALPHA-2", "b": "beta"}))
    wait_log(node, cluster, "cm", "/cfg/dir/a.txt=ALPHA-2", timeout=60)
    assert time.monotonic() - t0 < 60
    p = get(cluster, "cm")
    assert p["status"]["containerStatuses"][0]["restartCount"] == 0
    assert os.readlink(d / "..data") != ts
    assert not (d / ts).exists()  # the old payload is gone

    delete(cluster, "cm", wait=True)
    wait_for("volume dir removed", lambda: not d.exists(), timeout=20)


def test_secret_volume_content_and_owner_only_modes(cluster, node, images):
    cluster.kubectl("create", "secret", "generic", "vol-sec",
                    "--from-literal=pw=hunter2", "--from-literal=user=bob")
    vols = [{"name": "sec", "secret": {"secretName": "vol-sec"}}]
    create(cluster, vpod("sec", images["catloop"], ["1", "/sec/pw"],
                         volumes=vols,
                         mounts=[{"name": "sec", "mountPath": "/sec"}],
                         restart="Always"))
    p = wait_log(node, cluster, "sec", "/sec/pw=hunter2")
    d = vol_dir(node, p, "sec")
    # defaultMode 0644 (the API's default) loses group/other bits.
    assert p["spec"]["volumes"][0]["secret"]["defaultMode"] == 0o644
    assert stat.S_IMODE(os.stat(d / "pw").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(d / "user").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    delete(cluster, "sec")


def test_downward_api_labels_annotations_name_and_relabel(cluster, node,
                                                          images):
    items = [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
             {"path": "annotations",
              "fieldRef": {"fieldPath": "metadata.annotations"}},
             {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
             {"path": "tier",
              "fieldRef": {"fieldPath": "metadata.labels['tier']"}}]
    vols = [{"name": "info", "downwardAPI": {"items": items}}]
    create(cluster, vpod("dapi", images["catloop"],
                         ["1", "/info/labels", "/info/annotations",
                          "/info/name", "/info/tier"],
                         volumes=vols,
                         mounts=[{"name": "info", "mountPath": "/info"}],
                         restart="Always",
                         labels={"app": "web", "tier": "front"},
                         annotations={"note": 'say "hi"'}))
    p = wait_log(node, cluster, "dapi", "/info/name=dapi")
    text = log_text(node, p)
    assert '/info/labels=app="web"\ntier="front"' in text
    assert '/info/annotations=note="say \\"hi\\""' in text
    assert "/info/tier=front" in text
    # Labels change: the file follows within the resync.
    cluster.kubectl("label", "pod", "dapi", "extra=yes")
    wait_log(node, cluster, "dapi", 'extra="yes"', timeout=60)
    delete(cluster, "dapi")


def jwt_claims(token):
    parts = token.split(".")
    assert len(parts) == 3, token[:20]
    body = parts[1] + "=" * (-len(parts[1]) % 4)
    return json.loads(base64.urlsafe_b64decode(body))


def test_projected_all_sources_and_default_service_account(cluster, node,
                                                           images):
    kubectl_apply(cluster, configmap("proj-cm", {"color": "blue"}))
    cluster.kubectl("create", "secret", "generic", "proj-sec",
                    "--from-literal=key=k3y")
    sources = [
        {"configMap": {"name": "proj-cm",
                       "items": [{"key": "color", "path": "cm/color"}]}},
        {"secret": {"name": "proj-sec"}},
        {"downwardAPI": {"items": [{"path": "podname", "fieldRef": {
            "fieldPath": "metadata.name"}}]}},
        {"serviceAccountToken": {"path": "tok", "audience": "vault",
                                 "expirationSeconds": 600}},
    ]
    vols = [{"name": "proj", "projected": {"sources": sources}}]
    # No automountServiceAccountToken: false, so the ServiceAccount
    # admission plugin adds kube-api-access-xxxxx.
    obj = vpod("proj", images["catloop"],
               ["1", "/proj/cm/color", "/proj/key", "/proj/podname",
                "/proj/tok", f"{SA_DIR}/token", f"{SA_DIR}/namespace",
                f"{SA_DIR}/ca.crt"],
               volumes=vols, mounts=[{"name": "proj", "mountPath": "/proj"}],
               restart="Always", automount=True)
    create(cluster, obj)
    p = wait_log(node, cluster, "proj", f"{SA_DIR}/namespace={cluster.namespace}")
    names = [v["name"] for v in p["spec"]["volumes"]]
    assert any(n.startswith("kube-api-access-") for n in names), names
    text = log_text(node, p)
    assert "/proj/cm/color=blue" in text
    assert "/proj/key=k3y" in text
    assert "/proj/podname=proj" in text
    assert "BEGIN CERTIFICATE" in text
    lines = text.splitlines()
    tok = next(l for l in lines if l.startswith("/proj/tok="))[len("/proj/tok="):]
    claims = jwt_claims(tok)
    assert claims["aud"] == ["vault"]
    assert claims["kubernetes.io"]["pod"]["name"] == "proj"
    assert claims["kubernetes.io"]["pod"]["uid"] == p["metadata"]["uid"]
    assert 500 <= claims["exp"] - claims["iat"] <= 700
    sa = next(l for l in lines if l.startswith(f"{SA_DIR}/token="))
    sa_claims = jwt_claims(sa.split("=", 1)[1])
    assert sa_claims["sub"] == \
        f"system:serviceaccount:{cluster.namespace}:default"
    # A token in the volume makes it owner-only.
    d = vol_dir(node, p, "proj")
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(d / "tok").st_mode) == 0o600
    delete(cluster, "proj")


def test_missing_configmap_fails_mount_then_runs_once_created(cluster, node,
                                                              images):
    cluster.kubectl("delete", "configmap", "late-cm", "--ignore-not-found")
    vols = [{"name": "cfg", "configMap": {"name": "late-cm"}}]
    create(cluster, vpod("late", images["catloop"], ["0", "/cfg/k"],
                         volumes=vols,
                         mounts=[{"name": "cfg", "mountPath": "/cfg"}]))
    want = ('MountVolume.SetUp failed for volume "cfg" : '
            'configmap "late-cm" not found')
    wait_for("FailedMount event",
             lambda: ("FailedMount", want) in events(cluster, "late"),
             timeout=30)
    # The Event and the status are written apart (as the kubelet's): the
    # status may come a moment after.
    p = wait_for("ContainerCreating", lambda: (lambda p: p if waiting(p).get(
        "reason") == "ContainerCreating" else None)(get(cluster, "late")),
        timeout=10)
    assert p["status"]["phase"] == "Pending"
    kubectl_apply(cluster, configmap("late-cm", {"k": "here"}))
    p = phase(cluster, "late", "Succeeded", timeout=60)
    assert "/cfg/k=here" in log_text(node, p)
    delete(cluster, "late")


def test_optional_missing_sources_give_an_empty_volume(cluster, node, images):
    vols = [{"name": "cfg", "configMap": {"name": "nope-cm",
                                          "optional": True}},
            {"name": "sec", "secret": {"secretName": "nope-sec",
                                       "optional": True}}]
    mounts = [{"name": "cfg", "mountPath": "/cfg"},
              {"name": "sec", "mountPath": "/sec"}]
    create(cluster, vpod("optional", images["files"], ["ls", "/cfg"],
                         volumes=vols, mounts=mounts))
    p = phase(cluster, "optional", "Succeeded")
    entries = [l for l in log_text(node, p).splitlines() if l]
    assert [e for e in entries if not e.startswith("..")] == [], entries
    delete(cluster, "optional")


def test_host_path_types(cluster, node, images, tmp_path):
    made = tmp_path / "made" / "sub"
    vols = [{"name": "h", "hostPath": {"path": str(made),
                                       "type": "DirectoryOrCreate"}}]
    mounts = [{"name": "h", "mountPath": "/h"}]
    create(cluster, vpod("hpcreate", images["files"],
                         ["write", "/h/f", "hi"], volumes=vols,
                         mounts=mounts))
    phase(cluster, "hpcreate", "Succeeded")
    assert stat.S_IMODE(os.stat(made).st_mode) == 0o755
    assert (made / "f").read_text() == "hi"
    delete(cluster, "hpcreate")

    cases = {
        "hpmissing": ({"path": str(tmp_path / "absent"), "type": "Directory"},
                      "hostPath type check failed: "
                      f"{tmp_path / 'absent'} is not a directory"),
        "hpfile": ({"path": str(tmp_path / "made"), "type": "File"},
                   "hostPath type File is not supported: WASI can only "
                   "preopen directories"),
    }
    for name, (src, _) in cases.items():
        create(cluster, vpod(name, images["files"], ["ls", "/h"],
                             volumes=[{"name": "h", "hostPath": src}],
                             mounts=mounts))
    for name, (_, msg) in cases.items():
        p = wait_for(f"{name} CreateContainerConfigError",
                     lambda: (lambda p: p if p and waiting(p).get("reason") ==
                              "CreateContainerConfigError" else None)(
                                  get(cluster, name)), timeout=30)
        assert msg in waiting(p)["message"], waiting(p)
        assert not (tmp_path / "absent").exists()
        delete(cluster, name)


def terminated(p):
    cs = p["status"].get("containerStatuses") or [{}]
    return cs[0].get("state", {}).get("terminated")


def mounts_at(path):
    """Mount points in /proc/self/mountinfo at path: (fstype, options)."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            point = left.split()[4].replace("\\040", " ")
            if point == str(path):
                fstype, _, opts = right.split()[:3]
                found.append((fstype, opts))
    return found


def test_empty_dir_over_its_size_limit_evicts_the_pod(cluster, node, images):
    # restartPolicy Always: an evicted pod still never runs again.
    over = vpod("ed-over", images["files"],
                ["fill", "/scratch/big", str(4 << 20)],
                volumes=[{"name": "scratch",
                          "emptyDir": {"sizeLimit": "1Mi"}}],
                mounts=[{"name": "scratch", "mountPath": "/scratch"}],
                restart="Always")
    under = vpod("ed-under", images["files"],
                 ["fill", "/scratch/small", str(1 << 20)],
                 volumes=[{"name": "scratch",
                           "emptyDir": {"sizeLimit": "8Mi"}}],
                 mounts=[{"name": "scratch", "mountPath": "/scratch"}],
                 restart="Always")
    create(cluster, over)
    create(cluster, under)
    want = 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".'
    p = phase(cluster, "ed-over", "Failed", timeout=40)
    assert p["status"]["reason"] == "Evicted"
    assert p["status"]["message"] == want
    assert "wrote 4194304 bytes" in log_text(node, p)
    wait_for("Evicted event",
             lambda: ("Evicted", want) in events(cluster, "ed-over"),
             timeout=20)
    p = wait_for("container terminated",
                 lambda: (lambda p: p if p and terminated(p) else None)(
                     get(cluster, "ed-over")), timeout=20)
    assert terminated(p)["exitCode"] == 137, terminated(p)
    # Nothing restarts: two more measures later it is still so.
    time.sleep(12)
    p = get(cluster, "ed-over")
    assert p["status"]["phase"] == "Failed"
    assert p["status"]["containerStatuses"][0]["restartCount"] == 0
    assert terminated(p)["exitCode"] == 137
    assert not (node.data_dir / "pods" / p["metadata"]["uid"] / "main" /
                "1.log").exists()

    # Under its limit: runs on.
    q = wait_log(node, cluster, "ed-under", "wrote 1048576 bytes")
    assert q["status"]["phase"] == "Running"
    assert "Evicted" not in [r for r, _ in events(cluster, "ed-under")]
    assert q["status"]["containerStatuses"][0]["restartCount"] == 0
    delete(cluster, "ed-over")
    delete(cluster, "ed-under")


def test_memory_medium_empty_dir(cluster, node, images):
    vols = [{"name": "mem", "emptyDir": {"medium": "Memory",
                                         "sizeLimit": "2Mi"}}]
    create(cluster, vpod("ed-mem", images["files"],
                         ["fill", "/mem/data", str(512 << 10)],
                         volumes=vols,
                         mounts=[{"name": "mem", "mountPath": "/mem"}],
                         restart="Always"))
    p = wait_log(node, cluster, "ed-mem", "wrote 524288 bytes")
    d = vol_dir(node, p, "mem")
    assert (d / "data").stat().st_size == 512 << 10
    real = os.path.realpath(d)
    found = mounts_at(real)
    if os.geteuid() == 0:
        # Root: a tmpfs of sizeLimit, as the kubelet mounts it.
        assert len(found) == 1 and found[0][0] == "tmpfs", found
        assert "size=2048k" in found[0][1], found
    else:
        assert found == []  # a plain directory
        assert "medium Memory is a plain directory" in node.output()
    assert p["status"]["phase"] == "Running"
    delete(cluster, "ed-mem", wait=True)
    pod_dir = node.data_dir / "pods" / p["metadata"]["uid"]
    wait_for("pod dir removed", lambda: not pod_dir.exists(), timeout=20)
    assert mounts_at(real) == []
