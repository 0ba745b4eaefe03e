/*
 * C accelerator for lexforge.runtime.lex.fast and .model: building generated model
 * instances (ModelBuilder) and the per-class validation entry points (FastEntry).
 *
 * The fast validator (runtime/lex/fast.py) validates a model's fields as a pydantic-core
 * typed dict and hands the result to a ModelBuilder, which makes the model instance
 * exactly as pydantic-core's own model validator would (``set_model_attrs``): a new
 * instance of the class, then ``__dict__`` (the fields, in declaration
 * order), ``__pydantic_extra__`` (the extra fields, in input order), ``__pydantic_private__``
 * (None) and ``__pydantic_fields_set__`` (the fields present in the input, extra ones
 * included).
 *
 * Why: pydantic-core's model validator costs about 0.4 us a model more than a typed dict
 * with the same fields; a post with a reply, facets and images is a dozen models.
 *
 * How "present in the input" is known: the typed dict's defaults are replaced by a
 * sentinel, so a field absent from the input comes out as the sentinel, which the
 * builder swaps for the real default (and leaves out of the fields set). Only immutable
 * defaults are handled (fast.py checks): pydantic copies nothing for those either.
 *
 * Anything unexpected (not a dict, fields out of order) raises ValueError, which makes
 * the fast validator fail; the full validator then decides, so a surprise here costs
 * time, never a wrong result.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h> /* offsetof */

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyTypeObject *cls;        /* the model class */
    PyObject *names;          /* tuple of str: field names in declaration order */
    PyObject *defaults;       /* tuple: each field's default (the sentinel if none) */
    PyObject *sentinel;       /* what the typed dict yields for an absent field */
    PyObject *set_extra;      /* slot descriptors of pydantic.BaseModel */
    PyObject *set_fields_set;
    PyObject *set_private;
} ModelBuilder;

static PyObject *g_empty_tuple = NULL;

static int
key_matches(PyObject *key, PyObject *name)
{
    if (key == name) {
        return 1;
    }
    return PyUnicode_Check(key) && PyUnicode_Compare(key, name) == 0;
}

static int
set_slot(PyObject *descr, PyObject *obj, PyObject *value)
{
    descrsetfunc set = Py_TYPE(descr)->tp_descr_set;
    return set(descr, obj, value);
}

/* Split the typed dict's output into (fields dict, extras dict, fields set); swap the
 * sentinel for defaults. ``data`` is reused as the fields dict when it has no extras. */
static int
split_fields(ModelBuilder *self, PyObject *data, PyObject **fields_out, PyObject **extra_out,
             PyObject **set_out)
{
    Py_ssize_t n = PyTuple_GET_SIZE(self->names);
    Py_ssize_t size = PyDict_GET_SIZE(data);
    if (size < n) {
        PyErr_SetString(PyExc_ValueError, "missing fields (left to the full validator)");
        return -1;
    }
    PyObject *fields = NULL, *extra = NULL, *fields_set = NULL;
    fields_set = PySet_New(NULL);
    extra = PyDict_New();
    if (fields_set == NULL || extra == NULL) {
        goto error;
    }
    if (size == n) {
        Py_INCREF(data);
        fields = data;
    }
    else if ((fields = PyDict_New()) == NULL) {
        goto error;
    }
    Py_ssize_t pos = 0, i = 0;
    PyObject *key, *value;
    /* PyDict_Next hands out borrowed references; hold each pair while we use it, since
     * replacing a value in ``data`` releases the old one. */
    while (PyDict_Next(data, &pos, &key, &value)) {
        Py_INCREF(key);
        Py_INCREF(value);
        int rc = 0;
        if (i < n) {
            if (!key_matches(key, PyTuple_GET_ITEM(self->names, i))) {
                PyErr_SetString(PyExc_ValueError,
                                "fields out of order (left to the full validator)");
                rc = -1;
            }
            else if (value == self->sentinel) {
                /* Replacing the value of an existing key keeps the key set (and the
                 * order) unchanged, which PyDict_Next allows. */
                rc = PyDict_SetItem(fields, key, PyTuple_GET_ITEM(self->defaults, i));
            }
            else {
                rc = PySet_Add(fields_set, key);
                if (rc == 0 && fields != data) {
                    rc = PyDict_SetItem(fields, key, value);
                }
            }
        }
        else {
            /* pydantic counts extra fields as set too. */
            rc = PyDict_SetItem(extra, key, value);
            if (rc == 0) {
                rc = PySet_Add(fields_set, key);
            }
        }
        Py_DECREF(key);
        Py_DECREF(value);
        if (rc < 0) {
            goto error;
        }
        i++;
    }
    *fields_out = fields;
    *extra_out = extra;
    *set_out = fields_set;
    return 0;
error:
    Py_XDECREF(fields);
    Py_XDECREF(extra);
    Py_XDECREF(fields_set);
    return -1;
}

