"""Pulling and pushing wasm modules against Debian's docker-registry:
every published format, TLS + basic auth, tampered blobs, a registry that
goes away, pull policies, and concurrent pulls sharing one download."""
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile

import pytest

from test_cli_run import BUILD, WASMLET, module

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"

# It stops and starts the registry and edits its storage: a registry of
# its own (conftest.py's registry fixtures).
OWN_REGISTRY = True


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def wl(*args, input=None, timeout=60):
    return subprocess.run([WASMLET, *args], capture_output=True, text=True,
                          input=input, timeout=timeout)


def pull(tmp_path, image, *extra, data_dir=None):
    return wl("pull", "--data-dir", str(data_dir or tmp_path / "data"),
              *extra, image)


def fields(stdout):
    return dict(line.split(": ", 1) for line in stdout.splitlines())


def put_manifest(reg, repo, ref, body, media_type):
    status, headers, resp = reg.request(
        "PUT", f"/v2/{repo}/manifests/{ref}", data=body,
        headers={"Content-Type": media_type})
    assert status == 201, resp
    return headers["Docker-Content-Digest"]


def wasm_bytes(name="hello"):
    return open(module(name), "rb").read()


def test_push_artifact_then_pull_and_run(registry, tmp_path):
    image = f"{registry.host}/e2e/hello:v1"
    r = wl("push", "--insecure", module("hello"), image)
    assert r.returncode == 0, r.stderr
    manifest_digest = r.stdout.strip()
    status, headers, body = registry.request(
        "GET", "/v2/e2e/hello/manifests/v1",
        headers={"Accept": OCI_MANIFEST})
    m = json.loads(body)
    assert m["artifactType"] == "application/wasm"
    assert m["config"]["mediaType"] == "application/vnd.wasm.config.v0+json"
    assert m["layers"][0]["mediaType"] == "application/wasm"
    assert headers["Docker-Content-Digest"] == manifest_digest

    r = pull(tmp_path, image, "--insecure-registry", registry.host)
    assert r.returncode == 0, r.stderr
    f = fields(r.stdout)
    assert f["image-id"] == f"{registry.host}/e2e/hello@{manifest_digest}"
    assert f["module"] == sha(wasm_bytes())
    assert open(f["path"], "rb").read() == wasm_bytes()
    assert oct(os.stat(f["path"]).st_mode & 0o777) == "0o600"
    run = wl("run", f["path"], "--", "x")
    assert run.returncode == 0 and "arg[1]=x" in run.stdout


def test_krustlet_format_round_trip(registry, tmp_path):
    image = f"{registry.host}/e2e/krustlet:v1"
    r = wl("push", "--krustlet", "--insecure", module("exit_code"), image)
    assert r.returncode == 0, r.stderr
    _, _, body = registry.request("GET", "/v2/e2e/krustlet/manifests/v1",
                                  headers={"Accept": OCI_MANIFEST})
    m = json.loads(body)
    assert m["config"]["mediaType"] == "application/vnd.wasm.config.v1+json"
    assert m["layers"][0]["mediaType"] == \
        "application/vnd.wasm.content.layer.v1+wasm"
    r = pull(tmp_path, image, "--insecure-registry", registry.host)
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout)["module"] == sha(wasm_bytes("exit_code"))


def layer_with(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue())


def push_image(reg, repo, tag, os_name, arch, files, entrypoint,
               platforms_in_index=None):
    """An OCI image (optionally inside an index with other platforms)."""
    config = json.dumps({"os": os_name, "architecture": arch,
                         "config": {"Entrypoint": entrypoint},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = layer_with(files)
    cd, ld = reg.push_blob(f"{repo}", config), reg.push_blob(f"{repo}", layer)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": cd, "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER_GZ, "digest": ld,
                    "size": len(layer)}]}).encode()
    md = put_manifest(reg, repo, sha(manifest), manifest, OCI_MANIFEST)
    entries = [{"mediaType": OCI_MANIFEST, "digest": md,
                "size": len(manifest),
                "platform": {"os": os_name, "architecture": arch}}]
    for other_os, other_arch in platforms_in_index or []:
        entries.insert(0, {"mediaType": OCI_MANIFEST, "digest": md,
                           "size": len(manifest),
                           "platform": {"os": other_os,
                                        "architecture": other_arch}})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                        "manifests": entries}).encode()
    return put_manifest(reg, repo, tag, index, OCI_INDEX)


