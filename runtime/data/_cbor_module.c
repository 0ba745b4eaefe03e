/*
 * Module init and method table of lexforge.runtime.data._cbor, the Python objects
 * every part imports lazily (CID class, slot descriptors, error classes) and the
 * DecodeError / EncodeError helpers.
 *
 * Part of the _cbor extension; the design rules (hostile input) and the map of its
 * sources are at the top of _cbor.h.
 */

#include "_cbor.h"

/* ------------------------------------------------------------------------------------ */
/* Lazily imported Python objects (strong references, never released: module lifetime) */

PyObject *g_cid_type = NULL;            /* lexforge.runtime.data.cid.CID */
PyObject *g_descr_bytes = NULL;         /* CID._bytes slot descriptor */
static PyObject *g_descr_parts = NULL;  /* CID._parts */
static PyObject *g_descr_str = NULL;    /* CID._str */
PyObject *g_parts_dag_cbor = NULL;
PyObject *g_parts_raw = NULL;
static PyObject *g_decode_error = NULL; /* errors.DecodeError */
static PyObject *g_encode_error = NULL; /* errors.EncodeError */
static PyObject *g_str_reason = NULL;   /* interned "reason" */
static PyObject *g_str_path = NULL;     /* interned "path" */

int
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

/* The offset of a writable object __slots__ member defined by `type` itself, or -1. */
Py_ssize_t
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

Py_ssize_t g_off_bytes = -1, g_off_parts = -1, g_off_str = -1; /* CID slots */

int
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
PyObject *
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
int
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

int
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
void
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
    sha256_init();
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
