#!/usr/bin/env bash
# Local OCI registries on 127.0.0.1 for wasmlet's tests and demos, using
# Debian's docker-registry (distribution 2.8).
#
#   scripts/registry.sh start  [--tls-auth | --token-auth | --all]
#   scripts/registry.sh stop   [--tls-auth | --token-auth | --all] [--purge]
#   scripts/registry.sh status [--tls-auth | --token-auth | --all]
#   scripts/registry.sh env    [--tls-auth | --token-auth | --all]
#
# Without a flag the command acts on the plain registry (HTTP, anonymous);
# --tls-auth on the second one (HTTPS with a generated CA, htpasswd basic
# auth); --token-auth on the third one (HTTP, Docker token auth: Bearer
# tokens from tests/e2e/token_server.py, signed by a generated CA); --all on
# all three. See docs/local-cluster.md.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WL_REGISTRY_DIR=$(realpath -m -- "${WL_REGISTRY_DIR:-$WL_ROOT/.wasmlet/registry}")
WL_REGISTRY_USER=${WL_REGISTRY_USER:-wasmlet}
WL_REGISTRY_PASSWORD=${WL_REGISTRY_PASSWORD:-wasmlet-secret}
WL_REGISTRY_BIN=${WL_REGISTRY_BIN:-docker-registry}
WL_REGISTRY_START_TIMEOUT=${WL_REGISTRY_START_TIMEOUT:-30}
WL_REGISTRY_STOP_TIMEOUT=${WL_REGISTRY_STOP_TIMEOUT:-10}
WL_REGISTRY_PYTHON=${WL_REGISTRY_PYTHON:-python3}
WL_TOKEN_SERVER=${WL_TOKEN_SERVER:-$WL_ROOT/tests/e2e/token_server.py}
# What the token-auth registry's config and its token server agree on.
WL_TOKEN_SERVICE=wasmlet-registry-token
WL_TOKEN_ISSUER=wasmlet-token-issuer

# select_instance plain|tls|token: sets I_NAME, I_DIR, I_PORT_VAR,
# I_DEFAULT_PORT, I_TLS, I_TOKEN.
select_instance() {
	I_NAME=$1
	I_TLS=0
	I_TOKEN=0
	if [[ $1 == tls ]]; then
		I_DIR=$WL_REGISTRY_DIR-tls
		I_PORT_VAR=WL_REGISTRY_TLS_PORT
		I_DEFAULT_PORT=25001
		I_TLS=1
	elif [[ $1 == token ]]; then
		I_DIR=$WL_REGISTRY_DIR-token
		I_PORT_VAR=WL_REGISTRY_TOKEN_PORT
		I_DEFAULT_PORT=25002
		I_TOKEN=1
	else
		I_DIR=$WL_REGISTRY_DIR
		I_PORT_VAR=WL_REGISTRY_PORT
		I_DEFAULT_PORT=25000
	fi
	I_MARKER=$I_DIR/.wasmlet-registry
	I_PIDFILE=$I_DIR/registry.pid
	I_LOG=$I_DIR/registry.log
	I_CONFIG=$I_DIR/config.yml
	# The token server (token instance only).
	T_PIDFILE=$I_DIR/token-server.pid
	T_LOG=$I_DIR/token-server.log
	T_KEY=$I_DIR/token.key
	T_PASSWORD_FILE=$I_DIR/token-password
}

valid_port() { [[ $1 =~ ^[1-9][0-9]{0,4}$ ]] && (($1 <= 65535)); }

