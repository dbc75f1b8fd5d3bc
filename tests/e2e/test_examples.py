"""Every manifest in examples/ (not standalone/) applied to the test cluster
with a wasmlet node, and what each one shows checked the way a user would
look: kubectl logs, Job conditions, Deployment status.

The manifests are used as they are, except that their images
127.0.0.1:25000/demo/<name>:v1 are rewritten to the session's registry (where
the modules are pushed under the same demo/<name>:v1) and their pods are
pinned to this module's node (a nodeSelector on a label only it has), in
case another wasm node of the session is around."""
import json
import pathlib
import subprocess
import time

import pytest
import yaml

from test_cli_run import WASMLET
from test_node import serve_node, wait_for
from test_pods import push_images

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
DEMO_REGISTRY = "127.0.0.1:25000/demo/"
NODE = "wasm-examples"
PIN = {"wasmlet-examples": "yes"}


@pytest.fixture(scope="module")
def images(registry):
    return push_images(registry, "demo", ("hello", "catloop", "files",
                                          "ticker"))


@pytest.fixture(scope="module")
def node(cluster, registry, tmp_path_factory, ports, images):
    yield from serve_node(cluster, NODE, tmp_path_factory.mktemp("examples"),
                          ports(1)[0], "--insecure-registries", registry.host,
                          "--node-labels", "wasmlet-examples=yes")


def pod_specs(doc):
    kind = doc["kind"]
    if kind == "Pod":
        return [doc["spec"]]
    if kind in ("Deployment", "Job", "ReplicaSet", "StatefulSet", "DaemonSet"):
        return [doc["spec"]["template"]["spec"]]
    if kind == "CronJob":
        return [doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []


def load(name, registry):
    """The example's documents, images rewritten and pods pinned."""
    text = (EXAMPLES / name).read_text()
    assert DEMO_REGISTRY in text, f"{name} uses no {DEMO_REGISTRY} image"
    docs = [d for d in yaml.safe_load_all(
        text.replace(DEMO_REGISTRY, f"{registry.host}/demo/")) if d]
    for d in docs:
        for spec in pod_specs(d):
            # what the examples promise: select and tolerate the wasm node
            assert spec["nodeSelector"]["kubernetes.io/arch"] == "wasm32-wasi"
            effects = {t["effect"] for t in spec["tolerations"]
                       if t["key"] == "kubernetes.io/arch"}
            assert effects == {"NoSchedule", "NoExecute"}, spec["tolerations"]
            spec["nodeSelector"].update(PIN)
    return docs


@pytest.fixture
def apply(cluster, registry, node):
    """apply(example file): kubectl apply of its documents; all of them are
    deleted at the end of the test, also when it fails."""
    applied = []

    def do(name):
        docs = load(name, registry)
        applied.append(docs)
        t0 = time.monotonic()
        cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))
        return t0
    yield do
    for docs in applied:
        cluster.kubectl("delete", "--ignore-not-found", "--wait=false",
                        "--cascade=background", "-f", "-",
                        input=yaml.safe_dump_all(docs), check=False)


def get(cluster, *what):
    r = cluster.kubectl("get", *what, "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def pod_phase(cluster, name, want, timeout=60):
    def check():
        p = get(cluster, "pod", name)
        ph = (p or {}).get("status", {}).get("phase")
        assert ph not in ({"Succeeded", "Failed"} - {want}), \
            json.dumps(p["status"], indent=1)
        return p if ph == want else None
    return wait_for(f"pod {name} {want}", check, timeout=timeout, interval=0.5)


def logs(cluster, *args):
    return cluster.kubectl("logs", *args).stdout


def job_complete(cluster, name, timeout=60):
    def check():
        j = get(cluster, "job", name)
        conds = {c["type"]: c["status"]
                 for c in (j or {}).get("status", {}).get("conditions", [])}
        assert conds.get("Failed") != "True", json.dumps(j["status"], indent=1)
        return j if conds.get("Complete") == "True" else None
    return wait_for(f"job {name} Complete", check, timeout=timeout,
                    interval=0.5)


def job_pods(cluster, name):
    return get(cluster, "pods", "-l", f"job-name={name}")["items"]


def test_hello(cluster, node, apply):
    t0 = apply("hello.yaml")
    p = pod_phase(cluster, "hello-wasm", "Succeeded")
    assert p["spec"]["nodeName"] == NODE
    out = logs(cluster, "hello-wasm")
    assert "hello from wasm" in out
    assert "arg[1]=from\narg[2]=a\narg[3]=pod\n" in out
    assert "env POD_NAME=hello-wasm\n" in out
    print(f"[hello] Succeeded in {time.monotonic() - t0:.1f}s")


def test_config_and_secret_as_env_and_files(cluster, node, apply):
    t0 = apply("config-and-secret.yaml")
    p = pod_phase(cluster, "config-demo", "Succeeded")
    assert p["spec"]["nodeName"] == NODE
    env = logs(cluster, "config-demo", "-c", "env").splitlines()
    for line in ("env GREETING=hello from a ConfigMap",
                 "env DB_PASSWORD=s3cr3t-from-a-Secret",
                 "env CFG_greeting=hello from a ConfigMap",
                 "env CFG_level=debug"):
        assert line in env, env
    files = logs(cluster, "config-demo", "-c", "files").splitlines()
    assert files == ["/etc/app/greeting=hello from a ConfigMap",
                     "/etc/app/level=debug",
                     "/etc/db/username=wasm-user",
                     "/etc/db/password=s3cr3t-from-a-Secret"], files
    print(f"[config-and-secret] Succeeded in {time.monotonic() - t0:.1f}s")


def assert_job_ran(cluster, name, kind):
    """The Job completed with one Succeeded pod on our node, which printed
    the example's arguments ("from a <kind>"); returns the Job."""
    j = job_complete(cluster, name)
    assert j["status"]["succeeded"] == 1
    assert not j["status"].get("failed")
    pods = job_pods(cluster, name)
    assert [p["status"]["phase"] for p in pods] == ["Succeeded"]
    assert pods[0]["spec"]["nodeName"] == NODE
    out = logs(cluster, f"job/{name}")
    assert f"arg[1]=from\narg[2]=a\narg[3]={kind}\n" in out, out
    return j


def test_job_completes(cluster, node, apply):
    t0 = apply("job.yaml")
    assert_job_ran(cluster, "hello-job", "Job")
    print(f"[job] Complete in {time.monotonic() - t0:.1f}s")


def test_cronjob_makes_a_job_that_completes(cluster, node, apply):
    apply("cronjob.yaml")
    cj = get(cluster, "cronjob", "hello-cron")
    assert cj["spec"]["schedule"] == "* * * * *"
    # at once rather than at the next minute: a Job made from the CronJob's
    # jobTemplate (owned by it, so deleting the CronJob deletes it too)
    t0 = time.monotonic()
    cluster.kubectl("create", "job", "--from=cronjob/hello-cron",
                    "hello-cron-now")
    j = assert_job_ran(cluster, "hello-cron-now", "CronJob")
    owner = j["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"]) == ("CronJob", "hello-cron")
    assert j["metadata"]["annotations"][
        "cronjob.kubernetes.io/instantiate"] == "manual"
    print(f"[cronjob] Job from it Complete in {time.monotonic() - t0:.1f}s")


