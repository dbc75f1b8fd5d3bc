#include "oci/creds.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/cleanup.h"
#include "util/json.h"

static bool is_docker_hub(const char *h)
{
    return strcmp(h, "docker.io") == 0 || strcmp(h, "index.docker.io") == 0 ||
           strcmp(h, "registry-1.docker.io") == 0;
}

/* "https://host:port/v1/" -> "host:port" compared with host. */
static bool key_matches(const char *key, const char *host)
{
    const char *p = strstr(key, "://");
    p = p ? p + 3 : key;
    size_t n = strcspn(p, "/");
    char h[256];
    if (n == 0 || n >= sizeof(h))
        return false;
    memcpy(h, p, n);
    h[n] = '\0';
    if (strcmp(h, host) == 0)
        return true;
    return is_docker_hub(h) && is_docker_hub(host);
}

/* Strict base64 of "user:password". */
static int decode_auth(const char *b64, char **user, char **pass,
                       struct wl_error *err)
{
    size_t len = strlen(b64), n = 0;
    _cleanup_free_ char *out = NULL;
    if (len == 0 || len > 8192 ||
        wl_base64_decode(b64, len, "auth", &out, &n, err) < 0) {
        wl_error_clear(err);
        return wl_error_set(err, 0, "credentials: \"auth\" is not base64");
    }
    if (memchr(out, '\0', n)) {
        explicit_bzero(out, n);
        return wl_error_set(err, 0, "credentials: \"auth\" holds a NUL byte");
    }
    char *colon = strchr(out, ':');
    if (!colon) {
        explicit_bzero(out, n);
        return wl_error_set(err, 0, "credentials: \"auth\" is not "
                                    "user:password");
    }
    *user = strndup(out, (size_t)(colon - out));
    *pass = strdup(colon + 1);
    explicit_bzero(out, n);
    if (!*user || !*pass) {
        free(*user);
        free(*pass);
        return wl_error_set(err, ENOMEM, "credentials");
    }
    return 0;
}

int wl_creds_lookup(const char *json, size_t len, const char *host,
                    char **ret_user, char **ret_pass, struct wl_error *err)
{
    json_t *j = NULL;
    int rc = 0;

    if (len > WL_CREDS_MAX_SIZE)
        return wl_error_set(err, 0, "credentials over %d bytes",
                            WL_CREDS_MAX_SIZE);
    if (wl_json_parse(json, len, 16, &j, err) < 0)
        return wl_error_prefix(err, "credentials");
    if (!json_is_object(j)) {
        json_decref(j);
        return wl_error_set(err, 0, "credentials: not a JSON object");
    }
    /* dockerconfigjson nests under "auths"; dockercfg does not. */
    json_t *auths = json_object_get(j, "auths");
    if (!auths)
        auths = j;
    if (!json_is_object(auths)) {
        json_decref(j);
        return wl_error_set(err, 0, "credentials: \"auths\" not an object");
    }
    const char *key;
    json_t *entry;
    json_object_foreach(auths, key, entry) {
        if (!key_matches(key, host) || !json_is_object(entry))
            continue;
        const char *auth = wl_json_str(entry, "auth", NULL);
        const char *u = wl_json_str(entry, "username", NULL);
        const char *p = wl_json_str(entry, "password", NULL);
        char *user = NULL, *pass = NULL;
        if (auth && *auth) {
            rc = decode_auth(auth, &user, &pass, err) < 0 ? -1 : 1;
        } else if (u && p) {
            user = strdup(u);
            pass = strdup(p);
            rc = user && pass ? 1 : wl_error_set(err, ENOMEM, "credentials");
        } else {
            continue;
        }
        if (rc == 1) {
            *ret_user = user;
            *ret_pass = pass;
        } else {
            free(user);
            free(pass);
        }
        break;
    }
    json_decref(j);
    return rc;
}
