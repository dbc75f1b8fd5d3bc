"""wasmlet serve's certificate manager in the node loop: the serving
certificate (signer kubernetes.io/kubelet-serving, approved by a human with
`kubectl certificate approve`) is requested without holding up the node,
written when issued, and a denial is logged; the client certificate is
renewed as the node itself once it passes 80% of its lifetime."""
import base64
import datetime
import json
import signal
import ssl
import stat
import subprocess
import time

import pytest

from test_cli_run import WASMLET
from test_node import node_json, ready_status, wait_for

SERVING = "kubernetes.io/kubelet-serving"
CLIENT = "kubernetes.io/kube-apiserver-client-kubelet"


class CertWasmlet:
    """`wasmlet serve` bootstrapping its credentials into tmp_path."""

    def __init__(self, cluster, tmp_path, port, name):
        self.cluster = cluster
        self.name = name
        self.kubeconfig = tmp_path / "kubelet.kubeconfig"
        self.data_dir = tmp_path / "data"
        self.log_path = tmp_path / f"wasmlet-{name}.log"
        self.port = port
        self.proc = None
        self.log = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [WASMLET, "serve",
             "--bootstrap-kubeconfig", str(self.cluster.bootstrap_kubeconfig),
             "--kubeconfig", str(self.kubeconfig),
             "--node-name", self.name, "--node-ip", "127.0.0.1",
             "--hostname-override", self.name,
             "--port", str(self.port), "--data-dir", str(self.data_dir)],
            stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        if self.log:
            self.log.close()
            self.log = None
        return self.proc.returncode if self.proc else None

    def output(self):
        return self.log_path.read_text()


def csrs_for(cluster, node, signer):
    """The node's CSRs for signer (requested as the node itself), by name."""
    items = json.loads(cluster.kubectl("get", "csr", "-o", "json").stdout)
    return {c["metadata"]["name"]: c for c in items["items"]
            if c["spec"]["signerName"] == signer
            and c["spec"]["username"] == f"system:node:{node}"}


def conditions(csr):
    return {c["type"]: c for c in csr.get("status", {}).get("conditions", [])}


def is_ready(cluster, node):
    return (ready_status(node_json(cluster, node)) or {}).get("status") == \
        "True"


@pytest.fixture
def certs_node(cluster, tmp_path, ports, request):
    name = "wasm-certs-" + request.node.name[5:20].replace("_", "-").strip("-")
    w = CertWasmlet(cluster, tmp_path, ports(1)[0], name)
    yield w
    w.stop(signal.SIGKILL)
    for signer in (SERVING, CLIENT):
        for csr in csrs_for(cluster, name, signer):
            cluster.kubectl("delete", "csr", csr, "--ignore-not-found")
    cluster.kubectl("delete", "node", name, "--ignore-not-found")


def served_pem(port):
    """The certificate the kubelet API presents, as PEM."""
    return ssl.get_server_certificate(("127.0.0.1", port), timeout=5)


def pem_body(pem):
    return "".join(line for line in pem.splitlines() if "-----" not in line)


def pending_serving_csr(cluster, w):
    found = wait_for("serving CSR", lambda: csrs_for(cluster, w.name, SERVING),
                     timeout=15)
    assert len(found) == 1, found
    return next(iter(found.items()))


def test_serving_certificate_is_written_after_approval(cluster, certs_node,
                                                       sh, tmp_path):
    w = certs_node.start()
    wait_for("node Ready", lambda: is_ready(cluster, w.name), timeout=15)
    name, csr = pending_serving_csr(cluster, w)
    assert sorted(csr["spec"]["usages"]) == ["digital signature",
                                             "server auth"]
    req = tmp_path / "serving.csr"
    req.write_bytes(base64.b64decode(csr["spec"]["request"]))
    text = sh(["openssl", "req", "-in", req, "-noout", "-text"]).stdout
    assert "IP Address:127.0.0.1" in text
    assert f"DNS:{w.name}" in text
    subject = sh(["openssl", "req", "-in", req, "-noout", "-subject",
                  "-nameopt", "RFC2253"]).stdout.strip()
    assert subject == f"subject=CN=system:node:{w.name},O=system:nodes"

    # Nobody approves it yet: it stays Pending and the node stays Ready,
    # its Lease renewed meanwhile.
    time.sleep(12)
    csr = csrs_for(cluster, w.name, SERVING)[name]
    assert not conditions(csr), csr["status"]
    assert is_ready(cluster, w.name)
    crt = w.data_dir / "pki" / "kubelet-server.crt"
    key = w.data_dir / "pki" / "kubelet-server.key"
    assert not crt.exists()
    # Meanwhile the kubelet API serves a self-signed certificate.
    served = served_pem(w.port)
    self_signed = (w.data_dir / "pki" / "kubelet-selfsigned.crt").read_text()
    assert pem_body(served) == pem_body(self_signed)

    cluster.kubectl("certificate", "approve", name)
    wait_for("serving certificate", crt.exists, timeout=15)
    for f in (crt, key):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    san = sh(["openssl", "x509", "-in", crt, "-noout", "-ext",
              "subjectAltName"]).stdout
    assert "IP Address:127.0.0.1" in san
    sh(["openssl", "verify", "-CAfile", cluster.ca, crt])
    pub_crt = sh(["openssl", "x509", "-in", crt, "-noout", "-pubkey"]).stdout
    pub_key = sh(["openssl", "pkey", "-in", key, "-pubout"]).stdout
    assert pub_crt == pub_key
    out = w.output()
    assert f"serving certificate written path={w.data_dir}/pki/" \
        "kubelet-server.crt" in out
    assert "PRIVATE KEY" not in out
    # Written once; no new request while it is good.
    assert list(csrs_for(cluster, w.name, SERVING)) == [name]
    # The kubelet API moves to it without a restart.
    wait_for("the issued certificate served",
             lambda: pem_body(served_pem(w.port)) == pem_body(crt.read_text()),
             timeout=20, interval=1)
    assert "kubelet API serving certificate from pki" in w.output()
    assert w.stop(signal.SIGTERM) == 0


