/* wasmlet serve's flags and WASMLET_* variables. */
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

WL_TEST_MAIN(WL_T(test_defaults), WL_T(test_flags_override_environment),
             WL_T(test_errors_name_the_source))
