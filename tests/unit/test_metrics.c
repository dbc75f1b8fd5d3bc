/* The metrics registry: exact exposition text for each type, label
 * escaping, the series cap, exact totals under four writer threads, and
 * the process figures. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "test.h"
#include "util/metrics.h"

/* Renders one metric into a malloc'd string. */
static char *render_one(const struct wl_metric *m)
{
    struct wl_metrics_out out = WL_METRICS_OUT_INIT;
    wl_metric_render(m, &out);
    return wl_metrics_out_steal(&out, NULL);
}

static void test_metrics_counter_renders_help_type_and_value(void)
{
    static struct wl_metric c =
        WL_COUNTER("wasmlet_test_pulls_total", "Image pulls.");
    wl_counter_inc(&c);
    wl_counter_add(&c, 41);
    char *s = render_one(&c);
    CHECK_STR(s, "# HELP wasmlet_test_pulls_total Image pulls.\n"
                 "# TYPE wasmlet_test_pulls_total counter\n"
                 "wasmlet_test_pulls_total 42\n");
    free(s);
}

static void test_metrics_labelled_counter_renders_children_in_order(void)
{
    static struct wl_metric c = WL_COUNTER_VEC("wasmlet_test_results_total",
                                               "Results.", "result", "reason");
    char *s = render_one(&c);
    CHECK_STR(s, ""); /* no children yet: nothing at all */
    free(s);

    wl_counter_inc(wl_metric_with(&c, "ok", "none"));
    struct wl_metric *fail = wl_metric_with(&c, "fail", "401");
    wl_counter_add(fail, 3);
    CHECK(wl_metric_with(&c, "fail", "401") == fail);
    s = render_one(&c);
    CHECK_STR(s, "# HELP wasmlet_test_results_total Results.\n"
                 "# TYPE wasmlet_test_results_total counter\n"
                 "wasmlet_test_results_total{result=\"ok\",reason=\"none\"} 1\n"
                 "wasmlet_test_results_total{result=\"fail\",reason=\"401\"} "
                 "3\n");
    free(s);
}

static void test_metrics_gauge_set_and_add(void)
{
    static struct wl_metric g = WL_GAUGE("wasmlet_test_pods", "Pods.");
    wl_gauge_set(&g, 3);
    wl_gauge_add(&g, 0.5);
    wl_gauge_add(&g, -1);
    CHECK(wl_gauge_value(&g) == 2.5);
    char *s = render_one(&g);
    CHECK_STR(s, "# HELP wasmlet_test_pods Pods.\n"
                 "# TYPE wasmlet_test_pods gauge\n"
                 "wasmlet_test_pods 2.5\n");
    free(s);
}

static void test_metrics_histogram_buckets_are_cumulative(void)
{
    static const double bounds[] = {0.25, 1, 10};
    static struct wl_metric h =
        WL_HISTOGRAM("wasmlet_test_seconds", "Durations.", bounds);
    wl_histogram_observe(&h, 0.125);
    wl_histogram_observe(&h, 0.25); /* on a bound: counts in it (le) */
    wl_histogram_observe(&h, 0.5);
    wl_histogram_observe(&h, 20);
    char *s = render_one(&h);
    CHECK_STR(s, "# HELP wasmlet_test_seconds Durations.\n"
                 "# TYPE wasmlet_test_seconds histogram\n"
                 "wasmlet_test_seconds_bucket{le=\"0.25\"} 2\n"
                 "wasmlet_test_seconds_bucket{le=\"1\"} 3\n"
                 "wasmlet_test_seconds_bucket{le=\"10\"} 3\n"
                 "wasmlet_test_seconds_bucket{le=\"+Inf\"} 4\n"
                 "wasmlet_test_seconds_sum 20.875\n"
                 "wasmlet_test_seconds_count 4\n");
    free(s);
}

static void test_metrics_labelled_histogram_puts_le_last(void)
{
    static const double bounds[] = {1};
    static struct wl_metric h = WL_HISTOGRAM_VEC("wasmlet_test_pull_seconds",
                                                 "Pulls.", bounds, "registry");
    wl_histogram_observe(wl_metric_with(&h, "ghcr.io"), 2);
    char *s = render_one(&h);
    CHECK_STR(s,
              "# HELP wasmlet_test_pull_seconds Pulls.\n"
              "# TYPE wasmlet_test_pull_seconds histogram\n"
              "wasmlet_test_pull_seconds_bucket{registry=\"ghcr.io\",le=\"1\"} "
              "0\n"
              "wasmlet_test_pull_seconds_bucket{registry=\"ghcr.io\",le=\"+"
              "Inf\"} 1\n"
              "wasmlet_test_pull_seconds_sum{registry=\"ghcr.io\"} 2\n"
              "wasmlet_test_pull_seconds_count{registry=\"ghcr.io\"} 1\n");
    free(s);
}

