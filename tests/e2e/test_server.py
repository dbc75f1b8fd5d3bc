"""The kubelet API end to end: `kubectl logs` (and its flags) through the
real API server, authentication and authorisation of direct callers, the
metrics and stats endpoints as Prometheus and metrics-server read them,
and a server that keeps serving while slow clients hold connections."""
import calendar
import json
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from test_node import (Wasmlet, node_json, ready_status, serve_node,
                       wait_for)
from test_pods import TOLERATE, create, get, phase, push_images

NODE = "wasm-server"


@pytest.fixture(scope="module")
def images(registry):
    return push_images(registry, "server", ("hello", "ticker", "logspam",
                                            "exit_code"))


@pytest.fixture(scope="module")
def node(cluster, registry, tmp_path_factory, ports):
    port, healthz_port = ports(2)
    for w in serve_node(cluster, NODE, tmp_path_factory.mktemp("server"),
                        port, "--insecure-registries", registry.host,
                        "--container-log-max-size", "64Ki",
                        "--container-log-max-files", "3",
                        "--max-log-streams", "4",
                        "--authentication-token-webhook",
                        "--healthz-port", str(healthz_port),
                        selector="suite=server"):
        w.healthz_port = healthz_port
        yield w


def pod(name, containers, restart="Never"):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"suite": "server"}},
            "spec": {"restartPolicy": restart, "nodeName": NODE,
                     "automountServiceAccountToken": False,
                     "tolerations": TOLERATE,
                     "terminationGracePeriodSeconds": 5,
                     "containers": containers}}


def ctr(name, image, args=None):
    c = {"name": name, "image": image}
    if args is not None:
        c["args"] = [str(a) for a in args]
    return c


def logs(cluster, *args, check=True):
    r = cluster.kubectl("logs", *args, check=False)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def running(cluster, name, timeout=30):
    return phase(cluster, name, "Running", timeout)


# ------------------------------------------------------------ direct calls


class Client:
    """HTTPS to the node's kubelet port, as a given certificate (or none)."""

    def __init__(self, cluster, node, cert=None, key=None):
        self.port = node.port
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE  # the node's cert is self-signed
        if cert:
            self.ctx.load_cert_chain(cert, key)

    def get(self, path, timeout=10, token=None):
        req = urllib.request.Request(f"https://127.0.0.1:{self.port}{path}")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, context=self.ctx,
                                        timeout=timeout) as r:
                return r.status, r.read().decode(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), e.headers


@pytest.fixture(scope="module")
def admin(cluster, node):
    pki = cluster.dir / "pki"
    return Client(cluster, node, pki / "admin.crt", pki / "admin.key")


@pytest.fixture(scope="module")
def nobody_cert(cluster, tmp_path_factory):
    """A certificate the cluster CA signed for a user RBAC grants nothing."""
    d = tmp_path_factory.mktemp("nobody")
    pki = cluster.dir / "pki"
    key, csr, crt = d / "nobody.key", d / "nobody.csr", d / "nobody.crt"
    ext = d / "ext.cnf"
    ext.write_text("extendedKeyUsage=clientAuth\n")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                    "-out", csr, "-subj", "/O=nobodies/CN=nobody"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA",
                    pki / "ca.crt", "-CAkey", pki / "ca.key",
                    "-CAcreateserial", "-days", "1", "-out", crt,
                    "-extfile", ext], check=True, capture_output=True)
    return crt, key


def test_callers_are_authenticated_and_authorised(cluster, node, admin,
                                                  nobody_cert):
    anon = Client(cluster, node)
    code, body, headers = anon.get("/pods")
    assert code == 401, body
    status = json.loads(body)
    assert status["kind"] == "Status" and status["reason"] == "Unauthorized"

    nobody = Client(cluster, node, *nobody_cert)
    code, body, _ = nobody.get("/pods")
    assert code == 403, body
    status = json.loads(body)
    assert status["reason"] == "Forbidden"
    assert "user=nobody" in status["message"]
    assert "subresource=proxy" in status["message"]
    code, body, _ = nobody.get("/stats/summary")
    assert code == 403 and "subresource=stats" in body

    # RBAC that grants nodes/metrics only: metrics yes, logs and pods no.
    cluster.kubectl("create", "clusterrole", "server-metrics-reader",
                    "--verb=get", "--resource=nodes/metrics", check=False)
    cluster.kubectl("create", "clusterrolebinding", "server-metrics-reader",
                    "--clusterrole=server-metrics-reader", "--user=nobody",
                    check=False)
    # Denials are cached for 30 s, as the kubelet's webhook does: metrics
    # was never asked for before the grant.
    code, body, _ = nobody.get("/metrics/resource")
    assert code == 200, body
    code, body, _ = nobody.get("/stats/summary")
    assert code == 403, body
    code, _, _ = nobody.get("/containerLogs/default/x/y")
    assert code == 403

    code, body, _ = admin.get("/healthz")
    assert (code, body) == (200, "ok")


