/*
 * C accelerator for lexforge.runtime.data.cbor: strict DAG-CBOR (DRISL) decode and
 * canonical encode, plus the base32 used by CID text, and the hot paths built on them:
 * SHA-256 (portable and SHA-NI), blessed-CID constructors, C-level CID hash/equality
 * (CIDBase), MST node checks/encoding/writes/walks (repo/mst.py) and the CAR-slice
 * reader (repo/carslice.py). Every one of those has a pure-Python reference that is used
 * without this module and that the tests hold it to (see each section's comment).
 *
 * This code implements exactly the rules of cbor_pure.py (the reference), with the same
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
 *
 * One extension module (lexforge.runtime.data._cbor), several sources, one concern each:
 *   _cbor_module.c    module init and method table, the lazily imported Python objects,
 *                     slot offsets, the DecodeError/EncodeError helpers;
 *   _cbor_codec.c     decode, decode_prefix and encode (and their argument parsing);
 *   _cbor_cid.c       binary CID checks, CID objects, blessed-CID constructors, CIDBase,
 *                     CID.parse for base32 text;
 *   _cbor_b32.c       base32 for CID text;
 *   _cbor_sha256.c    SHA-256 (portable and SHA-NI);
 *   _cbor_mst.c       MST node fill/encode/CIDs, copy-on-write writes, walks, key layers;
 *   _cbor_carslice.c  the CAR-slice reader.
 * This header holds what more than one of them uses. Everything it declares is hidden
 * (not exported from the shared object); only PyInit__cbor is.
 */

#ifndef LEXFORGE_CBOR_H
#define LEXFORGE_CBOR_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

#if defined(__GNUC__) || defined(__clang__)
#define LF_HIDDEN __attribute__((visibility("hidden")))
#else
#define LF_HIDDEN
#endif

#define DEFAULT_MAX_DEPTH 32
#define DEFAULT_MAX_CONTAINER_LEN 131072
#define DEFAULT_MAX_KEY_LEN 8192
#define HARD_MAX_DEPTH 256
#define LIMIT_CEILING (((long long)1) << 32)
#define MAX_CID_BYTES 100
#define INT64_MAX_U ((uint64_t)INT64_MAX)

/* ------------------------------------------------------------------------------------ */
/* _cbor_module.c: lazily imported Python objects (module lifetime), set by ensure_init */

LF_HIDDEN extern PyObject *g_cid_type;       /* lexforge.runtime.data.cid.CID */
LF_HIDDEN extern PyObject *g_descr_bytes;    /* CID._bytes slot descriptor */
LF_HIDDEN extern PyObject *g_parts_dag_cbor; /* cid._PARTS_DAG_CBOR */
LF_HIDDEN extern PyObject *g_parts_raw;      /* cid._PARTS_RAW */
LF_HIDDEN extern Py_ssize_t g_off_bytes, g_off_parts, g_off_str; /* CID slot offsets */

/* Import the CID class, error classes and slot descriptors once. 0, or -1 (raised). */
LF_HIDDEN int ensure_init(void);
/* *slot = getattr(mod, name) (new reference). 0, or -1 (raised). */
LF_HIDDEN int fetch_attr(PyObject *mod, const char *name, PyObject **slot);
/* The offset of a writable object __slots__ member defined by `type` itself, or -1. */
LF_HIDDEN Py_ssize_t member_offset(PyObject *descr, PyTypeObject *type);

/* __slots__ members are written at their offsets (what their descriptors do, minus the
 * checks, which member_offset makes once): building a CID or an MST node sets 3 or 12 of
 * them, and they are built by the thousand per firehose second.
 * obj.<slot at off> = v (new reference taken; the old value released). */
static inline void
set_slot_at(PyObject *obj, Py_ssize_t off, PyObject *v)
{
    PyObject **p = (PyObject **)(void *)((char *)obj + off);
    PyObject *old = *p;
    Py_INCREF(v);
    *p = v;
    Py_XDECREF(old);
}

/* Errors (_cbor_module.c) */

/* Raise DecodeError(reason, offset). reason is printf-formatted ASCII. Returns NULL. */
LF_HIDDEN PyObject *dec_err(Py_ssize_t offset, const char *fmt, ...);
/* Raise EncodeError(reason) from a ready str. Steals reason. Returns -1. */
LF_HIDDEN int enc_err_obj(PyObject *reason);
/* Raise EncodeError(reason), reason printf-formatted. Returns -1. */
LF_HIDDEN int enc_err(const char *fmt, ...);
/* If the pending error is an EncodeError, replace it by one whose path starts with elem.
 * Steals elem (may be NULL after a failed allocation: then the original error stays). */
LF_HIDDEN void prefix_path(PyObject *elem);

/* ------------------------------------------------------------------------------------ */
/* _cbor_cid.c: CIDs */

/* The binary prefixes (version, codec, sha2-256, 32) of the two blessed CID forms. */
static const unsigned char PREFIX_DAG_CBOR[4] = {0x01, 0x71, 0x12, 0x20};
static const unsigned char PREFIX_RAW[4] = {0x01, 0x55, 0x12, 0x20};

/* Validate a binary CID as cid._parse_binary(data, allow_v0=False) does. On success return
 * 0 and fill parts[5]; on failure write the InvalidCidError message into msg, return -1. */
LF_HIDDEN int cid_parse(const unsigned char *d, Py_ssize_t n, uint64_t parts[5], char *msg,
                        size_t msglen);