static void test_metrics_label_values_and_help_are_escaped(void)
{
    static struct wl_metric c =
        WL_COUNTER_VEC("wasmlet_test_esc_total", "A \\ help\nline \"q\".", "v");
    wl_counter_inc(wl_metric_with(&c, "a\\b\"c\nd"));
    char *s = render_one(&c);
    CHECK_STR(s, "# HELP wasmlet_test_esc_total A \\\\ help\\nline \"q\".\n"
                 "# TYPE wasmlet_test_esc_total counter\n"
                 "wasmlet_test_esc_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
    free(s);
}

/* The built-in drop counter's value, read from the full exposition. */
static long long dropped_series(void)
{
    char *s = NULL;
    if (wl_metrics_render(&s, NULL) < 0)
        return -1;
    const char *key = "\nwasmlet_metrics_dropped_series_total ";
    const char *p = strstr(s, key);
    long long v = p ? strtoll(p + strlen(key), NULL, 10) : -1;
    free(s);
    return v;
}

static void test_metrics_children_are_capped_and_drops_counted(void)
{
    static struct wl_metric c =
        WL_COUNTER_VEC("wasmlet_test_capped_total", "Capped.", "pod");
    long long before = dropped_series();
    char name[32];
    for (int i = 0; i < WL_METRIC_MAX_CHILDREN + 10; i++) {
        snprintf(name, sizeof(name), "pod-%d", i);
        wl_counter_inc(wl_metric_with(&c, name));
    }
    /* An existing tuple is still found past the cap. */
    wl_counter_inc(wl_metric_with(&c, "pod-0"));
    CHECK_INT(dropped_series(), before + 10);

    char *s = render_one(&c);
    CHECK_CONTAINS(s, "wasmlet_test_capped_total{pod=\"pod-0\"} 2\n");
    CHECK_CONTAINS(s, "wasmlet_test_capped_total{pod=\"pod-63\"} 1\n");
    CHECK(!strstr(s, "pod-64"));
    free(s);
}

static void test_metrics_wrong_label_count_goes_to_the_sink(void)
{
    static struct wl_metric c =
        WL_COUNTER_VEC("wasmlet_test_two_total", "Two.", "a", "b");
    long long before = dropped_series();
    struct wl_metric *sink = wl_metric_with(&c, "only-one");
    wl_counter_inc(sink);
    CHECK_INT(dropped_series(), before + 1);
    char *s = render_one(&c);
    CHECK_STR(s, "");
    free(s);
}

#define THREADS 4
#define PER_THREAD 100000

static struct wl_metric conc_counter =
    WL_COUNTER("wasmlet_test_conc_total", "Concurrent.");
static struct wl_metric conc_labelled =
    WL_COUNTER_VEC("wasmlet_test_conc_labelled_total", "Concurrent.", "k");
static struct wl_metric conc_gauge = WL_GAUGE("wasmlet_test_conc", "Gauge.");
static const double conc_bounds[] = {0.5};
static struct wl_metric conc_hist =
    WL_HISTOGRAM("wasmlet_test_conc_seconds", "Hist.", conc_bounds);

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        wl_counter_inc(&conc_counter);
        /* Every thread races to create the same two children. */
        wl_counter_inc(wl_metric_with(&conc_labelled, i % 2 ? "odd" : "even"));
        wl_gauge_add(&conc_gauge, 1);
        wl_histogram_observe(&conc_hist, 1);
    }
    return NULL;
}

static void test_metrics_concurrent_updates_are_exact(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(wl_counter_value(&conc_counter), THREADS * PER_THREAD);
    CHECK_INT(wl_counter_value(wl_metric_with(&conc_labelled, "odd")),
              THREADS * PER_THREAD / 2);
    CHECK_INT(wl_counter_value(wl_metric_with(&conc_labelled, "even")),
              THREADS * PER_THREAD / 2);
    CHECK(wl_gauge_value(&conc_gauge) == THREADS * PER_THREAD);
    char *s = render_one(&conc_hist);
    CHECK_CONTAINS(s, "wasmlet_test_conc_seconds_sum 400000\n"
                      "wasmlet_test_conc_seconds_count 400000\n");
    free(s);
}

static void test_metrics_register_refuses_bad_and_duplicate_names(void)
{
    static struct wl_metric bad = WL_COUNTER("9bad", "Bad.");
    static struct wl_metric a = WL_COUNTER("wasmlet_test_dup", "A.");
    static struct wl_metric b = WL_GAUGE("wasmlet_test_dup", "B.");
    static const double bounds[] = {1};
    static struct wl_metric le =
        WL_HISTOGRAM_VEC("wasmlet_test_le", "Le.", bounds, "le");
    struct wl_error err = WL_ERROR_INIT;

    CHECK_INT(wl_metrics_register(&err, &bad), -1);
    CHECK_CONTAINS(err.msg, "9bad");
    CHECK_INT(wl_metrics_register(&err, &le), -1);
    CHECK_INT(wl_metrics_register(&err, &a), 0);
    CHECK_INT(wl_metrics_register(&err, &a), 0); /* again: no-op */
    CHECK_INT(wl_metrics_register(&err, &b), -1);
    CHECK_CONTAINS(err.msg, "registered twice");
    wl_error_clear(&err);
}