def test_wasi_image_in_an_index(registry, tmp_path):
    wasm = wasm_bytes()
    index_digest = push_image(
        registry, "e2e/image", "v1", "wasi", "wasm",
        {"etc/readme": b"not this", "app/hello.wasm": wasm},
        ["/app/hello.wasm"], platforms_in_index=[("linux", "amd64")])
    r = pull(tmp_path, f"{registry.host}/e2e/image:v1",
             "--insecure-registry", registry.host)
    assert r.returncode == 0, r.stderr
    f = fields(r.stdout)
    assert f["module"] == sha(wasm)
    assert f["image-id"] == f"{registry.host}/e2e/image@{index_digest}"


def test_non_wasm_images_are_refused_with_what_was_found(registry, tmp_path):
    push_image(registry, "e2e/linux", "v1", "linux", "amd64",
               {"bin/sh": b"\x7fELF"}, ["/bin/sh"],
               platforms_in_index=[("linux", "arm64")])
    r = pull(tmp_path, f"{registry.host}/e2e/linux:v1",
             "--insecure-registry", registry.host)
    assert r.returncode == 1
    assert "no wasi/wasm entry in the image index (platforms: linux/arm64, " \
        "linux/amd64)" in r.stderr


def test_tls_registry_with_basic_auth(tls_registry, tmp_path):
    image = f"{tls_registry.host}/e2e/secure:v1"
    certs = tmp_path / "certs.d" / tls_registry.host
    certs.mkdir(parents=True)
    (certs / "ca.crt").write_bytes(tls_registry.ca.read_bytes())

    r = wl("push", "--ca-file", str(tls_registry.ca), "--username", "wasmlet",
           "--password-stdin", module("hello"), image, input="wrong\n")
    assert r.returncode == 1
    assert "HTTP 401" in r.stderr and "credentials missing or wrong" in r.stderr
    r = wl("push", "--ca-file", str(tls_registry.ca), "--username", "wasmlet",
           "--password-stdin", module("hello"), image,
           input=tls_registry.password + "\n")
    assert r.returncode == 0, r.stderr

    r = pull(tmp_path, image, "--certs-dir", str(tmp_path / "certs.d"))
    assert r.returncode == 1
    assert "HTTP 401" in r.stderr

    r = pull(tmp_path, image)  # no CA: verification fails, never skipped
    assert r.returncode == 1
    # The TLS verification failure itself (CURLE_PEER_FAILED_VERIFICATION)
    # on the first request, not some other error that names a certificate.
    assert f"error: pull {image}: GET https://{tls_registry.host}/v2/: " \
        "SSL peer certificate or SSH remote key was not OK\n" in r.stderr, \
        r.stderr

    import base64
    auth = tmp_path / "config.json"
    token = base64.b64encode(b"wasmlet:" + tls_registry.password.encode())
    auth.write_text(json.dumps(
        {"auths": {tls_registry.host: {"auth": token.decode()}}}))
    r = pull(tmp_path, image, "--certs-dir", str(tmp_path / "certs.d"),
             "--registry-config", str(auth))
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout)["module"] == sha(wasm_bytes())


def blob_file(reg, digest):
    hexd = digest.split(":")[1]
    return (reg.dir / "data" / "docker" / "registry" / "v2" / "blobs" /
            "sha256" / hexd[:2] / hexd / "data")


def test_tampered_blob_is_rejected_and_not_stored(registry, tmp_path):
    # A module of its own (a custom section makes the digest unique): the
    # registry stores blobs by digest across repositories, so tampering
    # with a shared one would break every other test that pushes it.
    wasm = wasm_bytes("trap") + b"\x00\x08\x07tampere"
    pushed = registry.push_wasm("e2e/tamper", "v1", wasm)
    f = blob_file(registry, pushed["layer_digest"])
    assert f.exists(), f
    f.write_bytes(wasm[:-1] + bytes([wasm[-1] ^ 1]))
    r = pull(tmp_path, pushed["reference"], "--insecure-registry",
             registry.host)
    assert r.returncode == 1
    assert f"digest mismatch: expected {pushed['layer_digest']}, got sha256:" \
        in r.stderr
    hexd = pushed["layer_digest"].split(":")[1]
    assert not (tmp_path / "data" / "modules" / "blobs" / "sha256" /
                hexd).exists()
    assert list((tmp_path / "data" / "modules" / "tmp").iterdir()) == []


