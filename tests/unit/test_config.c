/* wasmlet serve's flags, WASMLET_* variables and config file. */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "test.h"

static int parse(struct wl_config *cfg, struct wl_error *err, int argc,
                 char **argv)
{
    return wl_config_parse(argc, argv, cfg, err);
}

static void test_defaults(void)
{
    struct wl_config cfg;
    struct wl_error err = WL_ERROR_INIT;
    char *argv[] = {"serve", NULL};
    unsetenv("WASMLET_NODE_LABELS");
    CHECK_INT(parse(&cfg, &err, 1, argv), 0);
    CHECK_INT(cfg.port, 10250);
    CHECK_INT(cfg.max_pods, 110);
    CHECK_STR(cfg.data_dir, "/var/lib/wasmlet");
    CHECK(cfg.node_name && cfg.node_name[0]);
    CHECK(cfg.kubeconfig == NULL);
    CHECK(!cfg.drain_on_exit);
    CHECK_INT(cfg.healthz_port, 10248);
    CHECK_STR(cfg.healthz_address, "127.0.0.1");
    wl_config_clear(&cfg);
}

static void test_flags_override_environment(void)
{
    struct wl_config cfg;
    struct wl_error err = WL_ERROR_INIT;
    setenv("WASMLET_PORT", "1111", 1);
    setenv("WASMLET_NODE_LABELS", "from=env", 1);
    setenv("WASMLET_DRAIN_ON_EXIT", "true", 1);
    char *argv[] = {"serve", "--port", "2222", "--node-labels", "a=1,b=2",
                    "--node-name", "n1", NULL};
    CHECK_INT(parse(&cfg, &err, 7, argv), 0);
    CHECK_INT(cfg.port, 2222);
    CHECK_STR(cfg.node_name, "n1");
    CHECK_INT(cfg.nlabels, 2);
    CHECK_STR(cfg.labels[0], "a=1");
    CHECK_STR(cfg.labels[1], "b=2");
    CHECK(cfg.drain_on_exit);
    wl_config_clear(&cfg);
    unsetenv("WASMLET_PORT");
    unsetenv("WASMLET_NODE_LABELS");
    unsetenv("WASMLET_DRAIN_ON_EXIT");
}

/* kubernetes.io/hostname as the kubelet's (nodeutil.GetHostname): the
 * override lower-cased and trimmed; with --node-name alone, the node name
 * (a kubelet's node name is its hostname override), so nodes sharing a
 * host are topology domains of their own; else the host's name. */
static void test_hostname_follows_override_then_node_name(void)
{
    struct wl_config cfg;
    struct wl_error err = WL_ERROR_INIT;
    unsetenv("WASMLET_HOSTNAME_OVERRIDE");
    char *named[] = {"serve", "--node-name", "wasm-2", NULL};
    CHECK_INT(parse(&cfg, &err, 3, named), 0);
    CHECK_STR(cfg.node_name, "wasm-2");
    CHECK_STR(cfg.hostname, "wasm-2");
    wl_config_clear(&cfg);

    char *both[] = {"serve", "--node-name", "wasm-2", "--hostname-override",
                    " Edge-Host.Example ", NULL};
    CHECK_INT(parse(&cfg, &err, 5, both), 0);
    CHECK_STR(cfg.node_name, "wasm-2");
    CHECK_STR(cfg.hostname, "edge-host.example");
    wl_config_clear(&cfg);

    /* the override alone names the node too, as the kubelet's */
    setenv("WASMLET_HOSTNAME_OVERRIDE", "FromEnv", 1);
    char *none[] = {"serve", NULL};
    CHECK_INT(parse(&cfg, &err, 1, none), 0);
    CHECK_STR(cfg.hostname, "fromenv");
    CHECK_STR(cfg.node_name, "fromenv");
    wl_config_clear(&cfg);
    unsetenv("WASMLET_HOSTNAME_OVERRIDE");

    char *blank[] = {"serve", "--hostname-override", "  ", NULL};
    CHECK_INT(parse(&cfg, &err, 3, blank), -1);
    CHECK_CONTAINS(err.msg, "--hostname-override");
    wl_error_clear(&err);
    wl_config_clear(&cfg);
}

