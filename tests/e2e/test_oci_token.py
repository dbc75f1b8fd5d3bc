"""wasmlet against Debian's docker-registry configured for token auth
(auth.token: realm, service, issuer, rootcertbundle) with the token server
of tests/e2e/token_server.py: the Bearer flow of src/oci/registry.c for push
and pull, its error messages, and that tokens are cached per scope."""
import base64
import hashlib
import http.server
import json
import subprocess
import threading

from test_cli_run import WASMLET, module


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def wl(*args, input=None, timeout=60):
    return subprocess.run([WASMLET, *args], capture_output=True, text=True,
                          input=input, timeout=timeout)


def fields(stdout):
    return dict(line.split(": ", 1) for line in stdout.splitlines())


def push(reg, path, image, password):
    return wl("push", "--insecure", "--username", reg.user,
              "--password-stdin", path, image, input=password + "\n")


def auth_config(tmp_path, reg, password):
    cfg = tmp_path / "config.json"
    token = base64.b64encode(f"{reg.user}:{password}".encode()).decode()
    cfg.write_text(json.dumps({"auths": {reg.host: {"auth": token}}}))
    return cfg


def pull(tmp_path, reg, image, *extra):
    return wl("pull", "--data-dir", str(tmp_path / "data"),
              "--insecure-registry", reg.host, *extra, image)


def wasmlet_requests(reg):
    """Requests from wasmlet in the registry's access log so far."""
    log = (reg.dir / "registry.log").read_text(errors="replace")
    return sum(1 for line in log.splitlines()
               if line.endswith('"wasmlet"') and " /v2/" in line)


def new_token_requests(reg, before):
    return reg.stats()["log"][before:]


def jwt_part(token, i):
    part = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_registry_requires_bearer_tokens_from_the_token_server(token_registry, tmp_path, sh):
    reg = token_registry
    status, headers, _ = reg.request("GET", "/v2/", auth=False)
    assert status == 401
    challenge = headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'realm="{reg.realm}"' in challenge
    assert f'service="{reg.service}"' in challenge

    # The token server refuses anonymous and wrong credentials.
    assert reg.token("repository:e2e/x:pull", auth=False) == (401, None)
    assert reg.token("repository:e2e/x:pull", auth=(reg.user, "wrong")) == (401, None)

    status, answer = reg.token("repository:e2e/x:pull,push,delete")
    assert status == 200
    assert answer["token"] == answer["access_token"]
    assert answer["expires_in"] == 300
    header, claims = jwt_part(answer["token"], 0), jwt_part(answer["token"], 1)
    assert header["alg"] == "RS256"
    assert claims["iss"] == reg.issuer and claims["aud"] == reg.service
    assert claims["sub"] == reg.user
    assert claims["nbf"] <= claims["iat"] < claims["exp"]
    # Only pull and push are ever granted.
    assert claims["access"] == [
        {"type": "repository", "name": "e2e/x", "actions": ["pull", "push"]}]
    # x5c: the signing certificate, issued by the registry's rootcertbundle.
    leaf = tmp_path / "leaf.pem"
    der = base64.b64decode(header["x5c"][0])
    leaf.write_text("-----BEGIN CERTIFICATE-----\n"
                    + base64.encodebytes(der).decode()
                    + "-----END CERTIFICATE-----\n")
    sh(["openssl", "verify", "-CAfile", reg.signing_ca, leaf])

    # The registry accepts the token for its scope, and only for it.
    token = {"Authorization": f"Bearer {answer['token']}"}
    assert reg.request("GET", "/v2/", headers=token, auth=False)[0] == 200
    assert reg.request("GET", "/v2/e2e/x/tags/list", headers=token,
                       auth=False)[0] == 404  # authorized; nothing pushed yet
    status, headers, _ = reg.request("GET", "/v2/e2e/other/tags/list",
                                     headers=token, auth=False)
    assert status == 401
    assert 'scope="repository:e2e/other:pull"' in headers["WWW-Authenticate"]
    # A forged signature is refused.
    forged = answer["token"][:-4] + ("AAAA" if answer["token"][-4:] != "AAAA" else "BBBB")
    assert reg.request("GET", "/v2/", auth=False,
                       headers={"Authorization": f"Bearer {forged}"})[0] == 401


