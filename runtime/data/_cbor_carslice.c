/*
 * The CAR-slice reader (lexforge.runtime.repo.carslice).
 *
 * Part of the _cbor extension; the design rules (hostile input) and the map of its
 * sources are at the top of _cbor.h.
 */

#include "_cbor.h"

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

PyObject *
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
