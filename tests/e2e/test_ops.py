"""Operations: `wasmlet serve` under systemd's notify protocol (READY=1
once the Node is Ready, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on
SIGTERM, STATUS= lines), driven without systemd: the test owns the
NOTIFY_SOCKET datagram socket. The serve run is configured through a
config file (--config) with logging.format json, so those are exercised
against the real cluster too."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from test_cli_run import WASMLET
from test_node import node_json, ready_status, wait_for


class NotifySocket:
    """A unix datagram socket collecting (time, message) pairs."""

    def __init__(self):
        # sun_path holds 108 bytes: pytest's tmp_path can be longer.
        self.dir = tempfile.mkdtemp(prefix="wl-notify-", dir="/tmp")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.done:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            with self.lock:
                self.messages.append((time.monotonic(), data.decode()))

    def lines(self):
        """Every assignment received so far, in order: (time, "K=V")."""
        with self.lock:
            return [(t, line) for t, m in self.messages
                    for line in m.split("\n") if line]

    def first(self, assignment):
        return next((t for t, line in self.lines() if line == assignment),
                    None)

    def close(self):
        self.done = True
        self.thread.join()
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_serve(cluster, tmp_path, name, port, notify, watchdog_usec=None):
    config = tmp_path / "wasmlet.yaml"
    config.write_text(
        "apiVersion: kubelet.config.k8s.io/v1beta1\n"
        "kind: KubeletConfiguration\n"
        f"port: {port}\n"
        "logging:\n"
        "  format: json\n"
        "wasmlet:\n"
        f"  nodeName: {name}\n"
        "  nodeIP: 127.0.0.1\n"
        f"  dataDir: {tmp_path / 'data'}\n"
        f"  kubeconfig: {cluster.kubeconfig}\n")
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    env.pop("WATCHDOG_USEC", None)
    env.pop("WATCHDOG_PID", None)
    if watchdog_usec:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    log = open(tmp_path / "wasmlet.log", "wb")
    proc = subprocess.Popen([WASMLET, "serve", "--config", str(config)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, log


@pytest.fixture
def notify():
    n = NotifySocket()
    yield n
    n.close()


def node_ready(cluster, name):
    return (ready_status(node_json(cluster, name)) or {}).get("status") == "True"


def stop(proc, log, cluster, name):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log.close()
    cluster.kubectl("delete", "node", name, "--ignore-not-found",
                    "--wait=false")
    return proc.returncode


def test_sd_notify_ready_after_node_ready_watchdog_and_stopping(
        cluster, tmp_path, ports, notify):
    name = "wasm-sd-notify"
    proc, log = start_serve(cluster, tmp_path, name, ports(1)[0], notify,
                            watchdog_usec=1_000_000)
    try:
        ready_at = wait_for("READY=1", lambda: notify.first("READY=1"), 20)
        # READY=1 is sent after registration wrote Ready=True.
        assert node_ready(cluster, name)
        lines = [line for _, line in notify.lines()]
        assert lines[0] == f"STATUS=registering node {name}", lines
        assert f"STATUS=node {name} ready, running pods" in lines
        # WATCHDOG_USEC=1 s: a ping every 0.5 s, from before READY on
        # (polled until three came after READY).
        def pings_after_ready():
            pings = [t for t, line in notify.lines() if line == "WATCHDOG=1"]
            after = [t for t in pings if t > ready_at]
            return after if len(after) >= 3 else None
        after = wait_for("3 WATCHDOG=1 after READY", pings_after_ready, 10)
        gaps = [b - a for a, b in zip(after, after[1:])]
        assert max(gaps) < 1.0, gaps  # inside WATCHDOG_USEC, always
        assert "STOPPING=1" not in lines

        t_term = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        stopping = wait_for("STOPPING=1", lambda: notify.first("STOPPING=1"),
                            5)
        assert stopping >= t_term
        assert any(line.startswith("STATUS=shutting down")
                   for _, line in notify.lines())
    finally:
        rc = stop(proc, log, cluster, name)
    out = (tmp_path / "wasmlet.log").read_text()
    # logging.format: json from the config file: every line is an object.
    records = [json.loads(line) for line in out.splitlines()]
    assert {"ts", "level", "pid", "msg"} <= set(records[0]), records[0]
    assert any(r["msg"].startswith("node ready node=" + name)
               for r in records), out[-2000:]
    assert rc == 0, out[-3000:]


def test_no_watchdog_pings_without_watchdog_usec(cluster, tmp_path, ports,
                                                 notify):
    name = "wasm-sd-nowatchdog"
    proc, log = start_serve(cluster, tmp_path, name, ports(1)[0], notify)
    try:
        wait_for("READY=1", lambda: notify.first("READY=1"), 20)
        time.sleep(1.5)
        assert notify.first("WATCHDOG=1") is None, notify.lines()
    finally:
        rc = stop(proc, log, cluster, name)
    assert rc == 0
