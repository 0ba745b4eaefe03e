/*
 * Accelerated value constructors for the fast validator (lexforge.runtime.lex.fast).
 *
 * pydantic-core calls a Python callable per value wherever a fast form needs one (a
 * format string's instance, a blob), and what that callable costs is most of what the
 * value costs. The two callables here do the same work as their pure-Python forms (which
 * stay, and are used without this module or with LEXFORGE_LEX_BACKEND=python):
 *
 *   StrMaker(cls)(value)  is  str.__new__(cls, value): the instance of a syntax class
 *                         (lexforge.runtime.lex.formats), made by str's own tp_new;
 *   BlobChecker(...)(v)   is  the fast form of a blob field
 *                         (lexforge.runtime.lex.datamodel.fast_blob_schema): the
 *                         current blob form with plain types, checked and built into a
 *                         Blob; anything else raises ValueError, and the fast form's
 *                         union hands the value to the full form.
 *
 * A fast form must accept a subset of what its full form accepts and build an identical
 * value; tests/lex/test_values_c.py holds both callables to that, against the full
 * validators and against the pure-Python forms.
 *
 * Blob slots are written at their member offsets, looked up (and checked to be plain
 * writable object slots of that very class) when a checker is made: building a Blob
 * this way is what pydantic-core's dataclass validator did, minus the field machinery
 * (no __init__, no __post_init__: the checks here are the ones it makes).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h> /* offsetof */
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

/* The CIDv1 text of a raw sha2-256 blob: "b" + base32 of 01 55 12 20 <32 bytes>. */
#define RAW_CID_PREFIX "bafkrei"
#define RAW_CID_PREFIX_LEN 7
#define RAW_CID_LENGTH 59
#define CODEC_RAW 0x55

/* Interned strings (module lifetime). */
static PyObject *s_type = NULL;      /* "$type" */
static PyObject *s_ref = NULL;       /* "ref" */
static PyObject *s_mime_type = NULL; /* "mimeType" */
static PyObject *s_size = NULL;      /* "size" */
static PyObject *s_link = NULL;      /* "$link" */

/* The offset of a writable object __slots__ member `name` that `type` itself defines,
 * or -1 with an exception set. */
static Py_ssize_t
slot_offset(PyTypeObject *type, const char *name)
{
    PyObject *descr = PyObject_GetAttrString((PyObject *)type, name);
    if (descr == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            return -1;
        }
        PyErr_Clear(); /* reported as not a slot, below */
    }
    Py_ssize_t off = -1;
    if (descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type) && PyDescr_TYPE(descr) == type) {
        PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
        if (m->type == LF_T_OBJECT_EX && !(m->flags & LF_READONLY) &&
            m->offset >= (Py_ssize_t)sizeof(PyObject) &&
            m->offset <= type->tp_basicsize - (Py_ssize_t)sizeof(PyObject *)) {
            off = m->offset;
        }
    }
    Py_XDECREF(descr);
    if (off < 0) {
        PyErr_Format(PyExc_TypeError, "%s.%s is not a plain __slots__ member of the class",
                     type->tp_name, name);
    }
    return off;
}

static inline PyObject *
slot_get(PyObject *obj, Py_ssize_t off) /* borrowed; NULL if unset (no exception) */
{
    return *(PyObject **)(void *)((char *)obj + off);
}

static inline void
slot_init(PyObject *obj, Py_ssize_t off, PyObject *v) /* steals v; the slot was empty */
{
    *(PyObject **)(void *)((char *)obj + off) = v;
}

/* ------------------------------------------------------------------------------------ */
/* StrMaker */

typedef struct {
    PyObject_HEAD
    PyObject *cls;
    vectorcallfunc vectorcall;
    PyObject *args; /* a private 1-tuple, untracked; holds None between calls */
    int busy;       /* args is in use (a re-entrant call builds its own tuple) */
} StrMakerObject;

static PyTypeObject StrMaker_Type;