# The port: the environment wins, then what the last start of this dir used,
# then the default.
load_port() {
	I_PORT=${!I_PORT_VAR:-}
	I_PORT_FROM_ENV=0
	if [[ -n $I_PORT ]]; then
		I_PORT_FROM_ENV=1
	elif [[ -s $I_DIR/port ]]; then
		I_PORT=$(<"$I_DIR/port")
	else
		I_PORT=$I_DEFAULT_PORT
	fi
	valid_port "$I_PORT" || wl_die "$I_PORT_VAR=$I_PORT is not a port number"
	if ((I_TOKEN)); then
		T_PORT=${WL_REGISTRY_TOKEN_SERVER_PORT:-}
		T_PORT_FROM_ENV=0
		if [[ -n $T_PORT ]]; then
			T_PORT_FROM_ENV=1
		elif [[ -s $I_DIR/token-server-port ]]; then
			T_PORT=$(<"$I_DIR/token-server-port")
		else
			T_PORT=25003
		fi
		valid_port "$T_PORT" ||
			wl_die "WL_REGISTRY_TOKEN_SERVER_PORT=$T_PORT is not a port number"
	fi
}

scheme() { if ((I_TLS)); then echo https; else echo http; fi; }
url() { printf '%s://127.0.0.1:%s' "$(scheme)" "$I_PORT"; }
token_url() { printf 'http://127.0.0.1:%s' "$T_PORT"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- processes

# pid_alive PID [NEEDLE]: alive and ours (lib.sh): its command line
# mentions NEEDLE (default: this instance's registry config).
pid_alive() { wl_pid_alive "$1" "${2:-$I_CONFIG}"; }

# pidfile_pid PIDFILE [NEEDLE]: the live pid recorded in PIDFILE.
pidfile_pid() {
	local pid
	[[ -f $1 ]] || return 1
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	pid_alive "$pid" "${2:-}" || return 1
	printf '%s' "$pid"
}

instance_pid() { pidfile_pid "$I_PIDFILE"; }
token_server_pid() { pidfile_pid "$T_PIDFILE" "$T_KEY"; }

# /v2/ answers: 200 for the plain registry, 401 (credentials required) for
# the TLS+auth one, verified against its own CA.
http_code() {
	local args=(--noproxy '*' -sS -o /dev/null -w '%{http_code}' --max-time 2)
	((I_TLS)) && args+=(--cacert "$I_DIR/ca.crt")
	curl "${args[@]}" "$@" 2>/dev/null || true
}
expected_code() { if ((I_TLS || I_TOKEN)); then echo 401; else echo 200; fi; }
answering() { [[ $(http_code "$(url)/v2/") == "$(expected_code)" ]]; }
token_answering() { [[ $(http_code "$(token_url)/healthz") == 200 ]]; }

# ---------------------------------------------------------------- TLS and auth

ossl() {
	openssl "$@" 2>>"$I_DIR/openssl.log" || wl_die "openssl $1 failed; see $I_DIR/openssl.log"
}

make_tls() {
	local d=$I_DIR
	[[ -s $d/ca.crt && -s $d/ca.key && -s $d/server.crt && -s $d/server.key ]] && return 0
	wl_log "generating CA and serving certificate in $d"
	(
		umask 077
		ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/ca.key"
		ossl req -x509 -new -key "$d/ca.key" -sha256 -days 3650 -config /dev/null \
			-subj "/CN=wasmlet-local-registry-ca" -out "$d/ca.crt" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
			-addext "subjectKeyIdentifier=hash"
		ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/server.key"
		ossl req -new -key "$d/server.key" -subj "/CN=127.0.0.1" -config /dev/null -out "$d/server.csr"
		cat >"$d/server.ext" <<EOF
[v3]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
authorityKeyIdentifier=keyid
subjectAltName=IP:127.0.0.1,DNS:localhost
EOF
		ossl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
			-set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 \
			-extfile "$d/server.ext" -extensions v3 -out "$d/server.crt.tmp"
		rm -f "$d/server.csr" "$d/server.ext"
		mv -f "$d/server.crt.tmp" "$d/server.crt"
		# Readable by tests and tools of other users on the machine.
		chmod 644 "$d/ca.crt"
	)
}

# The token instance's signing PKI: a CA (ECDSA P-256, the registry's
# rootcertbundle) and an RSA leaf whose key signs the tokens (RS256) and
# whose certificate the token server sends in each token's x5c header.
make_token_keys() {
	local d=$I_DIR
	[[ -s $d/token-ca.crt && -s $d/token-ca.key && -s $d/token.crt && -s $d/token.key ]] && return 0
	wl_log "generating token signing CA and key in $d"
	(
		umask 077
		ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/token-ca.key"
		ossl req -x509 -new -key "$d/token-ca.key" -sha256 -days 3650 -config /dev/null \
			-subj "/CN=wasmlet-local-token-ca" -out "$d/token-ca.crt" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
			-addext "subjectKeyIdentifier=hash"
		ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/token.key.tmp"
		ossl req -new -key "$d/token.key.tmp" -subj "/CN=$WL_TOKEN_ISSUER" -config /dev/null -out "$d/token.csr"
		cat >"$d/token.ext" <<EOF
[v3]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
authorityKeyIdentifier=keyid
EOF
		ossl x509 -req -in "$d/token.csr" -CA "$d/token-ca.crt" -CAkey "$d/token-ca.key" \
			-set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 \
			-extfile "$d/token.ext" -extensions v3 -out "$d/token.crt.tmp"
		rm -f "$d/token.csr" "$d/token.ext"
		mv -f "$d/token.key.tmp" "$d/token.key"
		mv -f "$d/token.crt.tmp" "$d/token.crt"
		chmod 644 "$d/token-ca.crt" "$d/token.crt"
	)
}

write_htpasswd() {
	(
		umask 077
		printf '%s' "$WL_REGISTRY_PASSWORD" |
			htpasswd -nBi "$WL_REGISTRY_USER" >"$I_DIR/htpasswd.tmp" 2>>"$I_LOG" ||
			wl_die "htpasswd failed; see $I_LOG"
		mv -f "$I_DIR/htpasswd.tmp" "$I_DIR/htpasswd"
	)
}

write_config() {
	local secret
	if [[ ! -s $I_DIR/http-secret ]]; then
		(umask 077 && openssl rand -hex 32 >"$I_DIR/http-secret")
	fi
	secret=$(<"$I_DIR/http-secret")
	{
		cat <<EOF
# Generated by scripts/registry.sh; rewritten on every start.
version: 0.1
log:
  level: info
  fields:
    service: wasmlet-registry-$I_NAME
storage:
  filesystem:
    rootdirectory: $I_DIR/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$I_PORT
  secret: $secret
  headers:
    X-Content-Type-Options: [nosniff]
EOF
		if ((I_TLS)); then
			cat <<EOF
  tls:
    certificate: $I_DIR/server.crt
    key: $I_DIR/server.key
auth:
  htpasswd:
    realm: wasmlet-registry
    path: $I_DIR/htpasswd
EOF
		fi
		if ((I_TOKEN)); then
			cat <<EOF
auth:
  token:
    realm: $(token_url)/token
    service: $WL_TOKEN_SERVICE
    issuer: $WL_TOKEN_ISSUER
    rootcertbundle: $I_DIR/token-ca.crt
EOF
		fi
		cat <<EOF
health:
  storagedriver:
    enabled: false
EOF
	} >"$I_CONFIG.tmp"
	chmod 600 "$I_CONFIG.tmp"
	mv -f "$I_CONFIG.tmp" "$I_CONFIG"
}

# ---------------------------------------------------------------- commands

lock_instance() {
	exec 9>"$I_DIR/.lock"
	flock -w 60 9 || wl_die "another scripts/registry.sh holds $I_DIR/.lock"
}

# launch PIDFILE LOG CMD...: start CMD in its own session, its pid in PIDFILE.
launch() {
	local pidfile=$1 log=$2
	shift 2
	rm -f "$pidfile"
	printf '\n==== %s starting\n' "$(date -Is)" >>"$log"
	# shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
	setsid bash -c 'echo $$ >"$1.tmp" && mv -f "$1.tmp" "$1"; shift; exec "$@"' \
		launch "$pidfile" "$@" </dev/null >>"$log" 2>&1 9>&- &
}

launch_token_server() {
	launch "$T_PIDFILE" "$T_LOG" "$WL_REGISTRY_PYTHON" "$WL_TOKEN_SERVER" \
		--listen "127.0.0.1:$T_PORT" --key "$T_KEY" --cert "$I_DIR/token.crt" \
		--issuer "$WL_TOKEN_ISSUER" --service "$WL_TOKEN_SERVICE" \
		--user "$WL_REGISTRY_USER" --password-file "$T_PASSWORD_FILE" \
		--request-log "$I_DIR/token-requests.log"
}

# The token instance's token server: started unless running, then awaited.
start_token_server() {
	local pid
	if pid=$(token_server_pid); then
		local running_port
		running_port=$(<"$I_DIR/token-server-port")
		if ((T_PORT_FROM_ENV)) && [[ $T_PORT != "$running_port" ]]; then
			wl_log "warning: WL_REGISTRY_TOKEN_SERVER_PORT=$T_PORT ignored: the running token server uses port $running_port"
		fi
		T_PORT=$running_port
	else
		if port_in_use "$T_PORT"; then
			wl_die "cannot start the token server: 127.0.0.1:$T_PORT is already in use (set WL_REGISTRY_TOKEN_SERVER_PORT to another port)"
		fi
		[[ -r $WL_TOKEN_SERVER ]] || wl_die "token server $WL_TOKEN_SERVER not found"
		make_token_keys
		(umask 077 && printf '%s' "$WL_REGISTRY_PASSWORD" >"$T_PASSWORD_FILE")
		printf '%s\n' "$T_PORT" >"$I_DIR/token-server-port"
		wl_log "starting token server at $(token_url)/token (log $T_LOG)"
		launch_token_server
	fi
	local deadline=$((SECONDS + WL_REGISTRY_START_TIMEOUT)) relaunches=0
	while ! token_answering; do
		if [[ -s $T_PIDFILE ]] && ! token_server_pid >/dev/null; then
			tail -n 15 "$T_LOG" >&2 || true
			# Seen once in CI under load, with nothing in its log: try
			# again a couple of times before giving up.
			if ((relaunches < 2)) && ! port_in_use "$T_PORT"; then
				relaunches=$((relaunches + 1))
				wl_log "the token server exited during start; starting it again ($relaunches)"
				launch_token_server
				sleep 0.2
				continue
			fi
			wl_die "the token server exited during start; see $T_LOG"
		fi
		if ((SECONDS >= deadline)); then
			tail -n 15 "$T_LOG" >&2 || true
			stop_token_server
			wl_die "timed out after ${WL_REGISTRY_START_TIMEOUT}s waiting for $(token_url)/healthz; see $T_LOG"
		fi
		sleep 0.2
	done
}

start_instance() {
	select_instance "$1"
	mkdir -p "$I_DIR"
	if [[ ! -e $I_MARKER ]]; then
		if [[ -n $(ls -A "$I_DIR") ]]; then
			wl_die "$I_DIR exists, is not empty and is not a wasmlet registry dir; choose another WL_REGISTRY_DIR"
		fi
		: >"$I_MARKER"
	fi
	chmod 700 "$I_DIR"
	mkdir -p "$I_DIR/data"
	lock_instance
	load_port
	if ((I_TOKEN)); then
		# A running registry has the realm's port in its config: keep it.
		if instance_pid >/dev/null && [[ -s $I_DIR/token-server-port ]]; then
			T_PORT=$(<"$I_DIR/token-server-port")
		fi
		start_token_server
	fi

	local pid
	if pid=$(instance_pid); then
		local running_port
		running_port=$(<"$I_DIR/port")
		if ((I_PORT_FROM_ENV)) && [[ $I_PORT != "$running_port" ]]; then
			wl_log "warning: $I_PORT_VAR=$I_PORT ignored: the running registry uses port $running_port"
		fi
		I_PORT=$running_port
		if answering; then
			wl_log "$I_NAME registry already running at $(url) (pid $pid)"
			exec 9>&-
			return 0
		fi
	else
		if port_in_use "$I_PORT"; then
			wl_die "cannot start the $I_NAME registry: 127.0.0.1:$I_PORT is already in use (set $I_PORT_VAR to another port)"
		fi
		if ((I_TLS)); then
			make_tls
			write_htpasswd
		fi
		write_config
		printf '%s\n' "$I_PORT" >"$I_DIR/port"
		wl_log "starting $I_NAME registry at $(url) (log $I_LOG)"
		launch "$I_PIDFILE" "$I_LOG" "$WL_REGISTRY_BIN" serve "$I_CONFIG"
	fi

	local deadline=$((SECONDS + WL_REGISTRY_START_TIMEOUT)) seen_pid=0
	while ! answering; do
		if [[ -s $I_PIDFILE ]]; then
			seen_pid=1
			if ! instance_pid >/dev/null; then
				tail -n 15 "$I_LOG" >&2 || true
				wl_die "the $I_NAME registry exited during start; see $I_LOG"
			fi
		fi
		if ((SECONDS >= deadline)); then
			tail -n 15 "$I_LOG" >&2 || true
			if ((seen_pid)); then stop_instance "$I_NAME"; fi
			wl_die "timed out after ${WL_REGISTRY_START_TIMEOUT}s waiting for $(url)/v2/ to answer $(expected_code); see $I_LOG"
		fi
		sleep 0.2
	done
	wl_log "$I_NAME registry ready at $(url) (pid $(instance_pid))"
	exec 9>&-
}

# terminate WHAT PID NEEDLE: SIGTERM, then SIGKILL after the stop timeout.
terminate() {
	local what=$1 pid=$2 needle=$3 i
	wl_log "stopping $what (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < WL_REGISTRY_STOP_TIMEOUT * 10; i++)); do
		pid_alive "$pid" "$needle" || break
		sleep 0.1
	done
	if pid_alive "$pid" "$needle"; then
		wl_log "the $what ignored SIGTERM for ${WL_REGISTRY_STOP_TIMEOUT}s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			pid_alive "$pid" "$needle" || break
			sleep 0.1
		done
		if pid_alive "$pid" "$needle"; then
			wl_die "the $what (pid $pid) survived SIGKILL"
		fi
	fi
	return 0
}

stop_token_server() {
	local pid
	if pid=$(token_server_pid); then
		terminate "token server" "$pid" "$T_KEY"
	fi
	rm -f "$T_PIDFILE"
}

stop_instance() {
	select_instance "$1"
	local pid
	if [[ ! -d $I_DIR ]]; then
		return 0
	fi
	[[ -e $I_MARKER ]] || wl_die "$I_DIR is not a wasmlet registry dir; refusing to touch it"
	if pid=$(instance_pid); then
		terminate "$I_NAME registry" "$pid" "$I_CONFIG"
	fi
	rm -f "$I_PIDFILE"
	if ((I_TOKEN)); then
		stop_token_server
	fi
}

cmd_stop() {
	local purge=$1 inst
	shift
	for inst in "$@"; do
		stop_instance "$inst"
		if ((purge)) && [[ -d $I_DIR ]]; then
			wl_log "removing $I_DIR"
			rm -rf -- "$I_DIR"
		fi
	done
}

cmd_status() {
	local inst pid rc=0 code
	for inst in "$@"; do
		select_instance "$inst"
		load_port
		if pid=$(instance_pid); then
			# A running registry answers on the port it was started with.
			I_PORT=$(<"$I_DIR/port")
			code=$(http_code "$(url)/v2/")
			printf '%-6s registry  running (pid %s)  %s  /v2/ -> %s\n' "$inst" "$pid" "$(url)" "$code"
			[[ $code == "$(expected_code)" ]] || rc=1
		else
			printf '%-6s registry  stopped  (%s)\n' "$inst" "$I_DIR"
			rc=1
		fi
		if ((I_TOKEN)); then
			if pid=$(token_server_pid); then
				T_PORT=$(<"$I_DIR/token-server-port")
				code=$(http_code "$(token_url)/healthz")
				printf '%-6s token server  running (pid %s)  %s/token  /healthz -> %s\n' "$inst" "$pid" "$(token_url)" "$code"
				[[ $code == 200 ]] || rc=1
			else
				printf '%-6s token server  stopped  (%s)\n' "$inst" "$I_DIR"
				rc=1
			fi
		fi
	done
	return "$rc"
}

cmd_env() {
	local inst
	for inst in "$@"; do
		select_instance "$inst"
		load_port
		if [[ $inst == tls ]]; then
			printf 'export WL_REGISTRY_TLS=%q\n' "127.0.0.1:$I_PORT"
			printf 'export WL_REGISTRY_TLS_CA=%q\n' "$I_DIR/ca.crt"
			printf 'export WL_REGISTRY_USER=%q\n' "$WL_REGISTRY_USER"
			printf 'export WL_REGISTRY_PASSWORD=%q\n' "$WL_REGISTRY_PASSWORD"
		elif [[ $inst == token ]]; then
			printf 'export WL_REGISTRY_TOKEN=%q\n' "127.0.0.1:$I_PORT"
			printf 'export WL_REGISTRY_TOKEN_REALM=%q\n' "$(token_url)/token"
			printf 'export WL_REGISTRY_USER=%q\n' "$WL_REGISTRY_USER"
			printf 'export WL_REGISTRY_PASSWORD=%q\n' "$WL_REGISTRY_PASSWORD"
		else
			printf 'export WL_REGISTRY=%q\n' "127.0.0.1:$I_PORT"
		fi
	done
}

usage() {
	cat >&2 <<EOF
usage: scripts/registry.sh start|stop|status|env [--tls-auth | --token-auth | --all] [--purge (stop only)]
  plain registry dir: $WL_REGISTRY_DIR, TLS+auth registry dir: $WL_REGISTRY_DIR-tls,
  token-auth registry dir: $WL_REGISTRY_DIR-token
  see docs/local-cluster.md
EOF
	exit 2
}

main() {
	local cmd=${1:-} purge=0 arg
	local instances=(plain)
	[[ $# -gt 0 ]] && shift
	for arg in "$@"; do
		case $arg in
		--tls-auth) instances=(tls) ;;
		--token-auth) instances=(token) ;;
		--all) instances=(plain tls token) ;;
		--purge) [[ $cmd == stop ]] || usage; purge=1 ;;
		*) usage ;;
		esac
	done
	case $cmd in
	start)
		command -v "$WL_REGISTRY_BIN" >/dev/null ||
			wl_die "$WL_REGISTRY_BIN not found; install Debian's docker-registry (scripts/deps.sh)"
		local t
		for t in openssl curl htpasswd setsid flock; do
			command -v "$t" >/dev/null || wl_die "$t is required but not installed"
		done
		if [[ " ${instances[*]} " == *" token "* ]]; then
			command -v "$WL_REGISTRY_PYTHON" >/dev/null ||
				wl_die "$WL_REGISTRY_PYTHON is required for the token server but not installed"
		fi
		for arg in "${instances[@]}"; do start_instance "$arg"; done
		;;
	stop) cmd_stop "$purge" "${instances[@]}" ;;
	status) cmd_status "${instances[@]}" ;;
	env) cmd_env "${instances[@]}" ;;
	*) usage ;;
	esac
}

main "$@"
