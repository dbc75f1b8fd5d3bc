"""Pods on a wasmlet node, end to end: the real scheduler, API server,
registry and kubectl, modules from tests/wasm, status fields and Events as
users read them."""
import json
import subprocess
import time

import pytest

from test_cli_run import WASMLET, module
from test_node import serve_node, wait_for

NODE = "wasm-pods"
TOLERATE = [{"key": "kubernetes.io/arch", "operator": "Exists"}]


def push_images(registry, repo, names):
    """Pushes the test modules names to registry under repo: name -> ref."""
    out = {}
    for name in names:
        ref = f"{registry.host}/{repo}/{name}:v1"
        r = subprocess.run([WASMLET, "push", "--insecure", module(name), ref],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        out[name] = ref
    return out


@pytest.fixture(scope="module")
def images(registry):
    return push_images(registry, "pods", (
        "hello", "exit_code", "trap", "loop", "memhog", "files", "logspam",
        "sleeper"))


@pytest.fixture(scope="module")
def node(cluster, registry, tmp_path_factory, ports):
    yield from serve_node(cluster, NODE, tmp_path_factory.mktemp("pods"),
                          ports(1)[0], "--insecure-registries", registry.host, "--max-pods", "40")


def pod(name, image, *, args=None, restart="Never", env=None, extra=None,
        init=None, volumes=None, mounts=None, resources=None, schedule=False):
    c = {"name": "main", "image": image}
    if args is not None:
        c["args"] = args
    if env:
        c["env"] = env
    if mounts:
        c["volumeMounts"] = mounts
    if resources:
        c["resources"] = resources
    spec = {"restartPolicy": restart, "automountServiceAccountToken": False,
            "tolerations": TOLERATE, "containers": [c],
            "terminationGracePeriodSeconds": 5}
    if schedule:
        spec["nodeSelector"] = {"kubernetes.io/arch": "wasm32-wasi"}
    else:
        spec["nodeName"] = NODE
    if init:
        spec["initContainers"] = init
    if volumes:
        spec["volumes"] = volumes
    spec.update(extra or {})
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name}, "spec": spec}


def create(cluster, obj):
    cluster.kubectl("create", "-f", "-", input=json.dumps(obj))


