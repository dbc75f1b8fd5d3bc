/* Facts about this machine that the Node object reports: capacity,
 * pressure, identity and addresses. Read from /proc, /etc/os-release,
 * uname(2), statvfs(3) and getifaddrs(3). */
#ifndef WL_NODE_SYSINFO_H
#define WL_NODE_SYSINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct wl_sysinfo {
    long cpus;                /* online CPUs */
    int64_t memory_total;     /* bytes (MemTotal) */
    int64_t memory_available; /* bytes (MemAvailable) */
    int64_t disk_total;       /* bytes of the filesystem holding data_dir */
    int64_t disk_available;
    long pids_max;            /* kernel.pid_max */
    long pids_used;           /* processes and threads now */
    char kernel[128];         /* uname -r */
    char arch[32];            /* Kubernetes GOARCH names: amd64, arm64 */
    char os_image[128];       /* PRETTY_NAME from os-release */
    char machine_id[64];      /* /etc/machine-id, "" if absent */
    char boot_id[64];
};

/* Fills info. data_dir must exist (its filesystem is the node's disk). */
int wl_sysinfo_read(const char *data_dir, struct wl_sysinfo *info,
                    struct wl_error *err);

/* The IPv4 address of the interface holding the default route, else of the
 * first non-loopback interface that is up, else 127.0.0.1. buf holds at
 * least 16 bytes. */
void wl_sysinfo_default_ip(char *buf, size_t len);

/* Pressure thresholds, as the kubelet's default hard eviction signals:
 * memory.available < 100Mi, nodefs.available < 10%, and (like its PID
 * limit) fewer than 10% of PIDs free. */
bool wl_sysinfo_memory_pressure(const struct wl_sysinfo *info);
bool wl_sysinfo_disk_pressure(const struct wl_sysinfo *info);
bool wl_sysinfo_pid_pressure(const struct wl_sysinfo *info);

#endif
