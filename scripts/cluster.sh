#!/usr/bin/env bash
# A real local Kubernetes control plane on 127.0.0.1 for wasmlet's tests and
# demos: etcd, kube-apiserver, kube-controller-manager and kube-scheduler,
# with TLS everywhere the API server is involved and a bootstrap token for
# TLS bootstrapping of nodes.
#
#   scripts/cluster.sh start            start (or finish starting) the cluster
#   scripts/cluster.sh stop [--purge]   stop it; --purge also deletes its dir
#   scripts/cluster.sh status           each component and /readyz
#   scripts/cluster.sh env              export lines for a shell (eval them)
#   scripts/cluster.sh cert NAME SUBJ   a client certificate from the cluster CA
#                                       in pki/NAME.crt and pki/NAME.key
#
# Everything lives under WL_CLUSTER_DIR; see docs/local-cluster.md.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WL_CLUSTER_DIR=${WL_CLUSTER_DIR:-$WL_ROOT/.wasmlet/cluster}
WL_CLUSTER_START_TIMEOUT=${WL_CLUSTER_START_TIMEOUT:-180}
WL_CLUSTER_STOP_TIMEOUT=${WL_CLUSTER_STOP_TIMEOUT:-20}
WL_CLUSTER_VERBOSITY=${WL_CLUSTER_VERBOSITY:-1}
# How fast the node lifecycle controller notices a node whose Lease stopped
# being renewed (Kubernetes' defaults: 5s and 50s). Shorter here so tests
# of a dying wasmlet finish quickly; must stay above the 40 s leases'
# renew interval of 10 s.
WL_NODE_MONITOR_PERIOD=${WL_NODE_MONITOR_PERIOD:-2s}
WL_NODE_MONITOR_GRACE_PERIOD=${WL_NODE_MONITOR_GRACE_PERIOD:-20s}
WL_BOOTSTRAP_GROUP=system:bootstrappers:wasmlet

# Ports: the environment wins, then what the last start of this dir used
# (ports.env), then these defaults.
PORT_VARS=(WL_ETCD_PORT WL_ETCD_PEER_PORT WL_APISERVER_PORT WL_KCM_PORT WL_SCHED_PORT)
declare -A PORT_DEFAULTS=(
	[WL_ETCD_PORT]=23790
	[WL_ETCD_PEER_PORT]=23800
	[WL_APISERVER_PORT]=26443
	[WL_KCM_PORT]=20257
	[WL_SCHED_PORT]=20259
)

# Components in start order; stop goes in reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler)

D=$(realpath -m -- "$WL_CLUSTER_DIR")
PKI=$D/pki
LOGS=$D/logs
RUN=$D/run
MARKER=$D/.wasmlet-cluster

kubectl_admin() {
	"$WL_K8S_BIN/kubectl" --kubeconfig "$D/admin.kubeconfig" --request-timeout=10s "$@"
}

# ---------------------------------------------------------------- ports

load_ports() {
	local k v
	declare -A saved=()
	if [[ -f $D/ports.env ]]; then
		while IFS='=' read -r k v; do
			[[ -n $k ]] && saved[$k]=$v
		done <"$D/ports.env"
	fi
	for k in "${PORT_VARS[@]}"; do
		if [[ -n ${!k:-} ]]; then
			: # set in the environment
		elif [[ -n ${saved[$k]:-} ]]; then
			printf -v "$k" '%s' "${saved[$k]}"
		else
			printf -v "$k" '%s' "${PORT_DEFAULTS[$k]}"
		fi
		v=${!k}
		if ! [[ $v =~ ^[1-9][0-9]{0,4}$ ]] || ((v > 65535)); then
			wl_die "$k=$v is not a port number"
		fi
	done
	local seen=" "
	for k in "${PORT_VARS[@]}"; do
		[[ $seen == *" ${!k} "* ]] && wl_die "port ${!k} is used twice; give each of ${PORT_VARS[*]} its own port"
		seen+="${!k} "
	done
}