static void collect_phases(struct wl_metrics_out *out, void *arg)
{
    wl_metrics_out_family(out, "wasmlet_test_pods_by_phase", "gauge",
                          "Pods by phase.");
    wl_metrics_out_sample(out, "wasmlet_test_pods_by_phase",
                          WL_LABELS("phase", "Running"), *(int *)arg,
                          1700000000123);
}

static void test_metrics_render_has_registered_process_and_collected(void)
{
    static struct wl_metric c =
        WL_COUNTER("wasmlet_test_registered_total", "Registered.");
    static int running = 7;
    struct wl_error err = WL_ERROR_INIT;

    CHECK_INT(wl_metrics_register(&err, &c), 0);
    CHECK_INT(wl_metrics_add_collector(collect_phases, &running), 0);
    wl_counter_add(&c, 5);
    char *s = NULL;
    size_t len = 0;
    CHECK_INT(wl_metrics_render(&s, &len), 0);
    CHECK_INT(len, strlen(s));
    CHECK_CONTAINS(s, "# TYPE wasmlet_test_registered_total counter\n"
                      "wasmlet_test_registered_total 5\n");
    CHECK_CONTAINS(s, "# TYPE wasmlet_metrics_dropped_series_total counter\n");
    CHECK_CONTAINS(s, "# TYPE process_resident_memory_bytes gauge\n");
    CHECK_CONTAINS(s, "# TYPE process_cpu_seconds_total counter\n");
    CHECK_CONTAINS(s, "\nprocess_open_fds ");
    CHECK_CONTAINS(s, "\nprocess_start_time_seconds ");
    CHECK_CONTAINS(s, "wasmlet_test_pods_by_phase{phase=\"Running\"} 7 "
                      "1700000000123\n");
    /* Unregistered metrics from the other tests are not rendered. */
    CHECK(!strstr(s, "wasmlet_test_pulls_total"));
    free(s);
}

static void test_metrics_sample_values_print_shortest(void)
{
    struct wl_metrics_out out = WL_METRICS_OUT_INIT;
    wl_metrics_out_sample(&out, "a", NULL, 0.1, 0);
    wl_metrics_out_sample(&out, "b", NULL, 1712345678.25, 0);
    wl_metrics_out_sample(&out, "c", NULL, 1.0 / 0.0, 0);
    wl_metrics_out_sample(&out, "d", NULL, 0.0 / 0.0, 0);
    wl_metrics_out_sample(&out, "e", NULL, 1e-7, 0);
    char *s = wl_metrics_out_steal(&out, NULL);
    CHECK_STR(s, "a 0.1\nb 1712345678.25\nc +Inf\nd NaN\ne 1e-07\n");
    free(s);
}

static void test_metrics_proc_self_stats_are_sane(void)
{
    struct wl_proc_stats ps;
    CHECK_INT(wl_proc_self_stats(&ps), 0);
    CHECK(ps.resident_bytes > 0);
    CHECK(ps.virtual_bytes >= ps.resident_bytes);
    CHECK(ps.cpu_seconds >= 0);
    CHECK(ps.open_fds > 0);
    CHECK(ps.max_fds >= ps.open_fds);
    CHECK(ps.threads >= 1);
    time_t now = time(NULL);
    CHECK(ps.start_time > (double)now - 3600);
    CHECK(ps.start_time <= (double)now + 2);
}

WL_TEST_MAIN(WL_T(test_metrics_counter_renders_help_type_and_value),
             WL_T(test_metrics_labelled_counter_renders_children_in_order),
             WL_T(test_metrics_gauge_set_and_add),
             WL_T(test_metrics_histogram_buckets_are_cumulative),
             WL_T(test_metrics_labelled_histogram_puts_le_last),
             WL_T(test_metrics_label_values_and_help_are_escaped),
             WL_T(test_metrics_children_are_capped_and_drops_counted),
             WL_T(test_metrics_wrong_label_count_goes_to_the_sink),
             WL_T(test_metrics_concurrent_updates_are_exact),
             WL_T(test_metrics_register_refuses_bad_and_duplicate_names),
             WL_T(test_metrics_render_has_registered_process_and_collected),
             WL_T(test_metrics_sample_values_print_shortest),
             WL_T(test_metrics_proc_self_stats_are_sane))
