"""Termination messages as the kubelet makes them: terminationMessagePath
(default /dev/termination-log) is a file the module can write, read when it
exits (its last 4 KiB) into state.terminated.message; with
terminationMessagePolicy FallbackToLogsOnError a failed container with an
empty file gets its log's last 80 lines (2 KiB at most); the message stays
in lastState after a restart, and across a wasmlet restart. `wasmlet run
POD.yaml` shows it too."""
import json
import signal

import pytest

from test_node import node_json, ready_status, serve_node, wait_for
from test_pods import create, cstatus, delete, get, pod, push_images
from test_standalone import ctr, run_pod
from test_standalone import pod as sa_pod

NODE = "wasm-termmsg"


@pytest.fixture(scope="module")
def images(registry):
    return push_images(registry, "termmsg", ("lastwords", "lines", "sleeper"))


@pytest.fixture(scope="module")
def node(cluster, registry, tmp_path_factory, ports):
    yield from serve_node(cluster, NODE, tmp_path_factory.mktemp("termmsg"),
                          ports(1)[0], "--insecure-registries", registry.host)


def on_node(p, **ctr_fields):
    p["spec"]["nodeName"] = NODE
    p["spec"]["containers"][0].update(ctr_fields)
    return p


def terminated(cluster, name, phase="Failed"):
    p = wait_for(f"pod {name} {phase}",
                 lambda: (lambda q: q if q and q["status"].get("phase") ==
                          phase else None)(get(cluster, name)), timeout=60)
    return cstatus(p)["state"]["terminated"]


def test_message_is_what_the_module_wrote_to_dev_termination_log(
        cluster, node, images):
    create(cluster, on_node(pod("tm-file", images["lastwords"], args=[
        "/dev/termination-log", "3", "it was the disk\n"])))
    t = terminated(cluster, "tm-file")
    assert t["exitCode"] == 3
    assert t["reason"] == "Error"
    assert t["message"] == "it was the disk\n"
    delete(cluster, "tm-file")


def test_a_custom_path_and_a_success_keep_their_message(cluster, node,
                                                        images):
    create(cluster, on_node(pod("tm-path", images["lastwords"], args=[
        "/run/state/msg", "0", "all done"]),
        terminationMessagePath="/run/state/msg"))
    t = terminated(cluster, "tm-path", "Succeeded")
    assert t["reason"] == "Completed"
    assert t["message"] == "all done"
    delete(cluster, "tm-path")


def test_success_with_file_policy_and_no_file_has_no_message(cluster, node,
                                                             images):
    create(cluster, on_node(pod("tm-none", images["lastwords"],
                                args=["-", "0"])))
    create(cluster, on_node(pod("tm-none-fb", images["lastwords"],
                                args=["-", "0"]),
                            terminationMessagePolicy="FallbackToLogsOnError"))
    for name in ("tm-none", "tm-none-fb"):
        t = terminated(cluster, name, "Succeeded")
        assert "message" not in t, (name, t)
        delete(cluster, name)


def test_fallback_to_logs_on_error_is_the_last_80_lines(cluster, node,
                                                        images):
    create(cluster, on_node(pod("tm-fb", images["lines"], args=["100", "4"]),
                            terminationMessagePolicy="FallbackToLogsOnError"))
    # File policy: the same output, no message
    create(cluster, on_node(pod("tm-fb-file", images["lines"],
                                args=["100", "4"])))
    t = terminated(cluster, "tm-fb")
    assert t["exitCode"] == 4
    assert t["message"] == "".join(f"line {i}\n" for i in range(21, 101))
    assert "message" not in terminated(cluster, "tm-fb-file")
    delete(cluster, "tm-fb")
    delete(cluster, "tm-fb-file")


def test_fallback_keeps_the_last_2048_bytes_and_the_file_wins(cluster, node,
                                                              images):
    # 80 lines of ~70 bytes: over 2 KiB
    create(cluster, on_node(pod("tm-fb-2k", images["lines"], args=[
        "300", "1", "60"]), terminationMessagePolicy="FallbackToLogsOnError"))
    create(cluster, on_node(pod("tm-fb-file-wins", images["lastwords"], args=[
        "/dev/termination-log", "2", "from the file"]),
        terminationMessagePolicy="FallbackToLogsOnError"))
    whole = "".join(f"line {i}" + "x" * 60 + "\n" for i in range(221, 301))
    assert len(whole) > 2048
    assert terminated(cluster, "tm-fb-2k")["message"] == whole[-2048:]
    assert terminated(cluster, "tm-fb-file-wins")["message"] == "from the file"
    delete(cluster, "tm-fb-2k")
    delete(cluster, "tm-fb-file-wins")