static void test_errors_name_the_source(void)
{
    struct wl_config cfg;
    struct wl_error err = WL_ERROR_INIT;
    char *bad_port[] = {"serve", "--port", "0", NULL};
    CHECK_INT(parse(&cfg, &err, 3, bad_port), -1);
    CHECK_STR(err.msg, "--port \"0\": expected a number from 1 to 65535");
    wl_config_clear(&cfg);

    setenv("WASMLET_LOG_LEVEL", "loud", 1);
    char *none[] = {"serve", NULL};
    CHECK_INT(parse(&cfg, &err, 1, none), -1);
    CHECK_STR(err.msg, "WASMLET_LOG_LEVEL \"loud\": expected error, warning, "
                       "info or debug");
    unsetenv("WASMLET_LOG_LEVEL");
    wl_config_clear(&cfg);

    char *bad_healthz[] = {"serve", "--healthz-bind-address", "localhost",
                           NULL};
    CHECK_INT(parse(&cfg, &err, 3, bad_healthz), -1);
    CHECK_STR(err.msg, "--healthz-bind-address \"localhost\": expected an IP "
                       "address, like 127.0.0.1 or ::1");
    wl_config_clear(&cfg);

    char *no_healthz[] = {"serve", "--healthz-port", "0",
                          "--healthz-bind-address", "::1", NULL};
    CHECK_INT(parse(&cfg, &err, 5, no_healthz), 0);
    CHECK_INT(cfg.healthz_port, 0);
    CHECK_STR(cfg.healthz_address, "::1");
    wl_config_clear(&cfg);

    char *bad_label[] = {"serve", "--node-labels", "a=1,oops", NULL};
    CHECK_INT(parse(&cfg, &err, 3, bad_label), -1);
    CHECK_STR(err.msg, "--node-labels: \"oops\" is not key=value");
    wl_config_clear(&cfg);

    char *unknown[] = {"serve", "--frob", NULL};
    CHECK_INT(parse(&cfg, &err, 2, unknown), -1);
    CHECK_CONTAINS(err.msg, "unknown or incomplete option \"--frob\"");
    wl_config_clear(&cfg);
    wl_error_clear(&err);
}

#define HEADER                                                                 \
    "apiVersion: kubelet.config.k8s.io/v1beta1\n"                              \
    "kind: KubeletConfiguration\n"

static char tmpdir[] = "/tmp/wl-config-XXXXXX";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static int apply_file(struct wl_config *cfg, struct wl_error *err,
                      const char *yaml)
{
    memset(cfg, 0, sizeof(*cfg));
    return wl_config_apply_file(cfg, yaml, strlen(yaml), "wasmlet.yaml", err);
}