def test_deployment_replicas_ready_and_available(cluster, node, apply):
    t0 = apply("deployment.yaml")

    def rolled_out():
        d = get(cluster, "deployment", "ticker")
        st = (d or {}).get("status", {})
        want = d["spec"]["replicas"]
        ok = (st.get("observedGeneration") == d["metadata"]["generation"]
              and st.get("updatedReplicas") == want
              and st.get("readyReplicas") == want
              and st.get("availableReplicas") == want)
        return d if ok else None
    d = wait_for("deployment ticker rolled out", rolled_out, timeout=60,
                 interval=0.5)
    assert d["spec"]["replicas"] == 3
    conds = {c["type"]: c["status"] for c in d["status"]["conditions"]}
    assert conds["Available"] == "True"
    r = cluster.kubectl("rollout", "status", "deployment/ticker",
                        "--timeout=10s")
    assert "successfully rolled out" in r.stdout
    pods = get(cluster, "pods", "-l", "app=ticker")["items"]
    assert len(pods) == 3
    for p in pods:
        assert p["status"]["phase"] == "Running"
        assert p["spec"]["nodeName"] == NODE
        ready = {c["type"]: c["status"] for c in p["status"]["conditions"]}
        assert ready["Ready"] == "True", p["status"]
    took = time.monotonic() - t0
    # the modules keep running: their ticks go on
    name = pods[0]["metadata"]["name"]
    wait_for("tick 1 in the log", lambda: "tick 1\n" in logs(cluster, name),
             timeout=15, interval=0.5)
    print(f"[deployment] 3/3 ready and available in {took:.1f}s")


def test_init_containers_run_in_order_before_the_app(cluster, node, apply):
    t0 = apply("init-containers.yaml")
    p = pod_phase(cluster, "init-demo", "Succeeded")
    assert p["spec"]["nodeName"] == NODE
    assert logs(cluster, "init-demo") == \
        "1: first init container\n2: second init container\n"
    inits = p["status"]["initContainerStatuses"]
    assert [c["name"] for c in inits] == ["first", "second"]
    term = [c["state"]["terminated"] for c in inits]
    assert [t["exitCode"] for t in term] == [0, 0]
    app = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert app["exitCode"] == 0
    # RFC 3339 in UTC, second resolution: comparable as strings
    assert term[0]["finishedAt"] <= term[1]["startedAt"]
    assert term[1]["finishedAt"] <= app["startedAt"]
    print(f"[init-containers] Succeeded in {time.monotonic() - t0:.1f}s")


def test_init_containers_example_runs_standalone_too(registry, images,
                                                     tmp_path):
    """It needs no API server: `wasmlet run` runs it as it is but for its
    registry (strict check: no unknown field) with the same order."""
    text = (EXAMPLES / "init-containers.yaml").read_text().replace(
        DEMO_REGISTRY, f"{registry.host}/demo/")
    f = tmp_path / "init-containers.yaml"
    f.write_text(text)
    r = subprocess.run([WASMLET, "run", "--insecure-registry", registry.host,
                        str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "[init-demo/app] 1: first init container",
        "[init-demo/app] 2: second init container"], r.stdout