static PyObject *
builder_build(ModelBuilder *self, PyObject *data)
{
    if (!PyDict_CheckExact(data) && !PyTuple_CheckExact(data)) {
        PyErr_SetString(PyExc_ValueError, "expected a dict (left to the full validator)");
        return NULL;
    }
    PyObject *fields, *extra, *fields_set;
    if (PyTuple_CheckExact(data) && PyTuple_GET_SIZE(data) == 3) {
        fields = Py_NewRef(PyTuple_GET_ITEM(data, 0));
        extra = Py_NewRef(PyTuple_GET_ITEM(data, 1));
        fields_set = Py_NewRef(PyTuple_GET_ITEM(data, 2));
    }
    else if (split_fields(self, data, &fields, &extra, &fields_set) < 0) {
        return NULL;
    }
#if PY_VERSION_HEX < 0x030D0000
    /* Up to 3.12 an instance fresh from tp_alloc has neither inline values nor a dict,
     * so setting __dict__ stores ours directly; tp_new (object_new) would first make
     * inline values that setting __dict__ turns into a dict only to drop it. */
    PyObject *obj = self->cls->tp_alloc(self->cls, 0);
#else
    /* 3.13 changed how inline values live in the object: take object_new, as
     * pydantic-core does, rather than depend on what tp_alloc sets up there. */
    PyObject *obj = self->cls->tp_new(self->cls, g_empty_tuple, NULL);
#endif
    if (obj == NULL) {
        goto done;
    }
    if (PyObject_GenericSetDict(obj, fields, NULL) < 0
        || set_slot(self->set_extra, obj, extra) < 0
        || set_slot(self->set_private, obj, Py_None) < 0
        || set_slot(self->set_fields_set, obj, fields_set) < 0) {
        Py_CLEAR(obj);
    }
done:
    Py_DECREF(fields);
    Py_DECREF(extra);
    Py_DECREF(fields_set);
    return obj;
}

static PyObject *
builder_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 1 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_SetString(PyExc_TypeError, "ModelBuilder takes exactly one positional argument");
        return NULL;
    }
    return builder_build((ModelBuilder *)callable, args[0]);
}

static int
check_descriptor(PyObject *descr, const char *what)
{
    if (Py_TYPE(descr)->tp_descr_set == NULL) {
        PyErr_Format(PyExc_TypeError, "%s must be a settable descriptor", what);
        return -1;
    }
    return 0;
}

static PyObject *
builder_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"cls", "names", "defaults", "sentinel", "extra_slot",
                             "fields_set_slot", "private_slot", NULL};
    PyObject *cls, *names, *defaults, *sentinel, *set_extra, *set_fields_set, *set_private;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!OOOO:ModelBuilder", kwlist,
                                     &PyType_Type, &cls, &PyTuple_Type, &names, &PyTuple_Type,
                                     &defaults, &sentinel, &set_extra, &set_fields_set,
                                     &set_private)) {
        return NULL;
    }
    if (PyTuple_GET_SIZE(names) != PyTuple_GET_SIZE(defaults)) {
        PyErr_SetString(PyExc_ValueError, "names and defaults differ in length");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(names, i))) {
            PyErr_SetString(PyExc_TypeError, "field names must be str");
            return NULL;
        }
    }
    if (((PyTypeObject *)cls)->tp_new == NULL) {
        PyErr_SetString(PyExc_TypeError, "the model class cannot be instantiated");
        return NULL;
    }
    if (check_descriptor(set_extra, "extra_slot") < 0
        || check_descriptor(set_fields_set, "fields_set_slot") < 0
        || check_descriptor(set_private, "private_slot") < 0) {
        return NULL;
    }
    ModelBuilder *self = (ModelBuilder *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = builder_vectorcall;
    self->cls = (PyTypeObject *)Py_NewRef(cls);
    self->names = Py_NewRef(names);
    self->defaults = Py_NewRef(defaults);
    self->sentinel = Py_NewRef(sentinel);
    self->set_extra = Py_NewRef(set_extra);
    self->set_fields_set = Py_NewRef(set_fields_set);
    self->set_private = Py_NewRef(set_private);
    return (PyObject *)self;
}