def get(cluster, name):
    r = cluster.kubectl("get", "pod", name, "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def phase(cluster, name, want, timeout=30):
    return wait_for(f"pod {name} phase {want}",
                    lambda: (lambda p: p if p and p["status"].get("phase")
                             == want else None)(get(cluster, name)),
                    timeout=timeout)


def cstatus(p, i=0, init=False):
    return p["status"]["initContainerStatuses" if init
                       else "containerStatuses"][i]


def log_of(node, p, container="main", restart=0):
    uid = p["metadata"]["uid"]
    path = node.data_dir / "pods" / uid / container / f"{restart}.log"
    return [line.split(" ", 1)[1] for line in path.read_text().splitlines()]


def events(cluster, name):
    r = cluster.kubectl("get", "events", "--field-selector",
                        f"involvedObject.name={name}", "-o", "json")
    return [(e["reason"], e["message"]) for e in json.loads(r.stdout)["items"]]


def delete(cluster, name):
    cluster.kubectl("delete", "pod", name, "--wait=false", check=False)


def test_hello_succeeds_with_output_events_and_status(cluster, node, images):
    create(cluster, pod("hello", images["hello"], args=["a b", "c"],
                        env=[{"name": "GREETING", "value": "hi"}]))
    p = phase(cluster, "hello", "Succeeded")
    cs = cstatus(p)
    assert cs["state"]["terminated"]["exitCode"] == 0
    assert cs["state"]["terminated"]["reason"] == "Completed"
    assert cs["image"] == images["hello"]
    assert cs["imageID"].startswith(images["hello"].rsplit(":", 1)[0] + "@sha256:")
    assert p["status"]["hostIP"] == "127.0.0.1"
    assert p["status"]["podIP"] == "127.0.0.1"
    assert {c["type"]: c["status"] for c in p["status"]["conditions"]} == {
        "PodScheduled": "True", "Initialized": "True",
        "ContainersReady": "False", "Ready": "False"}
    assert log_of(node, p) == [
        "stdout F hello from wasm", f"stdout F arg[0]={images['hello']}",
        "stdout F arg[1]=a b", "stdout F arg[2]=c", "stdout F env GREETING=hi"]
    reasons = [r for r, _ in events(cluster, "hello")]
    for want in ("Pulling", "Pulled", "Created", "Started"):
        assert want in reasons, reasons
    # the same image again: present on the node, so no "Pulling"
    create(cluster, pod("hello-again", images["hello"]))
    phase(cluster, "hello-again", "Succeeded")
    evs = events(cluster, "hello-again")
    assert "Pulling" not in [r for r, _ in evs], evs
    assert ("Pulled", f'Container image "{images["hello"]}" already present '
            "on machine") in evs, evs
    delete(cluster, "hello")
    delete(cluster, "hello-again")


def test_exit_code_and_trap_fail_with_reason(cluster, node, images):
    create(cluster, pod("exit3", images["exit_code"], args=["3"]))
    create(cluster, pod("trap", images["trap"]))
    t = cstatus(phase(cluster, "exit3", "Failed"))["state"]["terminated"]
    assert (t["exitCode"], t["reason"]) == (3, "Error")
    t = cstatus(phase(cluster, "trap", "Failed"))["state"]["terminated"]
    assert (t["exitCode"], t["reason"]) == (1, "Error")
    assert "unreachable" in t["message"]
    delete(cluster, "exit3")
    delete(cluster, "trap")


def test_restart_always_goes_into_crash_loop_backoff(cluster, node, images):
    create(cluster, pod("crash", images["exit_code"], args=["1"],
                        restart="Always"))
    p = wait_for("restartCount 2", lambda: (lambda p: p if p and
                 p["status"].get("containerStatuses") and
                 cstatus(p)["restartCount"] >= 2 else None)(
                     get(cluster, "crash")), timeout=40)
    cs = cstatus(p)
    assert p["status"]["phase"] == "Running"
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    if "waiting" in cs["state"]:
        assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    else:
        assert set(cs["state"]) <= {"running", "terminated"}
    assert "BackOff" in [r for r, _ in events(cluster, "crash")]
    delete(cluster, "crash")


def test_on_failure_does_not_restart_a_success(cluster, node, images):
    create(cluster, pod("onfail", images["exit_code"], args=["0"],
                        restart="OnFailure"))
    p = phase(cluster, "onfail", "Succeeded")
    assert cstatus(p)["restartCount"] == 0
    delete(cluster, "onfail")


def test_init_containers_run_in_order_sharing_an_empty_dir(cluster, node,
                                                           images):
    mounts = [{"name": "work", "mountPath": "/work"}]
    init = [{"name": f"init{i}", "image": images["files"],
             "args": ["append", "/work/order", f"init{i};"],
             "volumeMounts": mounts} for i in (1, 2)]
    create(cluster, pod("inits", images["files"],
                        args=["read", "/work/order"], init=init,
                        volumes=[{"name": "work", "emptyDir": {}}],
                        mounts=mounts))
    p = phase(cluster, "inits", "Succeeded")
    assert [cstatus(p, i, init=True)["state"]["terminated"]["exitCode"]
            for i in (0, 1)] == [0, 0]
    assert log_of(node, p) == ["stdout P init1;init2;"]
    delete(cluster, "inits")


def test_sub_path_and_sub_path_expr_narrow_a_volume(cluster, node, images):
    # init writes through subPathExpr (the pod's name) into a subdirectory;
    # main sees only that subdirectory at its mount path
    init = [{"name": "writer", "image": images["files"],
             "args": ["write", "/out/note", "written-through-subpath"],
             "env": [{"name": "POD", "valueFrom": {"fieldRef": {
                 "fieldPath": "metadata.name"}}}],
             "volumeMounts": [{"name": "work", "mountPath": "/out",
                               "subPathExpr": "pods/$(POD)"}]}]
    create(cluster, pod("subpath", images["files"],
                        args=["read", "/in/note"], init=init,
                        volumes=[{"name": "work", "emptyDir": {}}],
                        mounts=[{"name": "work", "mountPath": "/in",
                                 "subPath": "pods/subpath"}]))
    p = phase(cluster, "subpath", "Succeeded")
    assert log_of(node, p) == ["stdout P written-through-subpath"]
    vol = (node.data_dir / "pods" / p["metadata"]["uid"] / "volumes" /
           "work" / "pods" / "subpath" / "note")
    assert vol.read_text() == "written-through-subpath"

    # a subPath that leaves the volume through a symlink is refused
    host = node.data_dir / "subpath-host"
    host.mkdir(exist_ok=True)
    (host / "out").symlink_to("/etc")
    create(cluster, pod("subpath-escape", images["files"],
                        args=["ls", "/x"],
                        volumes=[{"name": "h", "hostPath": {
                            "path": str(host)}}],
                        mounts=[{"name": "h", "mountPath": "/x",
                                 "subPath": "out"}]))

    def refused():
        q = get(cluster, "subpath-escape")
        w = q and (q["status"].get("containerStatuses") or [{}])[0].get(
            "state", {}).get("waiting", {})
        return w if w and w.get("reason") == "CreateContainerConfigError" \
            else None
    w = wait_for("subPath escape refused", refused, timeout=30)
    assert "subPath out leads out of the volume" in w["message"], w
    delete(cluster, "subpath")
    delete(cluster, "subpath-escape")


def test_sidecar_runs_beside_the_app_and_stops_after_it(cluster, node,
                                                        images):
    mounts = [{"name": "work", "mountPath": "/work"}]
    init = [{"name": "side", "image": images["sleeper"],
             "restartPolicy": "Always"},
            {"name": "prep", "image": images["files"],
             "args": ["write", "/work/x", "prepared"], "volumeMounts": mounts}]
    create(cluster, pod("sidecar", images["files"], args=["read", "/work/x"],
                        init=init, mounts=mounts,
                        volumes=[{"name": "work", "emptyDir": {}}]))
    p = phase(cluster, "sidecar", "Succeeded", timeout=40)
    assert log_of(node, p) == ["stdout P prepared"]
    side, prep = (cstatus(p, i, init=True) for i in (0, 1))
    assert prep["state"]["terminated"]["reason"] == "Completed"
    # stopped once the app container was done; that does not fail the pod
    assert side["state"]["terminated"]["exitCode"] == 137, side
    assert side["restartCount"] == 0
    assert log_of(node, p, container="side") == ["stdout F sleeping 3600 s"]
    conds = {c["type"]: c["status"] for c in p["status"]["conditions"]}
    assert conds["Initialized"] == "True"
    assert ("Killing", "Stopping container side") in events(cluster,
                                                            "sidecar")
    delete(cluster, "sidecar")


def test_failing_init_container_fails_the_pod(cluster, node, images):
    init = [{"name": "bad", "image": images["exit_code"], "args": ["7"]}]
    create(cluster, pod("badinit", images["hello"], init=init))
    p = phase(cluster, "badinit", "Failed")
    assert cstatus(p, init=True)["state"]["terminated"]["exitCode"] == 7
    assert "waiting" in cstatus(p)["state"]  # main never started
    delete(cluster, "badinit")


def test_env_from_every_source(cluster, node, images):
    cluster.kubectl("create", "configmap", "envcm", "--from-literal=color=blue",
                    "--from-literal=size=L")
    cluster.kubectl("create", "secret", "generic", "envsec",
                    "--from-literal=token=s3cret")
    env = [
        {"name": "A", "value": "one"},
        {"name": "B", "value": "$(A)-two $$(A)"},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "envcm", "key": "color"}}},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "envsec", "key": "token"}}},
        {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "envcm", "key": "nope", "optional": True}}},
        {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
    ]
    obj = pod("envs", images["hello"], env=env,
              resources={"limits": {"memory": "64Mi"}})
    obj["spec"]["containers"][0]["envFrom"] = [
        {"prefix": "CM_", "configMapRef": {"name": "envcm"}}]
    create(cluster, obj)
    p = phase(cluster, "envs", "Succeeded")
    got = [l[len("stdout F env "):] for l in log_of(node, p)
           if l.startswith("stdout F env ")]
    assert got == ["CM_color=blue", "CM_size=L", "A=one", "B=one-two $(A)",
                   "POD=envs", f"NODE={NODE}", "COLOR=blue", "TOKEN=s3cret",
                   "MEM=64"]
    delete(cluster, "envs")

    missing = pod("envmissing", images["hello"], env=[
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "envcm", "key": "absent"}}}])
    create(cluster, missing)
    p = wait_for("CreateContainerConfigError", lambda: (lambda p: p if p and
                 p["status"].get("containerStatuses") and
                 cstatus(p)["state"].get("waiting", {}).get("reason") ==
                 "CreateContainerConfigError" else None)(
                     get(cluster, "envmissing")), timeout=30)
    assert f"couldn't find key absent in configmap {cluster.namespace}/envcm" in \
        cstatus(p)["state"]["waiting"]["message"]
    delete(cluster, "envmissing")