static void test_config_file_reads_kubelet_fields_and_wasmlet_keys(void)
{
    struct wl_config cfg;
    struct wl_error err = WL_ERROR_INIT;
    const char *yaml = HEADER "address: 10.0.0.1\n"
                              "port: 10333\n"
                              "healthzPort: 10249\n"
                              "healthzBindAddress: 0.0.0.0\n"
                              "maxPods: 20\n"
                              "tlsCertFile: /etc/wasmlet/tls.crt\n"
                              "tlsPrivateKeyFile: /etc/wasmlet/tls.key\n"
                              "authentication:\n"
                              "  x509:\n"
                              "    clientCAFile: /etc/ca.crt\n"
                              "  webhook:\n"
                              "    enabled: true\n"
                              "containerLogMaxSize: 5Mi\n"
                              "containerLogMaxFiles: 3\n"
                              "logging:\n"
                              "  format: json\n"
                              "wasmlet:\n"
                              "  nodeName: n1\n"
                              "  hostnameOverride: h1\n"
                              "  nodeIP: 10.0.0.2\n"
                              "  dataDir: /srv/wasmlet\n"
                              "  kubeconfig: /etc/wasmlet/kubeconfig\n"
                              "  bootstrapKubeconfig: /etc/wasmlet/bootstrap\n"
                              "  nodeLabels:\n"
                              "    tier: edge\n"
                              "    'zone': \"a\"\n"
                              "  logLevel: debug\n"
                              "  drainOnExit: yes\n"
                              "  insecureRegistries: [localhost:5000, 'r:1']\n"
                              "  registryConfig: /etc/docker.json\n"
                              "  registryCertsDir: /etc/certs.d\n"
                              "  maxLogStreams: 7\n";
    CHECK_INT(apply_file(&cfg, &err, yaml), 0);
    CHECK_STR(cfg.address, "10.0.0.1");
    CHECK_INT(cfg.port, 10333);
    CHECK_INT(cfg.healthz_port, 10249);
    CHECK_STR(cfg.healthz_address, "0.0.0.0");
    CHECK_INT(cfg.max_pods, 20);
    CHECK_STR(cfg.tls_cert_file, "/etc/wasmlet/tls.crt");
    CHECK_STR(cfg.tls_key_file, "/etc/wasmlet/tls.key");
    CHECK_STR(cfg.client_ca_file, "/etc/ca.crt");
    CHECK(cfg.token_webhook);
    CHECK_INT(cfg.log_max_size, 5 * 1024 * 1024);
    CHECK_INT(cfg.log_max_files, 3);
    CHECK_INT(cfg.log_format, WL_LOG_JSON);
    CHECK_STR(cfg.node_name, "n1");
    CHECK_STR(cfg.hostname, "h1");
    CHECK_STR(cfg.node_ip, "10.0.0.2");
    CHECK_STR(cfg.data_dir, "/srv/wasmlet");
    CHECK_STR(cfg.kubeconfig, "/etc/wasmlet/kubeconfig");
    CHECK_STR(cfg.bootstrap_kubeconfig, "/etc/wasmlet/bootstrap");
    CHECK_INT(cfg.nlabels, 2);
    CHECK_STR(cfg.labels[0], "tier=edge");
    CHECK_STR(cfg.labels[1], "zone=a");
    CHECK_INT(cfg.log_level, WL_LOG_DEBUG);
    CHECK(cfg.drain_on_exit);
    CHECK_INT(cfg.ninsecure, 2);
    CHECK_STR(cfg.insecure_registries[0], "localhost:5000");
    CHECK_STR(cfg.insecure_registries[1], "r:1");
    CHECK_STR(cfg.registry_config, "/etc/docker.json");
    CHECK_STR(cfg.registry_certs_dir, "/etc/certs.d");
    CHECK_INT(cfg.max_log_streams, 7);
    wl_config_clear(&cfg);

    /* A null leaves the setting as it was. */
    CHECK_INT(apply_file(&cfg, &err, HEADER "port: ~\nwasmlet:\n"), 0);
    CHECK_INT(cfg.port, 0);
    wl_config_clear(&cfg);
}

