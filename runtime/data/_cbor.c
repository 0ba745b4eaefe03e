/*
 * C accelerator for lexforge.runtime.data.cbor: strict DAG-CBOR (DRISL) decode and
 * canonical encode, plus the base32 used by CID text, and the hot paths built on them:
 * SHA-256 (portable and SHA-NI), blessed-CID constructors, C-level CID hash/equality
 * (CIDBase), MST node checks/encoding/writes/walks (repo/mst.py) and the CAR-slice
 * reader (repo/carslice.py). Every one of those has a pure-Python reference that is used
 * without this module and that the tests hold it to (see each section's comment).
 *
 * This file implements exactly the rules of cbor_pure.py (the reference), with the same
 * error classes, messages and offsets; tests/data/test_cbor_differential.py holds the two
 * to that. Design rules, because the input is hostile:
 *   - every read is bounds-checked against the end of the buffer, and every declared
 *     length is compared with the remaining input before anything is allocated;
 *   - nesting is checked against max_depth (<= 256) before recursing, so C recursion is
 *     bounded;
 *   - every allocation and Python API call is checked; on error each function releases
 *     exactly the references it owns and returns NULL / -1;
 *   - no Python code runs while the encoder walks a container (it only reads dicts,
 *     lists and str/bytes buffers), and it holds references to what it walks anyway.
 *
 * The CID class, the error classes and the CID slot descriptors are fetched from the
 * Python modules on first use (cid.py itself imports this module for base32, so they
 * cannot be imported at module init).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX_DEPTH 32
#define DEFAULT_MAX_CONTAINER_LEN 131072
#define DEFAULT_MAX_KEY_LEN 8192
#define HARD_MAX_DEPTH 256
#define LIMIT_CEILING (((long long)1) << 32)
#define MAX_CID_BYTES 100
#define INT64_MAX_U ((uint64_t)INT64_MAX)

/* ------------------------------------------------------------------------------------ */
/* Lazily imported Python objects (strong references, never released: module lifetime) */

static PyObject *g_cid_type = NULL;      /* lexforge.runtime.data.cid.CID */
static PyObject *g_descr_bytes = NULL;   /* CID._bytes slot descriptor */
static PyObject *g_descr_parts = NULL;   /* CID._parts */
static PyObject *g_descr_str = NULL;     /* CID._str */
static PyObject *g_parts_dag_cbor = NULL;
static PyObject *g_parts_raw = NULL;
static PyObject *g_decode_error = NULL;  /* errors.DecodeError */
static PyObject *g_encode_error = NULL;  /* errors.EncodeError */
static PyObject *g_str_reason = NULL;    /* interned "reason" */
static PyObject *g_str_path = NULL;      /* interned "path" */

static int
fetch_attr(PyObject *mod, const char *name, PyObject **slot)
{
    PyObject *v = PyObject_GetAttrString(mod, name);
    if (v == NULL) {
        return -1;
    }
    *slot = v;
    return 0;
}

static int
fetch_descr(PyObject *type, const char *name, PyObject **slot)
{
    /* getattr on the class returns a __slots__ member descriptor itself */
    PyObject *d = PyObject_GetAttrString(type, name);
    if (d == NULL) {
        return -1;
    }
    if (Py_TYPE(d)->tp_descr_set == NULL || Py_TYPE(d)->tp_descr_get == NULL) {
        Py_DECREF(d);
        PyErr_Format(PyExc_RuntimeError, "CID.%s is not a slot", name);
        return -1;
    }
    *slot = d;
    return 0;
}

/* __slots__ members are written at their offsets (what their descriptors do, minus the
 * checks, which member_offset makes once): building a CID or an MST node sets 3 or 12 of
 * them, and they are built by the thousand per firehose second. */
/* PyMemberDef and its type/flag constants: in structmember.h up to 3.11; public in
 * Python.h (descrobject.h) from 3.12, where structmember.h is deprecated. */
#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>
#define LF_T_OBJECT_EX T_OBJECT_EX
#define LF_READONLY READONLY
#else
#define LF_T_OBJECT_EX Py_T_OBJECT_EX
#define LF_READONLY Py_READONLY
#endif

/* The offset of a writable object __slots__ member defined by `type` itself, or -1. */
static Py_ssize_t
member_offset(PyObject *descr, PyTypeObject *type)
{
    if (!Py_IS_TYPE(descr, &PyMemberDescr_Type) || PyDescr_TYPE(descr) != type) {
        return -1;
    }
    PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
    if (m->type != LF_T_OBJECT_EX || (m->flags & LF_READONLY) ||
        m->offset < (Py_ssize_t)sizeof(PyObject) ||
        m->offset > type->tp_basicsize - (Py_ssize_t)sizeof(PyObject *)) {
        return -1;
    }
    return m->offset;
}

/* obj.<slot at off> = v (new reference taken; the old value released). */
static inline void
set_slot_at(PyObject *obj, Py_ssize_t off, PyObject *v)
{
    PyObject **p = (PyObject **)(void *)((char *)obj + off);
    PyObject *old = *p;
    Py_INCREF(v);
    *p = v;
    Py_XDECREF(old);
}

static Py_ssize_t g_off_bytes = -1, g_off_parts = -1, g_off_str = -1; /* CID slots */