def test_memory_hog_over_its_limit_is_oom_killed(cluster, node, images):
    create(cluster, pod("oom", images["memhog"],
                        resources={"limits": {"memory": "16Mi"}}))
    p = phase(cluster, "oom", "Failed")
    term = cstatus(p)["state"]["terminated"]
    assert term["reason"] == "OOMKilled", term
    assert term["exitCode"] == 137
    # under a limit it can live with, the same module is fine
    create(cluster, pod("notoom", images["memhog"], args=["4"],
                        resources={"limits": {"memory": "16Mi"}}))
    p = phase(cluster, "notoom", "Succeeded")
    assert cstatus(p)["state"]["terminated"]["reason"] == "Completed"
    delete(cluster, "oom")
    delete(cluster, "notoom")


def test_restart_uses_the_compiled_module_cache(cluster, node, images):
    create(cluster, pod("cached", images["exit_code"], args=["3"],
                        restart="OnFailure"))
    wait_for("a restart", lambda: (lambda p: p and p["status"].get(
        "containerStatuses") and cstatus(p)["restartCount"] >= 1)(
        get(cluster, "cached")), timeout=40)
    uid = get(cluster, "cached")["metadata"]["uid"]
    loads = [ln for ln in node.output().splitlines()
             if "module loaded" in ln
             and f"pod={cluster.namespace}/cached " in ln]
    assert len(loads) >= 2, loads
    assert all("source=compiled" not in ln for ln in loads[1:]), loads
    assert list((node.data_dir / "modules" / "compiled").glob("*.cwasm"))
    assert uid
    delete(cluster, "cached")


