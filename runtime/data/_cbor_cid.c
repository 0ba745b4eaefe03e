/*
 * CIDs: binary CID checks, CID objects built from their parts, the blessed-CID
 * constructors (cid_for_cbor, cid_for_raw, cid_from_bytes), CIDBase (C-level hash and
 * equality) and CID.parse for base32 text.
 *
 * Part of the _cbor extension; the design rules (hostile input) and the map of its
 * sources are at the top of _cbor.h.
 */

#include "_cbor.h"

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

int
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

int
cid_is_blessed(const unsigned char *d, Py_ssize_t n)
{
    return n == 36 && d[0] == 1 && (d[1] == 0x71 || d[1] == 0x55) && d[2] == 0x12 &&
           d[3] == 0x20;
}

/* Build a CID object from validated parts (what cid._make does). Returns a new ref. */
PyObject *
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
/* Blessed CIDs built directly (cids.py): hash and wrap in one call, no parsing. */

/* A CID whose binary form is prefix (4 bytes) + digest (32 bytes). New reference. */
PyObject *
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

PyObject *
py_cid_for_cbor(PyObject *module, PyObject *arg)
{
    return cid_for_data(arg, PREFIX_DAG_CBOR, "cid_for_cbor");
}

PyObject *
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
PyObject *
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

PyTypeObject CIDBase_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "lexforge.runtime.data._cbor.CIDBase",
    .tp_basicsize = sizeof(PyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "C-level hash and equality for cid.CID (its only subclass).",
    .tp_hash = cidbase_hash,
    .tp_richcompare = cidbase_richcompare,
};

#define B32_CID_TEXT_CAP (1 + (MAX_CID_BYTES * 8 + 4) / 5)

/* CID.parse(text) for base32 text ("b..."): the same checks in the same order, the same
 * errors and the same CID (its text cached), without the slice and bytes in between. */
PyObject *
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