static PyObject *
strmaker_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 1 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_SetString(PyExc_TypeError, "StrMaker takes exactly one positional argument");
        return NULL;
    }
    /* str.__new__(cls, value) is str's tp_new called with (value,): the same function,
     * so the same instance (and the same result for any argument, not only str). */
    StrMakerObject *me = (StrMakerObject *)self;
    if (me->cls == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "StrMaker was cleared");
        return NULL;
    }
    PyObject *value = args[0];
    if (me->busy || me->args == NULL || Py_REFCNT(me->args) != 1 ||
        !PyUnicode_CheckExact(value)) {
        PyObject *tuple = PyTuple_Pack(1, value);
        if (tuple == NULL) {
            return NULL;
        }
        PyObject *out = PyUnicode_Type.tp_new((PyTypeObject *)me->cls, tuple, NULL);
        Py_DECREF(tuple);
        return out;
    }
    /* The common case reuses the private tuple (a fifth of the call's cost): no code
     * outside this function can reach it (never tracked by the collector, never handed
     * out), str's tp_new only reads it, and an exact str argument runs no Python code
     * before tp_new has taken what it needs. Its one item is borrowed for the call;
     * None's reference stays with the tuple throughout. */
    me->busy = 1;
    PyObject *none = PyTuple_GET_ITEM(me->args, 0);
    PyTuple_SET_ITEM(me->args, 0, value);
    PyObject *out = PyUnicode_Type.tp_new((PyTypeObject *)me->cls, me->args, NULL);
    PyTuple_SET_ITEM(me->args, 0, none);
    me->busy = 0;
    return out;
}

/* tp_call (a caller that has an argument tuple already): the tuple is str's own. */
static PyObject *
strmaker_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    if (PyTuple_GET_SIZE(args) != 1 || (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)) {
        PyErr_SetString(PyExc_TypeError, "StrMaker takes exactly one positional argument");
        return NULL;
    }
    if (((StrMakerObject *)self)->cls == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "StrMaker was cleared");
        return NULL;
    }
    return PyUnicode_Type.tp_new((PyTypeObject *)((StrMakerObject *)self)->cls, args, NULL);
}