static int
ensure_init(void)
{
    if (g_cid_type != NULL) {
        return 0;
    }
    PyObject *cid_mod = NULL, *err_mod = NULL;
    PyObject *cid_type = NULL;
    int rc = -1;
    cid_mod = PyImport_ImportModule("lexforge.runtime.data.cid");
    if (cid_mod == NULL) {
        goto done;
    }
    err_mod = PyImport_ImportModule("lexforge.runtime.data.errors");
    if (err_mod == NULL) {
        goto done;
    }
    if (fetch_attr(cid_mod, "CID", &cid_type) < 0) {
        goto done;
    }
    if (!PyType_Check(cid_type)) {
        PyErr_SetString(PyExc_RuntimeError, "cid.CID is not a class");
        goto done;
    }
    if (g_descr_bytes == NULL && fetch_descr(cid_type, "_bytes", &g_descr_bytes) < 0) {
        goto done;
    }
    if (g_descr_parts == NULL && fetch_descr(cid_type, "_parts", &g_descr_parts) < 0) {
        goto done;
    }
    if (g_descr_str == NULL && fetch_descr(cid_type, "_str", &g_descr_str) < 0) {
        goto done;
    }
    if (g_parts_dag_cbor == NULL && fetch_attr(cid_mod, "_PARTS_DAG_CBOR", &g_parts_dag_cbor) < 0) {
        goto done;
    }
    if (g_parts_raw == NULL && fetch_attr(cid_mod, "_PARTS_RAW", &g_parts_raw) < 0) {
        goto done;
    }
    if (g_decode_error == NULL && fetch_attr(err_mod, "DecodeError", &g_decode_error) < 0) {
        goto done;
    }
    if (g_encode_error == NULL && fetch_attr(err_mod, "EncodeError", &g_encode_error) < 0) {
        goto done;
    }
    if (g_str_reason == NULL && (g_str_reason = PyUnicode_InternFromString("reason")) == NULL) {
        goto done;
    }
    if (g_str_path == NULL && (g_str_path = PyUnicode_InternFromString("path")) == NULL) {
        goto done;
    }
    g_off_bytes = member_offset(g_descr_bytes, (PyTypeObject *)cid_type);
    g_off_parts = member_offset(g_descr_parts, (PyTypeObject *)cid_type);
    g_off_str = member_offset(g_descr_str, (PyTypeObject *)cid_type);
    if (g_off_bytes < 0 || g_off_parts < 0 || g_off_str < 0) {
        PyErr_SetString(PyExc_RuntimeError, "CID._bytes/_parts/_str are not plain slots");
        goto done;
    }
    g_cid_type = cid_type; /* set last: it marks initialisation as complete */
    cid_type = NULL;
    rc = 0;
done:
    Py_XDECREF(cid_type);
    Py_XDECREF(cid_mod);
    Py_XDECREF(err_mod);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Errors */

/* Raise DecodeError(reason, offset). reason is printf-formatted ASCII. Returns NULL. */
static PyObject *
dec_err(Py_ssize_t offset, const char *fmt, ...)
{
    char buf[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    PyObject *exc = PyObject_CallFunction(g_decode_error, "sn", buf, offset);
    if (exc != NULL) {
        PyErr_SetObject(g_decode_error, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* Raise EncodeError(reason) from a ready str. Steals reason. Returns -1. */
static int
enc_err_obj(PyObject *reason)
{
    if (reason == NULL) {
        return -1;
    }
    PyObject *exc = PyObject_CallOneArg(g_encode_error, reason);
    Py_DECREF(reason);
    if (exc != NULL) {
        PyErr_SetObject(g_encode_error, exc);
        Py_DECREF(exc);
    }
    return -1;
}

static int
enc_err(const char *fmt, ...)
{
    char buf[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return enc_err_obj(PyUnicode_FromString(buf));
}

/* If the pending error is an EncodeError, replace it by one whose path starts with elem.
 * Steals elem (may be NULL after a failed allocation: then the original error stays). */
static void
prefix_path(PyObject *elem)
{
    if (elem == NULL) {
        return;
    }
    if (!PyErr_ExceptionMatches(g_encode_error)) {
        Py_DECREF(elem);
        return;
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *reason = NULL, *path = NULL, *newpath = NULL, *exc = NULL;
    if (value == NULL) {
        goto restore;
    }
    reason = PyObject_GetAttr(value, g_str_reason);
    if (reason == NULL) {
        goto fail;
    }
    path = PyObject_GetAttr(value, g_str_path);
    if (path == NULL) {
        goto fail;
    }
    if (!PyTuple_Check(path)) {
        goto restore;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(path);
    newpath = PyTuple_New(n + 1);
    if (newpath == NULL) {
        goto fail;
    }
    Py_INCREF(elem);
    PyTuple_SET_ITEM(newpath, 0, elem);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p = PyTuple_GET_ITEM(path, i);
        Py_INCREF(p);
        PyTuple_SET_ITEM(newpath, i + 1, p);
    }
    exc = PyObject_CallFunctionObjArgs(g_encode_error, reason, newpath, NULL);
    if (exc == NULL) {
        goto fail;
    }
    PyErr_SetObject(g_encode_error, exc);
    Py_DECREF(exc);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    goto out;
restore:
    PyErr_Restore(type, value, tb);
    goto out;
fail: /* a new error is pending; drop the old one */
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
out:
    Py_XDECREF(reason);
    Py_XDECREF(path);
    Py_XDECREF(newpath);
    Py_DECREF(elem);
}

/* ------------------------------------------------------------------------------------ */
/* CIDs */

/* Validate a binary CID as cid._parse_binary(data, allow_v0=False) does. On success return
 * 0 and fill parts[5]; on failure write the InvalidCidError message into msg, return -1. */
static int
cid_varint(const unsigned char *d, Py_ssize_t n, Py_ssize_t *pos, const char *what,
           uint64_t *out, char *msg, size_t msglen)
{
    uint64_t value = 0;
    for (int i = 0; i < 9; i++) {
        if (*pos >= n) {
            snprintf(msg, msglen, "truncated %s varint in binary CID", what);
            return -1;
        }
        unsigned char byte = d[*pos];
        *pos += 1;
        value |= ((uint64_t)(byte & 0x7F)) << (7 * i);
        if (byte < 0x80) {
            if (byte == 0 && i) {
                snprintf(msg, msglen, "non-minimal %s varint in binary CID", what);
                return -1;
            }
            *out = value;
            return 0;
        }
    }
    snprintf(msg, msglen, "%s varint longer than 9 bytes in binary CID", what);
    return -1;
}

static int
cid_parse(const unsigned char *d, Py_ssize_t n, uint64_t parts[5], char *msg, size_t msglen)
{
    if (n == 0) {
        snprintf(msg, msglen, "empty binary CID");
        return -1;
    }
    if (n > MAX_CID_BYTES) {
        snprintf(msg, msglen, "binary CID is %zd bytes, more than %d", n, MAX_CID_BYTES);
        return -1;
    }
    if (n == 36 && d[0] == 1 && d[2] == 0x12 && d[3] == 0x20 && d[1] < 0x80) {
        parts[0] = 1;
        parts[1] = d[1];
        parts[2] = 0x12;
        parts[3] = 2;
        parts[4] = 4;
        return 0;
    }
    if (d[0] == 0x12 && n == 34 && d[1] == 0x20) {
        snprintf(msg, msglen,
                 "CIDv0 is not allowed (atproto uses CIDv1 only); pass allow_v0=True to read "
                 "legacy CIDs");
        return -1;
    }
    if (d[0] != 1) {
        snprintf(msg, msglen, "unsupported CID version byte 0x%02x%s", d[0],
                 d[0] == 0 ? " (a leading 0x00 is the tag-42 prefix, not part of the CID)" : "");
        return -1;
    }
    Py_ssize_t pos = 1;
    uint64_t codec, hash_code, size;
    if (cid_varint(d, n, &pos, "codec", &codec, msg, msglen) < 0) {
        return -1;
    }
    Py_ssize_t mh_off = pos;
    if (cid_varint(d, n, &pos, "multihash code", &hash_code, msg, msglen) < 0) {
        return -1;
    }
    if (cid_varint(d, n, &pos, "digest length", &size, msg, msglen) < 0) {
        return -1;
    }
    if ((uint64_t)(n - pos) != size) {
        snprintf(msg, msglen, "multihash declares a %llu-byte digest but %zd bytes follow",
                 (unsigned long long)size, n - pos);
        return -1;
    }
    parts[0] = 1;
    parts[1] = codec;
    parts[2] = hash_code;
    parts[3] = (uint64_t)mh_off;
    parts[4] = (uint64_t)pos;
    return 0;
}

static int
cid_is_blessed(const unsigned char *d, Py_ssize_t n)
{
    return n == 36 && d[0] == 1 && (d[1] == 0x71 || d[1] == 0x55) && d[2] == 0x12 &&
           d[3] == 0x20;
}

/* Build a CID object from validated parts (what cid._make does). Returns a new ref. */
static PyObject *
cid_make(const unsigned char *d, Py_ssize_t n, const uint64_t parts[5])
{
    PyObject *parts_obj = NULL, *binary = NULL, *cid = NULL;
    if (parts[0] == 1 && parts[2] == 0x12 && parts[3] == 2 && parts[4] == 4 && n == 36 &&
        (parts[1] == 0x71 || parts[1] == 0x55)) {
        parts_obj = parts[1] == 0x71 ? g_parts_dag_cbor : g_parts_raw;
        Py_INCREF(parts_obj);
    } else {
        parts_obj = PyTuple_New(5);
        if (parts_obj == NULL) {
            return NULL;
        }
        for (int i = 0; i < 5; i++) {
            PyObject *x = PyLong_FromUnsignedLongLong(parts[i]);
            if (x == NULL) {
                Py_DECREF(parts_obj);
                return NULL;
            }
            PyTuple_SET_ITEM(parts_obj, i, x);
        }
    }
    binary = PyBytes_FromStringAndSize((const char *)d, n);
    if (binary == NULL) {
        goto fail;
    }
    PyTypeObject *tp = (PyTypeObject *)g_cid_type;
    cid = tp->tp_alloc(tp, 0);
    if (cid == NULL) {
        goto fail;
    }
    set_slot_at(cid, g_off_bytes, binary);
    set_slot_at(cid, g_off_parts, parts_obj);
    set_slot_at(cid, g_off_str, Py_None);
    /* A CID holds bytes, a tuple of ints and a str (or None): it can never be part of a
     * reference cycle, so the collector need not track it (as CPython untracks tuples
     * of atoms). Repos hold one per record and node: a third of their tracked objects,
     * and every full collection used to walk them. */
    if (PyObject_IS_GC(cid)) {
        PyObject_GC_UnTrack(cid);
    }
    Py_DECREF(binary);
    Py_DECREF(parts_obj);
    return cid;
fail:
    Py_XDECREF(cid);
    Py_XDECREF(binary);
    Py_XDECREF(parts_obj);
    return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Decoding */

typedef struct {
    const unsigned char *buf;
    Py_ssize_t len;
    int max_depth;
    uint64_t max_container_len;
    uint64_t max_key_len;
    int require_blessed;
} Dec;

static const char *const MAJOR_NAMES[8] = {
    "unsigned int", "negative int", "byte string", "text string",
    "array",        "map",          "tag",         "simple value",
};

/* Read a head (major types 0-6) at pos: sets *major, *arg, *next. 0 ok, -1 error. */
static int
read_head(const Dec *d, Py_ssize_t pos, int *major, uint64_t *arg, Py_ssize_t *next)
{
    const unsigned char *b = d->buf;
    Py_ssize_t n = d->len;
    unsigned char ib = b[pos];
    int mj = ib >> 5;
    int ai = ib & 0x1F;
    uint64_t v;
    *major = mj;
    if (ai < 24) {
        *arg = (uint64_t)ai;
        *next = pos + 1;
        return 0;
    }
    switch (ai) {
    case 24:
        if (n - pos < 2) {
            goto truncated;
        }
        v = b[pos + 1];
        if (v < 24) {
            dec_err(pos, "non-minimal %s head (1-byte form)", MAJOR_NAMES[mj]);
            return -1;
        }
        *next = pos + 2;
        break;
    case 25:
        if (n - pos < 3) {
            goto truncated;
        }
        v = ((uint64_t)b[pos + 1] << 8) | b[pos + 2];
        if (v < 0x100) {
            dec_err(pos, "non-minimal %s head (2-byte form)", MAJOR_NAMES[mj]);
            return -1;
        }
        *next = pos + 3;
        break;
    case 26:
        if (n - pos < 5) {
            goto truncated;
        }
        v = ((uint64_t)b[pos + 1] << 24) | ((uint64_t)b[pos + 2] << 16) |
            ((uint64_t)b[pos + 3] << 8) | b[pos + 4];
        if (v < 0x10000) {
            dec_err(pos, "non-minimal %s head (4-byte form)", MAJOR_NAMES[mj]);
            return -1;
        }
        *next = pos + 5;
        break;
    case 27:
        if (n - pos < 9) {
            goto truncated;
        }
        v = 0;
        for (int i = 1; i <= 8; i++) {
            v = (v << 8) | b[pos + i];
        }
        if (v < 0x100000000ULL) {
            dec_err(pos, "non-minimal %s head (8-byte form)", MAJOR_NAMES[mj]);
            return -1;
        }
        *next = pos + 9;
        break;
    case 31:
        dec_err(pos, "indefinite-length %s is not allowed", MAJOR_NAMES[mj]);
        return -1;
    default:
        dec_err(pos, "reserved additional information %d in CBOR head", ai);
        return -1;
    }
    *arg = v;
    return 0;
truncated:
    dec_err(pos, "truncated CBOR head");
    return -1;
}

/* Cache of short ASCII strings (map keys and short values repeat across records:
 * "$type", "createdAt", "app.bsky.richtext.facet", ...). A hit saves the allocation,
 * the copy and, for keys, the hash computation on dict insertion (str caches its hash).
 * Direct-mapped; strings are immutable so sharing them is safe; the GIL serialises
 * access. Entries hold strong references for the life of the process. */
#define STR_CACHE_SIZE 512
#define STR_CACHE_MAX_LEN 32
typedef struct {
    uint64_t head; /* first 8 bytes (zero-padded) */
    uint64_t tail; /* last 8 bytes (0 when len < 8) */
    Py_ssize_t len;
    PyObject *str; /* strong reference, or NULL */
} StrCacheEntry;
static StrCacheEntry g_str_cache[STR_CACHE_SIZE];

static PyObject *
cached_ascii(const unsigned char *p, Py_ssize_t len)
{
    /* key: the length and the first and last (up to) 8 bytes, which for len <= 16 is
     * the whole string; longer strings also compare their middle */
    uint64_t a = 0, b = 0;
    if (len >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + len - 8, 8);
    } else {
        for (Py_ssize_t i = 0; i < len; i++) {
            a |= (uint64_t)p[i] << (8 * i);
        }
    }
    uint64_t h = (a * 0x9E3779B97F4A7C15ULL) ^ (b * 0xC2B2AE3D27D4EB4FULL) ^ (uint64_t)len;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 32;
    StrCacheEntry *e = &g_str_cache[h & (STR_CACHE_SIZE - 1)];
    if (e->str != NULL && e->len == len && e->head == a && e->tail == b &&
        (len <= 16 || memcmp(PyUnicode_1BYTE_DATA(e->str) + 8, p + 8, (size_t)(len - 16)) == 0)) {
        Py_INCREF(e->str);
        return e->str;
    }
    PyObject *s = PyUnicode_New(len, 127);
    if (s == NULL) {
        return NULL;
    }
    memcpy(PyUnicode_1BYTE_DATA(s), p, (size_t)len);
    if (PyObject_Hash(s) == -1) { /* cannot fail for str; keep the check anyway */
        Py_DECREF(s);
        return NULL;
    }
    Py_INCREF(s);
    Py_XSETREF(e->str, s);
    e->head = a;
    e->tail = b;
    e->len = len;
    return s;
}

/* Decode UTF-8 strictly; on failure raise DecodeError(what, base + error start). */
static PyObject *
decode_text(const unsigned char *p, Py_ssize_t len, Py_ssize_t base, const char *what)
{
    /* ASCII fast path: most keys and many values (checked 8 bytes at a time) */
    Py_ssize_t i = 0;
    while (len - i >= 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ULL) {
            break;
        }
        i += 8;
    }
    while (i < len && p[i] < 0x80) {
        i++;
    }
    if (i == len) {
        if (len <= STR_CACHE_MAX_LEN) {
            return cached_ascii(p, len);
        }
        PyObject *s = PyUnicode_New(len, 127);
        if (s == NULL) {
            return NULL;
        }
        memcpy(PyUnicode_1BYTE_DATA(s), p, (size_t)len);
        return s;
    }
    PyObject *s = PyUnicode_DecodeUTF8((const char *)p, len, "strict");
    if (s != NULL) {
        return s;
    }
    if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        return NULL;
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    Py_ssize_t start = 0;
    int ok = value != NULL && PyUnicodeDecodeError_GetStart(value, &start) == 0;
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    if (!ok) {
        PyErr_Clear();
        start = 0;
    }
    return dec_err(base + start, "%s", what);
}

static PyObject *dec_item(const Dec *d, Py_ssize_t pos, int depth, Py_ssize_t *end);

static PyObject *
dec_tag(const Dec *d, Py_ssize_t pos, Py_ssize_t *end)
{
    const unsigned char *b = d->buf;
    Py_ssize_t n = d->len;
    int major;
    uint64_t number, size;
    Py_ssize_t p, bp;
    if (read_head(d, pos, &major, &number, &p) < 0) {
        return NULL;
    }
    if (number != 42) {
        return dec_err(pos, "CBOR tag %llu is not allowed (only tag 42, CID)",
                       (unsigned long long)number);
    }
    if (p >= n) {
        return dec_err(p, "unexpected end of input after tag 42");
    }
    if ((b[p] >> 5) != 2) {
        return dec_err(p, "tag 42 must wrap a byte string");
    }
    if (read_head(d, p, &major, &size, &bp) < 0) {
        return NULL;
    }
    if (size == 0 || size > MAX_CID_BYTES + 1) {
        return dec_err(p, "tag-42 payload of %llu bytes cannot hold a valid CID",
                       (unsigned long long)size);
    }
    if (size > (uint64_t)(n - bp)) {
        return dec_err(p, "byte string of %llu bytes runs past the end of input",
                       (unsigned long long)size);
    }
    if (b[bp] != 0) {
        return dec_err(bp, "tag-42 payload must start with the 0x00 multibase prefix");
    }
    const unsigned char *cb = b + bp + 1;
    Py_ssize_t cn = (Py_ssize_t)size - 1;
    uint64_t parts[5];
    char msg[200];
    if (cid_parse(cb, cn, parts, msg, sizeof msg) < 0) {
        return dec_err(bp + 1, "invalid CID in tag 42: %s", msg);
    }
    if (d->require_blessed && !cid_is_blessed(cb, cn)) {
        return dec_err(bp + 1,
                       "CID in tag 42 is not v1/sha2-256/dag-cbor-or-raw (require_blessed_cids)");
    }
    *end = bp + (Py_ssize_t)size;
    return cid_make(cb, cn, parts);
}

static PyObject *
dec_array(const Dec *d, Py_ssize_t pos, uint64_t count, Py_ssize_t p, int depth, Py_ssize_t *end)
{
    if (count > (uint64_t)(d->len - p)) {
        return dec_err(pos, "array of %llu elements runs past the end of input",
                       (unsigned long long)count);
    }
    Py_ssize_t cnt = (Py_ssize_t)count;
    PyObject *list = PyList_New(cnt);
    if (list == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < cnt; i++) {
        PyObject *v = dec_item(d, p, depth + 1, &p);
        if (v == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, v);
    }
    *end = p;
    return list;
}

static PyObject *
dec_map(const Dec *d, Py_ssize_t pos, uint64_t count, Py_ssize_t p, int depth, Py_ssize_t *end)
{
    const unsigned char *b = d->buf;
    Py_ssize_t n = d->len;
    if (count > (uint64_t)((n - p) / 2)) {
        return dec_err(pos, "map of %llu entries runs past the end of input",
                       (unsigned long long)count);
    }
#if PY_VERSION_HEX < 0x030D0000
    /* presized: no resize while filling (count is already bounded by the input size) */
    PyObject *dict = _PyDict_NewPresized((Py_ssize_t)count);
#else
    PyObject *dict = PyDict_New();
#endif
    if (dict == NULL) {
        return NULL;
    }
    const unsigned char *prev = NULL;
    Py_ssize_t prev_len = 0;
    for (uint64_t i = 0; i < count; i++) {
        int major;
        uint64_t klen;
        Py_ssize_t kp;
        if (p >= n) {
            dec_err(p, "unexpected end of input");
            goto fail;
        }
        if ((b[p] >> 5) != 3) {
            dec_err(p, "map key is not a text string");
            goto fail;
        }
        if (read_head(d, p, &major, &klen, &kp) < 0) {
            goto fail;
        }
        if (klen > d->max_key_len) {
            dec_err(p, "map key of %llu bytes exceeds the %llu limit", (unsigned long long)klen,
                    (unsigned long long)d->max_key_len);
            goto fail;
        }
        if (klen > (uint64_t)(n - kp)) {
            dec_err(p, "text string of %llu bytes runs past the end of input",
                    (unsigned long long)klen);
            goto fail;
        }
        Py_ssize_t kl = (Py_ssize_t)klen;
        const unsigned char *kraw = b + kp;
        if (i) {
            int cmp;
            if (kl != prev_len) {
                cmp = kl < prev_len ? -1 : 1;
            } else {
                cmp = memcmp(kraw, prev, (size_t)kl);
            }
            if (cmp <= 0) {
                dec_err(p, cmp == 0 ? "duplicate map key" : "map keys are not in canonical order");
                goto fail;
            }
        }
        PyObject *key = decode_text(kraw, kl, kp, "invalid UTF-8 in map key");
        if (key == NULL) {
            goto fail;
        }
        prev = kraw;
        prev_len = kl;
        PyObject *val = dec_item(d, kp + kl, depth + 1, &p);
        if (val == NULL) {
            Py_DECREF(key);
            goto fail;
        }
        int rc = PyDict_SetItem(dict, key, val);
        Py_DECREF(key);
        Py_DECREF(val);
        if (rc < 0) {
            goto fail;
        }
    }
    *end = p;
    return dict;
fail:
    Py_DECREF(dict);
    return NULL;
}

static PyObject *
dec_item(const Dec *d, Py_ssize_t pos, int depth, Py_ssize_t *end)
{
    const unsigned char *b = d->buf;
    Py_ssize_t n = d->len;
    if (pos >= n) {
        return dec_err(pos, "unexpected end of input");
    }
    unsigned char ib = b[pos];
    int major = ib >> 5;
    if (major == 7) {
        switch (ib) {
        case 0xF4:
            *end = pos + 1;
            Py_RETURN_FALSE;
        case 0xF5:
            *end = pos + 1;
            Py_RETURN_TRUE;
        case 0xF6:
            *end = pos + 1;
            Py_RETURN_NONE;
        default:
            break;
        }
        int ai = ib & 0x1F;
        const char *what = "simple value";
        switch (ai) {
        case 31:
            return dec_err(pos, "unexpected CBOR break code (0xff)");
        case 23:
            what = "undefined";
            break;
        case 25:
            what = "half-precision float";
            break;
        case 26:
            what = "float";
            break;
        case 27:
            what = "double float";
            break;
        default:
            break;
        }
        return dec_err(pos, "%s is not allowed in the data model", what);
    }
    if (major == 6) {
        return dec_tag(d, pos, end);
    }
    uint64_t arg;
    Py_ssize_t p;
    if (read_head(d, pos, &major, &arg, &p) < 0) {
        return NULL;
    }
    switch (major) {
    case 0:
        if (arg > INT64_MAX_U) {
            return dec_err(pos, "integer above the int64 range");
        }
        *end = p;
        return PyLong_FromLongLong((long long)arg);
    case 1:
        if (arg > INT64_MAX_U) {
            return dec_err(pos, "integer below the int64 range");
        }
        *end = p;
        return PyLong_FromLongLong(-1 - (long long)arg);
    case 2:
        if (arg > (uint64_t)(n - p)) {
            return dec_err(pos, "byte string of %llu bytes runs past the end of input",
                           (unsigned long long)arg);
        }
        *end = p + (Py_ssize_t)arg;
        return PyBytes_FromStringAndSize((const char *)b + p, (Py_ssize_t)arg);
    case 3: {
        if (arg > (uint64_t)(n - p)) {
            return dec_err(pos, "text string of %llu bytes runs past the end of input",
                           (unsigned long long)arg);
        }
        PyObject *s = decode_text(b + p, (Py_ssize_t)arg, p, "invalid UTF-8 in text string");
        if (s != NULL) {
            *end = p + (Py_ssize_t)arg;
        }
        return s;
    }
    default:
        break;
    }
    /* arrays and maps */
    if (depth >= d->max_depth) {
        return dec_err(pos, "nesting deeper than %d levels", d->max_depth);
    }
    if (arg > d->max_container_len) {
        return dec_err(pos, "container of %llu entries exceeds the %llu limit",
                       (unsigned long long)arg, (unsigned long long)d->max_container_len);
    }
    if (major == 4) {
        return dec_array(d, pos, arg, p, depth, end);
    }
    return dec_map(d, pos, arg, p, depth, end);
}

/* ------------------------------------------------------------------------------------ */
/* Argument parsing shared by decode/decode_prefix/encode */

typedef struct {
    long long max_depth;
    long long max_container_len;
    long long max_key_len;
    int require_blessed;
} Limits;

static int
limit_value(PyObject *v, const char *name, long long *out)
{
    if (!PyLong_CheckExact(v)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %s", name, Py_TYPE(v)->tp_name);
        return -1;
    }
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (x == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow < 0 || (overflow == 0 && x < 0)) {
        PyErr_Format(PyExc_ValueError, "%s must be >= 0", name);
        return -1;
    }
    *out = overflow > 0 ? LLONG_MAX : x;
    return 0;
}

/* kw: the keyword arguments' values by index (NULL = not given), in the order
 * max_depth, max_container_len, max_key_len, require_blessed_cids. */
static int
check_limits(PyObject *const kw[4], Limits *lim)
{
    lim->max_depth = DEFAULT_MAX_DEPTH;
    lim->max_container_len = DEFAULT_MAX_CONTAINER_LEN;
    lim->max_key_len = DEFAULT_MAX_KEY_LEN;
    lim->require_blessed = 0;
    if (kw[0] != NULL && limit_value(kw[0], "max_depth", &lim->max_depth) < 0) {
        return -1;
    }
    if (kw[1] != NULL && limit_value(kw[1], "max_container_len", &lim->max_container_len) < 0) {
        return -1;
    }
    if (kw[2] != NULL && limit_value(kw[2], "max_key_len", &lim->max_key_len) < 0) {
        return -1;
    }
    if (lim->max_depth > HARD_MAX_DEPTH) {
        PyErr_Format(PyExc_ValueError, "max_depth must be <= %d", HARD_MAX_DEPTH);
        return -1;
    }
    if (lim->max_container_len > LIMIT_CEILING || lim->max_key_len > LIMIT_CEILING) {
        PyErr_SetString(PyExc_ValueError, "container and key limits must be <= 2**32");
        return -1;
    }
    if (kw[3] != NULL) {
        int t = PyObject_IsTrue(kw[3]);
        if (t < 0) {
            return -1;
        }
        lim->require_blessed = t;
    }
    return 0;
}

static const char *const KW_NAMES[5] = {"max_depth", "max_container_len", "max_key_len",
                                        "require_blessed_cids", "offset"};

/* Sort keyword arguments into kw[0..4] (the 5th is "offset", only if allow_offset).
 * n_kw_allowed: 3 for encode (no require_blessed_cids), 4 for decode. */
static int
parse_kwargs(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
             int n_kw_allowed, int allow_offset, PyObject *kw[5])
{
    for (int i = 0; i < 5; i++) {
        kw[i] = NULL;
    }
    if (kwnames == NULL) {
        return 0;
    }
    Py_ssize_t nk = PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < nk; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);
        int idx = -1;
        for (int j = 0; j < 5; j++) {
            if (j >= n_kw_allowed && j < 4) {
                continue;
            }
            if (j == 4 && !allow_offset) {
                continue;
            }
            if (PyUnicode_CompareWithASCIIString(name, KW_NAMES[j]) == 0) {
                idx = j;
                break;
            }
        }
        if (idx < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fname,
                         name);
            return -1;
        }
        if (kw[idx] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fname,
                         KW_NAMES[idx]);
            return -1;
        }
        kw[idx] = args[nargs + i];
    }
    return 0;
}

/* Get a contiguous bytes object for the input (a new reference), like bytes(data). */
static PyObject *
input_bytes(PyObject *data)
{
    if (PyBytes_CheckExact(data)) {
        Py_INCREF(data);
        return data;
    }
    if (PyBytes_Check(data) || PyByteArray_Check(data) || PyMemoryView_Check(data)) {
        return PyBytes_FromObject(data);
    }
    PyErr_Format(PyExc_TypeError, "can only decode bytes-like input, not %s",
                 Py_TYPE(data)->tp_name);
    return NULL;
}

static PyObject *
run_decode(PyObject *bytes, Py_ssize_t offset, const Limits *lim, Py_ssize_t *end)
{
    Dec d;
    d.buf = (const unsigned char *)PyBytes_AS_STRING(bytes);
    d.len = PyBytes_GET_SIZE(bytes);
    d.max_depth = (int)lim->max_depth;
    d.max_container_len = (uint64_t)lim->max_container_len;
    d.max_key_len = (uint64_t)lim->max_key_len;
    d.require_blessed = lim->require_blessed;
    if (offset >= d.len) {
        return dec_err(offset, "empty input: expected a CBOR item");
    }
    return dec_item(&d, offset, 0, end);
}

static PyObject *
cbor_decode(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *kw[5];
    Limits lim;
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "decode() takes exactly 1 positional argument (%zd given)",
                     nargs);
        return NULL;
    }
    if (parse_kwargs("decode", args, nargs, kwnames, 4, 0, kw) < 0) {
        return NULL;
    }
    if (ensure_init() < 0) {
        return NULL;
    }
    PyObject *bytes = input_bytes(args[0]);
    if (bytes == NULL) {
        return NULL;
    }
    if (check_limits(kw, &lim) < 0) {
        Py_DECREF(bytes);
        return NULL;
    }
    Py_ssize_t end = 0;
    PyObject *value = run_decode(bytes, 0, &lim, &end);
    if (value != NULL && end != PyBytes_GET_SIZE(bytes)) {
        Py_CLEAR(value);
        dec_err(end, "%zd trailing bytes after the CBOR item", PyBytes_GET_SIZE(bytes) - end);
    }
    Py_DECREF(bytes);
    return value;
}

static PyObject *
cbor_decode_prefix(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *kw[5];
    Limits lim;
    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError,
                     "decode_prefix() takes 1 or 2 positional arguments (%zd given)", nargs);
        return NULL;
    }
    if (parse_kwargs("decode_prefix", args, nargs, kwnames, 4, 1, kw) < 0) {
        return NULL;
    }
    PyObject *offset_obj = NULL;
    if (nargs == 2) {
        if (kw[4] != NULL) {
            PyErr_SetString(PyExc_TypeError,
                            "decode_prefix() got multiple values for argument 'offset'");
            return NULL;
        }
        offset_obj = args[1];
    } else {
        offset_obj = kw[4];
    }
    if (ensure_init() < 0) {
        return NULL;
    }
    PyObject *bytes = input_bytes(args[0]);
    if (bytes == NULL) {
        return NULL;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(bytes);
    Py_ssize_t offset = 0;
    if (offset_obj != NULL) {
        if (!PyLong_CheckExact(offset_obj)) {
            PyErr_Format(PyExc_TypeError, "offset must be an int, not %s",
                         Py_TYPE(offset_obj)->tp_name);
            Py_DECREF(bytes);
            return NULL;
        }
        int overflow = 0;
        long long off = PyLong_AsLongLongAndOverflow(offset_obj, &overflow);
        if (off == -1 && PyErr_Occurred()) {
            Py_DECREF(bytes);
            return NULL;
        }
        if (overflow || off < 0 || off > (long long)n) {
            PyErr_Format(PyExc_ValueError, "offset %S is outside the input (length %zd)",
                         offset_obj, n);
            Py_DECREF(bytes);
            return NULL;
        }
        offset = (Py_ssize_t)off;
    }
    if (check_limits(kw, &lim) < 0) {
        Py_DECREF(bytes);
        return NULL;
    }
    Py_ssize_t end = 0;
    PyObject *value = run_decode(bytes, offset, &lim, &end);
    Py_DECREF(bytes);
    if (value == NULL) {
        return NULL;
    }
    PyObject *end_obj = PyLong_FromSsize_t(end);
    if (end_obj == NULL) {
        Py_DECREF(value);
        return NULL;
    }
    PyObject *result = PyTuple_New(2);
    if (result == NULL) {
        Py_DECREF(value);
        Py_DECREF(end_obj);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, value);
    PyTuple_SET_ITEM(result, 1, end_obj);
    return result;
}

/* ------------------------------------------------------------------------------------ */
/* Encoding */

typedef struct {
    unsigned char *buf;
    Py_ssize_t len;
    Py_ssize_t cap;
    int max_depth;
    long long max_container_len;
    long long max_key_len;
    unsigned char small[1024];
} Enc;

