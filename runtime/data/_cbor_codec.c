/*
 * Strict DAG-CBOR decode (decode, decode_prefix) and canonical encode, with the same
 * rules, errors, messages and offsets as cbor_pure.py.
 *
 * Part of the _cbor extension; the design rules (hostile input) and the map of its
 * sources are at the top of _cbor.h.
 */

#include "_cbor.h"

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

PyObject *
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

PyObject *
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

int
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

int
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

PyObject *
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