def test_push_and_pull_with_tokens_cached_per_scope(token_registry, tmp_path):
    reg = token_registry
    image = f"{reg.host}/e2e/hello:v1"
    wasm = open(module("hello"), "rb").read()

    n0, r0 = len(reg.stats()["log"]), wasmlet_requests(reg)
    r = push(reg, module("hello"), image, reg.password)
    assert r.returncode == 0, r.stderr
    manifest_digest = r.stdout.strip()
    asked = new_token_requests(reg, n0)
    # One token for the whole push (HEAD, POST, PUT per blob, PUT manifest).
    assert [(e["scopes"], e["status"], e["user"]) for e in asked] == [
        (["repository:e2e/hello:pull,push"], 200, reg.user)]
    assert asked[0]["access"] == [
        {"type": "repository", "name": "e2e/hello", "actions": ["pull", "push"]}]
    assert wasmlet_requests(reg) - r0 >= 6

    status, headers, _ = reg.request(
        "GET", "/v2/e2e/hello/manifests/v1",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 200
    assert headers["Docker-Content-Digest"] == manifest_digest

    cfg = auth_config(tmp_path, reg, reg.password)
    n0, r0 = len(reg.stats()["log"]), wasmlet_requests(reg)
    r = pull(tmp_path, reg, image, "--registry-config", str(cfg))
    assert r.returncode == 0, r.stderr
    f = fields(r.stdout)
    assert f["module"] == sha(wasm)
    assert f["image-id"] == f"{reg.host}/e2e/hello@{manifest_digest}"
    assert open(f["path"], "rb").read() == wasm
    asked = new_token_requests(reg, n0)
    # Not one token per request: the manifest and blob GETs share one.
    assert len(asked) <= 2, asked
    assert [(e["scopes"], e["status"]) for e in asked][0] == (
        ["repository:e2e/hello:pull"], 200)
    assert wasmlet_requests(reg) - r0 > len(asked)


def test_wrong_password_is_a_clear_token_error(token_registry, tmp_path):
    reg = token_registry
    image = f"{reg.host}/e2e/denied:v1"
    n0 = len(reg.stats()["log"])
    r = push(reg, module("hello"), image, "wrong")
    assert r.returncode == 1
    assert f"token from {reg.realm}: HTTP 401" in r.stderr, r.stderr
    assert "wrong or missing credentials" in r.stderr
    assert [(e["status"], e["user"]) for e in new_token_requests(reg, n0)] == [
        (401, None)]
    # Nothing was pushed.
    status, _, _ = reg.request("GET", "/v2/e2e/denied/tags/list")
    assert status == 404

    cfg = auth_config(tmp_path, reg, "wrong")
    r = pull(tmp_path, reg, image, "--registry-config", str(cfg))
    assert r.returncode == 1
    assert f"token from {reg.realm}: HTTP 401" in r.stderr, r.stderr


def test_anonymous_pull_is_refused(token_registry, tmp_path, wasm_module):
    reg = token_registry
    pushed = reg.push_wasm("e2e/anon", "v1", wasm_module)  # with a token
    n0 = len(reg.stats()["log"])
    r = pull(tmp_path, reg, pushed["reference"])
    assert r.returncode == 1
    assert f"token from {reg.realm}: HTTP 401" in r.stderr, r.stderr
    assert [(e["scopes"], e["status"]) for e in new_token_requests(reg, n0)] == [
        (["repository:e2e/anon:pull"], 401)]
    assert not (tmp_path / "data" / "modules" / "blobs" / "sha256" /
                pushed["layer_digest"].split(":")[1]).exists()

    # With credentials the same image pulls.
    cfg = auth_config(tmp_path, reg, reg.password)
    r = pull(tmp_path, reg, pushed["reference"], "--registry-config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout)["module"] == sha(wasm_module)


def test_script_start_is_idempotent_and_status_shows_both(token_registry):
    reg = token_registry
    pids = reg.pids()
    assert len(pids) == 2
    r = reg.script("start")
    assert "already running" in r.stderr
    assert reg.pids() == pids
    r = reg.script("status")
    assert "token server  running" in r.stdout
    assert f"{reg.token_url}/token" in r.stdout
    env = reg.script("env").stdout
    assert f"WL_REGISTRY_TOKEN={reg.host}" in env
    assert f"WL_REGISTRY_TOKEN_REALM={reg.realm}" in env


def test_challenge_params_are_not_taken_from_inside_the_realm(token_registry, tmp_path, ports):
    """A realm URL that itself carries ?service=... must not be mistaken for
    the challenge's service parameter (which would send service=svc" )."""
    reg = token_registry
    realm = f"{reg.realm}?service={reg.service}"
    seen = []

    class FakeRegistry(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            auth = self.headers.get("Authorization", "")
            seen.append((self.path, auth.split(" ")[0]))
            if auth.startswith("Bearer "):
                body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
                self.send_response(404)
            else:
                body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
                self.send_response(401)
                self.send_header(
                    "WWW-Authenticate",
                    f'Bearer realm="{realm}",service="{reg.service}",'
                    'scope="repository:e2e/realmq:pull"')
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    port = ports(1)[0]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), FakeRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host = f"127.0.0.1:{port}"
        cfg = tmp_path / "config.json"
        token = base64.b64encode(f"{reg.user}:{reg.password}".encode()).decode()
        cfg.write_text(json.dumps({"auths": {host: {"auth": token}}}))
        n0 = len(reg.stats()["log"])
        r = wl("pull", "--data-dir", str(tmp_path / "data"), "--insecure-registry",
               host, "--registry-config", str(cfg), f"{host}/e2e/realmq:v1")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert r.returncode == 1
    asked = new_token_requests(reg, n0)
    assert [(e["services"], e["status"]) for e in asked] == [
        ([reg.service, reg.service], 200)], (asked, r.stderr)
    assert "HTTP 404" in r.stderr and "manifest unknown" in r.stderr, r.stderr
    manifest = "/v2/e2e/realmq/manifests/v1"
    assert [a for path, a in seen if path == manifest] == ["", "Bearer"], seen