static PyObject *
strmaker_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *cls;
    if ((kwds != NULL && PyDict_GET_SIZE(kwds) != 0) ||
        !PyArg_UnpackTuple(args, "StrMaker", 1, 1, &cls)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "StrMaker takes no keyword arguments");
        }
        return NULL;
    }
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &PyUnicode_Type)) {
        PyErr_SetString(PyExc_TypeError, "StrMaker() needs a subclass of str");
        return NULL;
    }
    /* str.__new__(cls) refuses a class whose nearest static base is not str itself
     * (its instances would not be laid out as str's); so does this. */
    PyTypeObject *base = (PyTypeObject *)cls;
    while (base != NULL && (base->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
        base = base->tp_base;
    }
    if (base != &PyUnicode_Type) {
        PyErr_Format(PyExc_TypeError, "StrMaker(%s): str.__new__ cannot make its instances",
                     ((PyTypeObject *)cls)->tp_name);
        return NULL;
    }
    StrMakerObject *self = (StrMakerObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    Py_INCREF(cls);
    self->cls = cls;
    self->vectorcall = strmaker_vectorcall;
    self->args = PyTuple_Pack(1, Py_None);
    if (self->args == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    PyObject_GC_UnTrack(self->args);
    return (PyObject *)self;
}

static int
strmaker_traverse(StrMakerObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cls);
    return 0;
}

static int
strmaker_clear(StrMakerObject *self)
{
    Py_CLEAR(self->cls);
    return 0;
}

static void
strmaker_dealloc(StrMakerObject *self)
{
    PyObject_GC_UnTrack(self);
    strmaker_clear(self);
    Py_CLEAR(self->args);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
strmaker_repr(StrMakerObject *self)
{
    if (self->cls == NULL) {
        return PyUnicode_FromString("StrMaker(<cleared>)");
    }
    return PyUnicode_FromFormat("StrMaker(%s)", ((PyTypeObject *)self->cls)->tp_name);
}

static PyObject *
strmaker_reduce(StrMakerObject *self, PyObject *unused)
{
    if (self->cls == NULL) {
        PyErr_SetString(PyExc_TypeError, "cannot pickle a cleared StrMaker");
        return NULL;
    }
    return Py_BuildValue("(O(O))", (PyObject *)Py_TYPE(self), self->cls);
}

static PyObject *
strmaker_get_cls(StrMakerObject *self, void *closure)
{
    if (self->cls == NULL) {
        Py_RETURN_NONE;
    }
    Py_INCREF(self->cls);
    return self->cls;
}

static PyMethodDef strmaker_methods[] = {
    {"__reduce__", (PyCFunction)strmaker_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef strmaker_getset[] = {
    {"cls", (getter)strmaker_get_cls, NULL, "The str subclass whose instances are made.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject StrMaker_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lexforge.runtime.lex._values.StrMaker",
    .tp_basicsize = sizeof(StrMakerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "StrMaker(cls)\n--\n\nA callable: StrMaker(cls)(value) is str.__new__(cls, "
              "value), called without a Python frame.",
    .tp_new = strmaker_new,
    .tp_dealloc = (destructor)strmaker_dealloc,
    .tp_traverse = (traverseproc)strmaker_traverse,
    .tp_clear = (inquiry)strmaker_clear,
    .tp_repr = (reprfunc)strmaker_repr,
    .tp_call = strmaker_call,
    .tp_vectorcall_offset = offsetof(StrMakerObject, vectorcall),
    .tp_methods = strmaker_methods,
    .tp_getset = strmaker_getset,
};

/* ------------------------------------------------------------------------------------ */
/* BlobChecker */

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *blob_type; /* lexforge.runtime.data.blob.Blob */
    PyObject *cid_type;  /* lexforge.runtime.data.cid.CID */
    PyObject *parse;     /* CID text -> CID */
    PyObject *accept;    /* None (any MIME type with a '/') or a tuple of str */
    PyObject *limit_obj; /* the size limit as given (for __reduce__) */
    long long limit;
    Py_ssize_t off_ref, off_mime, off_size, off_legacy; /* Blob slots */
    Py_ssize_t off_parts;                               /* CID._parts */
} BlobCheckerObject;

static PyTypeObject BlobChecker_Type;

/* A ValueError for a value the fast form leaves to the full one (the message is never
 * shown: the full validator reruns and reports its own errors). */
static PyObject *
refuse(const char *why)
{
    PyErr_SetString(PyExc_ValueError, why);
    return NULL;
}

/* 1 if `mime` (exact str) is accepted, 0 if not. No exception is ever set. */
static int
mime_ok(BlobCheckerObject *self, PyObject *mime)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(mime);
    if (self->accept == Py_None) {
        return PyUnicode_FindChar(mime, '/', 0, n, 1) >= 0;
    }
    /* Entries are exact ASCII str of at least 2 characters (checked when the checker
     * was made): lower-case "type/" prefixes and exact "type/subtype" types. */
    int ascii = PyUnicode_IS_ASCII(mime);
    const char *m = ascii ? (const char *)PyUnicode_1BYTE_DATA(mime) : NULL;
    Py_ssize_t k = PyTuple_GET_SIZE(self->accept);
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *a = PyTuple_GET_ITEM(self->accept, i);
        Py_ssize_t an = PyUnicode_GET_LENGTH(a);
        const char *ad = (const char *)PyUnicode_1BYTE_DATA(a);
        int prefix = ad[an - 1] == '/';
        if (n < an || (!prefix && n != an)) {
            continue;
        }
        if (ascii) {
            if (memcmp(m, ad, (size_t)an) == 0) {
                return 1;
            }
        } else if (prefix && PyUnicode_Tailmatch(mime, a, 0, an, -1) == 1) {
            return 1; /* an ASCII prefix of a non-ASCII type (an exact type cannot match) */
        }
    }
    return 0;
}

/* 1 if `size` is an exact int within 0..limit, 0 if not, -1 on error. */
static int
size_ok(BlobCheckerObject *self, PyObject *size)
{
    if (!PyLong_CheckExact(size)) {
        return 0;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(size, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    return !overflow && v >= 0 && v <= self->limit;
}

/* 1 if `ref` is a CID with the raw codec (what CID.codec == 0x55 says), else 0. */
static int
cid_is_raw(BlobCheckerObject *self, PyObject *ref)
{
    if (!Py_IS_TYPE(ref, (PyTypeObject *)self->cid_type)) {
        return 0;
    }
    PyObject *parts = slot_get(ref, self->off_parts);
    if (parts == NULL || !PyTuple_CheckExact(parts) || PyTuple_GET_SIZE(parts) < 2) {
        return 0;
    }
    PyObject *codec = PyTuple_GET_ITEM(parts, 1);
    if (!PyLong_CheckExact(codec)) {
        return 0;
    }
    int overflow = 0;
    long v = PyLong_AsLongAndOverflow(codec, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear(); /* cannot happen for an exact int */
        return 0;
    }
    return !overflow && v == CODEC_RAW;
}

/* A Blob instance already in the current form with acceptable fields: itself. */
static PyObject *
check_instance(BlobCheckerObject *self, PyObject *blob)
{
    PyObject *ref = slot_get(blob, self->off_ref);
    PyObject *mime = slot_get(blob, self->off_mime);
    PyObject *size = slot_get(blob, self->off_size);
    PyObject *legacy = slot_get(blob, self->off_legacy);
    if (ref == NULL || mime == NULL || size == NULL || legacy != Py_None) {
        return refuse("not a current-form blob");
    }
    if (!cid_is_raw(self, ref) || !PyUnicode_CheckExact(mime) || !mime_ok(self, mime)) {
        return refuse("not a common blob");
    }
    int ok = size_ok(self, size);
    if (ok <= 0) {
        return ok < 0 ? NULL : refuse("blob size out of range");
    }
    Py_INCREF(blob);
    return blob;
}

/* The ref of a blob map: a new reference to a raw CID, or NULL with an exception. */
static PyObject *
blob_ref(BlobCheckerObject *self, PyObject *ref)
{
    if (PyDict_CheckExact(ref)) {
        if (PyDict_GET_SIZE(ref) != 1) {
            return refuse("not a common blob ref");
        }
        PyObject *link = PyDict_GetItemWithError(ref, s_link);
        if (link == NULL) {
            return PyErr_Occurred() ? NULL : refuse("not a common blob ref");
        }
        /* The prefix fixes version 1, the raw codec and sha2-256; the length, 32 bytes
         * of digest (the parser checks the rest: digest length byte, canonical text). */
        if (!PyUnicode_CheckExact(link) || PyUnicode_GET_LENGTH(link) != RAW_CID_LENGTH ||
            !PyUnicode_IS_ASCII(link) ||
            memcmp(PyUnicode_1BYTE_DATA(link), RAW_CID_PREFIX, RAW_CID_PREFIX_LEN) != 0) {
            return refuse("not a common blob ref");
        }
        Py_INCREF(link); /* the parser may run Python code (the pure-Python CID.parse) */
        PyObject *cid = PyObject_Vectorcall(self->parse, &link, 1, NULL);
        Py_DECREF(link);
        if (cid == NULL) {
            return NULL; /* a ValueError (InvalidCidError) for bad text */
        }
        if (!cid_is_raw(self, cid)) {
            Py_DECREF(cid);
            return refuse("not a raw CID");
        }
        return cid;
    }
    if (cid_is_raw(self, ref)) {
        Py_INCREF(ref);
        return ref;
    }
    return refuse("not a common blob ref");
}

static PyObject *
check_map(BlobCheckerObject *self, PyObject *value)
{
    if (PyDict_GET_SIZE(value) != 4) {
        return refuse("not a current-form blob");
    }
    PyObject *type = PyDict_GetItemWithError(value, s_type);
    if (type == NULL) {
        return PyErr_Occurred() ? NULL : refuse("not a current-form blob");
    }
    if (!PyUnicode_CheckExact(type) || PyUnicode_CompareWithASCIIString(type, "blob") != 0) {
        return refuse("not a current-form blob");
    }
    PyObject *ref_in = PyDict_GetItemWithError(value, s_ref);
    if (ref_in == NULL) {
        return PyErr_Occurred() ? NULL : refuse("not a current-form blob");
    }
    PyObject *ref = blob_ref(self, ref_in); /* may run Python code: look up the rest after */
    if (ref == NULL) {
        return NULL;
    }
    PyObject *mime = PyDict_GetItemWithError(value, s_mime_type);
    PyObject *size = mime == NULL ? NULL : PyDict_GetItemWithError(value, s_size);
    if (size == NULL) {
        Py_DECREF(ref);
        return PyErr_Occurred() ? NULL : refuse("not a current-form blob");
    }
    if (!PyUnicode_CheckExact(mime) || !mime_ok(self, mime)) {
        Py_DECREF(ref);
        return refuse("blob MIME type not taken by the fast form");
    }
    int ok = size_ok(self, size);
    if (ok <= 0) {
        Py_DECREF(ref);
        return ok < 0 ? NULL : refuse("blob size not taken by the fast form");
    }
    /* From here no Python code runs until the references are held by the Blob, except
     * a collection tp_alloc may start: hold our own references across it. */
    Py_INCREF(mime);
    Py_INCREF(size);
    PyTypeObject *tp = (PyTypeObject *)self->blob_type;
    PyObject *blob = tp->tp_alloc(tp, 0);
    if (blob == NULL) {
        Py_DECREF(ref);
        Py_DECREF(mime);
        Py_DECREF(size);
        return NULL;
    }
    slot_init(blob, self->off_ref, ref);
    slot_init(blob, self->off_mime, mime);
    slot_init(blob, self->off_size, size);
    Py_INCREF(Py_None);
    slot_init(blob, self->off_legacy, Py_None);
    return blob;
}

static PyObject *
blobchecker_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    BlobCheckerObject *self = (BlobCheckerObject *)op;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 1 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_SetString(PyExc_TypeError, "BlobChecker takes exactly one positional argument");
        return NULL;
    }
    if (self->blob_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "BlobChecker was cleared");
        return NULL;
    }
    PyObject *value = args[0];
    if (PyDict_CheckExact(value)) {
        return check_map(self, value);
    }
    if (Py_IS_TYPE(value, (PyTypeObject *)self->blob_type)) {
        return check_instance(self, value);
    }
    return refuse("not a blob map");
}

static PyObject *
blobchecker_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *blob_type, *cid_type, *parse, *accept, *limit_obj;
    if ((kwds != NULL && PyDict_GET_SIZE(kwds) != 0) ||
        !PyArg_UnpackTuple(args, "BlobChecker", 5, 5, &blob_type, &cid_type, &parse, &accept,
                           &limit_obj)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "BlobChecker takes no keyword arguments");
        }
        return NULL;
    }
    if (!PyType_Check(blob_type) || !PyType_Check(cid_type)) {
        PyErr_SetString(PyExc_TypeError, "BlobChecker() needs the Blob and CID classes");
        return NULL;
    }
    if (!PyCallable_Check(parse)) {
        PyErr_SetString(PyExc_TypeError, "BlobChecker() needs a callable CID parser");
        return NULL;
    }
    if (accept != Py_None) {
        if (!PyTuple_CheckExact(accept)) {
            PyErr_SetString(PyExc_TypeError, "BlobChecker() accept must be None or a tuple");
            return NULL;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(accept); i++) {
            PyObject *a = PyTuple_GET_ITEM(accept, i);
            if (!PyUnicode_CheckExact(a) || !PyUnicode_IS_ASCII(a) ||
                PyUnicode_GET_LENGTH(a) < 2 ||
                PyUnicode_FindChar(a, '/', 0, PyUnicode_GET_LENGTH(a), 1) < 1) {
                PyErr_SetString(PyExc_ValueError,
                                "BlobChecker() accept entries must be ASCII 'type/' or "
                                "'type/subtype' strings");
                return NULL;
            }
        }
    }
    if (!PyLong_CheckExact(limit_obj)) {
        PyErr_SetString(PyExc_TypeError, "BlobChecker() limit must be an int");
        return NULL;
    }
    long long limit = PyLong_AsLongLong(limit_obj);
    if (limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t offs[5];
    const char *names[4] = {"ref", "mime_type", "size", "legacy_cid"};
    for (int i = 0; i < 4; i++) {
        if ((offs[i] = slot_offset((PyTypeObject *)blob_type, names[i])) < 0) {
            return NULL;
        }
    }
    if ((offs[4] = slot_offset((PyTypeObject *)cid_type, "_parts")) < 0) {
        return NULL;
    }
    BlobCheckerObject *self = (BlobCheckerObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = blobchecker_vectorcall;
    Py_INCREF(blob_type);
    self->blob_type = blob_type;
    Py_INCREF(cid_type);
    self->cid_type = cid_type;
    Py_INCREF(parse);
    self->parse = parse;
    Py_INCREF(accept);
    self->accept = accept;
    Py_INCREF(limit_obj);
    self->limit_obj = limit_obj;
    self->limit = limit;
    self->off_ref = offs[0];
    self->off_mime = offs[1];
    self->off_size = offs[2];
    self->off_legacy = offs[3];
    self->off_parts = offs[4];
    return (PyObject *)self;
}

static int
blobchecker_traverse(BlobCheckerObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->blob_type);
    Py_VISIT(self->cid_type);
    Py_VISIT(self->parse);
    Py_VISIT(self->accept);
    Py_VISIT(self->limit_obj);
    return 0;
}

