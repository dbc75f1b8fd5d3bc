#include "util/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/cleanup.h"

static struct wl_metric dropped_series = WL_COUNTER(
    "wasmlet_metrics_dropped_series_total",
    "Label-value tuples refused because a metric had too many series.");

/* The registry starts with the built-in metric; the list stays sorted by
 * name so the exposition does not depend on start-up order. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wl_metric *registry = &dropped_series;

struct collector {
    wl_metrics_collect_fn *fn;
    void *arg;
    struct collector *next;
};

static struct collector *collectors, **collectors_tail = &collectors;

/* Creating children is serialised apart from the registry so that a
 * collector (run with the registry locked) may still look children up. */
static pthread_mutex_t children_lock = PTHREAD_MUTEX_INITIALIZER;

/* Where refused label tuples go, one per type: never registered, so their
 * updates are never rendered. The histogram sink has no bounds; every
 * observation lands in its overflow bucket. */
static struct wl_metric sinks[] = {
    [WL_METRIC_COUNTER] = {.name = "sink", .type = WL_METRIC_COUNTER},
    [WL_METRIC_GAUGE] = {.name = "sink", .type = WL_METRIC_GAUGE},
    [WL_METRIC_HISTOGRAM] = {.name = "sink", .type = WL_METRIC_HISTOGRAM},
};

static uint64_t dbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static double bitsd(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

/* Adds d to the double stored as bits in *p: a CAS loop, lock-free. */
static void atomic_add_double(_Atomic uint64_t *p, double d)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(
        p, &old, dbits(bitsd(old) + d), memory_order_relaxed,
        memory_order_relaxed))
        ;
}

/* ---- Updates ---- */

void wl_counter_add(struct wl_metric *m, uint64_t n)
{
    if (m->type != WL_METRIC_COUNTER)
        return;
    atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
}

void wl_counter_inc(struct wl_metric *m)
{
    wl_counter_add(m, 1);
}

void wl_gauge_set(struct wl_metric *m, double v)
{
    if (m->type != WL_METRIC_GAUGE)
        return;
    atomic_store_explicit(&m->value, dbits(v), memory_order_relaxed);
}

void wl_gauge_add(struct wl_metric *m, double d)
{
    if (m->type != WL_METRIC_GAUGE)
        return;
    atomic_add_double(&m->value, d);
}

void wl_histogram_observe(struct wl_metric *m, double v)
{
    if (m->type != WL_METRIC_HISTOGRAM)
        return;
    size_t i = 0;
    /* Prometheus buckets are "less than or equal": v == bound counts in it. */
    while (i < m->nbounds && v > m->bounds[i])
        i++;
    atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&m->sum, v);
}

uint64_t wl_counter_value(const struct wl_metric *m)
{
    return atomic_load_explicit(&m->value, memory_order_relaxed);
}

double wl_gauge_value(const struct wl_metric *m)
{
    return bitsd(atomic_load_explicit(&m->value, memory_order_relaxed));
}

/* ---- Labelled children ---- */

static size_t label_count(const struct wl_metric *m)
{
    size_t n = 0;
    while (n < WL_METRIC_MAX_LABELS && m->label_names[n])
        n++;
    return n;
}

static bool child_matches(const struct wl_metric *c, const char *const *values,
                          size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = values[i] ? values[i] : "";
        if (strcmp(c->label_values[i], v) != 0)
            return false;
    }
    return true;
}

static struct wl_metric *child_find(struct wl_metric *m,
                                    const char *const *values, size_t n)
{
    struct wl_metric *c =
        atomic_load_explicit(&m->children, memory_order_acquire);
    for (; c; c = atomic_load_explicit(&c->next_child, memory_order_acquire))
        if (child_matches(c, values, n))
            return c;
    return NULL;
}

static void child_free(struct wl_metric *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < WL_METRIC_MAX_LABELS; i++)
        free(c->label_values[i]);
    free(c);
}

