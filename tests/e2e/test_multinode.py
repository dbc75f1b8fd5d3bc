"""Several wasmlet nodes on one machine against the same cluster (distinct
names, ports and data dirs): the real scheduler spreads a Deployment over
them, and when one of them dies without a word (SIGKILL) the control plane
replaces its pods on the others by itself: the node lifecycle controller
marks the node Unknown once its Lease is stale (--node-monitor-grace-period,
20 s in scripts/cluster.sh) and taints it node.kubernetes.io/unreachable:
NoExecute; the taint eviction controller deletes its pods once their
tolerationSeconds ran out (10 s: the Deployment tolerates
node.kubernetes.io/unreachable and not-ready for 10 s, as a user asking for
fast failover would, instead of the 300 s the DefaultTolerationSeconds
admission plugin gives); the ReplicaSet controller creates replacements,
which the scheduler puts on the surviving nodes."""
import json
import signal
import time

import pytest

from test_node import Wasmlet, node_json, ready_status, wait_for
from test_pods import push_images

NODES = 3
REPLICAS = 30
LABEL = "wasmlet-multinode"
APP = "multi-sleeper"
TOLERATION_SECONDS = 10  # the Deployment's, for the dead node's taints


@pytest.fixture(scope="module")
def images(registry):
    return push_images(registry, "multi", ("sleeper",))


@pytest.fixture
def nodes(cluster, registry, tmp_path, ports):
    """NODES wasmlet nodes wasm-multi-<i>, Ready, labelled LABEL=yes. At the
    end (also on failure): the Deployment deleted, its pods gone (forced
    off a dead node), every node stopped and its Node deleted; the nodes
    alive until then must exit 0 on SIGTERM."""
    made = []
    try:
        for i, port in enumerate(ports(NODES)):
            w = Wasmlet(cluster, f"wasm-multi-{i}", tmp_path, port,
                        "--insecure-registries", registry.host,
                        "--node-labels", f"{LABEL}=yes")
            made.append(w.start())
        for w in made:
            wait_for(f"node {w.name} Ready", lambda: (ready_status(node_json(
                cluster, w.name)) or {}).get("status") == "True", timeout=30)
        yield made
    finally:
        cluster.kubectl("delete", "deployment", APP, "--ignore-not-found",
                        "--wait=false", check=False)
        alive = {w.name for w in made if w.proc and w.proc.poll() is None}

        def drained():
            return not [p for p in pods(cluster)
                        if p["spec"].get("nodeName") in alive]
        try:
            wait_for("pods on live nodes gone", drained, timeout=60,
                     interval=1)
        except BaseException:
            pass  # forced below
        cluster.kubectl("delete", "pods", "-l", f"app={APP}", "--force",
                        "--grace-period=0", "--ignore-not-found", check=False)
        codes = {}
        for w in made:
            try:
                codes[w.name] = w.stop(signal.SIGTERM, timeout=30)
            except BaseException:
                codes[w.name] = w.stop(signal.SIGKILL)
            cluster.kubectl("delete", "node", w.name, "--ignore-not-found",
                            "--wait=false", check=False)
        print(f"[multinode] exit codes at teardown: {codes}")
        # the nodes still running at the end stop cleanly (SIGTERM: 0)
        bad = {w.name: w.output()[-3000:] for w in made
               if w.name in alive and codes[w.name] != 0}
        assert not bad, bad


def pods(cluster):
    r = cluster.kubectl("get", "pods", "-l", f"app={APP}", "-o", "json")
    return json.loads(r.stdout)["items"]


def running(p):
    return (p["status"].get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp"))


def by_node(ps):
    out = {}
    for p in ps:
        out.setdefault(p["spec"].get("nodeName"), []).append(p)
    return out


def deployment(image):
    tolerate = [{"key": "kubernetes.io/arch", "operator": "Equal",
                 "value": "wasm32-wasi", "effect": e}
                for e in ("NoSchedule", "NoExecute")]
    tolerate += [{"key": f"node.kubernetes.io/{k}", "operator": "Exists",
                  "effect": "NoExecute",
                  "tolerationSeconds": TOLERATION_SECONDS}
                 for k in ("unreachable", "not-ready")]
    spec = {"nodeSelector": {"kubernetes.io/arch": "wasm32-wasi",
                             LABEL: "yes"},
            "tolerations": tolerate,
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 2,
            "containers": [{"name": "main", "image": image}]}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": APP},
            "spec": {"replicas": REPLICAS,
                     "selector": {"matchLabels": {"app": APP}},
                     "template": {"metadata": {"labels": {"app": APP}},
                                  "spec": spec}}}