def test_denied_serving_csr_is_logged_and_not_retried_at_once(
        cluster, certs_node):
    w = certs_node.start()
    name, _ = pending_serving_csr(cluster, w)
    cluster.kubectl("certificate", "deny", name)
    wait_for("denial logged",
             lambda: f"csr {name} denied" in w.output(), timeout=15)
    line = next(ln for ln in w.output().splitlines()
                if f"csr {name} denied" in ln)
    assert "error" in line.lower()
    time.sleep(11)
    assert list(csrs_for(cluster, w.name, SERVING)) == [name]
    assert is_ready(cluster, w.name)
    assert w.stop(signal.SIGTERM) == 0


def _old_client_kubeconfig(cluster, node, path):
    """A kubeconfig for node whose certificate (from the cluster CA) is 85%
    through a ten-day lifetime: good enough to start with, due for
    rotation."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_crt = x509.load_pem_x509_certificate(cluster.ca.read_bytes())
    ca_key = serialization.load_pem_private_key(
        (cluster.dir / "pki" / "ca.key").read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                x509.NameAttribute(NameOID.COMMON_NAME,
                                   f"system:node:{node}")]))
            .issuer_name(ca_crt.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=8.5))
            .not_valid_after(now + datetime.timedelta(days=1.5))
            .add_extension(x509.ExtendedKeyUsage(
                [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    cfg = {
        "apiVersion": "v1", "kind": "Config", "current-context": "default",
        "clusters": [{"name": "default", "cluster": {
            "server": cluster.server,
            "certificate-authority-data": b64(cluster.ca.read_bytes())}}],
        "users": [{"name": "default", "user": {
            "client-certificate-data": b64(cert.public_bytes(
                serialization.Encoding.PEM)),
            "client-key-data": b64(key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))}}],
        "contexts": [{"name": "default", "context": {
            "cluster": "default", "user": "default"}}],
    }
    path.write_text(json.dumps(cfg))
    path.chmod(0o600)
    return cert


def test_client_certificate_is_rotated_while_running(cluster, certs_node, sh,
                                                     tmp_path):
    w = certs_node
    old = _old_client_kubeconfig(cluster, w.name, w.kubeconfig)
    before = set(csrs_for(cluster, w.name, CLIENT))
    w.start()
    wait_for("node Ready", lambda: is_ready(cluster, w.name), timeout=15)
    wait_for("client rotation",
             lambda: "client certificate rotated" in w.output(), timeout=20)
    out = w.output()
    assert "reusing client certificate" in out
    assert "api client rebuilt" in out
    # the pod manager's threads move to the new certificate too
    wait_for("pod manager renewed",
             lambda: "pod manager clients renewed" in w.output(), timeout=5)

    # Requested as the node itself and approved by the controller-manager
    # (selfnodeclient), not by us.
    new = {n: c for n, c in csrs_for(cluster, w.name, CLIENT).items()
           if n not in before}
    assert len(new) == 1, new
    (name, csr), = new.items()
    assert conditions(csr)["Approved"]["status"] == "True"

    assert stat.S_IMODE(w.kubeconfig.stat().st_mode) == 0o600
    b64 = cluster.kubectl(
        "config", "view", "--raw", "-o",
        "jsonpath={.users[0].user.client-certificate-data}",
        kubeconfig=w.kubeconfig).stdout
    crt = tmp_path / "rotated.crt"
    crt.write_bytes(base64.b64decode(b64))
    assert crt.read_bytes() == \
        (w.data_dir / "pki" / "kubelet-client.crt").read_bytes()
    sh(["openssl", "verify", "-CAfile", cluster.ca, crt])
    serial = sh(["openssl", "x509", "-in", crt, "-noout", "-serial"]).stdout
    assert serial.strip().lower() != f"serial={old.serial_number:x}"
    who = json.loads(cluster.kubectl("auth", "whoami", "-o", "json",
                                     kubeconfig=w.kubeconfig).stdout)
    assert who["status"]["userInfo"]["username"] == f"system:node:{w.name}"

    # The loop goes on with the new client: the Lease keeps moving.
    lease = lambda: json.loads(cluster.kubectl(  # noqa: E731
        "get", "lease", "-n", "kube-node-lease", w.name, "-o",
        "json").stdout)["spec"]["renewTime"]
    first = lease()
    wait_for("lease renewed after rotation", lambda: lease() != first,
             timeout=15, interval=1)
    assert is_ready(cluster, w.name)
    assert w.stop(signal.SIGTERM) == 0