static int
enc_grow(Enc *e, Py_ssize_t need)
{
    if (need > PY_SSIZE_T_MAX - e->len) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t want = e->len + need;
    Py_ssize_t cap = e->cap;
    while (cap < want) {
        if (cap > PY_SSIZE_T_MAX / 2) {
            cap = want;
            break;
        }
        cap *= 2;
    }
    unsigned char *nb;
    if (e->buf == e->small) {
        nb = PyMem_Malloc((size_t)cap);
        if (nb != NULL) {
            memcpy(nb, e->buf, (size_t)e->len);
        }
    } else {
        nb = PyMem_Realloc(e->buf, (size_t)cap);
    }
    if (nb == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    e->buf = nb;
    e->cap = cap;
    return 0;
}

static inline int
enc_reserve(Enc *e, Py_ssize_t n)
{
    if (e->cap - e->len >= n) {
        return 0;
    }
    return enc_grow(e, n);
}

static inline int
enc_head(Enc *e, int major, uint64_t arg)
{
    if (enc_reserve(e, 9) < 0) {
        return -1;
    }
    unsigned char *o = e->buf + e->len;
    unsigned char m = (unsigned char)(major << 5);
    if (arg < 24) {
        o[0] = m | (unsigned char)arg;
        e->len += 1;
    } else if (arg < 0x100) {
        o[0] = m | 24;
        o[1] = (unsigned char)arg;
        e->len += 2;
    } else if (arg < 0x10000) {
        o[0] = m | 25;
        o[1] = (unsigned char)(arg >> 8);
        o[2] = (unsigned char)arg;
        e->len += 3;
    } else if (arg < 0x100000000ULL) {
        o[0] = m | 26;
        for (int i = 0; i < 4; i++) {
            o[1 + i] = (unsigned char)(arg >> (24 - 8 * i));
        }
        e->len += 5;
    } else {
        o[0] = m | 27;
        for (int i = 0; i < 8; i++) {
            o[1 + i] = (unsigned char)(arg >> (56 - 8 * i));
        }
        e->len += 9;
    }
    return 0;
}

static inline int
enc_raw(Enc *e, const void *p, Py_ssize_t n)
{
    if (enc_reserve(e, n) < 0) {
        return -1;
    }
    memcpy(e->buf + e->len, p, (size_t)n);
    e->len += n;
    return 0;
}

static int enc_value(Enc *e, PyObject *v, int depth);

static int
enc_str(Enc *e, PyObject *v)
{
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(v, &n);
    if (s == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            PyErr_Clear();
            return enc_err("string is not valid Unicode (lone surrogate)");
        }
        return -1;
    }
    if (enc_head(e, 3, (uint64_t)n) < 0) {
        return -1;
    }
    return enc_raw(e, s, n);
}

static int
enc_int(Enc *e, PyObject *v)
{
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (x == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow != 0) {
        /* int's own repr, not a subclass's override (cbor_pure uses int.__int__) */
        PyObject *r = PyLong_Type.tp_repr(v);
        if (r == NULL) {
            return -1;
        }
        PyObject *msg = PyUnicode_FromFormat("integer %U is %s the int64 range", r,
                                             overflow > 0 ? "above" : "below");
        Py_DECREF(r);
        return enc_err_obj(msg);
    }
    if (x >= 0) {
        return enc_head(e, 0, (uint64_t)x);
    }
    return enc_head(e, 1, (uint64_t)(-1 - x));
}

static int
enc_bytes(Enc *e, const char *p, Py_ssize_t n)
{
    if (enc_head(e, 2, (uint64_t)n) < 0) {
        return -1;
    }
    return enc_raw(e, p, n);
}

static int
enc_cid(Enc *e, PyObject *v)
{
    PyObject *b = Py_TYPE(g_descr_bytes)->tp_descr_get(g_descr_bytes, v, g_cid_type);
    if (b == NULL) {
        return -1;
    }
    if (!PyBytes_Check(b)) {
        Py_DECREF(b);
        PyErr_SetString(PyExc_TypeError, "CID._bytes is not bytes");
        return -1;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(b);
    int rc = -1;
    if (n == 0 || PyBytes_AS_STRING(b)[0] != 1) { /* the decoder refuses CIDv0 links */
        enc_err("CIDv0 links cannot be written (atproto uses CIDv1)");
        goto done;
    }
    if (enc_raw(e, "\xd8\x2a", 2) < 0 || enc_head(e, 2, (uint64_t)n + 1) < 0 ||
        enc_raw(e, "\x00", 1) < 0 || enc_raw(e, PyBytes_AS_STRING(b), n) < 0) {
        goto done;
    }
    rc = 0;
done:
    Py_DECREF(b);
    return rc;
}

static int
enc_array(Enc *e, PyObject *v, int depth)
{
    /* v is a list or tuple (or subclass); read through the concrete C API */
    int is_list = PyList_Check(v);
    Py_ssize_t n = is_list ? PyList_GET_SIZE(v) : PyTuple_GET_SIZE(v);
    if (depth >= e->max_depth) {
        return enc_err("nesting deeper than %d levels (or a cycle)", e->max_depth);
    }
    if ((long long)n > e->max_container_len) {
        return enc_err("array of %zd elements exceeds the %lld limit", n, e->max_container_len);
    }
    if (enc_head(e, 4, (uint64_t)n) < 0) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        /* re-read the size: a list cannot change under us (no Python code runs), but
         * be defensive rather than index out of range */
        if (is_list && i >= PyList_GET_SIZE(v)) {
            PyErr_SetString(PyExc_RuntimeError, "list changed size during encoding");
            return -1;
        }
        PyObject *x = is_list ? PyList_GET_ITEM(v, i) : PyTuple_GET_ITEM(v, i);
        Py_INCREF(x);
        int rc = enc_value(e, x, depth + 1);
        Py_DECREF(x);
        if (rc < 0) {
            prefix_path(PyLong_FromSsize_t(i));
            return -1;
        }
    }
    return 0;
}

typedef struct {
    const char *k;
    Py_ssize_t klen;
    PyObject *key; /* owned reference */
    PyObject *val; /* owned reference */
} Entry;

static inline int
entry_less(const Entry *a, const Entry *b)
{
    if (a->klen != b->klen) {
        return a->klen < b->klen;
    }
    return memcmp(a->k, b->k, (size_t)a->klen) < 0;
}

static int
entry_cmp(const void *pa, const void *pb)
{
    const Entry *a = pa, *b = pb;
    if (a->klen != b->klen) {
        return a->klen < b->klen ? -1 : 1;
    }
    return memcmp(a->k, b->k, (size_t)a->klen);
}

static int
enc_map(Enc *e, PyObject *v, int depth)
{
    Py_ssize_t n = PyDict_GET_SIZE(v);
    if (depth >= e->max_depth) {
        return enc_err("nesting deeper than %d levels (or a cycle)", e->max_depth);
    }
    if ((long long)n > e->max_container_len) {
        return enc_err("map of %zd entries exceeds the %lld limit", n, e->max_container_len);
    }
    Entry small[16];
    Entry *ents = small;
    if (n > 16) {
        ents = PyMem_Malloc(sizeof(Entry) * (size_t)n);
        if (ents == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    Py_ssize_t count = 0, pos = 0;
    PyObject *k, *x;
    int rc = -1;
    while (count < n && PyDict_Next(v, &pos, &k, &x)) {
        if (!PyUnicode_Check(k)) {
            PyObject *qual = PyObject_GetAttrString((PyObject *)Py_TYPE(k), "__qualname__");
            if (qual != NULL) {
                enc_err_obj(PyUnicode_FromFormat("map key %R is a %S, not a str", k, qual));
                Py_DECREF(qual);
            }
            goto done;
        }
        Py_ssize_t kl;
        const char *ks = PyUnicode_AsUTF8AndSize(k, &kl);
        if (ks == NULL) {
            if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
                PyErr_Clear();
                enc_err("map key is not valid Unicode (lone surrogate)");
            }
            goto done;
        }
        if ((long long)kl > e->max_key_len) {
            enc_err("map key of %zd bytes exceeds the %lld limit", kl, e->max_key_len);
            goto done;
        }
        Py_INCREF(k);
        Py_INCREF(x);
        ents[count].k = ks;
        ents[count].klen = kl;
        ents[count].key = k;
        ents[count].val = x;
        count++;
    }
    if (count != n) {
        PyErr_SetString(PyExc_RuntimeError, "dict changed size during encoding");
        goto done;
    }
    if (count <= 16) { /* insertion sort: fast for small and for already-sorted maps */
        for (Py_ssize_t i = 1; i < count; i++) {
            Entry t = ents[i];
            Py_ssize_t j = i;
            while (j > 0 && entry_less(&t, &ents[j - 1])) {
                ents[j] = ents[j - 1];
                j--;
            }
            ents[j] = t;
        }
    } else {
        qsort(ents, (size_t)count, sizeof(Entry), entry_cmp);
    }
    if (enc_head(e, 5, (uint64_t)count) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        Entry *en = &ents[i];
        if (i && entry_cmp(en, &ents[i - 1]) == 0) {
            PyObject *ks = PyUnicode_DecodeUTF8(en->k, en->klen, "strict");
            if (ks != NULL) {
                enc_err_obj(PyUnicode_FromFormat("duplicate map key %R", ks));
                Py_DECREF(ks);
            }
            goto done;
        }
        if (enc_head(e, 3, (uint64_t)en->klen) < 0 || enc_raw(e, en->k, en->klen) < 0) {
            goto done;
        }
        if (enc_value(e, en->val, depth + 1) < 0) {
            prefix_path(PyUnicode_DecodeUTF8(en->k, en->klen, "strict"));
            goto done;
        }
    }
    rc = 0;
done:
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_DECREF(ents[i].key);
        Py_DECREF(ents[i].val);
    }
    if (ents != small) {
        PyMem_Free(ents);
    }
    return rc;
}

static int
enc_type_error(PyObject *v)
{
    PyObject *t = (PyObject *)Py_TYPE(v);
    PyObject *mod = PyObject_GetAttrString(t, "__module__");
    if (mod == NULL) {
        return -1;
    }
    PyObject *qual = PyObject_GetAttrString(t, "__qualname__");
    if (qual == NULL) {
        Py_DECREF(mod);
        return -1;
    }
    int rc = enc_err_obj(PyUnicode_FromFormat("cannot encode a value of type %S.%S", mod, qual));
    Py_DECREF(mod);
    Py_DECREF(qual);
    return rc;
}

static int
enc_value(Enc *e, PyObject *v, int depth)
{
    PyTypeObject *t = Py_TYPE(v);
    if (t == &PyUnicode_Type) {
        return enc_str(e, v);
    }
    if (t == &PyLong_Type) {
        return enc_int(e, v);
    }
    if (t == &PyDict_Type) {
        return enc_map(e, v, depth);
    }
    if (t == &PyList_Type || t == &PyTuple_Type) {
        return enc_array(e, v, depth);
    }
    if (v == Py_None || v == Py_True || v == Py_False) {
        if (enc_reserve(e, 1) < 0) {
            return -1;
        }
        e->buf[e->len++] = v == Py_None ? 0xF6 : (v == Py_True ? 0xF5 : 0xF4);
        return 0;
    }
    if ((PyObject *)t == g_cid_type) {
        return enc_cid(e, v);
    }
    if (t == &PyBytes_Type) {
        return enc_bytes(e, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v));
    }
    if (t == &PyByteArray_Type) {
        return enc_bytes(e, PyByteArray_AS_STRING(v), PyByteArray_GET_SIZE(v));
    }
    /* subclasses, after the exact types (bool cannot be subclassed) */
    if (PyUnicode_Check(v)) {
        return enc_str(e, v);
    }
    if (PyLong_Check(v)) {
        return enc_int(e, v);
    }
    if (PyBytes_Check(v)) {
        return enc_bytes(e, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v));
    }
    if (PyDict_Check(v)) {
        return enc_map(e, v, depth);
    }
    if (PyList_Check(v) || PyTuple_Check(v)) {
        return enc_array(e, v, depth);
    }
    if (PyFloat_Check(v)) {
        return enc_err_obj(PyUnicode_FromFormat(
            "float %R is not allowed in the data model (use int for integral values)", v));
    }
    return enc_type_error(v);
}

static PyObject *
cbor_encode(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *kw[5];
    Limits lim;
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "encode() takes exactly 1 positional argument (%zd given)",
                     nargs);
        return NULL;
    }
    if (parse_kwargs("encode", args, nargs, kwnames, 3, 0, kw) < 0) {
        return NULL;
    }
    if (ensure_init() < 0) {
        return NULL;
    }
    if (check_limits(kw, &lim) < 0) {
        return NULL;
    }
    Enc e;
    e.buf = e.small;
    e.len = 0;
    e.cap = (Py_ssize_t)sizeof e.small;
    e.max_depth = (int)lim.max_depth;
    e.max_container_len = lim.max_container_len;
    e.max_key_len = lim.max_key_len;
    PyObject *result = NULL;
    if (enc_value(&e, args[0], 0) == 0) {
        result = PyBytes_FromStringAndSize((const char *)e.buf, e.len);
    }
    if (e.buf != e.small) {
        PyMem_Free(e.buf);
    }
    return result;
}

/* ------------------------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4), for block CIDs and MST key layers.
 *
 * hashlib costs ~0.3 us per call before hashing a byte (object creation, the digest
 * bytes, the method calls); a relay hashes every block of every slice and every key of
 * every MST node it checks, most of them a few dozen bytes. Two implementations of the
 * compression function: a portable one, and one with the x86 SHA extensions (SHA-NI),
 * chosen once at import by CPUID. tests/data/test_cbor_sha256.py checks both against
 * hashlib on many lengths and contents (sha256_digest(data, portable=True) forces the
 * portable one). */

static const uint32_t SHA256_K[64] = {
    0x428a2f98U, 0x71374491U, 0xb5c0fbcfU, 0xe9b5dba5U, 0x3956c25bU, 0x59f111f1U, 0x923f82a4U,
    0xab1c5ed5U, 0xd807aa98U, 0x12835b01U, 0x243185beU, 0x550c7dc3U, 0x72be5d74U, 0x80deb1feU,
    0x9bdc06a7U, 0xc19bf174U, 0xe49b69c1U, 0xefbe4786U, 0x0fc19dc6U, 0x240ca1ccU, 0x2de92c6fU,
    0x4a7484aaU, 0x5cb0a9dcU, 0x76f988daU, 0x983e5152U, 0xa831c66dU, 0xb00327c8U, 0xbf597fc7U,
    0xc6e00bf3U, 0xd5a79147U, 0x06ca6351U, 0x14292967U, 0x27b70a85U, 0x2e1b2138U, 0x4d2c6dfcU,
    0x53380d13U, 0x650a7354U, 0x766a0abbU, 0x81c2c92eU, 0x92722c85U, 0xa2bfe8a1U, 0xa81a664bU,
    0xc24b8b70U, 0xc76c51a3U, 0xd192e819U, 0xd6990624U, 0xf40e3585U, 0x106aa070U, 0x19a4c116U,
    0x1e376c08U, 0x2748774cU, 0x34b0bcb5U, 0x391c0cb3U, 0x4ed8aa4aU, 0x5b9cca4fU, 0x682e6ff3U,
    0x748f82eeU, 0x78a5636fU, 0x84c87814U, 0x8cc70208U, 0x90befffaU, 0xa4506cebU, 0xbef9a3f7U,
    0xc67178f2U,
};

static const uint32_t SHA256_H0[8] = {
    0x6a09e667U, 0xbb67ae85U, 0x3c6ef372U, 0xa54ff53aU,
    0x510e527fU, 0x9b05688cU, 0x1f83d9abU, 0x5be0cd19U,
};

typedef void (*sha256_blocks_fn)(uint32_t state[8], const unsigned char *data, size_t nblocks);

#define ROTR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
sha256_blocks_portable(uint32_t state[8], const unsigned char *data, size_t nblocks)
{
    uint32_t w[64];
    while (nblocks--) {
        for (int i = 0; i < 16; i++) {
            const unsigned char *q = data + 4 * i;
            w[i] = ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) |
                   (uint32_t)q[3];
        }
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ROTR32(w[i - 15], 7) ^ ROTR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ROTR32(w[i - 2], 17) ^ ROTR32(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = h + (ROTR32(e, 6) ^ ROTR32(e, 11) ^ ROTR32(e, 25)) +
                          ((e & f) ^ (~e & g)) + SHA256_K[i] + w[i];
            uint32_t t2 = (ROTR32(a, 2) ^ ROTR32(a, 13) ^ ROTR32(a, 22)) +
                          ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;
        data += 64;
    }
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define LEXFORGE_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>

/* Four rounds per step: state kept as ABEF/CDGH, message words in four rolling registers
 * (w0 oldest), scheduled with sha256msg1/msg2 from the fifth group on. */
__attribute__((target("sha,sse4.1,ssse3"))) static void
sha256_blocks_shani(uint32_t state[8], const unsigned char *data, size_t nblocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)(const void *)&state[0]);
    __m128i st1 = _mm_loadu_si128((const __m128i *)(const void *)&state[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);      /* CDAB */
    st1 = _mm_shuffle_epi32(st1, 0x1B);      /* EFGH */
    __m128i st0 = _mm_alignr_epi8(tmp, st1, 8); /* ABEF */
    st1 = _mm_blend_epi16(st1, tmp, 0xF0);   /* CDGH */
    while (nblocks--) {
        __m128i save0 = st0, save1 = st1;
        __m128i w[4];
        for (int g = 0; g < 16; g++) {
            __m128i m;
            if (g < 4) {
                m = _mm_shuffle_epi8(
                    _mm_loadu_si128((const __m128i *)(const void *)(data + 16 * g)), bswap);
            } else {
                /* W[t..t+3] from W[t-16..t-1]: w[g%4] holds the group four steps back */
                __m128i older = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
                older = _mm_add_epi32(older, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
                m = _mm_sha256msg2_epu32(older, w[(g + 3) & 3]);
            }
            w[g & 3] = m;
            __m128i k = _mm_add_epi32(
                m, _mm_loadu_si128((const __m128i *)(const void *)&SHA256_K[4 * g]));
            st1 = _mm_sha256rnds2_epu32(st1, st0, k);
            k = _mm_shuffle_epi32(k, 0x0E);
            st0 = _mm_sha256rnds2_epu32(st0, st1, k);
        }
        st0 = _mm_add_epi32(st0, save0);
        st1 = _mm_add_epi32(st1, save1);
        data += 64;
    }
    tmp = _mm_shuffle_epi32(st0, 0x1B);      /* FEBA */
    st1 = _mm_shuffle_epi32(st1, 0xB1);      /* DCHG */
    st0 = _mm_blend_epi16(tmp, st1, 0xF0);   /* DCBA */
    st1 = _mm_alignr_epi8(st1, tmp, 8);      /* HGFE */
    _mm_storeu_si128((__m128i *)(void *)&state[0], st0);
    _mm_storeu_si128((__m128i *)(void *)&state[4], st1);
}

static int
cpu_has_shani(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        return 0;
    }
    if (!(c & (1u << 19)) || !(c & (1u << 9))) { /* SSE4.1, SSSE3 */
        return 0;
    }
    if (__get_cpuid_max(0, NULL) < 7) {
        return 0;
    }
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 29)) != 0; /* SHA */
}
#endif

static sha256_blocks_fn g_sha256_blocks = sha256_blocks_portable;

static void
sha256_with(sha256_blocks_fn blocks, const unsigned char *data, size_t len, unsigned char out[32])
{
    uint32_t st[8];
    memcpy(st, SHA256_H0, sizeof st);
    size_t full = len / 64;
    if (full) {
        blocks(st, data, full);
    }
    size_t rest = len - full * 64;
    unsigned char tail[128];
    memset(tail, 0, sizeof tail);
    if (rest) {
        memcpy(tail, data + full * 64, rest);
    }
    tail[rest] = 0x80;
    size_t tail_len = rest < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) {
        tail[tail_len - 1 - i] = (unsigned char)(bits >> (8 * i));
    }
    blocks(st, tail, tail_len / 64);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(st[i] >> 24);
        out[4 * i + 1] = (unsigned char)(st[i] >> 16);
        out[4 * i + 2] = (unsigned char)(st[i] >> 8);
        out[4 * i + 3] = (unsigned char)st[i];
    }
}

static inline void
sha256(const unsigned char *data, size_t len, unsigned char out[32])
{
    sha256_with(g_sha256_blocks, data, len, out);
}