def test_message_is_the_last_4096_bytes_of_the_file(cluster, node, images):
    # 300 x 16 bytes = 4800 bytes written; the kubelet keeps the end
    create(cluster, on_node(pod("tm-4k", images["lastwords"], args=[
        "/dev/termination-log", "5", "0123456789abcde\n", "300"])))
    msg = terminated(cluster, "tm-4k")["message"]
    assert len(msg) == 4096
    assert msg == "0123456789abcde\n" * 256
    delete(cluster, "tm-4k")


def test_last_state_keeps_the_message_after_a_restart(cluster, node, images):
    create(cluster, on_node(pod("tm-restart", images["lastwords"], args=[
        "/dev/termination-log", "3", "crashed again"], restart="Always")))

    def restarted():
        p = get(cluster, "tm-restart")
        cs = (p or {}).get("status", {}).get("containerStatuses") or [{}]
        last = cs[0].get("lastState", {}).get("terminated")
        return cs[0] if cs[0].get("restartCount", 0) >= 1 and last else None
    cs = wait_for("tm-restart restarted", restarted, timeout=60)
    assert cs["lastState"]["terminated"]["exitCode"] == 3
    assert cs["lastState"]["terminated"]["message"] == "crashed again"
    delete(cluster, "tm-restart")


def test_messages_survive_a_wasmlet_restart(cluster, node, images):
    """An init container's message comes back from its run record: after
    wasmlet is killed, its lost app container's run makes it write the
    whole status again (containerStatuses lists are replaced, not
    merged)."""
    p = on_node(pod("tm-adopt", images["sleeper"], restart="Always", init=[
        {"name": "init", "image": images["lastwords"],
         "args": ["/dev/termination-log", "0", "init says hi"]}]))
    create(cluster, p)
    wait_for("tm-adopt Running", lambda: (lambda q: q and q["status"].get(
        "phase") == "Running")(get(cluster, "tm-adopt")), timeout=60)
    assert node.stop(signal.SIGKILL) == -signal.SIGKILL
    node.start()
    wait_for("node Ready", lambda: (ready_status(node_json(cluster, NODE))
                                    or {}).get("status") == "True",
             timeout=30)

    def adopted():
        q = get(cluster, "tm-adopt")
        cs = (q or {}).get("status", {}).get("containerStatuses") or [{}]
        return q if cs[0].get("restartCount") == 1 and \
            "running" in cs[0].get("state", {}) else None
    q = adopted() or wait_for("tm-adopt adopted", adopted, timeout=60)
    init = cstatus(q, init=True)["state"]["terminated"]
    assert init["reason"] == "Completed"
    assert init["message"] == "init says hi"
    delete(cluster, "tm-adopt")


# ---- wasmlet run POD.yaml ----

def test_standalone_shows_the_message_and_the_log_fallback(tmp_path):
    p = sa_pod("s", [
        ctr("file", "lastwords", "/dev/termination-log", "3", "bye\nnow"),
        ctr("logs", "lines", "3", "3",  # both 3: either may fail first
            terminationMessagePolicy="FallbackToLogsOnError"),
        ctr("ok", "lastwords", "-", "0")])
    r, _ = run_pod(tmp_path, p, "--data-dir", str(tmp_path / "data"))
    assert r.returncode == 3, r.stderr
    assert "pod=s container=file exit_code=3 reason=Error " \
        "message=bye\\nnow\n" in r.stderr, r.stderr
    assert "pod=s container=logs exit_code=3 reason=Error " \
        "message=line 1\\nline 2\\nline 3\\n\n" in r.stderr, r.stderr
    assert "container=ok exit_code=0" not in r.stderr, r.stderr
    # the run record keeps it, as in serve
    recs = list((tmp_path / "data").glob("pods/*/file/0.exit"))
    assert json.loads(recs[0].read_text())["terminationMessage"] == "bye\nnow"