static int
blobchecker_clear(BlobCheckerObject *self)
{
    Py_CLEAR(self->blob_type);
    Py_CLEAR(self->cid_type);
    Py_CLEAR(self->parse);
    Py_CLEAR(self->accept);
    Py_CLEAR(self->limit_obj);
    return 0;
}

static void
blobchecker_dealloc(BlobCheckerObject *self)
{
    PyObject_GC_UnTrack(self);
    blobchecker_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
blobchecker_repr(BlobCheckerObject *self)
{
    if (self->accept == NULL) {
        return PyUnicode_FromString("BlobChecker(<cleared>)");
    }
    return PyUnicode_FromFormat("BlobChecker(accept=%R, limit=%lld)", self->accept,
                                self->limit);
}

static PyObject *
blobchecker_reduce(BlobCheckerObject *self, PyObject *unused)
{
    if (self->blob_type == NULL) {
        PyErr_SetString(PyExc_TypeError, "cannot pickle a cleared BlobChecker");
        return NULL;
    }
    return Py_BuildValue("(O(OOOOO))", (PyObject *)Py_TYPE(self), self->blob_type,
                         self->cid_type, self->parse, self->accept, self->limit_obj);
}

static PyMethodDef blobchecker_methods[] = {
    {"__reduce__", (PyCFunction)blobchecker_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject BlobChecker_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lexforge.runtime.lex._values.BlobChecker",
    .tp_basicsize = sizeof(BlobCheckerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "BlobChecker(blob_type, cid_type, parse, accept, limit, /)\n--\n\n"
              "The fast form of a blob field: checker(value) is the Blob of a current-form "
              "blob map (or Blob) with a raw CID ref, a MIME type that accept takes (None: "
              "any with a '/'; else ASCII lower-case 'type/' prefixes and exact types) and "
              "an int size in 0..limit; ValueError for anything else.",
    .tp_new = blobchecker_new,
    .tp_dealloc = (destructor)blobchecker_dealloc,
    .tp_traverse = (traverseproc)blobchecker_traverse,
    .tp_clear = (inquiry)blobchecker_clear,
    .tp_repr = (reprfunc)blobchecker_repr,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(BlobCheckerObject, vectorcall),
    .tp_methods = blobchecker_methods,
};

/* ------------------------------------------------------------------------------------ */

static struct PyModuleDef values_module = {
    PyModuleDef_HEAD_INIT,
    "lexforge.runtime.lex._values",
    "Accelerated value constructors for the fast validator (StrMaker, BlobChecker).",
    -1,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

static int
intern(PyObject **slot, const char *text)
{
    if (*slot == NULL && (*slot = PyUnicode_InternFromString(text)) == NULL) {
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC
PyInit__values(void)
{
    if (intern(&s_type, "$type") < 0 || intern(&s_ref, "ref") < 0 ||
        intern(&s_mime_type, "mimeType") < 0 || intern(&s_size, "size") < 0 ||
        intern(&s_link, "$link") < 0) {
        return NULL;
    }
    if (PyType_Ready(&StrMaker_Type) < 0 || PyType_Ready(&BlobChecker_Type) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&values_module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&StrMaker_Type);
    if (PyModule_AddObject(m, "StrMaker", (PyObject *)&StrMaker_Type) < 0) {
        Py_DECREF(&StrMaker_Type);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&BlobChecker_Type);
    if (PyModule_AddObject(m, "BlobChecker", (PyObject *)&BlobChecker_Type) < 0) {
        Py_DECREF(&BlobChecker_Type);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
