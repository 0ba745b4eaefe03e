/*
 * base32 (RFC 4648 alphabet, lower case, no padding) for CID text.
 *
 * Part of the _cbor extension; the design rules (hostile input) and the map of its
 * sources are at the top of _cbor.h.
 */

#include "_cbor.h"

/* ------------------------------------------------------------------------------------ */
/* base32 (RFC 4648 alphabet, lower case, no padding) for CID text */

static const char B32_ALPHABET[] = "abcdefghijklmnopqrstuvwxyz234567";

PyObject *
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
int
b32_length_ok(Py_ssize_t n)
{
    int r = (int)(n % 8);
    return !(n == 0 || r == 1 || r == 3 || r == 6);
}

const char *const B32_ERRORS[] = {
    NULL,
    "base32 CID text must be lower case a-z, 2-7",
    "invalid base32 character in CID text",
    "non-canonical base32 (non-zero trailing bits) in CID text",
    "b32_decode overflow",
};

/* Decode text[start:] (a length b32_length_ok accepts) into o, which has room for
 * (len - start) * 5 / 8 bytes. Returns B32_OK or why the text is not canonical
 * lower-case unpadded base32 (the checks in cid._b32_decode_py's order). */
int
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

PyObject *
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