def test_registry_down_then_back_and_pull_policies(registry, tmp_path):
    pushed = registry.push_wasm("e2e/policy", "v1", wasm_bytes("loop"))
    image = pushed["reference"]
    ins = ("--insecure-registry", registry.host)
    r = pull(tmp_path, image, "--pull-policy", "Never", *ins)
    assert r.returncode == 1
    assert "is not present and the pull policy is Never" in r.stderr

    registry.script("stop")
    try:
        r = pull(tmp_path, image, *ins)
        assert r.returncode == 1
        assert "Couldn't connect to server" in r.stderr
    finally:
        registry.script("start")
    r = pull(tmp_path, image, *ins)
    assert r.returncode == 0, r.stderr

    registry.script("stop")
    try:
        # Present now: IfNotPresent (the default for a tag) and Never need
        # no registry; Always does.
        for policy in ("IfNotPresent", "Never"):
            r = pull(tmp_path, image, "--pull-policy", policy, *ins)
            assert r.returncode == 0, r.stderr
            assert "already present" in r.stderr
        r = pull(tmp_path, image, "--pull-policy", "Always", *ins)
        assert r.returncode == 1
    finally:
        registry.script("start")


def test_concurrent_pulls_share_one_download(registry, tmp_path):
    pushed = registry.push_wasm("e2e/shared", "v1", wasm_bytes("memhog"))
    out = subprocess.run(
        [str(BUILD / "bench" / "bench_pull"), "--insecure-registry",
         registry.host, "--concurrent", "8", str(tmp_path / "store"),
         pushed["reference"]], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    f = fields(out.stdout)
    assert f["concurrent pulls"] == "8"
    assert f["blob downloads"] == "1"


def test_bad_references_are_clear_errors(tmp_path):
    r = pull(tmp_path, "Upper/Case:v1")
    assert r.returncode == 1
    assert "repository name must be lowercase" in r.stderr
    r = wl("push", module("hello"), "localhost:1/x@sha256:" + "a" * 64)
    assert r.returncode == 1
    assert "give a tag, not a digest" in r.stderr
    r = wl("push", "--insecure", str(BUILD / "build.ninja"), "localhost:1/x:1")
    assert r.returncode == 1
    assert "not a WebAssembly module" in r.stderr


def test_gc_keeps_what_kept_images_use(registry, tmp_path):
    ins = ("--insecure-registry", registry.host)
    keep = registry.push_wasm("e2e/gc-keep", "v1", wasm_bytes("hello"))
    drop = registry.push_wasm("e2e/gc-drop", "v1", wasm_bytes("sleeper"))
    for p in (keep, drop):
        assert pull(tmp_path, p["reference"], *ins).returncode == 0
    blobs = tmp_path / "data" / "modules" / "blobs" / "sha256"
    r = wl("gc", "--data-dir", str(tmp_path / "data"), "--keep",
           keep["reference"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("removed 2 blob(s)")  # drop's manifest, module
    left = {"sha256:" + f.name for f in blobs.iterdir()}
    assert left == {keep["digest"], keep["layer_digest"]}
    r = pull(tmp_path, keep["reference"], "--pull-policy", "Never", *ins)
    assert r.returncode == 0, r.stderr
    r = pull(tmp_path, drop["reference"], "--pull-policy", "Never", *ins)
    assert r.returncode == 1


def test_a_host_that_is_not_a_registry_is_named(tmp_path, ports):
    port = ports(1)[0]
    srv = subprocess.Popen(["/usr/bin/python3", "-m", "http.server",
                            "--bind", "127.0.0.1", str(port)],
                           cwd=tmp_path, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        import socket
        import time
        for _ in range(50):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        r = pull(tmp_path, f"127.0.0.1:{port}/x:v1", "--insecure-registry",
                 f"127.0.0.1:{port}")
        assert r.returncode == 1
        assert f"http://127.0.0.1:{port} does not look like an OCI " \
            f"registry: GET http://127.0.0.1:{port}/v2/ answered HTTP 404" \
            in r.stderr
    finally:
        srv.terminate()
        srv.wait(timeout=10)