static struct wl_metric *child_new(struct wl_metric *m,
                                   const char *const *values, size_t n)
{
    struct wl_metric *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->name = m->name;
    c->help = m->help;
    c->type = m->type;
    c->bounds = m->bounds;
    c->nbounds = m->nbounds;
    c->parent = m;
    for (size_t i = 0; i < n; i++) {
        c->label_values[i] = strdup(values[i] ? values[i] : "");
        if (!c->label_values[i]) {
            child_free(c);
            return NULL;
        }
    }
    return c;
}

static struct wl_metric *refuse(struct wl_metric *m)
{
    wl_counter_inc(&dropped_series);
    return &sinks[m->type];
}

/* Lookups of existing children take no lock: children are only ever
 * appended, each published with a release store after it is complete. */
struct wl_metric *wl_metric_withv(struct wl_metric *m,
                                  const char *const *values, size_t n)
{
    size_t want = label_count(m);
    if (m->parent || want == 0 || n != want)
        return refuse(m);
    struct wl_metric *c = child_find(m, values, n);
    if (c)
        return c;

    pthread_mutex_lock(&children_lock);
    c = child_find(m, values, n);
    if (!c && m->nchildren < WL_METRIC_MAX_CHILDREN) {
        c = child_new(m, values, n);
        if (c) {
            if (m->last_child)
                atomic_store_explicit(&m->last_child->next_child, c,
                                      memory_order_release);
            else
                atomic_store_explicit(&m->children, c, memory_order_release);
            m->last_child = c;
            m->nchildren++;
        }
    }
    pthread_mutex_unlock(&children_lock);
    return c ? c : refuse(m);
}

/* ---- Registration ---- */

static bool name_ok(const char *s, bool colons)
{
    if (!s || !*s || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '_' || (colons && c == ':');
        if (!ok)
            return false;
    }
    return true;
}

static int definition_check(const struct wl_metric *m, struct wl_error *err)
{
    if (!name_ok(m->name, true) || !m->help || m->parent)
        return wl_error_set(err, 0, "metric %s: invalid name or help",
                            m->name ? m->name : "(null)");
    for (size_t i = 0; i < label_count(m); i++) {
        const char *l = m->label_names[i];
        if (!name_ok(l, false) || strncmp(l, "__", 2) == 0 ||
            (m->type == WL_METRIC_HISTOGRAM && strcmp(l, "le") == 0))
            return wl_error_set(err, 0, "metric %s: invalid label name %s",
                                m->name, l);
    }
    for (size_t i = 1; i < m->nbounds; i++)
        if (!(m->bounds[i] > m->bounds[i - 1]))
            return wl_error_set(
                err, 0, "metric %s: bucket bounds must increase", m->name);
    return 0;
}

/* Inserts m by name; fails when another object has the name. Called with
 * the registry locked. */
static int registry_insert(struct wl_metric *m, struct wl_error *err)
{
    struct wl_metric **p = &registry;
    while (*p && strcmp((*p)->name, m->name) < 0)
        p = &(*p)->next;
    if (*p && strcmp((*p)->name, m->name) == 0)
        return wl_error_set(err, 0, "metric %s registered twice", m->name);
    m->next = *p;
    *p = m;
    m->registered = true;
    return 0;
}

int wl_metrics_registerv(struct wl_metric *const *ms, size_t n,
                         struct wl_error *err)
{
    int r = 0;

    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < n && r == 0; i++) {
        if (ms[i]->registered)
            continue;
        r = definition_check(ms[i], err);
        if (r == 0)
            r = registry_insert(ms[i], err);
    }
    pthread_mutex_unlock(&registry_lock);
    return r;
}

int wl_metrics_add_collector(wl_metrics_collect_fn *fn, void *arg)
{
    struct collector *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    c->fn = fn;
    c->arg = arg;
    pthread_mutex_lock(&registry_lock);
    *collectors_tail = c;
    collectors_tail = &c->next;
    pthread_mutex_unlock(&registry_lock);
    return 0;
}

/* ---- Text output ---- */

static bool out_reserve(struct wl_metrics_out *out, size_t more)
{
    if (out->failed)
        return false;
    if (out->len + more + 1 <= out->cap)
        return true;
    size_t cap = out->cap ? out->cap : 4096;
    while (cap < out->len + more + 1)
        cap *= 2;
    char *b = realloc(out->buf, cap);
    if (!b) {
        out->failed = true;
        return false;
    }
    out->buf = b;
    out->cap = cap;
    return true;
}

