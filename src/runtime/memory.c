/* Linear memories for wasmtime, made by us so the memory limit is ours.
 *
 * Why not wasmtime_store_limiter: it refuses a memory.grow past the limit
 * (the module's allocator then sees NULL) but the C API never says that it
 * did, so a module that fails afterwards cannot be told apart from one that
 * failed for another reason. Here the refusal happens in our grow callback,
 * which records it in the run's struct wl_memory_limit: OOMKilled is then
 * exact, not a guess from how full the memory looks.
 *
 * A memory is one mapping made at creation and never moved: its
 * reservation (what wasmtime asks for, 4 GiB for 32-bit memories on 64-bit
 * hosts) plus the guard region, all PROT_NONE, of which the accessible
 * size is made read-write as it grows. That is what wasmtime's own
 * allocator does, so its bounds-check elision and guard pages hold.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime/engine_internal.h"

/* The limit memories created on this thread get; set by wl_run around
 * instantiation (the thread that instantiates creates the memories). */
static _Thread_local struct wl_memory_limit *current_limit;

struct linear {
    uint8_t *base;
    size_t size;     /* accessible (read-write) bytes */
    size_t capacity; /* reserved bytes: the most it can grow to */
    size_t mapped;   /* capacity rounded to host pages, plus the guard */
    struct wl_memory_limit *limit; /* NULL: none; outlives the memory */
};

static bool round_up(size_t n, size_t to, size_t *ret)
{
    if (n > SIZE_MAX - (to - 1))
        return false;
    *ret = (n + to - 1) / to * to;
    return true;
}

static size_t host_page(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

static uint8_t *memory_get(void *env, size_t *byte_size, size_t *byte_capacity)
{
    struct linear *m = env;
    *byte_size = m->size;
    *byte_capacity = m->capacity;
    return m->base;
}

static bool over_limit(struct wl_memory_limit *limit, size_t bytes)
{
    if (!limit || limit->bytes == 0 || bytes <= limit->bytes)
        return false;
    limit->hit = true;
    limit->refused = bytes;
    return true;
}

/* wasmtime turns an error here into memory.grow returning -1. */
static wasmtime_error_t *memory_grow(void *env, size_t new_size)
{
    struct linear *m = env;
    size_t from, to;

    if (over_limit(m->limit, new_size))
        return wasmtime_error_new("memory limit reached");
    if (new_size > m->capacity)
        return wasmtime_error_new("memory reservation exhausted");
    if (new_size <= m->size)
        return NULL;
    if (!round_up(m->size, host_page(), &from) ||
        !round_up(new_size, host_page(), &to))
        return wasmtime_error_new("memory size overflow");
    if (to > from &&
        mprotect(m->base + from, to - from, PROT_READ | PROT_WRITE) < 0)
        return wasmtime_error_new("cannot grow memory: mprotect failed");
    if (m->limit)
        m->limit->used += new_size - m->size;
    m->size = new_size;
    return NULL;
}

static void memory_free(void *env)
{
    struct linear *m = env;
    if (!m)
        return;
    if (m->base)
        (void)munmap(m->base, m->mapped);
    free(m);
}

static wasmtime_error_t *memory_new(void *env, const wasm_memorytype_t *ty,
                                    size_t minimum, size_t maximum,
                                    size_t reserved, size_t guard,
                                    wasmtime_linear_memory_t *ret)
{
    (void)env;
    (void)ty;
    struct wl_memory_limit *limit = current_limit;
    if (over_limit(limit, minimum))
        return wasmtime_error_new("initial memory is over the memory limit");

    /* No reservation asked for means the memory may move; ours never does,
     * so reserve what it may grow to (bounded as wasmtime's default). */
    size_t capacity = reserved;
    if (capacity == 0)
        capacity = maximum < (4ull << 30) ? maximum : (size_t)(4ull << 30);
    if (capacity < minimum)
        capacity = minimum;

    struct linear *m = calloc(1, sizeof(*m));
    if (!m)
        return wasmtime_error_new("out of memory");
    size_t acc, cap;
    if (!round_up(minimum, host_page(), &acc) ||
        !round_up(capacity, host_page(), &cap) || cap > SIZE_MAX - guard) {
        free(m);
        return wasmtime_error_new("memory size overflow");
    }
    m->mapped = cap + guard;
    void *base = mmap(NULL, m->mapped, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        free(m);
        return wasmtime_error_new("cannot reserve linear memory");
    }
    m->base = base;
    if (acc > 0 && mprotect(base, acc, PROT_READ | PROT_WRITE) < 0) {
        memory_free(m);
        return wasmtime_error_new("cannot map linear memory");
    }
    m->size = minimum;
    m->capacity = capacity;
    m->limit = limit;
    if (limit)
        limit->used += minimum;
    *ret = (wasmtime_linear_memory_t){
        .env = m,
        .get_memory = memory_get,
        .grow_memory = memory_grow,
        .finalizer = memory_free,
    };
    return NULL;
}

void wl_memory_creator_install(wasm_config_t *config)
{
    wasmtime_memory_creator_t creator = {
        .env = NULL,
        .new_memory = memory_new,
        .finalizer = NULL,
    };
    wasmtime_config_host_memory_creator_set(config, &creator); /* copies */
}

void wl_memory_limit_enter(struct wl_memory_limit *limit)
{
    current_limit = limit;
}

void wl_memory_limit_leave(void)
{
    current_limit = NULL;
}
