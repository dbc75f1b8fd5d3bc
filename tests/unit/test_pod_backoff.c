#include <stdlib.h>
#include <string.h>

#include "pod/backoff.h"
#include "pod/expand.h"
#include "test.h"

static void test_backoff_is_0_then_10s_doubling_to_5min(void)
{
    struct wl_backoff b = {0};
    const int64_t want[] = {0, 10000, 20000, 40000, 80000, 160000, 300000,
                            300000};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        CHECK_INT(wl_backoff_delay(&b, 1000), want[i]);
}

static void test_backoff_resets_after_10_minutes_of_running(void)
{
    struct wl_backoff b = {0};
    for (int i = 0; i < 5; i++)
        wl_backoff_delay(&b, 1000);
    CHECK_INT(wl_backoff_delay(&b, 599999), 160000);
    CHECK_INT(wl_backoff_delay(&b, 600000), 0);
    CHECK_INT(wl_backoff_delay(&b, 1000), 10000);
}

static const char *vars(void *ud, const char *name, size_t len)
{
    (void)ud;
    if (len == 4 && memcmp(name, "NAME", 4) == 0)
        return "world";
    if (len == 5 && memcmp(name, "EMPTY", 5) == 0)
        return "";
    return NULL;
}

static void test_expand_follows_kubernetes_rules(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"hello $(NAME)", "hello world"},
        {"$(NAME)$(NAME)", "worldworld"},
        {"$(UNDEFINED) stays", "$(UNDEFINED) stays"},
        {"$$(NAME) escaped", "$(NAME) escaped"},
        {"$$$(NAME)", "$world"},
        {"cost $5", "cost $5"},
        {"trailing $", "trailing $"},
        {"open $(NAME", "open $(NAME"},
        {"x$(EMPTY)y", "xy"},
        {"$()", "$()"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = wl_expand(cases[i].in, vars, NULL);
        if (!got || strcmp(got, cases[i].out) != 0) {
            free(got);
            WL_FAIL("\"%s\" -> expected \"%s\"", cases[i].in, cases[i].out);
        }
        free(got);
    }
}

WL_TEST_MAIN(WL_T(test_backoff_is_0_then_10s_doubling_to_5min),
             WL_T(test_backoff_resets_after_10_minutes_of_running),
             WL_T(test_expand_follows_kubernetes_rules))