static void test_precedence_flags_then_env_then_file_then_defaults(void)
{
    struct wl_config cfg;
    struct wl_error err = WL_ERROR_INIT;
    char path[128];
    wl_test_tmpdir(tmpdir);
    snprintf(path, sizeof(path), "%s/precedence.yaml", tmpdir);
    write_file(path, HEADER "port: 1111\n"
                            "maxPods: 20\n"
                            "containerLogMaxFiles: 3\n"
                            "wasmlet:\n"
                            "  nodeName: from-file\n"
                            "  nodeLabels: {from: file}\n");
    setenv("WASMLET_MAX_PODS", "30", 1);
    setenv("WASMLET_NODE_NAME", "from-env", 1);
    setenv("WASMLET_CONTAINER_LOG_MAX_FILES", "4", 1);
    setenv("WASMLET_NODE_LABELS", "from=env", 1);
    char *argv[] = {"serve",       "--config",  path,
                    "--node-name", "from-flag", NULL};
    CHECK_INT(parse(&cfg, &err, 5, argv), 0);
    CHECK_INT(cfg.port, 1111);             /* file over default */
    CHECK_INT(cfg.max_pods, 30);           /* env over file */
    CHECK_INT(cfg.log_max_files, 4);       /* env over file */
    CHECK_STR(cfg.node_name, "from-flag"); /* flag over env and file */
    CHECK_INT(cfg.nlabels, 1);             /* env labels replace the file's */
    CHECK_STR(cfg.labels[0], "from=env");
    CHECK_INT(cfg.max_log_streams, 64); /* default */
    CHECK_STR(cfg.config_file, path);
    wl_config_clear(&cfg);
    unsetenv("WASMLET_MAX_PODS");
    unsetenv("WASMLET_NODE_NAME");
    unsetenv("WASMLET_CONTAINER_LOG_MAX_FILES");
    unsetenv("WASMLET_NODE_LABELS");

    /* WASMLET_CONFIG names the file when --config does not. */
    setenv("WASMLET_CONFIG", path, 1);
    char *none[] = {"serve", NULL};
    CHECK_INT(parse(&cfg, &err, 1, none), 0);
    CHECK_INT(cfg.port, 1111);
    CHECK_STR(cfg.node_name, "from-file");
    CHECK_INT(cfg.nlabels, 1);
    CHECK_STR(cfg.labels[0], "from=file");
    wl_config_clear(&cfg);

    /* --config wins over WASMLET_CONFIG. */
    char other[128];
    snprintf(other, sizeof(other), "%s/other.yaml", tmpdir);
    write_file(other, HEADER "port: 2222\n");
    char *flag[] = {"serve", "--config", other, NULL};
    CHECK_INT(parse(&cfg, &err, 3, flag), 0);
    CHECK_INT(cfg.port, 2222);
    wl_config_clear(&cfg);
    unsetenv("WASMLET_CONFIG");
    wl_error_clear(&err);
}

