/* $(VAR) references in a container's command, args and env values,
 * expanded as Kubernetes does (k8s.io/kubernetes third_party expansion):
 *
 *   $(NAME)   -> the value of NAME when it is defined, else left as written
 *   $$        -> $ (so "$$(NAME)" yields the literal "$(NAME)")
 *   $x        -> "$x" for any other character x
 *   "$(" with no closing ")" is left as written.
 */
#ifndef WL_POD_EXPAND_H
#define WL_POD_EXPAND_H

#include <stddef.h>

/* Returns the value of the variable name (len bytes, not NUL-terminated)
 * or NULL when it is not defined. */
typedef const char *(*wl_expand_lookup)(void *userdata, const char *name,
                                        size_t len);

/* Expands in; the caller frees the result. NULL only when out of memory. */
char *wl_expand(const char *in, wl_expand_lookup lookup, void *userdata);

#endif