/* Leading zero bits of a digest, halved: the MST layer (an all-zero digest gives 128). */
static inline int
digest_layer(const unsigned char d[32])
{
    int zeros = 0;
    for (int i = 0; i < 32; i++) {
        if (d[i] == 0) {
            zeros += 8;
            continue;
        }
        unsigned char x = d[i];
        while (!(x & 0x80)) {
            zeros++;
            x = (unsigned char)(x << 1);
        }
        break;
    }
    return zeros >> 1;
}

static PyObject *
py_sha256_digest(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 1) {
        PyErr_SetString(PyExc_TypeError, "sha256_digest() takes exactly 1 positional argument");
        return NULL;
    }
    int portable = 0;
    if (kwnames != NULL) {
        Py_ssize_t nk = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t i = 0; i < nk; i++) {
            PyObject *name = PyTuple_GET_ITEM(kwnames, i);
            if (PyUnicode_CompareWithASCIIString(name, "portable") != 0) {
                PyErr_Format(PyExc_TypeError,
                             "sha256_digest() got an unexpected keyword argument '%U'", name);
                return NULL;
            }
            int t = PyObject_IsTrue(args[nargs + i]);
            if (t < 0) {
                return NULL;
            }
            portable = t;
        }
    }
    if (!PyBytes_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "sha256_digest() argument must be bytes, not %s",
                     Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    unsigned char out[32];
    sha256_with(portable ? sha256_blocks_portable : g_sha256_blocks,
                (const unsigned char *)PyBytes_AS_STRING(args[0]),
                (size_t)PyBytes_GET_SIZE(args[0]), out);
    return PyBytes_FromStringAndSize((const char *)out, 32);
}

static PyObject *
py_sha256_impl(PyObject *module, PyObject *unused)
{
    return PyUnicode_FromString(g_sha256_blocks == sha256_blocks_portable ? "portable" : "sha-ni");
}
/* ------------------------------------------------------------------------------------ */
/* Blessed CIDs built directly (cids.py): hash and wrap in one call, no parsing. */

static const unsigned char PREFIX_DAG_CBOR[4] = {0x01, 0x71, 0x12, 0x20};
static const unsigned char PREFIX_RAW[4] = {0x01, 0x55, 0x12, 0x20};

/* A CID whose binary form is prefix (4 bytes) + digest (32 bytes). New reference. */
static PyObject *
cid_make_blessed(const unsigned char prefix[4], const unsigned char digest[32])
{
    unsigned char binary[36];
    memcpy(binary, prefix, 4);
    memcpy(binary + 4, digest, 32);
    static const uint64_t parts_cbor[5] = {1, 0x71, 0x12, 2, 4};
    static const uint64_t parts_raw[5] = {1, 0x55, 0x12, 2, 4};
    return cid_make(binary, 36, prefix[1] == 0x71 ? parts_cbor : parts_raw);
}

static PyObject *
cid_for_data(PyObject *arg, const unsigned char prefix[4], const char *fname)
{
    if (!PyBytes_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "%s() argument must be bytes, not %s", fname,
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    if (ensure_init() < 0) {
        return NULL;
    }
    unsigned char digest[32];
    sha256((const unsigned char *)PyBytes_AS_STRING(arg), (size_t)PyBytes_GET_SIZE(arg), digest);
    return cid_make_blessed(prefix, digest);
}

static PyObject *
py_cid_for_cbor(PyObject *module, PyObject *arg)
{
    return cid_for_data(arg, PREFIX_DAG_CBOR, "cid_for_cbor");
}

static PyObject *
py_cid_for_raw(PyObject *module, PyObject *arg)
{
    return cid_for_data(arg, PREFIX_RAW, "cid_for_raw");
}

static PyObject *g_invalid_cid_error = NULL; /* errors.InvalidCidError */

/* ensure_init, and InvalidCidError fetched. */
static int
ensure_cid_errors(void)
{
    if (ensure_init() < 0) {
        return -1;
    }
    if (g_invalid_cid_error == NULL) {
        PyObject *err_mod = PyImport_ImportModule("lexforge.runtime.data.errors");
        if (err_mod == NULL) {
            return -1;
        }
        int rc = fetch_attr(err_mod, "InvalidCidError", &g_invalid_cid_error);
        Py_DECREF(err_mod);
        if (rc < 0) {
            return -1;
        }
    }
    return 0;
}

/* CID.from_bytes(binary) for exact bytes (no v0): the same checks, the same errors. */
static PyObject *
py_cid_from_bytes(PyObject *module, PyObject *arg)
{
    if (!PyBytes_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "cid_from_bytes() argument must be bytes, not %s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    if (ensure_cid_errors() < 0) {
        return NULL;
    }
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(arg);
    Py_ssize_t n = PyBytes_GET_SIZE(arg);
    uint64_t parts[5];
    char msg[200];
    if (cid_parse(d, n, parts, msg, sizeof msg) < 0) {
        PyErr_SetString(g_invalid_cid_error, msg);
        return NULL;
    }
    return cid_make(d, n, parts);
}
/* ------------------------------------------------------------------------------------ */
/* MST nodes (lexforge.runtime.repo.mst).
 *
 * mst_fill is the fast path of mst._fill: it reads a node block laid out exactly as the
 * canonical encoding of {"e": [{"k","p","t","v"}...], "l"} (every head minimal, the keys
 * in canonical order, tag-42 links), checks everything _fill checks (prefix lengths in
 * range and whole, keys strictly increasing, valid repo paths of at most 1024 bytes,
 * bounds, every key at the node's layer, links between nodes blessed dag-cbor, the caps,
 * no subtree below layer 0, no empty non-root node, no untrimmed root) and fills the node
 * and its child stubs. Whenever anything is off it changes nothing and returns False, and
 * _fill runs the reference checks, which raise the precise error: this code only has to
 * be right about what it accepts, never about why something is refused.
 * tests/repo/test_mst_c.py compares the two on valid, mutated and random nodes.
 *
 * mst_encode writes a node's canonical block from its parts (mst._encode_parts). */

enum {
    SLOT_LAYER,
    SLOT_LEFT,
    SLOT_KEYS,
    SLOT_VALS,
    SLOT_RIGHTS,
    SLOT_GEN,
    SLOT_ENTS,
    SLOT_SPLICE,
    SLOT_CID,
    SLOT_BLOCK,
    SLOT_LO,
    SLOT_HI,
    N_SLOTS
};
static const char *const NODE_SLOTS[N_SLOTS] = {
    "layer", "left", "keys", "vals", "rights", "gen", "_ents", "_splice", "_cid", "_block", "lo", "hi",
};
static PyTypeObject *g_node_type = NULL;
static Py_ssize_t g_node_off[N_SLOTS];

#define MST_MAX_KEY 1024

static PyObject *
py_mst_register(PyObject *module, PyObject *arg)
{
    if (!PyType_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "mst_register() needs the Node class");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)arg;
    Py_ssize_t off[N_SLOTS];
    for (int i = 0; i < N_SLOTS; i++) {
        /* the class's own __slots__ members, nothing inherited or overridden */
        PyObject *d = PyDict_GetItemString(type->tp_dict, NODE_SLOTS[i]);
        off[i] = d == NULL ? -1 : member_offset(d, type);
        if (off[i] < 0) {
            PyErr_Format(PyExc_TypeError, "Node.%s is not a __slots__ member", NODE_SLOTS[i]);
            return NULL;
        }
    }
    if (type->tp_alloc == NULL || type->tp_itemsize != 0) {
        PyErr_SetString(PyExc_TypeError, "Node cannot be allocated from C");
        return NULL;
    }
    memcpy(g_node_off, off, sizeof off);
    Py_INCREF(arg);
    Py_XSETREF(g_node_type, type);
    Py_RETURN_NONE;
}

static inline int
slot_set(PyObject *node, int slot, PyObject *value)
{
    set_slot_at(node, g_node_off[slot], value);
    return 0;
}

/* A stub child: known only by CID, loaded later within lo < key < hi (mst._stub). */
static PyObject *
mst_stub(PyObject *cid, PyObject *layer, PyObject *lo, PyObject *hi)
{
    PyObject *node = g_node_type->tp_alloc(g_node_type, 0);
    if (node == NULL) {
        return NULL;
    }
    PyObject *vals = PyList_New(0);
    PyObject *rights = vals == NULL ? NULL : PyList_New(0);
    PyObject *gen = PyLong_FromLong(0);
    if (rights == NULL || gen == NULL || slot_set(node, SLOT_LAYER, layer) < 0 ||
        slot_set(node, SLOT_LEFT, Py_None) < 0 || slot_set(node, SLOT_KEYS, Py_None) < 0 ||
        slot_set(node, SLOT_VALS, vals) < 0 || slot_set(node, SLOT_RIGHTS, rights) < 0 ||
        slot_set(node, SLOT_GEN, gen) < 0 || slot_set(node, SLOT_ENTS, Py_None) < 0 ||
        slot_set(node, SLOT_SPLICE, Py_None) < 0 || slot_set(node, SLOT_CID, cid) < 0 ||
        slot_set(node, SLOT_BLOCK, Py_None) < 0 || slot_set(node, SLOT_LO, lo) < 0 ||
        slot_set(node, SLOT_HI, hi) < 0) {
        Py_XDECREF(vals);
        Py_XDECREF(rights);
        Py_XDECREF(gen);
        Py_DECREF(node);
        return NULL;
    }
    Py_DECREF(vals);
    Py_DECREF(rights);
    Py_DECREF(gen);
    return node;
}

/* A strict head (majors 0-6) at pos, without raising: 1 and the fields, or 0. */
static inline int
peek_head(const unsigned char *b, Py_ssize_t n, Py_ssize_t pos, int *major, uint64_t *arg,
          Py_ssize_t *next)
{
    if (pos >= n) {
        return 0;
    }
    unsigned char ib = b[pos];
    int ai = ib & 0x1F;
    uint64_t v;
    *major = ib >> 5;
    if (*major == 7) {
        return 0;
    }
    if (ai < 24) {
        *arg = (uint64_t)ai;
        *next = pos + 1;
        return 1;
    }
    if (ai == 24) {
        if (n - pos < 2 || b[pos + 1] < 24) {
            return 0;
        }
        v = b[pos + 1];
        *next = pos + 2;
    } else if (ai == 25) {
        if (n - pos < 3) {
            return 0;
        }
        v = ((uint64_t)b[pos + 1] << 8) | b[pos + 2];
        if (v < 0x100) {
            return 0;
        }
        *next = pos + 3;
    } else if (ai == 26) {
        if (n - pos < 5) {
            return 0;
        }
        v = ((uint64_t)b[pos + 1] << 24) | ((uint64_t)b[pos + 2] << 16) |
            ((uint64_t)b[pos + 3] << 8) | b[pos + 4];
        if (v < 0x10000) {
            return 0;
        }
        *next = pos + 5;
    } else if (ai == 27) {
        if (n - pos < 9) {
            return 0;
        }
        v = 0;
        for (int i = 1; i <= 8; i++) {
            v = (v << 8) | b[pos + i];
        }
        if (v < 0x100000000ULL) {
            return 0;
        }
        *next = pos + 9;
    } else {
        return 0;
    }
    *arg = v;
    return 1;
}

/* The one-letter map key `c` (text head 0x61) at *pos. */
static inline int
take_key(const unsigned char *b, Py_ssize_t n, Py_ssize_t *pos, char c)
{
    if (n - *pos < 2 || b[*pos] != 0x61 || b[*pos + 1] != (unsigned char)c) {
        return 0;
    }
    *pos += 2;
    return 1;
}

/* null, or a tag-42 link to a node (0x00 + 01 71 12 20 + 32 bytes): *off = the CID's
 * offset, or -1 for null. */
static inline int
take_node_link(const unsigned char *b, Py_ssize_t n, Py_ssize_t *pos, Py_ssize_t *off)
{
    Py_ssize_t p = *pos;
    if (p < n && b[p] == 0xF6) {
        *off = -1;
        *pos = p + 1;
        return 1;
    }
    /* d8 2a (tag 42), 58 25 (37-byte string), 00, 01 71 12 20, digest */
    if (n - p < 5 + 36 || b[p] != 0xD8 || b[p + 1] != 0x2A || b[p + 2] != 0x58 ||
        b[p + 3] != 0x25 || b[p + 4] != 0x00 || memcmp(b + p + 5, PREFIX_DAG_CBOR, 4) != 0) {
        return 0;
    }
    *off = p + 5;
    *pos = p + 5 + 36;
    return 1;
}

/* Any valid CID in tag 42 (what the decoder accepts): offset, length and parts. */
static inline int
take_any_link(const unsigned char *b, Py_ssize_t n, Py_ssize_t *pos, Py_ssize_t *off,
              Py_ssize_t *len, uint64_t parts[5])
{
    Py_ssize_t p = *pos, q;
    int major;
    uint64_t size;
    char msg[200];
    if (n - p < 2 || b[p] != 0xD8 || b[p + 1] != 0x2A) {
        return 0;
    }
    if (!peek_head(b, n, p + 2, &major, &size, &q) || major != 2) {
        return 0;
    }
    if (size < 2 || size > MAX_CID_BYTES + 1 || size > (uint64_t)(n - q) || b[q] != 0x00) {
        return 0;
    }
    if (cid_parse(b + q + 1, (Py_ssize_t)size - 1, parts, msg, sizeof msg) < 0) {
        return 0;
    }
    *off = q + 1;
    *len = (Py_ssize_t)size - 1;
    *pos = q + (Py_ssize_t)size;
    return 1;
}

static inline int
is_key_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '~' || c == ':' || c == '-';
}

/* <collection>/<rkey>: two non-empty segments of A-Za-z0-9._~:- */
static int
is_repo_path(const unsigned char *k, Py_ssize_t len)
{
    Py_ssize_t slash = -1;
    for (Py_ssize_t i = 0; i < len; i++) {
        unsigned char c = k[i];
        if (c == '/') {
            if (slash >= 0) {
                return 0;
            }
            slash = i;
        } else if (!is_key_char(c)) {
            return 0;
        }
    }
    return slash > 0 && slash < len - 1;
}

/* An ASCII str's bytes, or NULL (not an exact ASCII str). */
static inline const unsigned char *
ascii_bytes(PyObject *s, Py_ssize_t *len)
{
    if (!PyUnicode_CheckExact(s) || !PyUnicode_IS_ASCII(s)) {
        return NULL;
    }
    *len = PyUnicode_GET_LENGTH(s);
    return PyUnicode_1BYTE_DATA(s);
}