static void test_config_file_errors_name_file_line_and_key(void)
{
    static const struct {
        const char *yaml, *msg;
    } cases[] = {
        {HEADER "authentication:\n  webhook:\n    enabled: maybe\n",
         "wasmlet.yaml:5: authentication.webhook.enabled: expected a "
         "boolean"},
        {HEADER "port: ten\n", "wasmlet.yaml:3: port: expected an integer"},
        {HEADER "port: \"10\"\n", "wasmlet.yaml:3: port: expected an integer"},
        {HEADER "port: 0\n",
         "wasmlet.yaml:3: port \"0\": expected a number from 1 to 65535"},
        {HEADER "address: [a]\n", "wasmlet.yaml:3: address: expected a string"},
        {HEADER "\nfrob: 1\n",
         "wasmlet.yaml:4: frob: unknown key (see docs/configuration.md)"},
        {HEADER "authentication:\n  anonymous:\n    enabled: false\n",
         "wasmlet.yaml:4: authentication.anonymous: unknown key (see "
         "docs/configuration.md)"},
        {HEADER "authentication.webhook.enabled: true\n",
         "wasmlet.yaml:3: authentication.webhook.enabled: unknown key (see "
         "docs/configuration.md)"},
        {HEADER "logging: json\n",
         "wasmlet.yaml:3: logging: expected a mapping"},
        {HEADER "logging:\n  format: xml\n",
         "wasmlet.yaml:4: logging.format \"xml\": expected text or json"},
        {HEADER "wasmlet:\n  insecureRegistries: a,b\n",
         "wasmlet.yaml:4: wasmlet.insecureRegistries: expected a list of "
         "strings"},
        {HEADER "wasmlet:\n  insecureRegistries: ['a,b']\n",
         "wasmlet.yaml:4: wasmlet.insecureRegistries: \"a,b\": expected a "
         "non-empty string without commas"},
        {HEADER "wasmlet:\n  nodeLabels: [a]\n",
         "wasmlet.yaml:4: wasmlet.nodeLabels: expected a mapping of strings"},
        {HEADER "wasmlet:\n  logLevel: loud\n",
         "wasmlet.yaml:4: wasmlet.logLevel \"loud\": expected error, "
         "warning, info or debug"},
        {HEADER "containerLogMaxSize: 1\n",
         "wasmlet.yaml:3: containerLogMaxSize \"1\": expected a size of at "
         "least 1Ki, like 10Mi"},
        {"apiVersion: kubelet.config.k8s.io/v1beta1\nkind: Config\n",
         "wasmlet.yaml:2: kind: \"Config\", expected KubeletConfiguration"},
        {"kind: KubeletConfiguration\n",
         "wasmlet.yaml: apiVersion: missing, expected "
         "kubelet.config.k8s.io/v1beta1"},
        {"- a\n", "wasmlet.yaml: expected a mapping: a KubeletConfiguration"},
        {"# nothing\n", "wasmlet.yaml: config file is empty"},
        {HEADER "port: 1\nport: 2\n", "wasmlet.yaml: invalid YAML: line 4"},
        {HEADER "port:\t1\n", "wasmlet.yaml: line 3, column 6: tab "
                              "characters are not supported"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct wl_config cfg;
        struct wl_error err = WL_ERROR_INIT;
        CHECK_INT(apply_file(&cfg, &err, cases[i].yaml), -1);
        CHECK_CONTAINS(err.msg, cases[i].msg);
        wl_error_clear(&err);
        wl_config_clear(&cfg);
    }
}

static void test_config_file_problems_exit_like_flags(void)
{
    struct wl_config cfg;
    struct wl_error err = WL_ERROR_INIT;
    char *missing[] = {"serve", "--config", "/nonexistent/wasmlet.yaml", NULL};
    CHECK_INT(parse(&cfg, &err, 3, missing), -1);
    CHECK_STR(err.msg, "config file: open /nonexistent/wasmlet.yaml: No such "
                       "file or directory");
    wl_config_clear(&cfg);
    wl_error_clear(&err);

    /* --help is answered without reading the file. */
    char *help[] = {"serve", "--config", "/nonexistent/wasmlet.yaml", "--help",
                    NULL};
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int r = parse(&cfg, &err, 4, help);
    fclose(stdout);
    stdout = saved;
    CHECK_INT(r, 1);
    wl_config_clear(&cfg);
}

static void test_log_format_flag(void)
{
    struct wl_config cfg;
    struct wl_error err = WL_ERROR_INIT;
    char *json[] = {"serve", "--log-format=json", NULL};
    CHECK_INT(parse(&cfg, &err, 2, json), 0);
    CHECK_INT(cfg.log_format, WL_LOG_JSON);
    wl_config_clear(&cfg);
    char *none[] = {"serve", NULL};
    CHECK_INT(parse(&cfg, &err, 1, none), 0);
    CHECK_INT(cfg.log_format, WL_LOG_TEXT);
    wl_config_clear(&cfg);
    char *bad[] = {"serve", "--log-format", "xml", NULL};
    CHECK_INT(parse(&cfg, &err, 3, bad), -1);
    CHECK_STR(err.msg, "--log-format \"xml\": expected text or json");
    wl_config_clear(&cfg);
    wl_error_clear(&err);
}

WL_TEST_MAIN(WL_T(test_defaults), WL_T(test_flags_override_environment),
             WL_T(test_hostname_follows_override_then_node_name),
             WL_T(test_errors_name_the_source),
             WL_T(test_config_file_reads_kubelet_fields_and_wasmlet_keys),
             WL_T(test_precedence_flags_then_env_then_file_then_defaults),
             WL_T(test_config_file_errors_name_file_line_and_key),
             WL_T(test_config_file_problems_exit_like_flags),
             WL_T(test_log_format_flag))