def test_delete_running_loop_returns_promptly(cluster, node, images):
    create(cluster, pod("spin", images["loop"], restart="Always"))
    phase(cluster, "spin", "Running")
    t0 = time.monotonic()
    cluster.kubectl("delete", "pod", "spin", "--timeout=20s")
    assert time.monotonic() - t0 < 5 + 2  # grace + 2 s
    assert get(cluster, "spin") is None


def test_delete_sleeping_module_returns_promptly(cluster, node, images):
    # asleep in WASI poll_oneoff, where epoch interruption cannot reach
    create(cluster, pod("asleep", images["sleeper"], restart="Always",
                        resources={"limits": {"cpu": "100m"}}))
    phase(cluster, "asleep", "Running")
    time.sleep(0.5)
    t0 = time.monotonic()
    cluster.kubectl("delete", "pod", "asleep", "--timeout=20s")
    assert time.monotonic() - t0 < 5 + 2  # grace + 2 s
    assert get(cluster, "asleep") is None


def test_active_deadline_fails_the_pod(cluster, node, images):
    create(cluster, pod("deadline", images["loop"],
                        extra={"activeDeadlineSeconds": 2}))
    p = phase(cluster, "deadline", "Failed", timeout=20)
    assert p["status"]["reason"] == "DeadlineExceeded"
    delete(cluster, "deadline")


def test_missing_image_err_image_pull_then_backoff(cluster, node, images,
                                                  registry):
    create(cluster, pod("noimage", f"{registry.host}/pods/absent:v1"))
    seen = set()

    def reasons():
        p = get(cluster, "noimage")
        if p and p["status"].get("containerStatuses"):
            seen.add(cstatus(p)["state"].get("waiting", {}).get("reason"))
        return {"ErrImagePull", "ImagePullBackOff"} <= seen
    wait_for("ErrImagePull and ImagePullBackOff", reasons, timeout=30)
    assert "Failed" in [r for r, _ in events(cluster, "noimage")]
    delete(cluster, "noimage")


def test_fields_wasmlet_cannot_honour_are_named_in_an_event(cluster, node,
                                                            images):
    p = pod("probed", images["hello"])
    p["spec"]["containers"][0]["readinessProbe"] = {
        "exec": {"command": ["true"]}}
    create(cluster, p)
    phase(cluster, "probed", "Succeeded")
    evs = events(cluster, "probed")
    assert ("UnsupportedField", "spec.containers[0].readinessProbe: not "
            "supported by wasmlet, ignored") in evs, evs
    delete(cluster, "probed")