def test_bearer_tokens_are_reviewed(cluster, node):
    """--authentication-token-webhook: a token the API server vouches for
    (a service account's) is its user; RBAC decides the rest."""
    anon = Client(cluster, node)
    code, body, _ = anon.get("/pods", token="not-a-real-token")
    assert code == 401, body
    cluster.kubectl("create", "serviceaccount", "stats-reader", check=False)
    cluster.kubectl("create", "clusterrole", "server-stats-reader",
                    "--verb=get", "--resource=nodes/stats", check=False)
    cluster.kubectl("create", "clusterrolebinding", "server-stats-reader",
                    "--clusterrole=server-stats-reader",
                    f"--serviceaccount={cluster.namespace}:stats-reader",
                    check=False)
    token = cluster.kubectl("create", "token", "stats-reader").stdout.strip()
    code, body, _ = anon.get("/stats/summary", token=token)
    assert code == 200, body
    assert json.loads(body)["node"]["nodeName"] == NODE
    code, body, _ = anon.get("/pods", token=token)
    assert code == 403, body
    assert f"user=system:serviceaccount:{cluster.namespace}:stats-reader" \
        in body


def test_bad_paths_and_parameters_get_clear_errors(cluster, node, admin):
    code, body, _ = admin.get("/nope")
    assert code == 404 and "could not find the requested resource" in body
    code, body, _ = admin.get("/containerLogs/default/no-such-pod/main")
    assert code == 404
    assert 'pod "no-such-pod" in namespace "default" is not running' in body
    code, body, _ = admin.get("/containerLogs/%2e%2e/%2e%2e/etc")
    assert code == 404
    code, body, _ = admin.get("/containerLogs/default/p/c?tailLines=-3")
    assert code == 400 and "tailLines" in body
    code, body, _ = admin.get("/containerLogs/default/p/c?" + "x" * 5000)
    assert code == 414 or code == 400


