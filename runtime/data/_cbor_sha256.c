/*
 * SHA-256 (portable and SHA-NI) for block CIDs and MST key layers.
 *
 * Part of the _cbor extension; the design rules (hostile input) and the map of its
 * sources are at the top of _cbor.h.
 */

#include "_cbor.h"

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

/* SHA-256 of data with the block function chosen at init. */
void
sha256(const unsigned char *data, size_t len, unsigned char out[32])
{
    sha256_with(g_sha256_blocks, data, len, out);
}

PyObject *
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

PyObject *
py_sha256_impl(PyObject *module, PyObject *unused)
{
    return PyUnicode_FromString(g_sha256_blocks == sha256_blocks_portable ? "portable" : "sha-ni");
}

/* Choose the block function once, at module init (PyInit__cbor). */
void
sha256_init(void)
{
#ifdef LEXFORGE_HAVE_SHANI
    if (cpu_has_shani()) {
        g_sha256_blocks = sha256_blocks_shani;
    }
#endif
}