static int
builder_traverse(ModelBuilder *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cls);
    Py_VISIT(self->names);
    Py_VISIT(self->defaults);
    Py_VISIT(self->sentinel);
    Py_VISIT(self->set_extra);
    Py_VISIT(self->set_fields_set);
    Py_VISIT(self->set_private);
    return 0;
}

static int
builder_clear(ModelBuilder *self)
{
    Py_CLEAR(self->cls);
    Py_CLEAR(self->names);
    Py_CLEAR(self->defaults);
    Py_CLEAR(self->sentinel);
    Py_CLEAR(self->set_extra);
    Py_CLEAR(self->set_fields_set);
    Py_CLEAR(self->set_private);
    return 0;
}

static void
builder_dealloc(ModelBuilder *self)
{
    PyObject_GC_UnTrack(self);
    builder_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
builder_repr(ModelBuilder *self)
{
    return PyUnicode_FromFormat("ModelBuilder(%s)", self->cls->tp_name);
}

static PyTypeObject ModelBuilderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lexforge.runtime.lex._models.ModelBuilder",
    .tp_doc = PyDoc_STR("ModelBuilder(cls, names, defaults, sentinel, extra_slot, "
                        "fields_set_slot, private_slot)\n\n"
                        "Called with a typed dict's output, returns the model instance."),
    .tp_basicsize = sizeof(ModelBuilder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(ModelBuilder, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_new = builder_new,
    .tp_traverse = (traverseproc)builder_traverse,
    .tp_clear = (inquiry)builder_clear,
    .tp_dealloc = (destructor)builder_dealloc,
    .tp_repr = (reprfunc)builder_repr,
};

/* ------------------------------------------------------------------------------------ */
/* FastEntry: a model class's own model_validate / model_validate_json                  */

/*
 * FastEntry(cls, fast, full, generic, error): stored on ``cls`` as ``model_validate``
 * (or ``model_validate_json``). Looked up on ``cls`` it is itself a callable taking the
 * input: it runs ``fast`` (the fast validator's method) and, if that raises ``error``
 * (pydantic_core.ValidationError), ``full`` (the full validator's), whose result or
 * exception is the caller's. Any keyword option goes to ``generic`` (LexModel's own
 * classmethod function, called with ``cls`` first). Looked up on a subclass it binds
 * ``generic`` to the subclass, as a classmethod would.
 *
 * Why: as a Python classmethod this dispatch cost a bound-method object and a frame
 * per call, a fifth of validating a small record.
 */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *cls;
    PyObject *fast;
    PyObject *full;
    PyObject *generic;
    PyObject *error;
    PyObject *dict; /* __doc__, __wrapped__... (functools.update_wrapper) */
} FastEntry;

static PyObject *
entry_generic(FastEntry *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    PyObject *small[8];
    PyObject **stack = small;
    if (nargs + nkw + 1 > 8) {
        stack = PyMem_New(PyObject *, nargs + nkw + 1);
        if (stack == NULL) {
            return PyErr_NoMemory();
        }
    }
    stack[0] = self->cls;
    for (Py_ssize_t i = 0; i < nargs + nkw; i++) {
        stack[i + 1] = args[i];
    }
    PyObject *result = PyObject_Vectorcall(self->generic, stack, (size_t)(nargs + 1), kwnames);
    if (stack != small) {
        PyMem_Free(stack);
    }
    return result;
}

static PyObject *
entry_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    FastEntry *self = (FastEntry *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 1 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        return entry_generic(self, args, nargs, kwnames);
    }
    PyObject *result = PyObject_Vectorcall(self->fast, args, 1, NULL);
    if (result != NULL || !PyErr_ExceptionMatches(self->error)) {
        return result;
    }
    PyErr_Clear();
    return PyObject_Vectorcall(self->full, args, 1, NULL);
}