static inline int
bytes_cmp(const unsigned char *a, Py_ssize_t alen, const unsigned char *b, Py_ssize_t blen)
{
    Py_ssize_t m = alen < blen ? alen : blen;
    int c = m ? memcmp(a, b, (size_t)m) : 0;
    if (c) {
        return c;
    }
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

/* An exact int in [lo, hi], or 0 (left for the reference path). */
static inline int
small_int(PyObject *v, long lo, long hi, long *out)
{
    if (!PyLong_CheckExact(v)) {
        return 0;
    }
    int overflow = 0;
    long x = PyLong_AsLongAndOverflow(v, &overflow);
    if (x == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (overflow || x < lo || x > hi) {
        return 0;
    }
    *out = x;
    return 1;
}

typedef struct {
    Py_ssize_t t_off; /* offset of the subtree's CID, or -1 */
} MstEnt;

/* The fast path of mst._fill: 1 (node filled), 0 (node untouched: the reference checks
 * decide) or -1 (an error is set: only memory or similar). */
static int
mst_fill_core(PyObject *node, PyObject *block, PyObject *layer_arg, PyObject *lo, PyObject *hi,
              long max_entries, long max_height)
{
    long want_layer = -1;
    if (!Py_IS_TYPE(node, g_node_type) || !PyBytes_CheckExact(block) ||
        (layer_arg != Py_None && !small_int(layer_arg, 0, 1000, &want_layer))) {
        return 0;
    }
    Py_ssize_t lo_len = 0, hi_len = 0;
    const unsigned char *lo_b = NULL, *hi_b = NULL;
    if ((lo != Py_None && (lo_b = ascii_bytes(lo, &lo_len)) == NULL) ||
        (hi != Py_None && (hi_b = ascii_bytes(hi, &hi_len)) == NULL)) {
        return 0;
    }
    const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(block);
    Py_ssize_t n = PyBytes_GET_SIZE(block);
    Py_ssize_t pos = 0, next;
    int major;
    uint64_t count;
    if (n < 1 || b[0] != 0xA2) {
        return 0;
    }
    pos = 1;
    if (!take_key(b, n, &pos, 'e') || !peek_head(b, n, pos, &major, &count, &next) ||
        major != 4 || count > (uint64_t)max_entries || count > DEFAULT_MAX_CONTAINER_LEN ||
        count > (uint64_t)(n - next)) {
        return 0;
    }
    pos = next;
    Py_ssize_t cnt = (Py_ssize_t)count;
    MstEnt small_ents[64];
    MstEnt *ents = small_ents;
    PyObject *keys = NULL, *vals = NULL, *rights = NULL, *left = NULL, *layer_obj = NULL;
    int result = -1, accepted = 0;
    if (cnt > 64) {
        ents = PyMem_Malloc(sizeof(MstEnt) * (size_t)cnt);
        if (ents == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    keys = PyList_New(cnt);
    vals = keys == NULL ? NULL : PyList_New(cnt);
    if (vals == NULL) {
        goto done;
    }
    unsigned char prev[MST_MAX_KEY];
    Py_ssize_t prev_len = 0;
    int layer = -1;
    for (Py_ssize_t i = 0; i < cnt; i++) {
        uint64_t klen, p;
        Py_ssize_t koff, voff, vlen;
        uint64_t parts[5];
        if (n - pos < 1 || b[pos] != 0xA4) {
            goto reject;
        }
        pos++;
        if (!take_key(b, n, &pos, 'k') || !peek_head(b, n, pos, &major, &klen, &next) ||
            major != 2 || klen > (uint64_t)(n - next)) {
            goto reject;
        }
        koff = next;
        pos = next + (Py_ssize_t)klen;
        if (!take_key(b, n, &pos, 'p') || !peek_head(b, n, pos, &major, &p, &next) ||
            major != 0) {
            goto reject;
        }
        pos = next;
        if (!take_key(b, n, &pos, 't') || !take_node_link(b, n, &pos, &ents[i].t_off)) {
            goto reject;
        }
        if (!take_key(b, n, &pos, 'v') || !take_any_link(b, n, &pos, &voff, &vlen, parts)) {
            goto reject;
        }
        /* prefix in range, the key above the previous one with p their whole shared
         * prefix: the first suffix byte exists and exceeds prev[p] (if prev has one) */
        if (p > (uint64_t)prev_len || klen == 0 ||
            ((Py_ssize_t)p < prev_len && b[koff] <= prev[p]) ||
            klen > (uint64_t)(MST_MAX_KEY - (Py_ssize_t)p)) {
            goto reject;
        }
        memcpy(prev + p, b + koff, (size_t)klen);
        prev_len = (Py_ssize_t)p + (Py_ssize_t)klen;
        if (!is_repo_path(prev, prev_len)) {
            goto reject;
        }
        unsigned char digest[32];
        sha256(prev, (size_t)prev_len, digest);
        int kl = digest_layer(digest);
        if (i == 0) {
            layer = kl;
        } else if (kl != layer) {
            goto reject;
        }
        PyObject *key = PyUnicode_New(prev_len, 127);
        if (key == NULL) {
            goto done;
        }
        memcpy(PyUnicode_1BYTE_DATA(key), prev, (size_t)prev_len);
        PyList_SET_ITEM(keys, i, key);
        if (i == 0 && lo_b != NULL && bytes_cmp(prev, prev_len, lo_b, lo_len) <= 0) {
            goto reject;
        }
        PyObject *val = cid_make(b + voff, vlen, parts);
        if (val == NULL) {
            goto done;
        }
        PyList_SET_ITEM(vals, i, val);
    }
    if (hi_b != NULL && cnt && bytes_cmp(prev, prev_len, hi_b, hi_len) >= 0) {
        goto reject;
    }
    Py_ssize_t left_off;
    if (!take_key(b, n, &pos, 'l') || !take_node_link(b, n, &pos, &left_off) || pos != n) {
        goto reject;
    }
    if (cnt) {
        if (want_layer >= 0 && layer != want_layer) {
            goto reject;
        }
    } else if (want_layer < 0) {
        if (left_off >= 0) {
            goto reject; /* untrimmed root */
        }
        layer = 0;
    } else {
        if (left_off < 0) {
            goto reject; /* empty node below the root */
        }
        layer = (int)want_layer;
    }
    if (layer > max_height) {
        goto reject;
    }
    if (layer == 0) {
        if (left_off >= 0) {
            goto reject;
        }
        for (Py_ssize_t i = 0; i < cnt; i++) {
            if (ents[i].t_off >= 0) {
                goto reject;
            }
        }
    }
    /* accepted: build the children (stubs one layer down) and fill the node */
    layer_obj = PyLong_FromLong(layer);
    rights = layer_obj == NULL ? NULL : PyList_New(cnt);
    if (rights == NULL) {
        goto done;
    }
    left = Py_None;
    Py_INCREF(left);
    if (layer > 0) {
        PyObject *sub = PyLong_FromLong(layer - 1);
        if (sub == NULL) {
            goto done;
        }
        if (left_off >= 0) {
            PyObject *cid = cid_make_blessed(b + left_off, b + left_off + 4);
            PyObject *stub = NULL;
            if (cid != NULL) {
                stub = mst_stub(cid, sub, lo, cnt ? PyList_GET_ITEM(keys, 0) : hi);
                Py_DECREF(cid);
            }
            if (stub == NULL) {
                Py_DECREF(sub);
                goto done;
            }
            Py_SETREF(left, stub);
        }
        for (Py_ssize_t i = 0; i < cnt; i++) {
            PyObject *child = Py_None;
            if (ents[i].t_off >= 0) {
                Py_ssize_t off = ents[i].t_off;
                PyObject *cid = cid_make_blessed(b + off, b + off + 4);
                if (cid == NULL) {
                    Py_DECREF(sub);
                    goto done;
                }
                child = mst_stub(cid, sub, PyList_GET_ITEM(keys, i),
                                 i + 1 < cnt ? PyList_GET_ITEM(keys, i + 1) : hi);
                Py_DECREF(cid);
                if (child == NULL) {
                    Py_DECREF(sub);
                    goto done;
                }
            } else {
                Py_INCREF(child);
            }
            PyList_SET_ITEM(rights, i, child);
        }
        Py_DECREF(sub);
    } else {
        for (Py_ssize_t i = 0; i < cnt; i++) {
            Py_INCREF(Py_None);
            PyList_SET_ITEM(rights, i, Py_None);
        }
    }
    if (slot_set(node, SLOT_LAYER, layer_obj) < 0 || slot_set(node, SLOT_LEFT, left) < 0 ||
        slot_set(node, SLOT_VALS, vals) < 0 || slot_set(node, SLOT_RIGHTS, rights) < 0 ||
        slot_set(node, SLOT_ENTS, Py_None) < 0 || slot_set(node, SLOT_BLOCK, block) < 0 ||
        slot_set(node, SLOT_KEYS, keys) < 0) { /* keys last: marks the stub loaded */
        goto done;
    }
    accepted = 1;
reject:
    result = accepted;
done:
    Py_XDECREF(keys);
    Py_XDECREF(vals);
    Py_XDECREF(rights);
    Py_XDECREF(left);
    Py_XDECREF(layer_obj);
    if (ents != small_ents) {
        PyMem_Free(ents);
    }
    return result;
}

/* mst_fill(node, block, layer, lo, hi, max_entries, max_height) -> bool */
static PyObject *
py_mst_fill(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    long max_entries, max_height;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "mst_fill() takes 7 positional arguments");
        return NULL;
    }
    if (g_node_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "mst_register() was not called");
        return NULL;
    }
    if (ensure_init() < 0) {
        return NULL;
    }
    if (!small_int(args[5], 0, LONG_MAX, &max_entries) ||
        !small_int(args[6], 0, LONG_MAX, &max_height)) {
        Py_RETURN_FALSE;
    }
    int rc = mst_fill_core(args[0], args[1], args[2], args[3], args[4], max_entries, max_height);
    if (rc < 0) {
        return NULL;
    }
    return PyBool_FromLong(rc);
}

/* The CID under a link: None, a CID, or (for a child Node) its .cid. New reference. */
static PyObject *
link_cid(PyObject *link)
{
    if (link == Py_None || Py_IS_TYPE(link, (PyTypeObject *)g_cid_type)) {
        Py_INCREF(link);
        return link;
    }
    PyObject *cid = PyObject_GetAttrString(link, "cid");
    if (cid != NULL && !Py_IS_TYPE(cid, (PyTypeObject *)g_cid_type)) {
        Py_DECREF(cid);
        PyErr_Format(PyExc_TypeError, "MST link must be None, a CID or a node, not %s",
                     Py_TYPE(link)->tp_name);
        return NULL;
    }
    return cid;
}

/* An entry's CID field ("t" or "v"), with EncodeError paths like encode() gives. */
static int
enc_link_field(Enc *e, PyObject *cid, const char *field, Py_ssize_t i)
{
    int rc = cid == Py_None ? enc_raw(e, "\xf6", 1) : enc_cid(e, cid);
    if (rc < 0) {
        prefix_path(PyUnicode_FromString(field));
        prefix_path(PyLong_FromSsize_t(i));
        prefix_path(PyUnicode_FromString("e"));
    }
    return rc;
}

/* mst_encode(keys, vals, left, rights) -> bytes: the canonical node block, prefixes
 * node-local; links are None, CIDs or nodes (whose .cid is taken). */
static PyObject *mst_encode_lists(PyObject *keys, PyObject *vals, PyObject *left,
                                  PyObject *rights);

static PyObject *
py_mst_encode(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "mst_encode() takes 4 positional arguments");
        return NULL;
    }
    if (ensure_init() < 0) {
        return NULL;
    }
    return mst_encode_lists(args[0], args[1], args[2], args[3]);
}

static PyObject *
mst_encode_lists(PyObject *keys, PyObject *vals, PyObject *left, PyObject *rights)
{
    if (!PyList_CheckExact(keys) || !PyList_CheckExact(vals) || !PyList_CheckExact(rights)) {
        PyErr_SetString(PyExc_TypeError, "mst_encode() needs lists of keys, values and links");
        return NULL;
    }
    Py_ssize_t cnt = PyList_GET_SIZE(keys);
    if (PyList_GET_SIZE(vals) != cnt || PyList_GET_SIZE(rights) != cnt) {
        PyErr_SetString(PyExc_ValueError, "mst_encode() lists differ in length");
        return NULL;
    }
    Enc e;
    e.buf = e.small;
    e.len = 0;
    e.cap = (Py_ssize_t)sizeof e.small;
    e.max_depth = DEFAULT_MAX_DEPTH;
    e.max_container_len = DEFAULT_MAX_CONTAINER_LEN;
    e.max_key_len = DEFAULT_MAX_KEY_LEN;
    PyObject *result = NULL, *cid = NULL, *prev_key = NULL;
    const unsigned char *prev = (const unsigned char *)"";
    Py_ssize_t prev_len = 0;
    if (cnt > DEFAULT_MAX_CONTAINER_LEN) {
        enc_err("array of %zd elements exceeds the %d limit", cnt, DEFAULT_MAX_CONTAINER_LEN);
        prefix_path(PyUnicode_FromString("e"));
        goto done;
    }
    if (enc_raw(&e, "\xa2\x61" "e", 3) < 0 || enc_head(&e, 4, (uint64_t)cnt) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < cnt; i++) {
        /* the lists are only read, and no Python code runs between these reads except
         * .cid of a child node, which cannot reach these lists: recheck anyway */
        if (PyList_GET_SIZE(keys) != cnt || PyList_GET_SIZE(vals) != cnt ||
            PyList_GET_SIZE(rights) != cnt) {
            PyErr_SetString(PyExc_RuntimeError, "MST node lists changed during encoding");
            goto done;
        }
        PyObject *key = PyList_GET_ITEM(keys, i);
        if (!PyUnicode_Check(key)) {
            PyErr_Format(PyExc_TypeError, "MST key must be str, not %s", Py_TYPE(key)->tp_name);
            goto done;
        }
        if (!PyUnicode_IS_ASCII(key)) {
            PyErr_SetString(PyExc_ValueError, "MST key is not ASCII");
            goto done;
        }
        const unsigned char *k = PyUnicode_1BYTE_DATA(key);
        Py_ssize_t klen = PyUnicode_GET_LENGTH(key);
        Py_ssize_t m = klen < prev_len ? klen : prev_len, p = 0;
        while (p < m && k[p] == prev[p]) {
            p++;
        }
        if (enc_raw(&e, "\xa4\x61k", 3) < 0 || enc_head(&e, 2, (uint64_t)(klen - p)) < 0 ||
            enc_raw(&e, k + p, klen - p) < 0 || enc_raw(&e, "\x61p", 2) < 0 ||
            enc_head(&e, 0, (uint64_t)p) < 0 || enc_raw(&e, "\x61t", 2) < 0) {
            goto done;
        }
        cid = link_cid(PyList_GET_ITEM(rights, i));
        if (cid == NULL || enc_link_field(&e, cid, "t", i) < 0) {
            goto done;
        }
        Py_CLEAR(cid);
        PyObject *val = PyList_GET_ITEM(vals, i);
        if (!Py_IS_TYPE(val, (PyTypeObject *)g_cid_type)) {
            PyErr_Format(PyExc_TypeError, "MST value must be a CID, not %s",
                         Py_TYPE(val)->tp_name);
            goto done;
        }
        if (enc_raw(&e, "\x61v", 2) < 0 || enc_link_field(&e, val, "v", i) < 0) {
            goto done;
        }
        /* keep the previous key alive while its bytes are compared with the next */
        Py_INCREF(key);
        Py_XSETREF(prev_key, key);
        prev = k;
        prev_len = klen;
    }
    if (enc_raw(&e, "\x61l", 2) < 0) {
        goto done;
    }
    cid = link_cid(left);
    if (cid == NULL) {
        goto done;
    }
    if ((cid == Py_None ? enc_raw(&e, "\xf6", 1) : enc_cid(&e, cid)) < 0) {
        prefix_path(PyUnicode_FromString("l"));
        goto done;
    }
    result = PyBytes_FromStringAndSize((const char *)e.buf, e.len);
done:
    Py_XDECREF(cid);
    Py_XDECREF(prev_key);
    if (e.buf != e.small) {
        PyMem_Free(e.buf);
    }
    return result;
}

/* Blocks and CIDs of in-memory nodes (mst.Node.block / .cid): a write or an inversion
 * leaves a path of changed nodes whose blocks and CIDs are unknown; one call encodes and
 * hashes all of them, children first, caching each in its node, as the Python properties
 * do (a pending one-link _splice is applied the same way, and cleared). */

#define MST_MAX_DEPTH 300 /* nodes nest at most 129 deep (layers 0-128) */

static inline PyObject *
slot_get(PyObject *node, int slot) /* borrowed, may be NULL */
{
    return *(PyObject **)(void *)((char *)node + g_node_off[slot]);
}

static PyObject *node_cid(PyObject *node, int depth);

/* None for None, else the child node's CID (computed if needed). New reference. */
static PyObject *
child_cid(PyObject *child, int depth)
{
    if (child == Py_None) {
        Py_INCREF(Py_None);
        return Py_None;
    }
    return node_cid(child, depth + 1);
}

/* First non-overlapping occurrence of needle in hay at or after `from`, or -1. */
static Py_ssize_t
find_bytes(const char *hay, Py_ssize_t n, const char *needle, Py_ssize_t m, Py_ssize_t from)
{
    if (m == 0) {
        return -1;
    }
    for (Py_ssize_t i = from; i + m <= n; i++) {
        const char *hit = memchr(hay + i, needle[0], (size_t)(n - m - i + 1));
        if (hit == NULL) {
            return -1;
        }
        i = hit - hay;
        if (memcmp(hit, needle, (size_t)m) == 0) {
            return i;
        }
    }
    return -1;
}

/* The node's block from its pending _splice (base, old CID, new CID or node), or None when
 * it has none or the splice does not apply. Clears _splice. New reference. */
static PyObject *
node_spliced(PyObject *node, int depth)
{
    PyObject *splice = slot_get(node, SLOT_SPLICE);
    if (splice == NULL || splice == Py_None) {
        Py_INCREF(Py_None);
        return Py_None;
    }
    Py_INCREF(splice);
    set_slot_at(node, g_node_off[SLOT_SPLICE], Py_None);
    PyObject *result = NULL, *new_cid = NULL, *old_b, *new_b;
    if (!PyTuple_CheckExact(splice) || PyTuple_GET_SIZE(splice) != 3 ||
        !PyBytes_CheckExact(PyTuple_GET_ITEM(splice, 0)) ||
        !Py_IS_TYPE(PyTuple_GET_ITEM(splice, 1), (PyTypeObject *)g_cid_type)) {
        PyErr_SetString(PyExc_TypeError, "MST node _splice is not (bytes, CID, link)");
        goto done;
    }
    PyObject *base = PyTuple_GET_ITEM(splice, 0), *new = PyTuple_GET_ITEM(splice, 2);
    if (Py_IS_TYPE(new, (PyTypeObject *)g_cid_type)) {
        Py_INCREF(new);
        new_cid = new;
    } else {
        new_cid = node_cid(new, depth + 1);
        if (new_cid == NULL) {
            goto done;
        }
    }
    old_b = *(PyObject **)(void *)((char *)PyTuple_GET_ITEM(splice, 1) + g_off_bytes);
    new_b = *(PyObject **)(void *)((char *)new_cid + g_off_bytes);
    if (old_b == NULL || new_b == NULL || !PyBytes_CheckExact(old_b) || !PyBytes_CheckExact(new_b)) {
        PyErr_SetString(PyExc_TypeError, "CID._bytes is not bytes");
        goto done;
    }
    Py_ssize_t m = PyBytes_GET_SIZE(old_b), n = PyBytes_GET_SIZE(base);
    const char *hay = PyBytes_AS_STRING(base);
    Py_ssize_t at = -1;
    if (PyBytes_GET_SIZE(new_b) == m) {
        at = find_bytes(hay, n, PyBytes_AS_STRING(old_b), m, 0);
        if (at >= 0 && find_bytes(hay, n, PyBytes_AS_STRING(old_b), m, at + m) >= 0) {
            at = -1; /* occurs more than once (bytes.count != 1): encode in full */
        }
    }
    if (at < 0) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, n);
    if (result != NULL) {
        char *out = PyBytes_AS_STRING(result);
        memcpy(out, hay, (size_t)n);
        memcpy(out + at, PyBytes_AS_STRING(new_b), (size_t)m);
    }
done:
    Py_XDECREF(new_cid);
    Py_DECREF(splice);
    return result;
}

/* The node's block (cached in _block). New reference. */
static PyObject *
node_block(PyObject *node, int depth)
{
    PyObject *block = slot_get(node, SLOT_BLOCK);
    if (block != NULL && block != Py_None) {
        Py_INCREF(block);
        return block;
    }
    PyObject *keys = slot_get(node, SLOT_KEYS);
    if (keys == NULL || keys == Py_None) {
        PyErr_SetString(PyExc_RuntimeError, "a stub node has no block until it is loaded");
        return NULL;
    }
    block = node_spliced(node, depth);
    if (block == NULL) {
        return NULL;
    }
    if (block == Py_None) {
        Py_DECREF(block);
        block = NULL;
        PyObject *vals = slot_get(node, SLOT_VALS), *rights = slot_get(node, SLOT_RIGHTS);
        PyObject *left = slot_get(node, SLOT_LEFT);
        if (vals == NULL || rights == NULL || left == NULL || !PyList_CheckExact(rights)) {
            PyErr_SetString(PyExc_TypeError, "MST node fields are not set or not lists");
            return NULL;
        }
        /* hold what we read: computing a child's CID runs no Python code, but be safe */
        Py_INCREF(keys);
        Py_INCREF(vals);
        Py_INCREF(rights);
        Py_INCREF(left);
        Py_ssize_t n = PyList_GET_SIZE(rights);
        PyObject *cids = PyList_New(n);
        PyObject *left_cid = NULL;
        if (cids != NULL) {
            Py_ssize_t i = 0;
            for (; i < n && i < PyList_GET_SIZE(rights); i++) {
                PyObject *c = child_cid(PyList_GET_ITEM(rights, i), depth);
                if (c == NULL) {
                    break;
                }
                PyList_SET_ITEM(cids, i, c);
            }
            if (i == n) {
                left_cid = child_cid(left, depth);
            }
            if (left_cid != NULL) {
                block = mst_encode_lists(keys, vals, left_cid, cids);
            }
        }
        Py_XDECREF(left_cid);
        Py_XDECREF(cids);
        Py_DECREF(keys);
        Py_DECREF(vals);
        Py_DECREF(rights);
        Py_DECREF(left);
        if (block == NULL) {
            return NULL;
        }
    }
    set_slot_at(node, g_node_off[SLOT_BLOCK], block);
    return block;
}

static PyObject *
node_cid(PyObject *node, int depth)
{
    if (!Py_IS_TYPE(node, g_node_type)) {
        PyErr_Format(PyExc_TypeError, "MST link must be None or a node, not %s",
                     Py_TYPE(node)->tp_name);
        return NULL;
    }
    if (depth > MST_MAX_DEPTH) {
        PyErr_SetString(PyExc_RecursionError, "MST nodes nested too deep");
        return NULL;
    }
    PyObject *cid = slot_get(node, SLOT_CID);
    if (cid != NULL && cid != Py_None) {
        Py_INCREF(cid);
        return cid;
    }
    PyObject *block = node_block(node, depth);
    if (block == NULL) {
        return NULL;
    }
    if (!PyBytes_CheckExact(block)) {
        Py_DECREF(block);
        PyErr_SetString(PyExc_TypeError, "MST node block is not bytes");
        return NULL;
    }
    unsigned char digest[32];
    sha256((const unsigned char *)PyBytes_AS_STRING(block), (size_t)PyBytes_GET_SIZE(block),
           digest);
    Py_DECREF(block);
    cid = cid_make_blessed(PREFIX_DAG_CBOR, digest);
    if (cid == NULL) {
        return NULL;
    }
    set_slot_at(node, g_node_off[SLOT_CID], cid);
    return cid;
}

static int
node_call_ok(void)
{
    if (g_node_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "mst_register() was not called");
        return 0;
    }
    return ensure_init() == 0;
}

static PyObject *
py_mst_node_cid(PyObject *module, PyObject *node)
{
    return node_call_ok() ? node_cid(node, 0) : NULL;
}

static PyObject *
py_mst_node_block(PyObject *module, PyObject *node)
{
    if (!node_call_ok()) {
        return NULL;
    }
    if (!Py_IS_TYPE(node, g_node_type)) {
        PyErr_Format(PyExc_TypeError, "mst_node_block() needs a node, not %s",
                     Py_TYPE(node)->tp_name);
        return NULL;
    }
    return node_block(node, 0);
}

/* ------------------------------------------------------------------------------------ */
/* MST writes (mst.Tree.put / .delete): the same algorithm as Tree._put, _delete, _split,
 * _merge, _wrap and _replace_child, node for node (copy-on-write: new nodes of the
 * handle's generation, one-link splices recorded where Python records them; entry-map
 * caches are left out, the C encoder does not use them). Stubs met on the way are loaded
 * by the fast fill when the block getter is a dict's get and the block is a plain valid
 * node; otherwise through Tree._load (which names every error). tests/repo/test_mst_c.py
 * runs random writes through both and compares every answer, root and node. */