static void out_write(struct wl_metrics_out *out, const char *s, size_t n)
{
    if (!out_reserve(out, n))
        return;
    memcpy(out->buf + out->len, s, n);
    out->len += n;
    out->buf[out->len] = '\0';
}

static void out_puts(struct wl_metrics_out *out, const char *s)
{
    out_write(out, s, strlen(s));
}

/* Escapes backslash and newline, and double quote when quote is set: the
 * exposition format escapes quotes in label values but not in HELP. */
static void out_escaped(struct wl_metrics_out *out, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            out_puts(out, "\\\\");
        else if (*s == '\n')
            out_puts(out, "\\n");
        else if (quote && *s == '"')
            out_puts(out, "\\\"");
        else
            out_write(out, s, 1);
    }
}

/* The shortest digits that read back as the same double, written like
 * Go's strconv.FormatFloat(v, 'g', -1, 64) that client_golang uses, except
 * that plain notation is kept up to 1e21 (as JavaScript does) so byte
 * counts and unix times stay readable: "0.1", "10", "1700000000.25",
 * "7e-09". */
static void format_double(double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, len, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    snprintf(buf, len, "%.*e", prec - 1, v);
    const char *e = strchr(buf, 'e');
    int exp = e ? (int)strtol(e + 1, NULL, 10) : 0;
    if (exp < -4 || exp >= 21)
        return;
    int decimals = prec - 1 - exp;
    snprintf(buf, len, "%.*f", decimals > 0 ? decimals : 0, v);
}

static void out_double(struct wl_metrics_out *out, double v)
{
    char buf[40];
    format_double(v, buf, sizeof(buf));
    out_puts(out, buf);
}

static void out_u64(struct wl_metrics_out *out, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    out_puts(out, buf);
}

char *wl_metrics_out_steal(struct wl_metrics_out *out, size_t *len_ret)
{
    /* An empty text is still a valid allocation. */
    (void)out_reserve(out, 0);
    if (out->failed) {
        wl_metrics_out_clear(out);
        return NULL;
    }
    out->buf[out->len] = '\0';
    if (len_ret)
        *len_ret = out->len;
    char *s = TAKE_PTR(out->buf);
    *out = (struct wl_metrics_out)WL_METRICS_OUT_INIT;
    return s;
}

void wl_metrics_out_clear(struct wl_metrics_out *out)
{
    if (!out)
        return;
    free(out->buf);
    *out = (struct wl_metrics_out)WL_METRICS_OUT_INIT;
}

void wl_metrics_out_family(struct wl_metrics_out *out, const char *name,
                           const char *type, const char *help)
{
    out_puts(out, "# HELP ");
    out_puts(out, name);
    out_puts(out, " ");
    out_escaped(out, help, false);
    out_puts(out, "\n# TYPE ");
    out_puts(out, name);
    out_puts(out, " ");
    out_puts(out, type);
    out_puts(out, "\n");
}

/* Writes name{labels} with an optional extra label (a histogram's le)
 * after the others; no braces when there are no labels at all. */
static void out_series(struct wl_metrics_out *out, const char *name,
                       const char *suffix, const char *const *labels,
                       const char *extra_name, const char *extra_value)
{
    out_puts(out, name);
    if (suffix)
        out_puts(out, suffix);
    bool any = (labels && labels[0]) || extra_name;
    if (!any) {
        out_puts(out, " ");
        return;
    }
    out_puts(out, "{");
    const char *sep = "";
    for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
        out_puts(out, sep);
        out_puts(out, labels[i]);
        out_puts(out, "=\"");
        out_escaped(out, labels[i + 1], true);
        out_puts(out, "\"");
        sep = ",";
    }
    if (extra_name) {
        out_puts(out, sep);
        out_puts(out, extra_name);
        out_puts(out, "=\"");
        out_puts(out, extra_value);
        out_puts(out, "\"");
    }
    out_puts(out, "} ");
}