static PyObject *
entry_get(PyObject *self_obj, PyObject *obj, PyObject *type)
{
    FastEntry *self = (FastEntry *)self_obj;
    PyObject *owner = type != NULL ? type : (PyObject *)Py_TYPE(obj);
    if (owner == self->cls) {
        return Py_NewRef(self_obj);
    }
    return PyMethod_New(self->generic, owner);
}

static PyObject *
entry_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"cls", "fast", "full", "generic", "error", NULL};
    PyObject *cls, *fast, *full, *generic, *error;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OOOO:FastEntry", kwlist, &PyType_Type,
                                     &cls, &fast, &full, &generic, &error)) {
        return NULL;
    }
    if (!PyCallable_Check(fast) || !PyCallable_Check(full) || !PyCallable_Check(generic)) {
        PyErr_SetString(PyExc_TypeError, "fast, full and generic must be callable");
        return NULL;
    }
    if (!PyExceptionClass_Check(error)) {
        PyErr_SetString(PyExc_TypeError, "error must be an exception class");
        return NULL;
    }
    FastEntry *self = (FastEntry *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = entry_vectorcall;
    self->cls = Py_NewRef(cls);
    self->fast = Py_NewRef(fast);
    self->full = Py_NewRef(full);
    self->generic = Py_NewRef(generic);
    self->error = Py_NewRef(error);
    return (PyObject *)self;
}

static int
entry_traverse(FastEntry *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cls);
    Py_VISIT(self->fast);
    Py_VISIT(self->full);
    Py_VISIT(self->generic);
    Py_VISIT(self->error);
    Py_VISIT(self->dict);
    return 0;
}

static int
entry_clear(FastEntry *self)
{
    Py_CLEAR(self->cls);
    Py_CLEAR(self->fast);
    Py_CLEAR(self->full);
    Py_CLEAR(self->generic);
    Py_CLEAR(self->error);
    Py_CLEAR(self->dict);
    return 0;
}

static void
entry_dealloc(FastEntry *self)
{
    PyObject_GC_UnTrack(self);
    entry_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
entry_repr(FastEntry *self)
{
    return PyUnicode_FromFormat("<fast entry of %R>", self->cls);
}

static PyGetSetDef entry_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject FastEntryType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lexforge.runtime.lex._models.FastEntry",
    .tp_doc = PyDoc_STR("FastEntry(cls, fast, full, generic, error)\n\n"
                        "A model class's own model_validate: fast validator first, the "
                        "full one when it fails."),
    .tp_basicsize = sizeof(FastEntry),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(FastEntry, vectorcall),
    .tp_dictoffset = offsetof(FastEntry, dict),
    .tp_call = PyVectorcall_Call,
    .tp_descr_get = entry_get,
    .tp_new = entry_new,
    .tp_traverse = (traverseproc)entry_traverse,
    .tp_clear = (inquiry)entry_clear,
    .tp_dealloc = (destructor)entry_dealloc,
    .tp_repr = (reprfunc)entry_repr,
    .tp_getset = entry_getset,
};

static struct PyModuleDef models_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "lexforge.runtime.lex._models",
    .m_doc = "Builds generated model instances for the fast validator (see _models.c).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__models(void)
{
    if (PyType_Ready(&ModelBuilderType) < 0 || PyType_Ready(&FastEntryType) < 0) {
        return NULL;
    }
    if (g_empty_tuple == NULL && (g_empty_tuple = PyTuple_New(0)) == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&models_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(module, "ModelBuilder", (PyObject *)&ModelBuilderType) < 0
        || PyModule_AddObjectRef(module, "FastEntry", (PyObject *)&FastEntryType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