typedef struct {
    PyObject *get_block; /* borrowed */
    PyObject *dict;      /* the dict behind get_block when it is a dict's .get, else NULL */
    PyObject *load;      /* borrowed: Tree._load */
    PyObject *gen;       /* borrowed: the handle's generation */
    long max_entries;
    long max_height;
} TreeOps;

static PyCFunction g_dict_get_meth = NULL; /* dict.get's C function, to recognise {}.get */

static int
ops_load(TreeOps *t, PyObject *node)
{
    PyObject *cid = slot_get(node, SLOT_CID);
    PyObject *layer = slot_get(node, SLOT_LAYER);
    if (t->dict != NULL && t->max_entries >= 0 && cid != NULL &&
        Py_IS_TYPE(cid, (PyTypeObject *)g_cid_type) &&
        layer != NULL && PyLong_CheckExact(layer)) {
        PyObject *block = PyDict_GetItemWithError(t->dict, cid);
        if (block == NULL && PyErr_Occurred()) {
            return -1;
        }
        if (block != NULL && PyBytes_CheckExact(block)) {
            Py_INCREF(block);
            int rc = mst_fill_core(node, block, layer, slot_get(node, SLOT_LO),
                                   slot_get(node, SLOT_HI), t->max_entries, t->max_height);
            Py_DECREF(block);
            if (rc != 0) {
                return rc < 0 ? -1 : 0;
            }
        }
    }
    PyObject *r = PyObject_CallOneArg(t->load, node);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

/* The node's keys, loading a stub first. Borrowed (the node holds it). */
static PyObject *
ops_keys(TreeOps *t, PyObject *node)
{
    if (!Py_IS_TYPE(node, g_node_type)) {
        PyErr_Format(PyExc_TypeError, "MST link must be None or a node, not %s",
                     Py_TYPE(node)->tp_name);
        return NULL;
    }
    PyObject *keys = slot_get(node, SLOT_KEYS);
    if (keys == NULL || keys == Py_None) {
        if (ops_load(t, node) < 0) {
            return NULL;
        }
        keys = slot_get(node, SLOT_KEYS);
    }
    PyObject *vals = slot_get(node, SLOT_VALS), *rights = slot_get(node, SLOT_RIGHTS);
    if (keys == NULL || !PyList_CheckExact(keys) || vals == NULL || !PyList_CheckExact(vals) ||
        rights == NULL || !PyList_CheckExact(rights) || slot_get(node, SLOT_LEFT) == NULL ||
        slot_get(node, SLOT_LAYER) == NULL || slot_get(node, SLOT_BLOCK) == NULL ||
        PyList_GET_SIZE(vals) != PyList_GET_SIZE(keys) ||
        PyList_GET_SIZE(rights) != PyList_GET_SIZE(keys)) {
        PyErr_SetString(PyExc_TypeError, "MST node fields are not lists of one length");
        return NULL;
    }
    return keys;
}

static int
ops_layer(PyObject *node, long *out)
{
    PyObject *layer = slot_get(node, SLOT_LAYER);
    int overflow = 0;
    long v = layer != NULL && PyLong_CheckExact(layer) ? PyLong_AsLongAndOverflow(layer, &overflow)
                                                       : -1;
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (layer == NULL || !PyLong_CheckExact(layer) || overflow || v < -1 || v > 1000) {
        PyErr_SetString(PyExc_TypeError, "MST node layer is not a small int");
        return -1;
    }
    *out = v;
    return 0;
}

/* bisect_left over str keys. */
static int
ops_bisect(PyObject *keys, PyObject *key, Py_ssize_t *out)
{
    Py_ssize_t lo = 0, hi = PyList_GET_SIZE(keys);
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        PyObject *k = PyList_GET_ITEM(keys, mid);
        if (!PyUnicode_CheckExact(k)) {
            PyErr_SetString(PyExc_TypeError, "MST keys must be str");
            return -1;
        }
        int c = PyUnicode_Compare(k, key);
        if (c == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *out = lo;
    return 0;
}

static inline int
ops_is_key(PyObject *keys, Py_ssize_t i, PyObject *key)
{
    if (i >= PyList_GET_SIZE(keys)) {
        return 0;
    }
    PyObject *k = PyList_GET_ITEM(keys, i);
    return PyUnicode_Compare(k, key) == 0; /* both exact str (checked by ops_bisect) */
}

/* A new node of this generation. Arguments borrowed. */
static PyObject *
ops_new(TreeOps *t, PyObject *layer, PyObject *left, PyObject *keys, PyObject *vals,
        PyObject *rights)
{
    PyObject *node = g_node_type->tp_alloc(g_node_type, 0);
    if (node == NULL) {
        return NULL;
    }
    set_slot_at(node, g_node_off[SLOT_LAYER], layer);
    set_slot_at(node, g_node_off[SLOT_LEFT], left);
    set_slot_at(node, g_node_off[SLOT_KEYS], keys);
    set_slot_at(node, g_node_off[SLOT_VALS], vals);
    set_slot_at(node, g_node_off[SLOT_RIGHTS], rights);
    set_slot_at(node, g_node_off[SLOT_GEN], t->gen);
    set_slot_at(node, g_node_off[SLOT_ENTS], Py_None);
    set_slot_at(node, g_node_off[SLOT_SPLICE], Py_None);
    set_slot_at(node, g_node_off[SLOT_CID], Py_None);
    set_slot_at(node, g_node_off[SLOT_BLOCK], Py_None);
    set_slot_at(node, g_node_off[SLOT_LO], Py_None);
    set_slot_at(node, g_node_off[SLOT_HI], Py_None);
    return node;
}

/* A new entry-less node (left only) at layer. */
static PyObject *
ops_new_empty(TreeOps *t, PyObject *layer, PyObject *left)
{
    PyObject *a = PyList_New(0), *b = PyList_New(0), *c = PyList_New(0), *node = NULL;
    if (a != NULL && b != NULL && c != NULL) {
        node = ops_new(t, layer, left, a, b, c);
    }
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(c);
    return node;
}

/* None for a node without entries or left subtree (steals node; new ref). */
static PyObject *
ops_normalize(PyObject *node)
{
    if (node == NULL || node == Py_None) {
        return node;
    }
    PyObject *keys = slot_get(node, SLOT_KEYS);
    if (keys != NULL && PyList_CheckExact(keys) && PyList_GET_SIZE(keys) == 0 &&
        slot_get(node, SLOT_LEFT) == Py_None) {
        Py_DECREF(node);
        Py_INCREF(Py_None);
        return Py_None;
    }
    return node;
}

/* Borrowed: the subtree in gap i (left, or rights[i-1]); the node is loaded. */
static inline PyObject *
ops_child(PyObject *node, Py_ssize_t i)
{
    return i == 0 ? slot_get(node, SLOT_LEFT)
                  : PyList_GET_ITEM(slot_get(node, SLOT_RIGHTS), i - 1);
}

static PyObject *
ops_slice(PyObject *list, Py_ssize_t lo, Py_ssize_t hi)
{
    return PyList_GetSlice(list, lo, hi);
}

/* a + b for lists (new ref) */
static PyObject *
ops_concat(PyObject *a, PyObject *b)
{
    return PySequence_Concat(a, b);
}

/* Wrap node in entry-less nodes up to layer (steals node; new ref). */
static PyObject *
ops_wrap(TreeOps *t, PyObject *node, long layer)
{
    while (node != NULL && node != Py_None) {
        long l;
        if (ops_layer(node, &l) < 0) {
            Py_DECREF(node);
            return NULL;
        }
        if (l >= layer) {
            break;
        }
        PyObject *up = PyLong_FromLong(l + 1);
        PyObject *wrapped = up == NULL ? NULL : ops_new_empty(t, up, node);
        Py_XDECREF(up);
        Py_DECREF(node);
        node = wrapped;
    }
    return node;
}

/* Tree._replace_child: a copy of node with gap i's subtree replaced (child borrowed). */
static PyObject *
ops_replace_child(TreeOps *t, PyObject *node, Py_ssize_t i, PyObject *child)
{
    PyObject *layer = slot_get(node, SLOT_LAYER), *keys = slot_get(node, SLOT_KEYS);
    PyObject *vals = slot_get(node, SLOT_VALS), *rights = slot_get(node, SLOT_RIGHTS);
    PyObject *old, *new;
    if (i == 0) {
        old = slot_get(node, SLOT_LEFT);
        new = ops_new(t, layer, child, keys, vals, rights);
    } else {
        old = PyList_GET_ITEM(rights, i - 1);
        PyObject *copy = PyList_GetSlice(rights, 0, PyList_GET_SIZE(rights));
        if (copy == NULL) {
            return NULL;
        }
        Py_INCREF(child);
        if (PyList_SetItem(copy, i - 1, child) < 0) {
            Py_DECREF(copy);
            return NULL;
        }
        new = ops_new(t, layer, slot_get(node, SLOT_LEFT), keys, vals, copy);
        Py_DECREF(copy);
    }
    if (new == NULL) {
        return NULL;
    }
    PyObject *base = slot_get(node, SLOT_BLOCK);
    if (base != NULL && base != Py_None && old != Py_None && child != Py_None &&
        Py_IS_TYPE(old, g_node_type)) {
        PyObject *old_cid = slot_get(old, SLOT_CID);
        if (old_cid != NULL && old_cid != Py_None) {
            PyObject *splice = PyTuple_Pack(3, base, old_cid, child);
            if (splice == NULL) {
                Py_DECREF(new);
                return NULL;
            }
            set_slot_at(new, g_node_off[SLOT_SPLICE], splice);
            Py_DECREF(splice);
        }
    }
    return new;
}

/* Tree._split: (*low, *high) of the subtree below and above key (new refs). */
static int
ops_split(TreeOps *t, PyObject *node, PyObject *key, PyObject **low, PyObject **high, int depth)
{
    *low = *high = NULL;
    if (node == Py_None) {
        Py_INCREF(Py_None);
        Py_INCREF(Py_None);
        *low = *high = Py_None;
        return 0;
    }
    if (depth > MST_MAX_DEPTH) {
        PyErr_SetString(PyExc_RecursionError, "MST nodes nested too deep");
        return -1;
    }
    Py_INCREF(node); /* what we read from it stays alive while children load */
    PyObject *a = NULL, *b = NULL, *lo_node = NULL, *hi_node = NULL, *tmp = NULL;
    PyObject *tmp2 = NULL, *tmp3 = NULL;
    int rc = -1;
    PyObject *keys = ops_keys(t, node);
    Py_ssize_t i;
    if (keys == NULL || ops_bisect(keys, key, &i) < 0) {
        goto done;
    }
    if (ops_split(t, ops_child(node, i), key, &a, &b, depth + 1) < 0) {
        goto done;
    }
    PyObject *layer = slot_get(node, SLOT_LAYER);
    keys = slot_get(node, SLOT_KEYS);
    PyObject *vals = slot_get(node, SLOT_VALS), *rights = slot_get(node, SLOT_RIGHTS);
    Py_ssize_t n = PyList_GET_SIZE(keys);
    if (i == 0) {
        lo_node = ops_normalize(ops_new_empty(t, layer, a));
    } else {
        tmp = ops_slice(keys, 0, i);
        tmp2 = tmp == NULL ? NULL : ops_slice(vals, 0, i);
        tmp3 = tmp2 == NULL ? NULL : ops_slice(rights, 0, i); /* rights[:i-1] + [a] */
        if (tmp3 == NULL) {
            goto done;
        }
        Py_INCREF(a);
        if (PyList_SetItem(tmp3, i - 1, a) < 0) {
            goto done;
        }
        lo_node = ops_new(t, layer, slot_get(node, SLOT_LEFT), tmp, tmp2, tmp3);
        Py_CLEAR(tmp);
        Py_CLEAR(tmp2);
        Py_CLEAR(tmp3);
    }
    if (lo_node == NULL) {
        goto done;
    }
    tmp = ops_slice(keys, i, n);
    tmp2 = tmp == NULL ? NULL : ops_slice(vals, i, n);
    tmp3 = tmp2 == NULL ? NULL : ops_slice(rights, i, n);
    if (tmp3 == NULL) {
        goto done;
    }
    hi_node = ops_normalize(ops_new(t, layer, b, tmp, tmp2, tmp3));
    if (hi_node == NULL) {
        goto done;
    }
    *low = lo_node;
    *high = hi_node;
    lo_node = hi_node = NULL;
    rc = 0;
done:
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(lo_node);
    Py_XDECREF(hi_node);
    Py_XDECREF(tmp);
    Py_XDECREF(tmp2);
    Py_XDECREF(tmp3);
    Py_DECREF(node);
    return rc;
}

/* Tree._merge: join adjacent subtrees a and b (borrowed; new ref). */
static PyObject *
ops_merge(TreeOps *t, PyObject *a, PyObject *b, int depth)
{
    if (a == Py_None) {
        Py_INCREF(b);
        return b;
    }
    if (b == Py_None) {
        Py_INCREF(a);
        return a;
    }
    if (depth > MST_MAX_DEPTH) {
        PyErr_SetString(PyExc_RecursionError, "MST nodes nested too deep");
        return NULL;
    }
    Py_INCREF(a);
    Py_INCREF(b);
    PyObject *result = NULL, *merged = NULL, *keys = NULL, *vals = NULL, *rights = NULL;
    if (ops_keys(t, a) == NULL || ops_keys(t, b) == NULL) {
        goto done;
    }
    PyObject *a_keys = slot_get(a, SLOT_KEYS), *a_rights = slot_get(a, SLOT_RIGHTS);
    Py_ssize_t an = PyList_GET_SIZE(a_keys);
    if (an == 0) {
        merged = ops_merge(t, slot_get(a, SLOT_LEFT), slot_get(b, SLOT_LEFT), depth + 1);
        if (merged != NULL) {
            result = ops_new(t, slot_get(a, SLOT_LAYER), merged, slot_get(b, SLOT_KEYS),
                             slot_get(b, SLOT_VALS), slot_get(b, SLOT_RIGHTS));
        }
        goto done;
    }
    merged = ops_merge(t, PyList_GET_ITEM(a_rights, an - 1), slot_get(b, SLOT_LEFT), depth + 1);
    if (merged == NULL) {
        goto done;
    }
    a_keys = slot_get(a, SLOT_KEYS); /* re-read: loading ran code */
    a_rights = slot_get(a, SLOT_RIGHTS);
    keys = ops_concat(a_keys, slot_get(b, SLOT_KEYS));
    vals = keys == NULL ? NULL : ops_concat(slot_get(a, SLOT_VALS), slot_get(b, SLOT_VALS));
    rights = vals == NULL ? NULL : ops_concat(a_rights, slot_get(b, SLOT_RIGHTS));
    if (rights == NULL) {
        goto done;
    }
    /* [*a.rights[:-1], junction, *b.rights]: slot an - 1 is a's last subtree */
    Py_INCREF(merged);
    if (PyList_SetItem(rights, PyList_GET_SIZE(a_rights) - 1, merged) < 0) {
        goto done;
    }
    result = ops_new(t, slot_get(a, SLOT_LAYER), slot_get(a, SLOT_LEFT), keys, vals, rights);
done:
    Py_XDECREF(merged);
    Py_XDECREF(keys);
    Py_XDECREF(vals);
    Py_XDECREF(rights);
    Py_DECREF(a);
    Py_DECREF(b);
    return result;
}

/* Tree._delete: the new subtree (new ref) and *prev (new ref, or NULL if key is absent,
 * and then the node itself comes back). */
static PyObject *
ops_delete(TreeOps *t, PyObject *node, PyObject *key, PyObject **prev, int depth)
{
    *prev = NULL;
    if (depth > MST_MAX_DEPTH) {
        PyErr_SetString(PyExc_RecursionError, "MST nodes nested too deep");
        return NULL;
    }
    Py_INCREF(node);
    PyObject *result = NULL, *merged = NULL, *k = NULL, *v = NULL, *r = NULL, *tmp = NULL;
    PyObject *sub = NULL;
    PyObject *keys = ops_keys(t, node);
    Py_ssize_t i;
    if (keys == NULL || ops_bisect(keys, key, &i) < 0) {
        goto done;
    }
    Py_ssize_t n = PyList_GET_SIZE(keys);
    if (ops_is_key(keys, i, key)) {
        PyObject *rights = slot_get(node, SLOT_RIGHTS);
        merged = ops_merge(t, ops_child(node, i), PyList_GET_ITEM(rights, i), depth + 1);
        if (merged == NULL) {
            goto done;
        }
        keys = slot_get(node, SLOT_KEYS);
        rights = slot_get(node, SLOT_RIGHTS);
        PyObject *vals = slot_get(node, SLOT_VALS), *left;
        /* keys[:i] + keys[i+1:], vals likewise */
        k = ops_slice(keys, 0, n);
        v = k == NULL ? NULL : ops_slice(vals, 0, n);
        if (v == NULL || PySequence_DelItem(k, i) < 0 || PySequence_DelItem(v, i) < 0) {
            goto done;
        }
        if (i == 0) {
            left = merged;
            r = ops_slice(rights, 1, n);
        } else {
            left = slot_get(node, SLOT_LEFT);
            /* [*rights[:i-1], merged, *rights[i+1:]] */
            r = ops_slice(rights, 0, n);
            if (r != NULL) {
                Py_INCREF(merged);
                if (PyList_SetItem(r, i - 1, merged) < 0 || PySequence_DelItem(r, i) < 0) {
                    goto done;
                }
            }
        }
        if (r == NULL) {
            goto done;
        }
        result = ops_normalize(ops_new(t, slot_get(node, SLOT_LAYER), left, k, v, r));
        if (result != NULL) {
            *prev = PyList_GET_ITEM(vals, i);
            Py_INCREF(*prev);
        }
        goto done;
    }
    PyObject *child = ops_child(node, i);
    if (child == Py_None) {
        result = node;
        Py_INCREF(result);
        goto done;
    }
    Py_INCREF(child);
    sub = ops_delete(t, child, key, prev, depth + 1);
    Py_DECREF(child);
    if (sub == NULL) {
        goto done;
    }
    if (*prev == NULL) {
        result = node;
        Py_INCREF(result);
        goto done;
    }
    result = ops_normalize(ops_replace_child(t, node, i, sub));
    if (result == NULL) {
        Py_CLEAR(*prev);
    }
done:
    Py_XDECREF(sub);
    Py_XDECREF(merged);
    Py_XDECREF(k);
    Py_XDECREF(v);
    Py_XDECREF(r);
    Py_XDECREF(tmp);
    Py_DECREF(node);
    return result;
}

/* Tree._put: the new subtree (new ref; the node itself if unchanged) and *prev. */
static PyObject *
ops_put(TreeOps *t, PyObject *node, PyObject *key, long layer, PyObject *layer_obj,
        PyObject *value, PyObject **prev, int depth)
{
    *prev = NULL;
    if (depth > MST_MAX_DEPTH) {
        PyErr_SetString(PyExc_RecursionError, "MST nodes nested too deep");
        return NULL;
    }
    Py_INCREF(node);
    PyObject *result = NULL, *k = NULL, *v = NULL, *r = NULL, *a = NULL, *b = NULL;
    PyObject *sub = NULL, *child = NULL;
    PyObject *keys = ops_keys(t, node);
    Py_ssize_t i, n;
    long node_layer;
    if (keys == NULL || ops_bisect(keys, key, &i) < 0 || ops_layer(node, &node_layer) < 0) {
        goto done;
    }
    n = PyList_GET_SIZE(keys);
    PyObject *vals = slot_get(node, SLOT_VALS);
    if (ops_is_key(keys, i, key)) {
        PyObject *old = PyList_GET_ITEM(vals, i);
        Py_INCREF(old);
        int same = PyObject_RichCompareBool(old, value, Py_EQ);
        if (same < 0) {
            Py_DECREF(old);
            goto done;
        }
        if (same) {
            *prev = old;
            result = node;
            Py_INCREF(result);
            goto done;
        }
        vals = slot_get(node, SLOT_VALS);
        v = ops_slice(vals, 0, PyList_GET_SIZE(vals));
        if (v == NULL) {
            Py_DECREF(old);
            goto done;
        }
        Py_INCREF(value);
        if (PyList_SetItem(v, i, value) < 0) {
            Py_DECREF(old);
            goto done;
        }
        result = ops_new(t, slot_get(node, SLOT_LAYER), slot_get(node, SLOT_LEFT),
                         slot_get(node, SLOT_KEYS), v, slot_get(node, SLOT_RIGHTS));
        if (result == NULL) {
            Py_DECREF(old);
            goto done;
        }
        PyObject *base = slot_get(node, SLOT_BLOCK);
        if (base != NULL && base != Py_None) {
            PyObject *splice = PyTuple_Pack(3, base, old, value);
            if (splice == NULL) {
                Py_DECREF(old);
                Py_CLEAR(result);
                goto done;
            }
            set_slot_at(result, g_node_off[SLOT_SPLICE], splice);
            Py_DECREF(splice);
        }
        *prev = old;
        goto done;
    }
    child = ops_child(node, i);
    Py_INCREF(child);
    if (layer == node_layer) {
        if (ops_split(t, child, key, &a, &b, depth + 1) < 0) {
            goto done;
        }
        keys = slot_get(node, SLOT_KEYS);
        vals = slot_get(node, SLOT_VALS);
        PyObject *rights = slot_get(node, SLOT_RIGHTS), *left = slot_get(node, SLOT_LEFT);
        n = PyList_GET_SIZE(keys);
        r = ops_slice(rights, 0, n);
        k = r == NULL ? NULL : ops_slice(keys, 0, n);
        v = k == NULL ? NULL : ops_slice(vals, 0, n);
        if (v == NULL || PyList_Insert(r, i, b) < 0 || PyList_Insert(k, i, key) < 0 ||
            PyList_Insert(v, i, value) < 0) {
            goto done;
        }
        if (i == 0) {
            left = a;
        } else {
            Py_INCREF(a);
            if (PyList_SetItem(r, i - 1, a) < 0) {
                goto done;
            }
        }
        result = ops_new(t, slot_get(node, SLOT_LAYER), left, k, v, r);
        goto done;
    }
    if (child == Py_None) {
        PyObject *one_k = PyList_New(1), *one_v = PyList_New(1), *one_r = PyList_New(1);
        if (one_k != NULL && one_v != NULL && one_r != NULL) {
            Py_INCREF(key);
            PyList_SET_ITEM(one_k, 0, key);
            Py_INCREF(value);
            PyList_SET_ITEM(one_v, 0, value);
            Py_INCREF(Py_None);
            PyList_SET_ITEM(one_r, 0, Py_None);
            sub = ops_new(t, layer_obj, Py_None, one_k, one_v, one_r);
        }
        Py_XDECREF(one_k);
        Py_XDECREF(one_v);
        Py_XDECREF(one_r);
        sub = ops_wrap(t, sub, node_layer - 1);
        if (sub == NULL) {
            goto done;
        }
    } else {
        sub = ops_put(t, child, key, layer, layer_obj, value, prev, depth + 1);
        if (sub == NULL) {
            goto done;
        }
        if (sub == child) {
            result = node;
            Py_INCREF(result);
            goto done;
        }
    }
    result = ops_replace_child(t, node, i, sub);
    if (result == NULL) {
        Py_CLEAR(*prev);
    }
done:
    Py_XDECREF(child);
    Py_XDECREF(sub);
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(k);
    Py_XDECREF(v);
    Py_XDECREF(r);
    Py_DECREF(node);
    return result;
}

static int
ops_init(TreeOps *t, PyObject *const *args)
{
    /* (root, key, gen, get_block, load, max_entries, max_height, ...) */
    if (!node_call_ok()) {
        return -1;
    }
    if (!Py_IS_TYPE(args[0], g_node_type) || !PyUnicode_CheckExact(args[1]) ||
        !PyLong_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "mst_put()/mst_delete(): bad arguments");
        return -1;
    }
    /* caps the fast fill cannot apply (not small non-negative ints): every stub is then
     * loaded through Tree._load, which applies them as Python does */
    if (!small_int(args[5], 0, LONG_MAX, &t->max_entries) ||
        !small_int(args[6], 0, LONG_MAX, &t->max_height)) {
        t->max_entries = t->max_height = -1;
    }
    t->gen = args[2];
    t->get_block = args[3];
    t->load = args[4];
    t->dict = NULL;
    if (g_dict_get_meth == NULL) {
        PyObject *d = PyDict_New();
        PyObject *get = d == NULL ? NULL : PyObject_GetAttrString(d, "get");
        if (get != NULL && PyCFunction_Check(get)) {
            g_dict_get_meth = PyCFunction_GET_FUNCTION(get);
        }
        Py_XDECREF(get);
        Py_XDECREF(d);
        if (PyErr_Occurred()) {
            return -1;
        }
    }
    PyObject *g = t->get_block;
    if (g_dict_get_meth != NULL && PyCFunction_Check(g) &&
        PyCFunction_GET_FUNCTION(g) == g_dict_get_meth && PyCFunction_GET_SELF(g) != NULL &&
        PyDict_CheckExact(PyCFunction_GET_SELF(g))) {
        t->dict = PyCFunction_GET_SELF(g);
    }
    return 0;
}

/* mst_delete(root, key, gen, get_block, load, max_entries, max_height)
 * -> (new root or None, previous value or None); Tree.delete trims the root. */
static PyObject *
py_mst_delete(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    TreeOps t;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "mst_delete() takes 7 positional arguments");
        return NULL;
    }
    if (ops_init(&t, args) < 0) {
        return NULL;
    }
    PyObject *prev = NULL;
    PyObject *root = ops_delete(&t, args[0], args[1], &prev, 0);
    if (root == NULL) {
        return NULL;
    }
    PyObject *out = PyTuple_Pack(2, root, prev == NULL ? Py_None : prev);
    Py_DECREF(root);
    Py_XDECREF(prev);
    return out;
}

