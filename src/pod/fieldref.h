/* The part of the downward API that the env resolver (pod/runner.c) and
 * the downwardAPI volume writer (pod/volumes.c) share: a subscripted
 * fieldRef, metadata.labels['KEY'] or metadata.annotations['KEY'], split
 * as the kubelet's fieldpath.SplitMaybeSubscriptedPath does (the key is
 * everything between the first "['" and the final "']").
 *
 * Keys have no length limit here: a label key may be 317 characters (a
 * 253-character prefix, '/', a 63-character name) and the API server has
 * already validated it. Pure functions, no state.
 */
#ifndef WL_POD_FIELDREF_H
#define WL_POD_FIELDREF_H

#include <jansson.h>

/* The value of metadata.labels['KEY'] or metadata.annotations['KEY'] in
 * pod (a Pod object): a string owned by pod, "" when the key is absent
 * (as the kubelet), NULL when path is not of that form. */
const char *wl_fieldref_map_value(const json_t *pod, const char *path);

#endif