static void out_timestamp_end(struct wl_metrics_out *out, int64_t ts_ms)
{
    if (ts_ms > 0) {
        char buf[24];
        snprintf(buf, sizeof(buf), " %" PRId64, ts_ms);
        out_puts(out, buf);
    }
    out_puts(out, "\n");
}

void wl_metrics_out_sample(struct wl_metrics_out *out, const char *name,
                           const char *const *labels, double value,
                           int64_t timestamp_ms)
{
    out_series(out, name, NULL, labels, NULL, NULL);
    out_double(out, value);
    out_timestamp_end(out, timestamp_ms);
}

/* ---- Rendering registered metrics ---- */

static const char *type_name(enum wl_metric_type t)
{
    switch (t) {
    case WL_METRIC_COUNTER:
        return "counter";
    case WL_METRIC_GAUGE:
        return "gauge";
    case WL_METRIC_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

static void render_histogram(const struct wl_metric *m,
                             const char *const *labels,
                             struct wl_metrics_out *out)
{
    uint64_t cumulative = 0;
    char le[40];

    for (size_t i = 0; i <= m->nbounds; i++) {
        cumulative +=
            atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
        if (i < m->nbounds)
            format_double(m->bounds[i], le, sizeof(le));
        else
            snprintf(le, sizeof(le), "+Inf");
        out_series(out, m->name, "_bucket", labels, "le", le);
        out_u64(out, cumulative);
        out_puts(out, "\n");
    }
    out_series(out, m->name, "_sum", labels, NULL, NULL);
    out_double(out, bitsd(atomic_load_explicit(&m->sum, memory_order_relaxed)));
    out_puts(out, "\n");
    /* _count is the +Inf bucket, so the two always agree in one scrape. */
    out_series(out, m->name, "_count", labels, NULL, NULL);
    out_u64(out, cumulative);
    out_puts(out, "\n");
}

/* One series: m is an unlabelled metric or a child. */
static void render_series(const struct wl_metric *m, struct wl_metrics_out *out)
{
    const char *labels[2 * WL_METRIC_MAX_LABELS + 1] = {NULL};
    const struct wl_metric *def = m->parent ? m->parent : m;
    size_t n = m->parent ? label_count(def) : 0;

    for (size_t i = 0; i < n; i++) {
        labels[2 * i] = def->label_names[i];
        labels[2 * i + 1] = m->label_values[i];
    }
    switch (m->type) {
    case WL_METRIC_COUNTER:
        out_series(out, m->name, NULL, labels, NULL, NULL);
        out_u64(out, wl_counter_value(m));
        out_puts(out, "\n");
        break;
    case WL_METRIC_GAUGE:
        out_series(out, m->name, NULL, labels, NULL, NULL);
        out_double(out, wl_gauge_value(m));
        out_puts(out, "\n");
        break;
    case WL_METRIC_HISTOGRAM:
        render_histogram(m, labels, out);
        break;
    }
}

void wl_metric_render(const struct wl_metric *m, struct wl_metrics_out *out)
{
    const struct wl_metric *c =
        atomic_load_explicit(&m->children, memory_order_acquire);

    if (label_count(m) == 0) {
        wl_metrics_out_family(out, m->name, type_name(m->type), m->help);
        render_series(m, out);
        return;
    }
    if (!c)
        return;
    wl_metrics_out_family(out, m->name, type_name(m->type), m->help);
    for (; c; c = atomic_load_explicit(&c->next_child, memory_order_acquire))
        render_series(c, out);
}

static void collect_process(struct wl_metrics_out *out)
{
    struct wl_proc_stats ps;
    if (wl_proc_self_stats(&ps) < 0)
        return;
    wl_metrics_out_family(out, "process_cpu_seconds_total", "counter",
                          "Total user and system CPU time spent in seconds.");
    wl_metrics_out_sample(out, "process_cpu_seconds_total", NULL,
                          ps.cpu_seconds, 0);
    wl_metrics_out_family(out, "process_max_fds", "gauge",
                          "Maximum number of open file descriptors.");
    wl_metrics_out_sample(out, "process_max_fds", NULL, (double)ps.max_fds, 0);
    wl_metrics_out_family(out, "process_open_fds", "gauge",
                          "Number of open file descriptors.");
    wl_metrics_out_sample(out, "process_open_fds", NULL, (double)ps.open_fds,
                          0);
    wl_metrics_out_family(out, "process_resident_memory_bytes", "gauge",
                          "Resident memory size in bytes.");
    wl_metrics_out_sample(out, "process_resident_memory_bytes", NULL,
                          (double)ps.resident_bytes, 0);
    wl_metrics_out_family(
        out, "process_start_time_seconds", "gauge",
        "Start time of the process since unix epoch in seconds.");
    wl_metrics_out_sample(out, "process_start_time_seconds", NULL,
                          ps.start_time, 0);
    wl_metrics_out_family(out, "process_virtual_memory_bytes", "gauge",
                          "Virtual memory size in bytes.");
    wl_metrics_out_sample(out, "process_virtual_memory_bytes", NULL,
                          (double)ps.virtual_bytes, 0);
}

int wl_metrics_render(char **ret, size_t *len_ret)
{
    struct wl_metrics_out out = WL_METRICS_OUT_INIT;

    pthread_mutex_lock(&registry_lock);
    for (const struct wl_metric *m = registry; m; m = m->next)
        wl_metric_render(m, &out);
    collect_process(&out);
    for (const struct collector *c = collectors; c; c = c->next)
        c->fn(&out, c->arg);
    pthread_mutex_unlock(&registry_lock);

    char *s = wl_metrics_out_steal(&out, len_ret);
    if (!s)
        return -1;
    *ret = s;
    return 0;
}

/* ---- Process figures ---- */

/* Reads a small /proc file whole into buf (NUL-terminated). */
static int read_small(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, len - 1, f);
    int bad = ferror(f);
    (void)fclose(f);
    if (bad) {
        errno = EIO;
        return -1;
    }
    buf[n] = '\0';
    return 0;
}

/* Boot time in unix seconds, the btime line of /proc/stat. */
static int boot_time(uint64_t *ret)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/stat", "re");
    char line[256];
    unsigned long long bt;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %llu", &bt) == 1) {
            *ret = bt;
            return 0;
        }
    errno = ENOENT;
    return -1;
}