/* mst_put(root, key, gen, get_block, load, max_entries, max_height, layer, value)
 * -> (new root, previous value or None); layer is the key's. */
static PyObject *
py_mst_put(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    TreeOps t;
    long layer;
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "mst_put() takes 9 positional arguments");
        return NULL;
    }
    if (ops_init(&t, args) < 0) {
        return NULL;
    }
    if (!small_int(args[7], 0, 1000, &layer) ||
        !Py_IS_TYPE(args[8], (PyTypeObject *)g_cid_type)) {
        PyErr_SetString(PyExc_TypeError, "mst_put(): bad layer or value");
        return NULL;
    }
    PyObject *prev = NULL, *root = NULL, *key = args[1], *value = args[8];
    PyObject *old_root = args[0];
    long root_layer;
    Py_INCREF(old_root);
    PyObject *keys = ops_keys(&t, old_root);
    if (keys == NULL || ops_layer(old_root, &root_layer) < 0) {
        Py_DECREF(old_root);
        return NULL;
    }
    int empty = PyList_GET_SIZE(keys) == 0 && slot_get(old_root, SLOT_LEFT) == Py_None;
    if (empty || layer > root_layer) {
        /* a new root holding just this key, over the two halves of the old tree */
        PyObject *a = NULL, *b = NULL, *k = PyList_New(1), *v = PyList_New(1);
        PyObject *r = PyList_New(1);
        if (k != NULL && v != NULL && r != NULL) {
            if (empty) {
                Py_INCREF(Py_None);
                Py_INCREF(Py_None);
                a = b = Py_None;
            } else if (ops_split(&t, old_root, key, &a, &b, 0) == 0) {
                a = ops_wrap(&t, a, layer - 1);
                b = ops_wrap(&t, b, layer - 1);
            }
        }
        if (a != NULL && b != NULL) {
            Py_INCREF(key);
            PyList_SET_ITEM(k, 0, key);
            Py_INCREF(value);
            PyList_SET_ITEM(v, 0, value);
            Py_INCREF(b);
            PyList_SET_ITEM(r, 0, b);
            root = ops_new(&t, args[7], a, k, v, r);
        }
        Py_XDECREF(a);
        Py_XDECREF(b);
        Py_XDECREF(k);
        Py_XDECREF(v);
        Py_XDECREF(r);
    } else {
        root = ops_put(&t, old_root, key, layer, args[7], value, &prev, 0);
    }
    Py_DECREF(old_root);
    if (root == NULL) {
        return NULL;
    }
    PyObject *out = PyTuple_Pack(2, root, prev == NULL ? Py_None : prev);
    Py_DECREF(root);
    Py_XDECREF(prev);
    return out;
}

/* mst_new_blocks(root, gen, max_entries) -> {cid: block} | None: Tree.new_blocks for the
 * nodes of generation gen reachable from the root through nodes of that generation, in
 * Tree._new_nodes's order, each encoded and hashed once; None when a node holds more than
 * max_entries entries (Tree.new_blocks then raises the error). */
static PyObject *
py_mst_new_blocks(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    long cap;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "mst_new_blocks() takes 3 positional arguments");
        return NULL;
    }
    if (!node_call_ok()) {
        return NULL;
    }
    PyObject *root = args[0], *gen = args[1];
    if (!Py_IS_TYPE(root, g_node_type) || !PyLong_CheckExact(gen)) {
        PyErr_SetString(PyExc_TypeError, "mst_new_blocks(): bad arguments");
        return NULL;
    }
    if (!small_int(args[2], 0, LONG_MAX, &cap)) {
        Py_RETURN_NONE; /* a cap only Python applies: Tree.new_blocks decides */
    }
    PyObject *out = PyList_New(0), *stack = PyList_New(0), *blocks = NULL;
    if (out == NULL || stack == NULL) {
        goto fail;
    }
    /* the walk: exactly Tree._new_nodes */
    PyObject *keys = slot_get(root, SLOT_KEYS), *rg = slot_get(root, SLOT_GEN);
    int same = rg == NULL ? 0 : PyObject_RichCompareBool(rg, gen, Py_EQ);
    if (same < 0) {
        goto fail;
    }
    if (keys != NULL && keys != Py_None && same) {
        if (PyList_Append(out, root) < 0 || PyList_Append(stack, root) < 0) {
            goto fail;
        }
    }
    while (PyList_GET_SIZE(stack) > 0) {
        Py_ssize_t top = PyList_GET_SIZE(stack) - 1;
        PyObject *node = PyList_GET_ITEM(stack, top);
        Py_INCREF(node);
        if (PyList_SetSlice(stack, top, top + 1, NULL) < 0) {
            Py_DECREF(node);
            goto fail;
        }
        PyObject *rights = slot_get(node, SLOT_RIGHTS);
        if (rights == NULL || !PyList_CheckExact(rights)) {
            Py_DECREF(node);
            PyErr_SetString(PyExc_TypeError, "MST node rights is not a list");
            goto fail;
        }
        Py_INCREF(rights);
        Py_ssize_t n = PyList_GET_SIZE(rights);
        int rc = 0;
        for (Py_ssize_t i = -1; i < n && rc == 0; i++) {
            PyObject *child = i < 0 ? slot_get(node, SLOT_LEFT) : PyList_GET_ITEM(rights, i);
            if (child == NULL || child == Py_None) {
                continue;
            }
            if (!Py_IS_TYPE(child, g_node_type)) {
                PyErr_SetString(PyExc_TypeError, "MST link is not a node");
                rc = -1;
                break;
            }
            PyObject *cg = slot_get(child, SLOT_GEN), *ck = slot_get(child, SLOT_KEYS);
            int eq = cg == NULL ? 0 : PyObject_RichCompareBool(cg, gen, Py_EQ);
            if (eq < 0) {
                rc = -1;
            } else if (eq && ck != NULL && ck != Py_None) {
                if (PyList_Append(out, child) < 0 || PyList_Append(stack, child) < 0) {
                    rc = -1;
                }
            }
        }
        Py_DECREF(rights);
        Py_DECREF(node);
        if (rc < 0) {
            goto fail;
        }
    }
    /* the caps, then {cid: block} in that order */
    Py_ssize_t count = PyList_GET_SIZE(out);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *k = slot_get(PyList_GET_ITEM(out, i), SLOT_KEYS);
        if (!PyList_CheckExact(k)) {
            PyErr_SetString(PyExc_TypeError, "MST node keys is not a list");
            goto fail;
        }
        if (PyList_GET_SIZE(k) > cap) {
            Py_DECREF(out);
            Py_DECREF(stack);
            Py_RETURN_NONE;
        }
    }
    blocks = PyDict_New();
    if (blocks == NULL) {
        goto fail;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *node = PyList_GET_ITEM(out, i);
        PyObject *cid = node_cid(node, 0);
        if (cid == NULL) {
            goto fail;
        }
        PyObject *block = node_block(node, 0); /* cached by node_cid, as a rule */
        int rc = block == NULL ? -1 : PyDict_SetItem(blocks, cid, block);
        Py_DECREF(cid);
        Py_XDECREF(block);
        if (rc < 0) {
            goto fail;
        }
    }
    Py_DECREF(out);
    Py_DECREF(stack);
    return blocks;
fail:
    Py_XDECREF(out);
    Py_XDECREF(stack);
    Py_XDECREF(blocks);
    return NULL;
}

/* mst_covering_proof(root, key, gen, get_block, load, max_entries, max_height) -> list:
 * Tree.covering_proof (the key's path and the spines to its neighbours), loading stubs. */
static PyObject *
py_mst_covering_proof(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    TreeOps t;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "mst_covering_proof() takes 7 positional arguments");
        return NULL;
    }
    if (ops_init(&t, args) < 0) {
        return NULL;
    }
    PyObject *key = args[1];
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        return NULL;
    }
    PyObject *node = args[0];
    Py_INCREF(node);
    int depth = 0;
    while (node != Py_None) {
        if (++depth > MST_MAX_DEPTH) {
            PyErr_SetString(PyExc_RecursionError, "MST nodes nested too deep");
            goto fail;
        }
        PyObject *keys = ops_keys(&t, node);
        Py_ssize_t i;
        if (keys == NULL || PyList_Append(out, node) < 0 || ops_bisect(keys, key, &i) < 0) {
            goto fail;
        }
        if (ops_is_key(keys, i, key)) {
            /* the rightmost spine of the gap below the key (appended before loading) */
            PyObject *spine = ops_child(node, i);
            Py_INCREF(spine);
            while (spine != Py_None) {
                if (++depth > MST_MAX_DEPTH * 3) {
                    PyErr_SetString(PyExc_RecursionError, "MST nodes nested too deep");
                    Py_DECREF(spine);
                    goto fail;
                }
                if (PyList_Append(out, spine) < 0) {
                    Py_DECREF(spine);
                    goto fail;
                }
                PyObject *sk = ops_keys(&t, spine);
                if (sk == NULL) {
                    Py_DECREF(spine);
                    goto fail;
                }
                Py_ssize_t sn = PyList_GET_SIZE(sk);
                PyObject *next = sn ? PyList_GET_ITEM(slot_get(spine, SLOT_RIGHTS), sn - 1)
                                    : slot_get(spine, SLOT_LEFT);
                Py_INCREF(next);
                Py_SETREF(spine, next);
            }
            Py_DECREF(spine);
            /* the leftmost spine of the gap above it (loaded, then appended) */
            spine = PyList_GET_ITEM(slot_get(node, SLOT_RIGHTS), i);
            Py_INCREF(spine);
            while (spine != Py_None) {
                if (++depth > MST_MAX_DEPTH * 3) {
                    PyErr_SetString(PyExc_RecursionError, "MST nodes nested too deep");
                    Py_DECREF(spine);
                    goto fail;
                }
                if (ops_keys(&t, spine) == NULL || PyList_Append(out, spine) < 0) {
                    Py_DECREF(spine);
                    goto fail;
                }
                PyObject *next = slot_get(spine, SLOT_LEFT);
                Py_INCREF(next);
                Py_SETREF(spine, next);
            }
            Py_DECREF(spine);
            break;
        }
        PyObject *next = ops_child(node, i);
        Py_INCREF(next);
        Py_SETREF(node, next);
    }
    Py_DECREF(node);
    return out;
fail:
    Py_DECREF(node);
    Py_DECREF(out);
    return NULL;
}

/* mst_add_covering_proof(root, key, gen, get_block, load, max_entries, max_height, into)
 * -> None: {cid: block} of every covering-proof node not yet in the dict `into`, added
 * in proof order (Tree.add_covering_proof). */
static PyObject *
py_mst_add_covering_proof(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8 || !PyDict_CheckExact(args[7])) {
        PyErr_SetString(PyExc_TypeError,
                        "mst_add_covering_proof() takes 8 positional arguments, the last a dict");
        return NULL;
    }
    PyObject *into = args[7];
    PyObject *nodes = py_mst_covering_proof(module, args, 7);
    if (nodes == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(nodes); i++) {
        PyObject *node = PyList_GET_ITEM(nodes, i);
        PyObject *cid = node_cid(node, 0);
        if (cid == NULL) {
            Py_DECREF(nodes);
            return NULL;
        }
        int has = PyDict_Contains(into, cid);
        PyObject *block = has == 0 ? node_block(node, 0) : NULL;
        int rc = has < 0 || (has == 0 && (block == NULL || PyDict_SetItem(into, cid, block) < 0));
        Py_DECREF(cid);
        Py_XDECREF(block);
        if (rc) {
            Py_DECREF(nodes);
            return NULL;
        }
    }
    Py_DECREF(nodes);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------ */
/* CAR slices (repo/carslice.py _read_fast): a canonical one-root header, then sections of
 * a blessed 36-byte CID and its block, each block's SHA-256 checked. Anything else, any
 * mismatch or more than max_blocks blocks: None, and the full reader decides (and names
 * the error). */

static const unsigned char CAR_HEAD_START[] = "\x3a\xa2\x65roots\x81\xd8\x2a\x58\x25\x00";
static const unsigned char CAR_HEAD_END[] = "\x67version\x01";
#define CAR_HEAD_START_LEN ((Py_ssize_t)sizeof CAR_HEAD_START - 1)
#define CAR_HEAD_END_LEN ((Py_ssize_t)sizeof CAR_HEAD_END - 1)

static inline int
is_blessed_prefix(const unsigned char *p)
{
    return memcmp(p, PREFIX_DAG_CBOR, 4) == 0 || memcmp(p, PREFIX_RAW, 4) == 0;
}