def test_unsupported_pod_is_rejected_with_reason(cluster, node, images):
    create(cluster, pod("hostnet", images["hello"],
                        extra={"hostNetwork": True}))
    p = phase(cluster, "hostnet", "Failed")
    assert p["status"]["reason"] == "UnsupportedPodSpec"
    assert "hostNetwork" in p["status"]["message"]
    delete(cluster, "hostnet")


def test_guest_cannot_read_host_files(cluster, node, images):
    create(cluster, pod("escape", images["files"],
                        args=["read", "/etc/passwd"]))
    p = phase(cluster, "escape", "Failed")
    assert cstatus(p)["state"]["terminated"]["exitCode"] == 1
    assert not any("root:" in l for l in log_of(node, p))
    delete(cluster, "escape")


def test_scheduler_places_wasm_pods_and_keeps_others_away(cluster, node,
                                                          images):
    create(cluster, pod("scheduled", images["hello"], schedule=True))
    p = phase(cluster, "scheduled", "Succeeded", timeout=40)
    assert p["spec"]["nodeName"] == NODE
    linux = {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "linux"},
             "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    create(cluster, linux)
    # The scheduler says why it cannot place it (no waiting on a clock).
    p = wait_for("linux pod Unschedulable", lambda: (lambda p: p if any(
        c["type"] == "PodScheduled" and c["status"] == "False"
        and c.get("reason") == "Unschedulable"
        for c in p["status"].get("conditions", [])) else None)(
            get(cluster, "linux")), timeout=30)
    assert p["status"]["phase"] == "Pending"
    assert not p["spec"].get("nodeName")
    delete(cluster, "scheduled")
    delete(cluster, "linux")


def test_runtime_class_with_another_handler_waits_ours_runs(cluster, node,
                                                            images):
    # As the kubelet: a RuntimeClass whose handler the node lacks fails the
    # pod's sandbox (Warning FailedCreatePodSandBox), the pod stays Pending
    # and is tried again; "wasmtime" (or "wasmlet") runs. RuntimeClasses
    # are cluster-wide: named after this file's namespace.
    other, ours = f"{cluster.namespace}-runsc", f"{cluster.namespace}-wasm"
    classes = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
         "metadata": {"name": other}, "handler": "runsc"},
        {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
         "metadata": {"name": ours}, "handler": "wasmtime"}]}
    cluster.kubectl("create", "-f", "-", input=json.dumps(classes))
    try:
        create(cluster, pod("rc-other", images["hello"],
                            extra={"runtimeClassName": other}))
        create(cluster, pod("rc-ours", images["hello"],
                            extra={"runtimeClassName": ours}))
        phase(cluster, "rc-ours", "Succeeded")
        why = 'no runtime for "runsc" is configured (wasmlet\'s handlers ' \
            "are wasmtime and wasmlet)"
        want = ("FailedCreatePodSandBox",
                f"Failed to create pod sandbox: {why}")
        wait_for("FailedCreatePodSandBox",
                 lambda: want in events(cluster, "rc-other"), timeout=30)
        p = wait_for("rc-other waiting with the reason", lambda: (
            lambda p: p if p and p["status"].get("containerStatuses") and
            cstatus(p)["state"].get("waiting", {}).get("message") == why
            else None)(get(cluster, "rc-other")), timeout=30)
        assert p["status"]["phase"] == "Pending"
        assert cstatus(p)["state"]["waiting"]["reason"] == \
            "ContainerCreating"
        # never pulled, never ran
        reasons = [r for r, _ in events(cluster, "rc-other")]
        assert "Pulling" not in reasons and "Started" not in reasons, reasons
        assert not (node.data_dir / "pods" / p["metadata"]["uid"] /
                    "main").exists()
        # Tried again: the class gone, then back with one of our handlers.
        cluster.kubectl("delete", "runtimeclass", other)
        gone = ("FailedCreatePodSandBox", "Failed to create pod sandbox: "
                f'runtimeclasses.node.k8s.io "{other}" not found')
        wait_for("not found", lambda: gone in events(cluster, "rc-other"),
                 timeout=60)
        cluster.kubectl("create", "-f", "-", input=json.dumps(
            {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
             "metadata": {"name": other}, "handler": "wasmlet"}))
        phase(cluster, "rc-other", "Succeeded", timeout=90)
    finally:
        delete(cluster, "rc-other")
        delete(cluster, "rc-ours")
        cluster.kubectl("delete", "runtimeclass", other, ours,
                        "--ignore-not-found", check=False)