static uint64_t count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    uint64_t n = 0;
    struct dirent *e;

    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    (void)closedir(d);
    return n > 0 ? n - 1 : 0; /* less the directory's own fd */
}

/* num_threads (field 20) and starttime (field 22, clock ticks after boot)
 * from /proc/self/stat. The command name (field 2) may hold spaces and
 * parentheses, so fields are counted from its last ')'. */
static int parse_self_stat(uint64_t *threads, uint64_t *start_ticks)
{
    char buf[1024];
    unsigned long long th, st;

    if (read_small("/proc/self/stat", buf, sizeof(buf)) < 0)
        return -1;
    const char *p = strrchr(buf, ')');
    if (!p ||
        sscanf(p + 1,
               " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
               "%*d %*d %llu %*d %llu",
               &th, &st) != 2) {
        errno = EINVAL;
        return -1;
    }
    *threads = th;
    *start_ticks = st;
    return 0;
}

int wl_proc_self_stats(struct wl_proc_stats *out)
{
    struct wl_proc_stats s = {0};
    char buf[256];
    unsigned long long vsz, rss;
    long page = sysconf(_SC_PAGESIZE), hz = sysconf(_SC_CLK_TCK);

    if (read_small("/proc/self/statm", buf, sizeof(buf)) < 0)
        return -1;
    if (sscanf(buf, "%llu %llu", &vsz, &rss) != 2) {
        errno = EINVAL;
        return -1;
    }
    s.virtual_bytes = vsz * (uint64_t)page;
    s.resident_bytes = rss * (uint64_t)page;

    uint64_t ticks, btime;
    if (parse_self_stat(&s.threads, &ticks) < 0 || boot_time(&btime) < 0)
        return -1;
    s.start_time = (double)btime + (double)ticks / (double)hz;

    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        s.cpu_seconds =
            (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        s.max_fds = rl.rlim_cur;
    s.open_fds = count_fds();
    *out = s;
    return 0;
}
