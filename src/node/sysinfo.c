#include "node/sysinfo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "util/cleanup.h"

/* Reads a "Key:   N kB" line of /proc/meminfo. */
static int meminfo_kb(const char *text, const char *key, int64_t *ret)
{
    size_t klen = strlen(key);
    const char *p = text;
    while (p) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            long long kb = strtoll(p + klen + 1, NULL, 10);
            *ret = (int64_t)kb * 1024;
            return 0;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

static int read_small(const char *path, char *buf, size_t len)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* Copies src's first line, cut to fit. */
static void chomp_copy(char *dst, size_t len, const char *src)
{
    size_t n = strcspn(src, "\n");
    if (n >= len)
        n = len - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void os_image(char *dst, size_t len)
{
    char buf[4096];
    snprintf(dst, len, "Linux");
    if (read_small("/etc/os-release", buf, sizeof(buf)) < 0 &&
        read_small("/usr/lib/os-release", buf, sizeof(buf)) < 0)
        return;
    const char *p = strstr(buf, "PRETTY_NAME=");
    if (!p)
        return;
    p += strlen("PRETTY_NAME=");
    if (*p == '"')
        p++;
    size_t n = strcspn(p, "\"\n");
    snprintf(dst, len, "%.*s", (int)n, p);
}

static const char *k8s_arch(const char *machine)
{
    if (strcmp(machine, "x86_64") == 0)
        return "amd64";
    if (strcmp(machine, "aarch64") == 0)
        return "arm64";
    return machine;
}

int wl_sysinfo_read(const char *data_dir, struct wl_sysinfo *info,
                    struct wl_error *err)
{
    char buf[8192];
    struct utsname u;
    struct statvfs vfs;

    memset(info, 0, sizeof(*info));
    info->cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (read_small("/proc/meminfo", buf, sizeof(buf)) < 0 ||
        meminfo_kb(buf, "MemTotal", &info->memory_total) < 0 ||
        meminfo_kb(buf, "MemAvailable", &info->memory_available) < 0)
        return wl_error_set(err, errno, "read /proc/meminfo");
    if (statvfs(data_dir, &vfs) < 0)
        return wl_error_set(err, errno, "statvfs %s", data_dir);
    info->disk_total = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
    info->disk_available = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
    if (read_small("/proc/sys/kernel/pid_max", buf, sizeof(buf)) == 0)
        info->pids_max = strtol(buf, NULL, 10);
    /* /proc/loadavg's fourth field is "running/total" scheduling entities. */
    if (read_small("/proc/loadavg", buf, sizeof(buf)) == 0) {
        const char *slash = strchr(buf, '/');
        if (slash)
            info->pids_used = strtol(slash + 1, NULL, 10);
    }
    if (uname(&u) < 0)
        return wl_error_set(err, errno, "uname");
    chomp_copy(info->kernel, sizeof(info->kernel), u.release);
    chomp_copy(info->arch, sizeof(info->arch), k8s_arch(u.machine));
    os_image(info->os_image, sizeof(info->os_image));
    if (read_small("/etc/machine-id", buf, sizeof(buf)) == 0)
        chomp_copy(info->machine_id, sizeof(info->machine_id), buf);
    if (read_small("/proc/sys/kernel/random/boot_id", buf, sizeof(buf)) == 0)
        chomp_copy(info->boot_id, sizeof(info->boot_id), buf);
    return 0;
}

/* The interface of the IPv4 default route from /proc/net/route. */
static int default_route_iface(char *ifname, size_t len)
{
    char buf[8192];
    if (read_small("/proc/net/route", buf, sizeof(buf)) < 0)
        return -1;
    char *line = strchr(buf, '\n'); /* skip the header */
    while (line && *++line) {
        char name[IF_NAMESIZE + 1];
        unsigned long dest;
        if (sscanf(line, "%16s %lx", name, &dest) == 2 && dest == 0) {
            snprintf(ifname, len, "%s", name);
            return 0;
        }
        line = strchr(line, '\n');
    }
    return -1;
}

void wl_sysinfo_default_ip(char *buf, size_t len)
{
    char ifname[IF_NAMESIZE + 1] = "";
    struct ifaddrs *ifs = NULL;

    snprintf(buf, len, "127.0.0.1");
    (void)default_route_iface(ifname, sizeof(ifname));
    if (getifaddrs(&ifs) < 0)
        return;
    const struct ifaddrs *fallback = NULL;
    for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
            (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
            continue;
        if (ifname[0] && strcmp(i->ifa_name, ifname) == 0) {
            fallback = i;
            break;
        }
        if (!fallback)
            fallback = i;
    }
    if (fallback) {
        const struct sockaddr_in *sin =
            (const struct sockaddr_in *)(const void *)fallback->ifa_addr;
        (void)inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)len);
    }
    freeifaddrs(ifs);
}

bool wl_sysinfo_memory_pressure(const struct wl_sysinfo *info)
{
    return info->memory_available < 100LL * 1024 * 1024;
}

bool wl_sysinfo_disk_pressure(const struct wl_sysinfo *info)
{
    return info->disk_total > 0 && info->disk_available * 10 < info->disk_total;
}

bool wl_sysinfo_pid_pressure(const struct wl_sysinfo *info)
{
    return info->pids_max > 0 && (info->pids_max - info->pids_used) * 10 <
                                     info->pids_max;
}