/* Whether a valid binary CID is blessed (CIDv1, dag-cbor or raw, sha2-256, 32 bytes). */
LF_HIDDEN int cid_is_blessed(const unsigned char *d, Py_ssize_t n);
/* Build a CID object from validated parts (what cid._make does). Returns a new ref. */
LF_HIDDEN PyObject *cid_make(const unsigned char *d, Py_ssize_t n, const uint64_t parts[5]);
/* A CID whose binary form is prefix (4 bytes) + digest (32 bytes). New reference. */
LF_HIDDEN PyObject *cid_make_blessed(const unsigned char prefix[4], const unsigned char digest[32]);
/* The C base class of cid.CID (C-level __hash__, __eq__, __ne__). */
LF_HIDDEN extern PyTypeObject CIDBase_Type;

LF_HIDDEN PyObject *py_cid_for_cbor(PyObject *module, PyObject *arg);
LF_HIDDEN PyObject *py_cid_for_raw(PyObject *module, PyObject *arg);
LF_HIDDEN PyObject *py_cid_from_bytes(PyObject *module, PyObject *arg);
LF_HIDDEN PyObject *py_cid_parse_b32(PyObject *module, PyObject *arg);

/* ------------------------------------------------------------------------------------ */
/* _cbor_codec.c: decoding and encoding */

LF_HIDDEN PyObject *cbor_decode(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames);
LF_HIDDEN PyObject *cbor_decode_prefix(PyObject *module, PyObject *const *args,
                                       Py_ssize_t nargs, PyObject *kwnames);
LF_HIDDEN PyObject *cbor_encode(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames);

/* The encoder's output buffer (also used by the MST node encoder). */
typedef struct {
    unsigned char *buf;
    Py_ssize_t len;
    Py_ssize_t cap;
    int max_depth;
    long long max_container_len;
    long long max_key_len;
    unsigned char small[1024];
} Enc;

/* Grow e to hold need more bytes. 0, or -1 (MemoryError). */
LF_HIDDEN int enc_grow(Enc *e, Py_ssize_t need);
/* Write a CID as tag 42 (EncodeError for a CIDv0). 0, or -1 (raised). */
LF_HIDDEN int enc_cid(Enc *e, PyObject *v);

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

/* ------------------------------------------------------------------------------------ */
/* _cbor_sha256.c: SHA-256 */

/* SHA-256 of data with the block function chosen at init. */
LF_HIDDEN void sha256(const unsigned char *data, size_t len, unsigned char out[32]);
/* Choose the block function (SHA-NI when the CPU has it); called by PyInit__cbor. */
LF_HIDDEN void sha256_init(void);
LF_HIDDEN PyObject *py_sha256_digest(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                     PyObject *kwnames);
LF_HIDDEN PyObject *py_sha256_impl(PyObject *module, PyObject *unused);

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

/* ------------------------------------------------------------------------------------ */
/* _cbor_b32.c: base32 */

enum { B32_OK, B32_NOT_LOWER, B32_BAD_CHAR, B32_TRAILING_BITS, B32_OVERFLOW };
/* B32_ERRORS[rc]: the message for a b32_decode_into result other than B32_OK. */
LF_HIDDEN extern const char *const B32_ERRORS[];
/* Whether n characters of base32 can be canonical: some byte count produces that many
 * (and at least one). */
LF_HIDDEN int b32_length_ok(Py_ssize_t n);
/* Decode text[start:] (a length b32_length_ok accepts) into o, which has room for
 * (len - start) * 5 / 8 bytes. Returns B32_OK or why the text is not canonical
 * lower-case unpadded base32 (the checks in cid._b32_decode_py's order). */
LF_HIDDEN int b32_decode_into(PyObject *text, Py_ssize_t start, unsigned char *o);
LF_HIDDEN PyObject *cbor_b32_encode(PyObject *module, PyObject *arg);
LF_HIDDEN PyObject *cbor_b32_decode(PyObject *module, PyObject *arg);

/* ------------------------------------------------------------------------------------ */
/* _cbor_mst.c: MST nodes */

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

LF_HIDDEN PyObject *py_mst_register(PyObject *module, PyObject *arg);
LF_HIDDEN PyObject *py_mst_fill(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
LF_HIDDEN PyObject *py_mst_encode(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
LF_HIDDEN PyObject *py_mst_node_cid(PyObject *module, PyObject *node);
LF_HIDDEN PyObject *py_mst_node_block(PyObject *module, PyObject *node);
LF_HIDDEN PyObject *py_mst_put(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
LF_HIDDEN PyObject *py_mst_delete(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
LF_HIDDEN PyObject *py_mst_new_blocks(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
LF_HIDDEN PyObject *py_mst_covering_proof(PyObject *module, PyObject *const *args,
                                          Py_ssize_t nargs);
LF_HIDDEN PyObject *py_mst_add_covering_proof(PyObject *module, PyObject *const *args,
                                              Py_ssize_t nargs);
LF_HIDDEN PyObject *py_mst_key_layer(PyObject *module, PyObject *key);
LF_HIDDEN PyObject *py_mst_key_layers(PyObject *module, PyObject *keys);

/* ------------------------------------------------------------------------------------ */
/* _cbor_carslice.c: CAR slices */

LF_HIDDEN PyObject *py_read_car_slice(PyObject *module, PyObject *const *args,
                                      Py_ssize_t nargs);

#endif /* LEXFORGE_CBOR_H */
