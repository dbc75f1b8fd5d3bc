"""The README's main command, scripts/demo.sh, from a clean state: its own
cluster, registry and node (dirs and ports of its own, so it runs beside a
developer's demo), ending with the pod's log line; run again, it finds
everything up and takes seconds; `scripts/demo.sh stop` brings it down."""
import os
import subprocess
import time

import pytest

from conftest import ROOT as REPO, alloc_ports

# The demo runs build/wasmlet; the sanitizer phases test their own builds.
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("WL_WASMLET")),
    reason="scripts/demo.sh runs build/wasmlet, not the build under test")


def demo(env, *args, timeout=900):
    return subprocess.run(["bash", str(REPO / "scripts" / "demo.sh"), *args],
                          env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def test_demo_runs_the_sample_pod_and_ends_with_its_log(tmp_path):
    etcd, peer, api, kcm, sched, reg, kubelet = alloc_ports(7)
    env = dict(os.environ)
    env.pop("KUBECONFIG", None)
    env.update(
        WL_CLUSTER_DIR=str(tmp_path / "cluster"),
        WL_REGISTRY_DIR=str(tmp_path / "registry"),
        WL_DEMO_DIR=str(tmp_path / "demo"),
        WL_ETCD_PORT=str(etcd), WL_ETCD_PEER_PORT=str(peer),
        WL_APISERVER_PORT=str(api), WL_KCM_PORT=str(kcm),
        WL_SCHED_PORT=str(sched), WL_REGISTRY_PORT=str(reg),
        WL_DEMO_PORT=str(kubelet))
    try:
        t0 = time.monotonic()
        first = demo(env)
        first_s = time.monotonic() - t0
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        out = first.stdout.rstrip("\n").splitlines()
        # kubectl get pods -o wide shows it on the demo node, Completed ...
        wide = [line for line in out if line.startswith("hello-wasm ")]
        assert wide and "Completed" in wide[-1] and "wasm-demo" in wide[-1], out
        # ... and the output ends with the pod's log, through kubectl logs.
        tail = out[out.index(wide[-1]) + 1:]
        assert tail[0] == "hello from wasm", tail
        assert "arg[1]=from" in tail and "env POD_NAME=hello-wasm" in tail
        assert out[-1].startswith("env "), out[-1]
        # progress lines and how to go on are on stderr
        assert "Succeeded" in first.stderr
        assert "export KUBECONFIG=" in first.stderr
        assert "scripts/demo.sh stop" in first.stderr

        # Again, with everything up: seconds, not a rebuild.
        t0 = time.monotonic()
        second = demo(env)
        second_s = time.monotonic() - t0
        assert second.returncode == 0, second.stderr[-3000:]
        assert second.stdout.rstrip("\n").splitlines()[-1].startswith("env ")
        print(f"demo: first run {first_s:.1f} s, second {second_s:.1f} s")
        assert second_s < 120, f"second run took {second_s:.0f} s"
    finally:
        stop = demo(env, "stop", timeout=300)
    assert stop.returncode == 0, stop.stderr[-3000:]
    # the node said it was going (NotReady) before the cluster stopped
    assert "stopping wasmlet node" in stop.stderr
    assert not (tmp_path / "demo" / "wasmlet.pid").exists()