static PyObject *
py_read_car_slice(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "read_car_slice() takes 2 positional arguments");
        return NULL;
    }
    PyObject *data = args[0];
    long max_blocks;
    if (!PyLong_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "read_car_slice() max_blocks must be an int");
        return NULL;
    }
    if (!PyBytes_CheckExact(data) || !small_int(args[1], 0, LONG_MAX, &max_blocks)) {
        Py_RETURN_NONE;
    }
    if (ensure_init() < 0) {
        return NULL;
    }
    const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    Py_ssize_t root_at = CAR_HEAD_START_LEN;
    Py_ssize_t head_len = CAR_HEAD_START_LEN + 36 + CAR_HEAD_END_LEN;
    if (n < head_len || memcmp(b, CAR_HEAD_START, (size_t)CAR_HEAD_START_LEN) != 0 ||
        memcmp(b + root_at + 36, CAR_HEAD_END, (size_t)CAR_HEAD_END_LEN) != 0 ||
        !is_blessed_prefix(b + root_at)) {
        Py_RETURN_NONE;
    }
    PyObject *blocks = PyDict_New();
    if (blocks == NULL) {
        return NULL;
    }
    Py_ssize_t pos = head_len;
    long count = 0;
    while (pos < n) {
        /* minimal LEB128 section length, up to three bytes */
        Py_ssize_t length = b[pos];
        if (length < 0x80) {
            pos += 1;
        } else if (pos + 1 < n && b[pos + 1] > 0 && b[pos + 1] < 0x80) {
            length = (length & 0x7F) | ((Py_ssize_t)b[pos + 1] << 7);
            pos += 2;
        } else if (pos + 2 < n && b[pos + 1] >= 0x80 && b[pos + 2] > 0 && b[pos + 2] < 0x80) {
            length = (length & 0x7F) | ((Py_ssize_t)(b[pos + 1] & 0x7F) << 7) |
                     ((Py_ssize_t)b[pos + 2] << 14);
            pos += 3;
        } else {
            goto fallback;
        }
        count++;
        if (length > n - pos || length < 36 || count > max_blocks) {
            goto fallback;
        }
        if (!is_blessed_prefix(b + pos)) {
            goto fallback;
        }
        unsigned char digest[32];
        sha256(b + pos + 36, (size_t)(length - 36), digest);
        if (memcmp(digest, b + pos + 4, 32) != 0) {
            goto fallback;
        }
        PyObject *cid = cid_make_blessed(b + pos, b + pos + 4);
        if (cid == NULL) {
            goto fail;
        }
        PyObject *block = PyBytes_FromStringAndSize((const char *)b + pos + 36, length - 36);
        if (block == NULL) {
            Py_DECREF(cid);
            goto fail;
        }
        int rc = PyDict_SetItem(blocks, cid, block);
        Py_DECREF(cid);
        Py_DECREF(block);
        if (rc < 0) {
            goto fail;
        }
        pos += length;
    }
    PyObject *root = cid_make_blessed(b + root_at, b + root_at + 4);
    if (root == NULL) {
        goto fail;
    }
    PyObject *result = PyTuple_New(2);
    if (result == NULL) {
        Py_DECREF(root);
        goto fail;
    }
    PyTuple_SET_ITEM(result, 0, root);
    PyTuple_SET_ITEM(result, 1, blocks);
    return result;
fallback:
    Py_DECREF(blocks);
    Py_RETURN_NONE;
fail:
    Py_DECREF(blocks);
    return NULL;
}

/* MST key layers: SHA-256 of the key's UTF-8, leading zero bits halved. */
static int
key_layer_of(PyObject *key, int *layer)
{
    const char *p;
    Py_ssize_t len;
    if (PyUnicode_Check(key)) {
        p = PyUnicode_AsUTF8AndSize(key, &len);
        if (p == NULL) {
            return -1;
        }
    } else if (PyBytes_Check(key)) {
        p = PyBytes_AS_STRING(key);
        len = PyBytes_GET_SIZE(key);
    } else {
        PyErr_Format(PyExc_TypeError, "MST key must be str or bytes, not %s",
                     Py_TYPE(key)->tp_name);
        return -1;
    }
    unsigned char digest[32];
    sha256((const unsigned char *)p, (size_t)len, digest);
    *layer = digest_layer(digest);
    return 0;
}

static PyObject *
py_mst_key_layer(PyObject *module, PyObject *key)
{
    int layer;
    if (key_layer_of(key, &layer) < 0) {
        return NULL;
    }
    return PyLong_FromLong(layer);
}

static PyObject *
py_mst_key_layers(PyObject *module, PyObject *keys)
{
    if (!PyList_CheckExact(keys)) {
        PyErr_SetString(PyExc_TypeError, "mst_key_layers() needs a list");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(keys);
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n && i < PyList_GET_SIZE(keys); i++) {
        int layer;
        PyObject *key = PyList_GET_ITEM(keys, i);
        Py_INCREF(key);
        int rc = key_layer_of(key, &layer);
        Py_DECREF(key);
        PyObject *v = rc < 0 ? NULL : PyLong_FromLong(layer);
        if (v == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, v);
    }
    if (PyList_GET_SIZE(keys) != n) {
        Py_DECREF(out);
        PyErr_SetString(PyExc_RuntimeError, "list changed size during mst_key_layers()");
        return NULL;
    }
    return out;
}

/* ------------------------------------------------------------------------------------ */
/* CIDBase: the C base class of cid.CID, giving it C-level __hash__, __eq__ and __ne__.
 *
 * Every dict keyed by CIDs (block maps, CAR slices, stores) hashes and compares them; as
 * Python methods each call costs ~0.1 us, in C a few ns. The semantics are cid.py's
 * pure methods (_cid_hash, _cid_eq, _cid_ne): hash(cid) == hash(cid.bytes), and two
 * CIDs are equal exactly when their binary forms are; anything but a CID compares as
 * NotImplemented. tests/data/test_cbor_cid_base.py checks the two agree. */

static PyObject *
cidbase_bytes(PyObject *self) /* borrowed _bytes of an exact CID, or NULL */
{
    if (g_cid_type == NULL && ensure_init() < 0) {
        return NULL;
    }
    if (!Py_IS_TYPE(self, (PyTypeObject *)g_cid_type)) {
        PyErr_Format(PyExc_TypeError, "CIDBase methods need a CID, not %s",
                     Py_TYPE(self)->tp_name);
        return NULL;
    }
    PyObject *b = *(PyObject **)(void *)((char *)self + g_off_bytes);
    if (b == NULL || !PyBytes_CheckExact(b)) {
        PyErr_SetString(PyExc_AttributeError, "CID has no binary form");
        return NULL;
    }
    return b;
}

static Py_hash_t
cidbase_hash(PyObject *self)
{
    PyObject *b = cidbase_bytes(self);
    return b == NULL ? -1 : PyObject_Hash(b);
}

static PyObject *
cidbase_richcompare(PyObject *self, PyObject *other, int op)
{
    if (g_cid_type == NULL && ensure_init() < 0) {
        return NULL;
    }
    if ((op != Py_EQ && op != Py_NE) || !Py_IS_TYPE(other, (PyTypeObject *)g_cid_type) ||
        !Py_IS_TYPE(self, (PyTypeObject *)g_cid_type)) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    PyObject *a = cidbase_bytes(self), *b = cidbase_bytes(other);
    if (a == NULL || b == NULL) {
        return NULL;
    }
    int equal = a == b || (PyBytes_GET_SIZE(a) == PyBytes_GET_SIZE(b) &&
                           memcmp(PyBytes_AS_STRING(a), PyBytes_AS_STRING(b),
                                  (size_t)PyBytes_GET_SIZE(a)) == 0);
    if (equal == (op == Py_EQ)) {
        Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

static PyTypeObject CIDBase_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lexforge.runtime.data._cbor.CIDBase",
    .tp_basicsize = sizeof(PyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "C-level hash and equality for cid.CID (its only subclass).",
    .tp_hash = cidbase_hash,
    .tp_richcompare = cidbase_richcompare,
};

/* ------------------------------------------------------------------------------------ */
/* base32 (RFC 4648 alphabet, lower case, no padding) for CID text */

static const char B32_ALPHABET[] = "abcdefghijklmnopqrstuvwxyz234567";

static PyObject *
cbor_b32_encode(PyObject *module, PyObject *arg)
{
    if (!PyBytes_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "b32_encode() argument must be bytes, not %s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(arg);
    Py_ssize_t n = PyBytes_GET_SIZE(arg);
    if (n > PY_SSIZE_T_MAX / 8 - 1) {
        return PyErr_NoMemory();
    }
    Py_ssize_t out_len = (n * 8 + 4) / 5;
    PyObject *s = PyUnicode_New(out_len, 127);
    if (s == NULL) {
        return NULL;
    }
    Py_UCS1 *o = PyUnicode_1BYTE_DATA(s);
    uint32_t acc = 0;
    int bits = 0;
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        acc = (acc << 8) | d[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            o[j++] = (Py_UCS1)B32_ALPHABET[(acc >> bits) & 31];
        }
        acc &= (1u << bits) - 1; /* keep only the unread bits (at most 4) */
    }
    if (bits > 0) {
        o[j++] = (Py_UCS1)B32_ALPHABET[(acc << (5 - bits)) & 31];
    }
    if (j != out_len) { /* cannot happen; refuse to return a half-written string */
        Py_DECREF(s);
        PyErr_SetString(PyExc_SystemError, "b32_encode length mismatch");
        return NULL;
    }
    return s;
}

/* Whether n characters of base32 can be canonical: some byte count produces that many
 * (and at least one). */
static int
b32_length_ok(Py_ssize_t n)
{
    int r = (int)(n % 8);
    return !(n == 0 || r == 1 || r == 3 || r == 6);
}

enum { B32_OK, B32_NOT_LOWER, B32_BAD_CHAR, B32_TRAILING_BITS, B32_OVERFLOW };
static const char *const B32_ERRORS[] = {
    NULL,
    "base32 CID text must be lower case a-z, 2-7",
    "invalid base32 character in CID text",
    "non-canonical base32 (non-zero trailing bits) in CID text",
    "b32_decode overflow",
};

/* Decode text[start:] (a length b32_length_ok accepts) into o, which has room for
 * (len - start) * 5 / 8 bytes. Returns B32_OK or why the text is not canonical
 * lower-case unpadded base32 (the checks in cid._b32_decode_py's order). */
static int
b32_decode_into(PyObject *text, Py_ssize_t start, unsigned char *o)
{
    if (!PyUnicode_IS_ASCII(text)) {
        return B32_NOT_LOWER;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
    for (Py_ssize_t i = start; i < n; i++) {
        if (s[i] >= 'A' && s[i] <= 'Z') {
            return B32_NOT_LOWER;
        }
    }
    Py_ssize_t out_len = (n - start) * 5 / 8;
    uint32_t acc = 0;
    int bits = 0;
    Py_ssize_t j = 0;
    for (Py_ssize_t i = start; i < n; i++) {
        Py_UCS1 c = s[i];
        uint32_t v;
        if (c >= 'a' && c <= 'z') {
            v = (uint32_t)(c - 'a');
        } else if (c >= '2' && c <= '7') {
            v = (uint32_t)(c - '2' + 26);
        } else {
            return B32_BAD_CHAR;
        }
        acc = (acc << 5) | v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (j >= out_len) { /* cannot happen given the length check */
                return B32_OVERFLOW;
            }
            o[j++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) { /* the spare low bits of the last character must be zero */
        return B32_TRAILING_BITS;
    }
    return B32_OK;
}

static PyObject *
cbor_b32_decode(PyObject *module, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "b32_decode() argument must be str, not %s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    if (!b32_length_ok(n)) {
        PyErr_Format(PyExc_ValueError, "invalid base32 length %zd", n);
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * 5 / 8);
    if (out == NULL) {
        return NULL;
    }
    int rc = b32_decode_into(arg, 0, (unsigned char *)PyBytes_AS_STRING(out));
    if (rc != B32_OK) {
        Py_DECREF(out);
        PyErr_SetString(rc == B32_OVERFLOW ? PyExc_SystemError : PyExc_ValueError,
                        B32_ERRORS[rc]);
        return NULL;
    }
    return out;
}

/* The longest base32 CID text cid.py accepts (its _TEXT_CAPS["b"]): "b" and the
 * characters of MAX_CID_BYTES bytes. */
#define B32_CID_TEXT_CAP (1 + (MAX_CID_BYTES * 8 + 4) / 5)

/* CID.parse(text) for base32 text ("b..."): the same checks in the same order, the same
 * errors and the same CID (its text cached), without the slice and bytes in between. */
static PyObject *
py_cid_parse_b32(PyObject *module, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "CID text must be str, not %s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    if (ensure_cid_errors() < 0) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    if (n == 0) {
        PyErr_SetString(g_invalid_cid_error, "empty CID text");
        return NULL;
    }
    if (PyUnicode_READ_CHAR(arg, 0) != 'b') {
        PyErr_SetString(g_invalid_cid_error, "not a base32 CID text (no 'b' prefix)");
        return NULL;
    }
    if (n > B32_CID_TEXT_CAP) {
        PyErr_Format(g_invalid_cid_error, "CID text is %zd characters, too long", n);
        return NULL;
    }
    if (!b32_length_ok(n - 1)) {
        PyErr_Format(g_invalid_cid_error, "invalid base32 length %zd", n - 1);
        return NULL;
    }
    unsigned char buf[MAX_CID_BYTES];
    Py_ssize_t len = (n - 1) * 5 / 8; /* at most MAX_CID_BYTES, by the cap */
    int rc = b32_decode_into(arg, 1, buf);
    if (rc != B32_OK) {
        PyErr_SetString(rc == B32_OVERFLOW ? PyExc_SystemError : g_invalid_cid_error,
                        B32_ERRORS[rc]);
        return NULL;
    }
    uint64_t parts[5];
    char msg[200];
    if (cid_parse(buf, len, parts, msg, sizeof msg) < 0) {
        PyErr_SetString(g_invalid_cid_error, msg);
        return NULL;
    }
    PyObject *cid = cid_make(buf, len, parts);
    if (cid != NULL) {
        set_slot_at(cid, g_off_str, arg);
    }
    return cid;
}

/* ------------------------------------------------------------------------------------ */

static PyMethodDef cbor_methods[] = {
    {"decode", (PyCFunction)(void (*)(void))cbor_decode, METH_FASTCALL | METH_KEYWORDS,
     "decode(data, *, max_depth=32, max_container_len=131072, max_key_len=8192, "
     "require_blessed_cids=False)\n--\n\nDecode exactly one canonical DAG-CBOR item."},
    {"decode_prefix", (PyCFunction)(void (*)(void))cbor_decode_prefix,
     METH_FASTCALL | METH_KEYWORDS,
     "decode_prefix(data, offset=0, *, max_depth=32, max_container_len=131072, "
     "max_key_len=8192, require_blessed_cids=False)\n--\n\n"
     "Decode one canonical item at offset; return (value, end offset)."},
    {"encode", (PyCFunction)(void (*)(void))cbor_encode, METH_FASTCALL | METH_KEYWORDS,
     "encode(value, *, max_depth=32, max_container_len=131072, max_key_len=8192)\n--\n\n"
     "Encode a data-model value canonically."},
    {"b32_encode", cbor_b32_encode, METH_O,
     "b32_encode(data, /)\n--\n\nLower-case unpadded RFC 4648 base32."},
    {"b32_decode", cbor_b32_decode, METH_O,
     "b32_decode(text, /)\n--\n\nDecode canonical lower-case unpadded base32 (ValueError "
     "otherwise)."},
    {"sha256_digest", (PyCFunction)(void (*)(void))py_sha256_digest,
     METH_FASTCALL | METH_KEYWORDS,
     "sha256_digest(data, /, *, portable=False)\n--\n\n"
     "SHA-256 of bytes (portable=True forces the portable implementation; for tests)."},
    {"sha256_implementation", py_sha256_impl, METH_NOARGS,
     "sha256_implementation()\n--\n\nWhich SHA-256 block function is in use: "
     "'sha-ni' or 'portable'."},
    {"cid_for_cbor", py_cid_for_cbor, METH_O,
     "cid_for_cbor(block, /)\n--\n\nThe CIDv1 dag-cbor sha2-256 of a block."},
    {"cid_for_raw", py_cid_for_raw, METH_O,
     "cid_for_raw(data, /)\n--\n\nThe CIDv1 raw sha2-256 of some bytes."},
    {"cid_from_bytes", py_cid_from_bytes, METH_O,
     "cid_from_bytes(binary, /)\n--\n\nCID.from_bytes(binary) for bytes (no CIDv0)."},
    {"cid_parse_b32", py_cid_parse_b32, METH_O,
     "cid_parse_b32(text, /)\n--\n\nCID.parse(text) for base32 text ('b...')."},
    {"mst_key_layer", py_mst_key_layer, METH_O,
     "mst_key_layer(key, /)\n--\n\nThe MST layer of a key (str as UTF-8, or bytes)."},
    {"mst_key_layers", py_mst_key_layers, METH_O,
     "mst_key_layers(keys, /)\n--\n\nThe MST layers of a list of keys."},
    {"mst_register", py_mst_register, METH_O,
     "mst_register(node_type, /)\n--\n\nThe MST Node class mst_fill fills."},
    {"mst_fill", (PyCFunction)(void (*)(void))py_mst_fill, METH_FASTCALL,
     "mst_fill(node, block, layer, lo, hi, max_entries, max_height, /)\n--\n\n"
     "Fill a stub from a checked canonical node block; False (node untouched) when the "
     "reference checks must decide."},
    {"mst_encode", (PyCFunction)(void (*)(void))py_mst_encode, METH_FASTCALL,
     "mst_encode(keys, vals, left, rights, /)\n--\n\nA node's canonical block."},
    {"mst_node_cid", py_mst_node_cid, METH_O,
     "mst_node_cid(node, /)\n--\n\nA node's CID, encoding and hashing it and its new "
     "descendants (cached in them) as needed."},
    {"mst_node_block", py_mst_node_block, METH_O,
     "mst_node_block(node, /)\n--\n\nA node's block (cached), its new descendants' CIDs "
     "computed as needed."},
    {"mst_put", (PyCFunction)(void (*)(void))py_mst_put, METH_FASTCALL,
     "mst_put(root, key, gen, get_block, load, max_entries, max_height, layer, value, /)"
     "\n--\n\nTree.put's copy-on-write insert: (new root, previous value or None)."},
    {"mst_delete", (PyCFunction)(void (*)(void))py_mst_delete, METH_FASTCALL,
     "mst_delete(root, key, gen, get_block, load, max_entries, max_height, /)\n--\n\n"
     "Tree.delete's copy-on-write removal: (new root or None, removed value or None)."},
    {"mst_new_blocks", (PyCFunction)(void (*)(void))py_mst_new_blocks, METH_FASTCALL,
     "mst_new_blocks(root, gen, max_entries, /)\n--\n\nTree.new_blocks: {cid: block} "
     "of the generation's nodes, or None if one holds more than max_entries entries."},
    {"mst_covering_proof", (PyCFunction)(void (*)(void))py_mst_covering_proof,
     METH_FASTCALL,
     "mst_covering_proof(root, key, gen, get_block, load, max_entries, max_height, /)\n"
     "--\n\nTree.covering_proof: the key's path and its neighbours' spines."},
    {"mst_add_covering_proof", (PyCFunction)(void (*)(void))py_mst_add_covering_proof,
     METH_FASTCALL,
     "mst_add_covering_proof(root, key, gen, get_block, load, max_entries, max_height, "
     "into, /)\n--\n\nAdd {cid: block} of the key's covering proof nodes missing from into."},
    {"read_car_slice", (PyCFunction)(void (*)(void))py_read_car_slice, METH_FASTCALL,
     "read_car_slice(data, max_blocks, /)\n--\n\n(root, {cid: block}) of a plain "
     "single-root CAR with every block hash checked, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cbor_module = {
    PyModuleDef_HEAD_INIT,
    "lexforge.runtime.data._cbor",
    "C accelerator for lexforge.runtime.data.cbor (same rules as cbor_pure).",
    -1,
    cbor_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__cbor(void)
{
#ifdef LEXFORGE_HAVE_SHANI
    if (cpu_has_shani()) {
        g_sha256_blocks = sha256_blocks_shani;
    }
#endif
    /* object's own tp_new, so object.__new__(CID) (cid._make) stays allowed */
    CIDBase_Type.tp_new = PyBaseObject_Type.tp_new;
    if (PyType_Ready(&CIDBase_Type) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&cbor_module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&CIDBase_Type);
    if (PyModule_AddObject(m, "CIDBase", (PyObject *)&CIDBase_Type) < 0) {
        Py_DECREF(&CIDBase_Type);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
