/* libFuzzer target: the config file of `wasmlet serve --config`
 * (KubeletConfiguration YAML, written by people and config management).
 * The input is passed as is, without a NUL terminator, so a read past its
 * end shows up under ASan. Every setting goes through the same checks as
 * flags, so they are fuzzed here too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wl_error err = WL_ERROR_INIT;
    struct wl_config cfg;

    memset(&cfg, 0, sizeof(cfg));
    int r =
        wl_config_apply_file(&cfg, (const char *)data, size, "fuzz.yaml", &err);
    if (r < 0 && !err.msg)
        abort(); /* every failure says why */
    if (r == 0 && err.msg)
        abort();
    if (r < 0 && strncmp(err.msg, "fuzz.yaml", 9) != 0)
        abort(); /* every message names the file */
    if (r == 0 && (cfg.port < 0 || cfg.port > 65535 ||
                   (cfg.max_pods && cfg.max_pods < 1)))
        abort(); /* values were range-checked */
    for (size_t i = 0; i < cfg.nlabels; i++)
        if (!strchr(cfg.labels[i], '='))
            abort();
    wl_error_clear(&err);
    wl_config_clear(&cfg);
    return 0;
}