def taints(cluster, name):
    return {(t["key"], t["effect"])
            for t in (node_json(cluster, name) or {}).get("spec", {}).get(
                "taints", [])}


def test_deployment_spreads_and_a_dead_nodes_pods_are_replaced(
        cluster, nodes, images):
    names = [w.name for w in nodes]
    t0 = time.monotonic()
    cluster.kubectl("apply", "-f", "-",
                    input=json.dumps(deployment(images["sleeper"])))

    def all_running():
        ps = pods(cluster)
        return ps if len(ps) == REPLICAS and all(map(running, ps)) else None
    ps = wait_for(f"{REPLICAS} pods Running", all_running, timeout=180,
                  interval=1)
    t_running = time.monotonic() - t0
    spread = by_node(ps)
    counts = {n: len(spread.get(n, [])) for n in names}
    print(f"\n[multinode] {REPLICAS} Running in {t_running:.1f}s, "
          f"spread {counts}")
    # only on our nodes, every one of them got some (the scheduler's
    # default spreading, not a nodeName of ours)
    assert set(spread) == set(names), counts
    assert all(counts[n] > 0 for n in names), counts
    for p in ps:
        tol = {t["key"]: t for t in p["spec"]["tolerations"]}
        # the Deployment's own, kept by DefaultTolerationSeconds
        assert tol["node.kubernetes.io/unreachable"]["tolerationSeconds"] \
            == TOLERATION_SECONDS, p["spec"]["tolerations"]
        assert tol["node.kubernetes.io/not-ready"]["tolerationSeconds"] \
            == TOLERATION_SECONDS

    victim, survivors = nodes[0], names[1:]
    victim_pods = {p["metadata"]["name"] for p in spread[victim.name]}
    t_kill = time.monotonic()
    assert victim.stop(signal.SIGKILL) == -signal.SIGKILL

    wait_for(f"{victim.name} Ready=Unknown", lambda: (ready_status(node_json(
        cluster, victim.name)) or {}).get("status") == "Unknown",
        timeout=60, interval=1)
    t_unknown = time.monotonic() - t_kill
    wait_for(f"{victim.name} tainted unreachable:NoExecute", lambda: (
        "node.kubernetes.io/unreachable", "NoExecute") in taints(
            cluster, victim.name), timeout=30, interval=0.5)
    t_taint = time.monotonic() - t_kill

    state = {}

    def replaced():
        ps = pods(cluster)
        live = [p for p in ps if running(p)]
        on = by_node(live)
        left = [p for p in ps if p["metadata"]["name"] in victim_pods
                and not p["metadata"].get("deletionTimestamp")]
        state.update(live=len(live), on={n: len(v) for n, v in on.items()},
                     undeleted=len(left))
        return (len(live) == REPLICAS and set(on) <= set(survivors)
                and not left)
    try:
        wait_for(f"{REPLICAS} Running on {survivors}", replaced,
                 timeout=120, interval=1)
    except BaseException:
        print(f"[multinode] last state: {state}")
        raise
    t_replaced = time.monotonic() - t_kill
    print(f"[multinode] after SIGKILL of {victim.name} "
          f"({len(victim_pods)} pods): Unknown at {t_unknown:.1f}s, tainted "
          f"at {t_taint:.1f}s, {REPLICAS} Running on the others at "
          f"{t_replaced:.1f}s: {state['on']}")

    # the dead node's pods: deleted by the taint eviction (Terminating for
    # good, since no kubelet is left to finish them) or gone
    for p in pods(cluster):
        if p["metadata"]["name"] in victim_pods:
            assert p["metadata"].get("deletionTimestamp"), p["metadata"]
            assert p["spec"]["nodeName"] == victim.name
    name = sorted(victim_pods)[0]
    r = cluster.kubectl("get", "events", "--field-selector",
                        f"involvedObject.name={name}", "-o", "json")
    reasons = [e["reason"] for e in json.loads(r.stdout)["items"]]
    assert "TaintManagerEviction" in reasons, reasons
    # each survivor took some of them
    final = by_node([p for p in pods(cluster) if running(p)])
    assert all(len(final.get(n, [])) > counts[n] for n in survivors), \
        ({n: len(v) for n, v in final.items()}, counts)
    # the Deployment counts only the live ones: all available again
    wait_for("deployment available again", lambda: json.loads(
        cluster.kubectl("get", "deployment", APP, "-o", "json").stdout)[
            "status"].get("availableReplicas") == REPLICAS, timeout=30,
        interval=1)
    for w in nodes[1:]:
        assert w.proc.poll() is None, w.output()[-3000:]