save_ports() {
	local k tmp=$D/ports.env.tmp
	: >"$tmp"
	for k in "${PORT_VARS[@]}"; do printf '%s=%s\n' "$k" "${!k}" >>"$tmp"; done
	mv -f "$tmp" "$D/ports.env"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---------------------------------------------------------------- processes

pid_of() {
	local f=$RUN/$1.pid pid
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	printf '%s' "$pid"
}

# Alive and ours (lib.sh): its command line names this dir.
pid_alive() { wl_pid_alive "$1" "$D/"; }

running() {
	local pid
	pid=$(pid_of "$1") && pid_alive "$pid"
}

# launch NAME BINARY ARGS... : run in its own session, detached from our
# terminal and stdio, logging to $LOGS/NAME.log; the pid lands in $RUN/NAME.pid.
launch() {
	local name=$1 pidfile=$RUN/$1.pid i
	shift
	rm -f "$pidfile"
	printf '\n==== %s starting %s\n' "$(date -Is)" "$name" >>"$LOGS/$name.log"
	# shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
	setsid bash -c 'echo $$ >"$1.tmp" && mv -f "$1.tmp" "$1"; shift; exec "$@"' \
		launch "$pidfile" "$@" </dev/null >>"$LOGS/$name.log" 2>&1 9>&- &
	for ((i = 0; i < 100; i++)); do
		[[ -s $pidfile ]] && return 0
		sleep 0.05
	done
	wl_die "$name did not start; see $LOGS/$name.log"
}

stop_component() {
	local name=$1 pid i
	if ! pid=$(pid_of "$name") || ! pid_alive "$pid"; then
		rm -f "$RUN/$name.pid"
		return 0
	fi
	wl_log "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < WL_CLUSTER_STOP_TIMEOUT * 10; i++)); do
		pid_alive "$pid" || break
		sleep 0.1
	done
	if pid_alive "$pid"; then
		wl_log "$name did not exit within ${WL_CLUSTER_STOP_TIMEOUT}s of SIGTERM; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			pid_alive "$pid" || break
			sleep 0.1
		done
		pid_alive "$pid" && wl_die "$name (pid $pid) survived SIGKILL"
	fi
	rm -f "$RUN/$name.pid"
}

stop_all() {
	local i
	for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
		stop_component "${COMPONENTS[i]}"
	done
}

# ---------------------------------------------------------------- PKI

# openssl wrappers. All keys are ECDSA P-256: fast to make, and accepted by
# every component (including service-account signing, ES256).
ossl() {
	openssl "$@" 2>>"$LOGS/openssl.log" || wl_die "openssl $1 failed; see $LOGS/openssl.log"
}
new_key() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# make_ca NAME CN
make_ca() {
	local crt=$PKI/$1.crt key=$PKI/$1.key
	[[ -s $crt && -s $key ]] && return 0
	wl_log "generating CA $1"
	new_key "$key.tmp"
	ossl req -x509 -new -key "$key.tmp" -sha256 -days 3650 \
		-subj "/CN=$2" -out "$crt.tmp" \
		-config /dev/null \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
		-addext "subjectKeyIdentifier=hash"
	mv -f "$key.tmp" "$key"
	mv -f "$crt.tmp" "$crt"
}

# make_cert NAME SUBJECT EKU [SAN [CA]]: a leaf certificate signed by CA
# (default: the cluster CA).
make_cert() {
	local name=$1 subj=$2 eku=$3 san=${4:-} ca=${5:-ca} crt=$PKI/$1.crt key=$PKI/$1.key
	[[ -s $crt && -s $key ]] && return 0
	wl_log "generating certificate $name ($subj)"
	local ext=$PKI/$name.ext
	{
		echo "[v3]"
		echo "basicConstraints=critical,CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=$eku"
		echo "authorityKeyIdentifier=keyid"
		[[ -n $san ]] && echo "subjectAltName=$san"
	} >"$ext"
	new_key "$key.tmp"
	ossl req -new -key "$key.tmp" -subj "$subj" -out "$PKI/$name.csr" -config /dev/null
	ossl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
		-set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 \
		-extfile "$ext" -extensions v3 -out "$crt.tmp"
	rm -f "$PKI/$name.csr" "$ext"
	mv -f "$key.tmp" "$key"
	mv -f "$crt.tmp" "$crt"
}

make_pki() {
	(
		umask 077
		make_ca ca wasmlet-local-cluster-ca
		make_cert apiserver "/CN=kube-apiserver" serverAuth \
			"IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
		make_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
		make_cert admin "/O=system:masters/CN=wasmlet-admin" clientAuth
		make_cert kube-controller-manager "/CN=system:kube-controller-manager" clientAuth
		make_cert kube-scheduler "/CN=system:kube-scheduler" clientAuth
		# The aggregation layer's request-header authentication, as kubeadm
		# sets it up; the controller manager and scheduler read it too.
		make_ca front-proxy-ca wasmlet-local-front-proxy-ca
		make_cert front-proxy-client "/CN=front-proxy-client" clientAuth "" front-proxy-ca
		# Serving certificate for the controller-manager's and scheduler's
		# secure ports, so their /healthz can be checked with verification.
		make_cert local-serving "/CN=wasmlet-local-serving" serverAuth "IP:127.0.0.1,DNS:localhost"
		if [[ ! -s $PKI/sa.key || ! -s $PKI/sa.pub ]]; then
			wl_log "generating service-account key pair"
			new_key "$PKI/sa.key.tmp"
			ossl pkey -in "$PKI/sa.key.tmp" -pubout -out "$PKI/sa.pub"
			mv -f "$PKI/sa.key.tmp" "$PKI/sa.key"
		fi
		if [[ ! -s $PKI/bootstrap-token ]]; then
			# id [a-z0-9]{6}, secret [a-z0-9]{16}; hex is a subset.
			printf '%s.%s\n' "$(openssl rand -hex 3)" "$(openssl rand -hex 8)" >"$PKI/bootstrap-token.tmp"
			mv -f "$PKI/bootstrap-token.tmp" "$PKI/bootstrap-token"
		fi
	)
}

b64() { base64 -w0 <"$1"; }

# write_kubeconfig FILE USER (cert NAME | token TOKEN)
write_kubeconfig() {
	local file=$1 user=$2 kind=$3 what=$4 tmp=$1.tmp
	(
		umask 077
		cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: wasmlet
  cluster:
    server: https://127.0.0.1:$WL_APISERVER_PORT
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $user
  user:
EOF
		if [[ $kind == cert ]]; then
			cat >>"$tmp" <<EOF
    client-certificate-data: $(b64 "$PKI/$what.crt")
    client-key-data: $(b64 "$PKI/$what.key")
EOF
		else
			printf '    token: %s\n' "$what" >>"$tmp"
		fi
		cat >>"$tmp" <<EOF
contexts:
- name: $user@wasmlet
  context:
    cluster: wasmlet
    user: $user
current-context: $user@wasmlet
EOF
	)
	mv -f "$tmp" "$file"
}

write_kubeconfigs() {
	write_kubeconfig "$D/admin.kubeconfig" wasmlet-admin cert admin
	write_kubeconfig "$D/kube-controller-manager.kubeconfig" system:kube-controller-manager cert kube-controller-manager
	write_kubeconfig "$D/kube-scheduler.kubeconfig" system:kube-scheduler cert kube-scheduler
	write_kubeconfig "$D/bootstrap.kubeconfig" "system:bootstrap:$(cut -d. -f1 "$PKI/bootstrap-token")" \
		token "$(<"$PKI/bootstrap-token")"
}

# ---------------------------------------------------------------- health

readyz() { kubectl_admin get --raw /readyz 2>/dev/null; }
etcd_healthy() {
	[[ $(curl --noproxy '*' -fsS --max-time 2 "http://127.0.0.1:$WL_ETCD_PORT/health" 2>/dev/null) == *'"health":"true"'* ]]
}
component_healthz() {
	[[ $(curl --noproxy '*' -sS --max-time 2 --cacert "$PKI/ca.crt" "https://127.0.0.1:$1/healthz" 2>/dev/null) == ok ]]
}
kcm_healthy() { component_healthz "$WL_KCM_PORT"; }
sched_healthy() { component_healthz "$WL_SCHED_PORT"; }
default_sa_exists() { kubectl_admin -n default get serviceaccount default -o name >/dev/null 2>&1; }
api_ready() { [[ $(readyz) == ok ]]; }

log_tail() {
	local name=$1
	printf -- '---- last lines of %s ----\n' "$LOGS/$name.log" >&2
	tail -n 15 "$LOGS/$name.log" >&2 || true
	printf -- '----\n' >&2
}

# wait_until WHAT "COMPONENTS..." CHECK...: poll CHECK until it succeeds, failing
# fast if one of the components dies and after the start timeout.
wait_until() {
	local what=$1 comps=$2 c
	shift 2
	while true; do
		"$@" && return 0
		for c in $comps; do
			# twice, a moment apart: one look can land in a transient
			if ! running "$c" && sleep 0.3 && ! running "$c"; then
				log_tail "$c"
				wl_die "$c exited while waiting for $what; see $LOGS/$c.log"
			fi
		done
		if ((SECONDS >= DEADLINE)); then
			for c in $comps; do log_tail "$c"; done
			wl_die "timed out after ${WL_CLUSTER_START_TIMEOUT}s waiting for $what; see the logs in $LOGS/ ($comps)"
		fi
		sleep 0.5
	done
}

# ---------------------------------------------------------------- components

start_etcd() {
	launch etcd "$WL_ETCD" \
		--name wasmlet \
		--data-dir "$D/etcd" \
		--listen-client-urls "http://127.0.0.1:$WL_ETCD_PORT" \
		--advertise-client-urls "http://127.0.0.1:$WL_ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$WL_ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$WL_ETCD_PEER_PORT" \
		--initial-cluster "wasmlet=http://127.0.0.1:$WL_ETCD_PEER_PORT" \
		--initial-cluster-state new \
		--initial-cluster-token "wasmlet-$WL_ETCD_PEER_PORT" \
		--unsafe-no-fsync \
		--log-level warn
}

start_apiserver() {
	local extra=()
	# Off by default: a node's self-signed serving certificate would fail it.
	if [[ ${WL_KUBELET_CA_VERIFY:-0} == 1 ]]; then
		extra+=(--kubelet-certificate-authority="$PKI/ca.crt")
	fi
	launch kube-apiserver "$WL_K8S_BIN/kube-apiserver" \
		--etcd-servers="http://127.0.0.1:$WL_ETCD_PORT" \
		--bind-address=127.0.0.1 \
		--advertise-address=127.0.0.1 \
		--secure-port="$WL_APISERVER_PORT" \
		--tls-cert-file="$PKI/apiserver.crt" \
		--tls-private-key-file="$PKI/apiserver.key" \
		--client-ca-file="$PKI/ca.crt" \
		--enable-bootstrap-token-auth \
		--authorization-mode=Node,RBAC \
		--enable-admission-plugins=NodeRestriction,PodNodeSelector \
		--allow-privileged=true \
		--service-cluster-ip-range=10.0.0.0/24 \
		--endpoint-reconciler-type=none \
		--kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
		--kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
		--kubelet-preferred-address-types=InternalIP,Hostname \
		--enable-aggregator-routing=true \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$PKI/sa.pub" \
		--service-account-signing-key-file="$PKI/sa.key" \
		--requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
		--requestheader-allowed-names=front-proxy-client \
		--requestheader-username-headers=X-Remote-User \
		--requestheader-group-headers=X-Remote-Group \
		--requestheader-extra-headers-prefix=X-Remote-Extra- \
		--proxy-client-cert-file="$PKI/front-proxy-client.crt" \
		--proxy-client-key-file="$PKI/front-proxy-client.key" \
		--profiling=false \
		--v="$WL_CLUSTER_VERBOSITY" \
		"${extra[@]}"
}

start_kcm() {
	launch kube-controller-manager "$WL_K8S_BIN/kube-controller-manager" \
		--kubeconfig="$D/kube-controller-manager.kubeconfig" \
		--authentication-kubeconfig="$D/kube-controller-manager.kubeconfig" \
		--authorization-kubeconfig="$D/kube-controller-manager.kubeconfig" \
		--bind-address=127.0.0.1 \
		--secure-port="$WL_KCM_PORT" \
		--tls-cert-file="$PKI/local-serving.crt" \
		--tls-private-key-file="$PKI/local-serving.key" \
		--client-ca-file="$PKI/ca.crt" \
		--cluster-name=wasmlet \
		--cluster-signing-cert-file="$PKI/ca.crt" \
		--cluster-signing-key-file="$PKI/ca.key" \
		--controllers='*,bootstrapsigner,tokencleaner' \
		--root-ca-file="$PKI/ca.crt" \
		--service-account-private-key-file="$PKI/sa.key" \
		--service-cluster-ip-range=10.0.0.0/24 \
		--use-service-account-credentials=true \
		--leader-elect=false \
		--profiling=false \
		--node-monitor-period="$WL_NODE_MONITOR_PERIOD" \
		--node-monitor-grace-period="$WL_NODE_MONITOR_GRACE_PERIOD" \
		--v="$WL_CLUSTER_VERBOSITY"
}

start_scheduler() {
	launch kube-scheduler "$WL_K8S_BIN/kube-scheduler" \
		--kubeconfig="$D/kube-scheduler.kubeconfig" \
		--authentication-kubeconfig="$D/kube-scheduler.kubeconfig" \
		--authorization-kubeconfig="$D/kube-scheduler.kubeconfig" \
		--bind-address=127.0.0.1 \
		--secure-port="$WL_SCHED_PORT" \
		--tls-cert-file="$PKI/local-serving.crt" \
		--tls-private-key-file="$PKI/local-serving.key" \
		--client-ca-file="$PKI/ca.crt" \
		--leader-elect=false \
		--profiling=false \
		--v="$WL_CLUSTER_VERBOSITY"
}

# The objects kubeadm makes for TLS bootstrapping: a bootstrap token, the
# right to create CSRs with it, and automatic approval of node client CSRs
# (first certificate and renewals).
apply_bootstrap_objects() {
	local token id secret
	token=$(<"$PKI/bootstrap-token")
	id=${token%%.*}
	secret=${token#*.}
	b() { printf '%s' "$1" | base64 -w0; }
	kubectl_admin apply --server-side --force-conflicts --field-manager=wasmlet-cluster -f - >/dev/null <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: bootstrap-token-$id
  namespace: kube-system
type: bootstrap.kubernetes.io/token
data:
  description: $(b "wasmlet local cluster bootstrap token")
  token-id: $(b "$id")
  token-secret: $(b "$secret")
  usage-bootstrap-authentication: $(b true)
  usage-bootstrap-signing: $(b true)
  auth-extra-groups: $(b "$WL_BOOTSTRAP_GROUP")
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: wasmlet:node-bootstrapper
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:node-bootstrapper
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: $WL_BOOTSTRAP_GROUP
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: wasmlet:node-autoapprove-bootstrap
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:certificates.k8s.io:certificatesigningrequests:nodeclient
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: $WL_BOOTSTRAP_GROUP
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: wasmlet:node-autoapprove-certificate-rotation
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:certificates.k8s.io:certificatesigningrequests:selfnodeclient
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: system:nodes
EOF
}

# ---------------------------------------------------------------- commands

check_binaries() {
	local b missing=()
	for b in "$WL_ETCD" "$WL_K8S_BIN/kube-apiserver" "$WL_K8S_BIN/kube-controller-manager" \
		"$WL_K8S_BIN/kube-scheduler" "$WL_K8S_BIN/kubectl"; do
		[[ -x $b ]] || missing+=("$b")
	done
	((${#missing[@]} == 0)) || wl_die "missing ${missing[*]}; run scripts/deps.sh first"
	local t
	for t in openssl curl base64 setsid flock; do
		command -v "$t" >/dev/null || wl_die "$t is required but not installed"
	done
}

all_running() {
	local c
	for c in "${COMPONENTS[@]}"; do running "$c" || return 1; done
}

any_running() {
	local c
	for c in "${COMPONENTS[@]}"; do running "$c" && return 0; done
	return 1
}

# While any component runs, the ports it was started with stay: a port from
# the environment that differs is ignored, with a warning.
pin_running_ports() {
	local k v
	while IFS='=' read -r k v; do
		[[ " ${PORT_VARS[*]} " == *" $k "* ]] || continue
		if [[ ${!k} != "$v" ]]; then
			wl_log "warning: $k=${!k} ignored: the running cluster uses $v"
			printf -v "$k" '%s' "$v"
		fi
	done <"$D/ports.env"
}

lock_dir() {
	exec 9>"$D/.lock"
	flock -w "$WL_CLUSTER_START_TIMEOUT" 9 || wl_die "another scripts/cluster.sh holds $D/.lock"
}

# Before anything is made or started: the ports of every component that is
# not running yet must be free.
preflight_ports() {
	local c var
	declare -A vars=(
		[etcd]="WL_ETCD_PORT WL_ETCD_PEER_PORT"
		[kube-apiserver]=WL_APISERVER_PORT
		[kube-controller-manager]=WL_KCM_PORT
		[kube-scheduler]=WL_SCHED_PORT
	)
	for c in "${COMPONENTS[@]}"; do
		running "$c" && continue
		for var in ${vars[$c]}; do
			if port_in_use "${!var}"; then
				wl_die "cannot start $c: 127.0.0.1:${!var} is already in use (set $var to another port)"
			fi
		done
	done
}

START_OK=0
on_start_exit() {
	if [[ $START_OK != 1 ]]; then
		if [[ ${WL_CLUSTER_KEEP_ON_FAILURE:-0} == 1 ]]; then
			wl_log "start failed; leaving what runs for inspection (WL_CLUSTER_KEEP_ON_FAILURE=1); 'scripts/cluster.sh stop' cleans up"
		else
			wl_log "start failed; stopping what was started (logs kept in $LOGS/)"
			stop_all || true
		fi
	fi
}

cmd_start() {
	check_binaries
	mkdir -p "$D"
	if [[ ! -e $MARKER ]]; then
		# Refuse to take over a dir that is neither empty nor ours: stop --purge deletes it.
		if [[ -n $(ls -A "$D") ]]; then
			wl_die "$D exists, is not empty and is not a wasmlet cluster dir; choose another WL_CLUSTER_DIR"
		fi
		: >"$MARKER"
	fi
	chmod 700 "$D"
	mkdir -p "$PKI" "$LOGS" "$RUN" "$D/etcd"
	chmod 700 "$PKI" "$D/etcd"
	lock_dir
	load_ports

	if any_running && [[ -f $D/ports.env ]]; then
		pin_running_ports
	fi
	if all_running && api_ready; then
		wl_log "cluster already running in $D (apiserver https://127.0.0.1:$WL_APISERVER_PORT)"
		return 0
	fi

	preflight_ports
	local t0=$SECONDS
	DEADLINE=$((SECONDS + WL_CLUSTER_START_TIMEOUT))
	trap on_start_exit EXIT

	make_pki
	save_ports
	write_kubeconfigs

	if ! running etcd; then
		wl_log "starting etcd on 127.0.0.1:$WL_ETCD_PORT (log $LOGS/etcd.log)"
		start_etcd
	fi
	wait_until "etcd to be healthy" etcd etcd_healthy

	if ! running kube-apiserver; then
		wl_log "starting kube-apiserver on https://127.0.0.1:$WL_APISERVER_PORT (log $LOGS/kube-apiserver.log)"
		start_apiserver
	fi
	wait_until "kube-apiserver /readyz" "etcd kube-apiserver" api_ready

	apply_bootstrap_objects || wl_die "could not create the bootstrap token and RBAC bindings"

	if ! running kube-controller-manager; then
		wl_log "starting kube-controller-manager on 127.0.0.1:$WL_KCM_PORT (log $LOGS/kube-controller-manager.log)"
		start_kcm
	fi
	if ! running kube-scheduler; then
		wl_log "starting kube-scheduler on 127.0.0.1:$WL_SCHED_PORT (log $LOGS/kube-scheduler.log)"
		start_scheduler
	fi
	local all="${COMPONENTS[*]}"
	wait_until "kube-controller-manager /healthz" "$all" kcm_healthy
	wait_until "kube-scheduler /healthz" "$all" sched_healthy
	wait_until "the default ServiceAccount (kube-controller-manager working)" "$all" default_sa_exists

	START_OK=1
	trap - EXIT
	wl_log "cluster ready in $((SECONDS - t0))s: https://127.0.0.1:$WL_APISERVER_PORT, state in $D"
	wl_log "use it with: eval \"\$(scripts/cluster.sh env)\" or kubectl --kubeconfig $D/admin.kubeconfig"
}

cmd_stop() {
	local purge=0 arg
	for arg in "$@"; do
		case $arg in
		--purge) purge=1 ;;
		*) wl_die "stop: unknown argument $arg (usage: stop [--purge])" ;;
		esac
	done
	if [[ ! -d $D ]]; then
		wl_log "no cluster in $D; nothing to stop"
		return 0
	fi
	if [[ ! -e $MARKER ]]; then
		wl_die "$D is not a wasmlet cluster dir (no $(basename "$MARKER")); refusing to touch it"
	fi
	lock_dir
	mkdir -p "$RUN"
	stop_all
	if ((purge)); then
		wl_log "removing $D"
		exec 9>&-
		rm -rf -- "$D"
	else
		wl_log "cluster in $D stopped"
	fi
}

cmd_status() {
	local c pid rc=0 ready
	if [[ ! -e $MARKER ]]; then
		echo "no cluster in $D"
		return 1
	fi
	load_ports
	for c in "${COMPONENTS[@]}"; do
		if pid=$(pid_of "$c") && pid_alive "$pid"; then
			printf '%-24s running (pid %s)\n' "$c" "$pid"
		else
			printf '%-24s stopped\n' "$c"
			rc=1
		fi
	done
	if running kube-apiserver; then
		ready=$(readyz) || true
		ready=${ready:-unreachable}
	else
		ready=unreachable
	fi
	printf '%-24s %s\n' "readyz" "$ready"
	[[ $ready == ok ]] || rc=1
	printf '%-24s %s\n' "apiserver" "https://127.0.0.1:$WL_APISERVER_PORT"
	printf '%-24s %s\n' "dir" "$D"
	return "$rc"
}

cmd_env() {
	printf 'export KUBECONFIG=%q\n' "$D/admin.kubeconfig"
	printf 'export WL_CLUSTER_DIR=%q\n' "$D"
	printf 'export WL_BOOTSTRAP_KUBECONFIG=%q\n' "$D/bootstrap.kubeconfig"
	printf 'export WL_CLUSTER_CA=%q\n' "$PKI/ca.crt"
	# shellcheck disable=SC2016 # $PATH is for the shell that evals this
	printf 'export PATH=%q:"$PATH"\n' "$WL_K8S_BIN"
}

# cert NAME SUBJECT: a client certificate (clientAuth) signed by the
# cluster CA, e.g. for a user or a node ("/O=system:nodes/CN=system:node:x"),
# made as the cluster's own (kept if it exists).
cmd_cert() {
	[[ $1 =~ ^[A-Za-z0-9._-]+$ ]] || wl_die "cert: NAME must be a plain file name"
	[[ -s $PKI/ca.crt && -s $PKI/ca.key ]] || wl_die "no cluster CA in $PKI: start the cluster first"
	mkdir -p "$LOGS"
	(umask 077 && make_cert "$1" "$2" clientAuth)
	echo "$PKI/$1.crt"
}

usage() {
	cat >&2 <<EOF
usage: scripts/cluster.sh start | stop [--purge] | status | env | cert NAME SUBJECT
  state dir: $D (WL_CLUSTER_DIR)
  see docs/local-cluster.md
EOF
	exit 2
}

main() {
	local cmd=${1:-}
	[[ $# -gt 0 ]] && shift
	case $cmd in
	start) [[ $# -eq 0 ]] || usage; cmd_start ;;
	stop) cmd_stop "$@" ;;
	status) [[ $# -eq 0 ]] || usage; cmd_status ;;
	env) [[ $# -eq 0 ]] || usage; cmd_env ;;
	cert) [[ $# -eq 2 ]] || usage; cmd_cert "$@" ;;
	*) usage ;;
	esac
}

main "$@"