def plain_http(port, path, method="GET"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_healthz_port_answers_plain_http_without_credentials(node):
    """--healthz-port (the kubelet's 10248): liveness probes and scripts
    need no certificate; it tells nothing but health."""
    port = node.healthz_port
    assert f"healthz listening address=127.0.0.1 port={port}" in \
        node.output()
    for path in ("/healthz", "/healthz/ping", "/healthz/syncloop"):
        assert plain_http(port, path) == (200, "ok"), path
    assert plain_http(port, "/healthz", "HEAD")[0] == 200
    assert plain_http(port, "/pods")[0] == 404
    assert plain_http(port, "/containerLogs/default/x/y")[0] == 404
    assert plain_http(port, "/healthz", "POST")[0] == 405


def test_healthz_port_taken_is_a_warning_not_a_failure(cluster, node,
                                                       tmp_path, ports):
    """As the kubelet: a second node whose health port is taken says so and
    runs (its kubelet API, pods and Lease do not depend on it)."""
    name = "wasm-server-healthz"
    w = Wasmlet(cluster, name, tmp_path, ports(1)[0], "--healthz-port",
                str(node.healthz_port))
    w.start()
    try:
        wait_for("second node Ready", lambda: (ready_status(node_json(
            cluster, name)) or {}).get("status") == "True", timeout=30)
        assert w.proc.poll() is None
        out = w.output()
        assert f"healthz: cannot listen on 127.0.0.1:{node.healthz_port}" \
            in out, out[-2000:]
        assert "--healthz-port 0 turns it off" in out
        # the first node's endpoint is untouched
        assert plain_http(node.healthz_port, "/healthz") == (200, "ok")
    finally:
        rc = w.stop(signal.SIGTERM)
        cluster.kubectl("delete", "node", name, "--ignore-not-found")
    assert rc == 0, w.output()[-3000:]


def test_healthz_answers_while_the_api_server_is_out_of_reach(cluster,
                                                              tmp_path,
                                                              ports):
    """As the kubelet, the health port comes up before registration: a
    liveness probe gets "ok" while wasmlet waits for the API server (a
    restart would not bring it back)."""
    port, healthz_port, dead = ports(3)
    kubeconfig = tmp_path / "unreachable.kubeconfig"
    kubeconfig.write_text(re.sub(r"(server: https://127\.0\.0\.1:)\d+",
                                 rf"\g<1>{dead}",
                                 cluster.kubeconfig.read_text()))
    assert f"127.0.0.1:{dead}" in kubeconfig.read_text()
    w = Wasmlet(cluster, "wasm-server-unreachable", tmp_path, port,
                "--kubeconfig", str(kubeconfig), "--healthz-port",
                str(healthz_port))
    w.start()

    def healthz():
        try:
            return plain_http(healthz_port, "/healthz") == (200, "ok")
        except urllib.error.URLError:
            return False
    try:
        wait_for("/healthz ok", healthz, timeout=20)
        wait_for("a registration retry", lambda: "retrying in" in w.output(),
                 timeout=20)
        assert healthz()
        assert w.proc.poll() is None
    finally:
        rc = w.stop(signal.SIGTERM)
    assert rc == 0, w.output()[-3000:]
    assert node_json(cluster, "wasm-server-unreachable") is None


# ------------------------------------------------------------ kubectl logs


def test_kubectl_logs_tail_timestamps_limit_and_containers(cluster, node,
                                                           images):
    create(cluster, pod("logs-multi", [
        ctr("first", images["logspam"], [6]),
        ctr("second", images["hello"], ["from", "second"])]))
    phase(cluster, "logs-multi", "Succeeded")

    out = logs(cluster, "logs-multi", "-c", "first").stdout
    assert sorted(out.splitlines()) == [f"line {i}" for i in range(6)]
    assert "arg[1]=from\narg[2]=second\n" in logs(cluster, "logs-multi", "-c",
                                                   "second").stdout

    tail = logs(cluster, "logs-multi", "-c", "first", "--tail=2").stdout
    assert tail.splitlines() == out.splitlines()[-2:]

    ts = logs(cluster, "logs-multi", "-c", "first", "--timestamps").stdout
    lines = ts.splitlines()
    assert len(lines) == 6
    for line in lines:
        stamp, text = line.split(" ", 1)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", stamp)
        assert text.startswith("line ")

    limited = logs(cluster, "logs-multi", "-c", "first",
                   "--limit-bytes=10").stdout
    assert limited == out[:10]

    # Without -c kubectl picks the first container and says so.
    r = logs(cluster, "logs-multi")
    assert r.stdout == out
    assert 'Defaulted container "first"' in r.stderr


def test_kubectl_logs_since_and_follow(cluster, node, images):
    create(cluster, pod("logs-follow", [ctr("main", images["ticker"],
                                            [300, 0])]))
    running(cluster, "logs-follow")
    time.sleep(2.5)

    # --since=1s keeps exactly the lines logged after a cutoff the server
    # takes between t0 - 1 and t1 - 1 (same host, same clock): the
    # timestamps say which side of it each line is on.
    def stamped(*flags):
        out = logs(cluster, "logs-follow", "--timestamps", *flags).stdout
        lines = []
        for ln in out.splitlines():
            stamp, text = ln.split(" ", 1)
            secs = calendar.timegm(time.strptime(stamp[:19],
                                                 "%Y-%m-%dT%H:%M:%S"))
            lines.append((secs + float("0." + stamp[20:-1]), text))
        return lines

    t0 = time.time()
    since = stamped("--since=1s")
    t1 = time.time()
    every = stamped()
    slack = 0.05
    assert since, every
    assert all(ts >= t0 - 1 - slack for ts, _ in since), (t0, since)
    older = [ln for ln in every if ln[0] < t0 - 1 - slack]
    assert older, every  # 2.5 s of ticks every 300 ms: some are older
    assert not set(older) & set(since), (older, since)
    # Lines newer than the latest cutoff, logged before the request, are in.
    recent = [ln for ln in every if t1 - 1 + slack <= ln[0] <= t0]
    assert set(recent) <= set(since), (recent, since)
    # and what is kept is a run of whole lines in order, ending at the
    # newest line the server had
    k = every.index(since[0])
    assert since == every[k:k + len(since)], (since, every)

    # -f: every line arrives well within a second of being written.
    proc = subprocess.Popen(
        [str(cluster.kubectl_bin), "--kubeconfig", str(cluster.kubeconfig),
         "-n", cluster.namespace, "logs", "-f", "--timestamps", "--tail=1",
         "logs-follow"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=cluster.env)
    delays, seen = [], []
    try:
        t_end = time.monotonic() + 4
        while time.monotonic() < t_end:
            line = proc.stdout.readline()
            if not line:
                break
            arrived = time.time()
            stamp, text = line.rstrip("\n").split(" ", 1)
            written = datetime.fromisoformat(stamp[:26] + "+00:00").timestamp()
            seen.append(text)
            if len(seen) > 1:  # the first is the tail, written earlier
                delays.append(arrived - written)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert len(seen) >= 8, (seen, proc.stderr.read())
    assert max(delays) < 1.0, delays
    numbers = [int(t.split()[1]) for t in seen]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    cluster.kubectl("delete", "pod", "logs-follow", "--wait=false")


def test_follow_ends_when_the_container_ends(cluster, node, images):
    create(cluster, pod("logs-ends", [ctr("main", images["ticker"],
                                          [200, 10])]))
    running(cluster, "logs-ends")
    t0 = time.monotonic()
    r = cluster.kubectl("logs", "-f", "logs-ends", timeout=30)
    assert r.stdout.splitlines() == [f"tick {i}" for i in range(10)]
    assert time.monotonic() - t0 < 10


def test_kubectl_logs_previous_after_a_restart(cluster, node, images):
    create(cluster, pod("logs-prev", [ctr("main", images["exit_code"], [3])],
                        restart="Always"))
    wait_for("a restart", lambda: (get(cluster, "logs-prev")["status"]
                                   .get("containerStatuses") or [{}])[0]
             .get("restartCount", 0) >= 1, timeout=60)
    cur = logs(cluster, "logs-prev", "--timestamps").stdout.splitlines()
    prev = logs(cluster, "logs-prev", "--previous",
                "--timestamps").stdout.splitlines()
    assert prev, "the previous run's log is kept"
    assert prev[0].split(" ", 1)[0] < cur[0].split(" ", 1)[0]
    cluster.kubectl("delete", "pod", "logs-prev", "--wait=false")

    create(cluster, pod("logs-noprev", [ctr("main", images["hello"])]))
    phase(cluster, "logs-noprev", "Succeeded")
    r = logs(cluster, "logs-noprev", "--previous", check=False)
    assert r.returncode != 0
    assert 'previous terminated container "main" in pod "logs-noprev" not ' \
           'found' in r.stderr


def test_logs_rotate_by_size_and_read_across_files(cluster, node, images):
    create(cluster, pod("logs-rotate", [ctr("main", images["logspam"],
                                            [20000])]))
    phase(cluster, "logs-rotate", "Succeeded", timeout=60)
    uid = get(cluster, "logs-rotate")["metadata"]["uid"]
    d = node.data_dir / "pods" / uid / "main"
    files = sorted(p.name for p in d.iterdir() if p.name.startswith("0.log"))
    assert files == ["0.log", "0.log.1", "0.log.2"], files
    for f in files:
        assert (d / f).stat().st_size <= 64 * 1024 + 16 * 1024
    # What is left after rotation: whole lines, none twice, the last ones.
    kept = logs(cluster, "logs-rotate").stdout.splitlines()
    assert 1000 < len(kept) < 20000
    assert len(set(kept)) == len(kept)
    assert all(re.fullmatch(r"line \d+", line) for line in kept)
    assert "line 19999" in kept and "line 19998" in kept
    tail = logs(cluster, "logs-rotate", "--tail=4").stdout.splitlines()
    assert tail == kept[-4:]


def test_exec_attach_and_port_forward_say_not_supported(cluster, node,
                                                         images, admin):
    create(cluster, pod("exec-me", [ctr("main", images["ticker"], [1000, 0])]))
    running(cluster, "exec-me")
    r = cluster.kubectl("exec", "exec-me", "--", "sh", check=False)
    assert r.returncode != 0
    assert "not supported for WebAssembly pods" in r.stderr, r.stderr
    r = cluster.kubectl("attach", "exec-me", check=False)
    assert r.returncode != 0
    assert "attach is not supported for WebAssembly pods" in r.stderr, \
        r.stderr
    r = cluster.kubectl("port-forward", "exec-me", ":80", check=False,
                        timeout=30)
    assert r.returncode != 0
    assert "port forwarding is not supported for WebAssembly pods" in \
        r.stderr, r.stderr
    # (The API server does not proxy to a node at 127.0.0.1: ask directly.)
    code, body, _ = admin.get(f"/portForward/{cluster.namespace}/exec-me")
    assert code == 400
    assert json.loads(body)["message"].startswith(
        "port forwarding is not supported for WebAssembly pods")
    cluster.kubectl("delete", "pod", "exec-me", "--wait=false")


# ------------------------------------------------------- metrics and stats


def test_pods_metrics_and_stats(cluster, node, admin, images):
    create(cluster, pod("busy", [ctr("main", images["ticker"], [100, 0, 60])]))
    running(cluster, "busy")

    code, body, _ = admin.get("/pods")
    assert code == 200
    podlist = json.loads(body)
    assert podlist["kind"] == "PodList"
    busy = [p for p in podlist["items"] if p["metadata"]["name"] == "busy"]
    assert busy and busy[0]["status"]["phase"] == "Running"

    # Through the API server's node proxy, as kubectl users reach it.
    # (The API server does not proxy to a node at 127.0.0.1: ask directly,
    # with the admin's certificate, as Prometheus would with its own.)
    code, body, headers = admin.get("/metrics")
    assert code == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(body)}
    for name in ("wasmlet_pods", "wasmlet_container_starts",
                 "wasmlet_container_failures", "wasmlet_module_start_duration_seconds",
                 "wasmlet_module_cache_lookups", "wasmlet_image_pull_duration_seconds",
                 "wasmlet_image_pull_bytes", "wasmlet_api_request_duration_seconds",
                 "wasmlet_api_request_errors", "process_resident_memory_bytes",
                 "process_cpu_seconds", "wasmlet_kubelet_api_requests"):
        assert name in families, (name, sorted(families))
    pods = {s.labels["phase"]: s.value for s in families["wasmlet_pods"].samples}
    assert pods["Running"] >= 1
    starts = [s.value for s in families["wasmlet_container_starts"].samples
              if s.name == "wasmlet_container_starts_total"]
    assert starts[0] >= 1
    rss = families["process_resident_memory_bytes"].samples[0].value
    assert 1 << 20 < rss < 1 << 30
    counts = [s for s in families["wasmlet_module_start_duration_seconds"].samples
              if s.name.endswith("_count")]
    assert counts[0].value >= 1
    # every compile (a "compiled" cache lookup) is timed
    compiled = [s.value for s in families["wasmlet_module_cache_lookups"].samples
                if s.labels.get("result") == "compiled"
                and s.name.endswith("_total")]
    compile_count = [s.value for s in
                     families["wasmlet_module_compile_duration_seconds"].samples
                     if s.name.endswith("_count")]
    assert compiled and compiled[0] >= 1, compiled
    assert compile_count == compiled, (compile_count, compiled)

    code, body, _ = admin.get("/metrics/resource")
    assert code == 200
    res = {f.name: f for f in text_string_to_metric_families(body)}
    for name in ("node_cpu_usage_seconds", "node_memory_working_set_bytes",
                 "container_cpu_usage_seconds", "container_memory_working_set_bytes",
                 "pod_cpu_usage_seconds", "pod_memory_working_set_bytes",
                 "container_start_time_seconds", "scrape_error"):
        assert name in res, (name, sorted(res))
    cpu = [s for s in res["container_cpu_usage_seconds"].samples
           if s.labels.get("pod") == "busy"]
    assert cpu and cpu[0].labels["container"] == "main"

    # 60 ms busy per 160 ms: its CPU time grows past 0.2 s within seconds
    # (polled: on a loaded machine the guest gets its share later).
    def busy_cpu():
        _, body, _ = admin.get("/metrics/resource")
        fams = {f.name: f for f in text_string_to_metric_families(body)}
        v = [s.value for s in fams["container_cpu_usage_seconds"].samples
             if s.labels.get("pod") == "busy"]
        return v and v[0] > 0.2
    wait_for("busy's CPU time past 0.2 s", busy_cpu, timeout=30,
             interval=0.5)
    mem = [s for s in res["container_memory_working_set_bytes"].samples
           if s.labels.get("pod") == "busy"]
    assert mem and mem[0].value >= 65536  # at least one wasm page

    # /stats/summary: the fields metrics-server reads.
    code, body, _ = admin.get("/stats/summary")
    assert code == 200
    s = json.loads(body)
    assert s["node"]["nodeName"] == NODE
    assert s["node"]["cpu"]["usageCoreNanoSeconds"] > 0
    assert s["node"]["memory"]["workingSetBytes"] > 0
    assert s["node"]["cpu"]["time"] and s["node"]["memory"]["time"]
    p = [p for p in s["pods"] if p["podRef"]["name"] == "busy"][0]
    assert p["podRef"]["namespace"] == cluster.namespace
    assert p["podRef"]["uid"] == busy[0]["metadata"]["uid"]
    c = p["containers"][0]
    assert c["name"] == "main"
    assert c["cpu"]["usageCoreNanoSeconds"] > 200_000_000
    assert c["memory"]["workingSetBytes"] >= 65536
    assert p["cpu"]["usageCoreNanoSeconds"] >= c["cpu"]["usageCoreNanoSeconds"]
    assert p["memory"]["workingSetBytes"] >= c["memory"]["workingSetBytes"]
    cluster.kubectl("delete", "pod", "busy", "--wait=false")


# ---------------------------------------------------------------- hardening


def test_slow_clients_do_not_stop_others(cluster, node, admin):
    """Fifty clients that never finish their request headers (slowloris)
    hold connections; everyone else is still answered at once, and the slow
    ones are dropped after the idle timeout."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    slow = []
    for _ in range(50):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", node.port),
                                                     timeout=10))
        s.sendall(b"GET /pods HTTP/1.1\r\nHost: x\r\n")
        slow.append(s)
    try:
        for _ in range(5):
            t0 = time.monotonic()
            code, body, _ = admin.get("/healthz", timeout=5)
            assert (code, body) == (200, "ok")
            assert time.monotonic() - t0 < 1.0
        # Idle half-sent requests are dropped after the idle timeout (15 s).
        t0 = time.monotonic()
        for s in slow:
            s.settimeout(max(1.0, 25 - (time.monotonic() - t0)))
            try:
                data = s.recv(4096)
            except TimeoutError:
                pytest.fail("an idle half-sent request was kept open")
            except (ssl.SSLError, OSError):  # reset: dropped
                data = b""
            assert data == b"" or data.startswith(b"HTTP/1.1 408"), data
        assert time.monotonic() - t0 < 25
    finally:
        for s in slow:
            s.close()


def test_log_streams_are_capped(cluster, node, admin, images):
    create(cluster, pod("logs-cap", [ctr("main", images["ticker"], [1000, 0])]))
    running(cluster, "logs-cap")
    streams = []
    try:
        for _ in range(4):
            streams.append(subprocess.Popen(
                [str(cluster.kubectl_bin), "--kubeconfig",
                 str(cluster.kubeconfig), "-n", cluster.namespace, "logs", "-f",
                 "logs-cap"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=cluster.env))
        for p in streams:  # each got its first line: they are open
            assert p.stdout.readline()
        code, body, _ = admin.get(f"/containerLogs/{cluster.namespace}/logs-cap/main"
                                  "?follow=true")
        assert code == 429 and "too many log streams" in body
        code, body, _ = admin.get(f"/containerLogs/{cluster.namespace}/logs-cap/main")
        assert code == 200 and body.startswith("tick 0")
    finally:
        for p in streams:
            p.terminate()
            p.wait(timeout=10)
    # Closed streams give their places back.
    wait_for("a free stream",
             lambda: admin.get(f"/containerLogs/{cluster.namespace}/logs-cap/main"
                               "?follow=true&limitBytes=6")[0] == 200,
             timeout=10)
    cluster.kubectl("delete", "pod", "logs-cap", "--wait=false")
