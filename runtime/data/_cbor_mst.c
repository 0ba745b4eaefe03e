/*
 * MST nodes (lexforge.runtime.repo.mst): fill from a block, encode, CIDs and blocks,
 * copy-on-write put/delete, new blocks, covering proofs, key layers.
 *
 * Part of the _cbor extension; the design rules (hostile input) and the map of its
 * sources are at the top of _cbor.h.
 */

#include "_cbor.h"

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

PyObject *
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
PyObject *
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

PyObject *
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

PyObject *
py_mst_node_cid(PyObject *module, PyObject *node)
{
    return node_call_ok() ? node_cid(node, 0) : NULL;
}

PyObject *
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
PyObject *
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
PyObject *
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
PyObject *
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
PyObject *
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
PyObject *
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

PyObject *
py_mst_key_layer(PyObject *module, PyObject *key)
{
    int layer;
    if (key_layer_of(key, &layer) < 0) {
        return NULL;
    }
    return PyLong_FromLong(layer);
}

PyObject *
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
