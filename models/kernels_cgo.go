//go:build cgo && !noblas && amd64

package models

/*
#cgo CFLAGS: -O3
#cgo LDFLAGS: -lm
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

// The float32 element-wise kernels of genlab's ops (x86-64 only; other
// architectures and builds without cgo use the Go of kernels_go.go). Each is
// compiled three times, for AVX-512, for AVX2+FMA and for the x86-64
// baseline, and the first call picks one by the CPU's features. gcc
// vectorises the loops, except the sigmoid and exponential rows, written
// with intrinsics. Reductions keep eight explicit partial sums combined in a
// fixed order, so a result does not depend on the vector width (and, run to
// run on one machine, not at all). The Go fallbacks compute the same thing;
// the tests compare each variant, in float32, with the float64 Go code.

#define INL static inline __attribute__((always_inline))
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,prefer-vector-width=512")))

// e^x for x in [-87.33, 88.72], as expfCore in fastmath.go.
INL float k_expf(float x) {
	float z = x * 1.44269504088896341f + 0.5f;
	int32_t n = (int32_t)z;
	n -= (float)n > z;
	float fn = (float)n;
	float r = x - fn * 0.693359375f - fn * -2.12194440e-4f;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	int32_t bits = (n + 127) << 23;
	float sc;
	memcpy(&sc, &bits, 4);
	return p * sc;
}

// σ(v) = 1/(1+e^−v), −v clamped to k_expf's range (σ is then 0 or 1).
INL float k_sigmoid(float v) {
	float t = -v;
	t = t > 88.72f ? 88.72f : t;
	t = t < -87.33f ? -87.33f : t;
	return 1.0f / (1.0f + k_expf(t));
}

// The same, eight at a time (gcc does not vectorise the clamps itself).
AVX2 INL __m256 v_sigmoid(__m256 v) {
	const __m256 one = _mm256_set1_ps(1.0f);
	__m256 t = _mm256_sub_ps(_mm256_setzero_ps(), v);
	t = _mm256_max_ps(_mm256_min_ps(t, _mm256_set1_ps(88.72f)), _mm256_set1_ps(-87.33f));
	__m256 fn = _mm256_floor_ps(_mm256_fmadd_ps(t, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
	__m256 r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(-2.12194440e-4f), _mm256_fnmadd_ps(fn, _mm256_set1_ps(0.693359375f), t));
	__m256 p = _mm256_set1_ps(1.9875691500e-4f);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
	p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), one);
	__m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fn), _mm256_set1_epi32(127)), 23);
	return _mm256_div_ps(one, _mm256_add_ps(one, _mm256_mul_ps(p, _mm256_castsi256_ps(bits))));
}

// Rows of the SiLU kernels, scalar and AVX2: sig = σ(z) and y = z·σ (y may
// be z; sig may be NULL); and dz = dy·silu'(z) for z = x·a + b,
// silu'(z) = σ·(1 + z·(1−σ)).
static void silu_row_base(const float *z, float *sig, float *y, long n) {
	for (long i = 0; i < n; i++) {
		float v = z[i], s = k_sigmoid(v);
		if (sig)
			sig[i] = s;
		y[i] = v * s;
	}
}

AVX2 static void silu_row_avx2(const float *z, float *sig, float *y, long n) {
	long i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(z + i), s = v_sigmoid(v);
		if (sig)
			_mm256_storeu_ps(sig + i, s);
		_mm256_storeu_ps(y + i, _mm256_mul_ps(v, s));
	}
	// The last n%8 go through the same vector code on a padded copy, not
	// the scalar (non-FMA) row: an element's result must not depend on
	// where a row was cut, since the cut moves with the batch size and the
	// number of workers.
	if (i < n) {
		float zt[8] = {0}, st[8], yt[8];
		memcpy(zt, z + i, (n - i) * sizeof(float));
		__m256 v = _mm256_loadu_ps(zt), s = v_sigmoid(v);
		_mm256_storeu_ps(st, s);
		_mm256_storeu_ps(yt, _mm256_mul_ps(v, s));
		if (sig)
			memcpy(sig + i, st, (n - i) * sizeof(float));
		memcpy(y + i, yt, (n - i) * sizeof(float));
	}
}

static void silu_back_row_base(const float *x, const float *dy, float *dz, float a, float b, long n) {
	for (long i = 0; i < n; i++) {
		float z = x[i] * a + b, s = k_sigmoid(z);
		dz[i] = dy[i] * s * (1.0f + z * (1.0f - s));
	}
}

AVX2 static void silu_back_row_avx2(const float *x, const float *dy, float *dz, float a, float b, long n) {
	const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b), one = _mm256_set1_ps(1.0f);
	long i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 z = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), va, vb), s = v_sigmoid(z);
		__m256 d = _mm256_fmadd_ps(z, _mm256_sub_ps(one, s), one);
		_mm256_storeu_ps(dz + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(dy + i), s), d));
	}
	if (i < n) { // the tail on a padded copy, as in silu_row_avx2
		float xt[8] = {0}, dyt[8] = {0}, dzt[8];
		memcpy(xt, x + i, (n - i) * sizeof(float));
		memcpy(dyt, dy + i, (n - i) * sizeof(float));
		__m256 z = _mm256_fmadd_ps(_mm256_loadu_ps(xt), va, vb), s = v_sigmoid(z);
		__m256 d = _mm256_fmadd_ps(z, _mm256_sub_ps(one, s), one);
		_mm256_storeu_ps(dzt, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(dyt), s), d));
		memcpy(dz + i, dzt, (n - i) * sizeof(float));
	}
}

// And sixteen at a time.
AVX512 INL __m512 v_sigmoid512(__m512 v) {
	const __m512 one = _mm512_set1_ps(1.0f);
	__m512 t = _mm512_sub_ps(_mm512_setzero_ps(), v);
	t = _mm512_max_ps(_mm512_min_ps(t, _mm512_set1_ps(88.72f)), _mm512_set1_ps(-87.33f));
	__m512 fn = _mm512_roundscale_ps(_mm512_fmadd_ps(t, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f)),
		_MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
	__m512 r = _mm512_fnmadd_ps(fn, _mm512_set1_ps(-2.12194440e-4f), _mm512_fnmadd_ps(fn, _mm512_set1_ps(0.693359375f), t));
	__m512 p = _mm512_set1_ps(1.9875691500e-4f);
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
	p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
	p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), one);
	__m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fn), _mm512_set1_epi32(127)), 23);
	return _mm512_div_ps(one, _mm512_add_ps(one, _mm512_mul_ps(p, _mm512_castsi512_ps(bits))));
}

AVX512 static void silu_row_avx512(const float *z, float *sig, float *y, long n) {
	long i = 0;
	for (; i + 16 <= n; i += 16) {
		__m512 v = _mm512_loadu_ps(z + i), s = v_sigmoid512(v);
		if (sig)
			_mm512_storeu_ps(sig + i, s);
		_mm512_storeu_ps(y + i, _mm512_mul_ps(v, s));
	}
	silu_row_avx2(z + i, sig ? sig + i : 0, y + i, n - i);
}

AVX512 static void silu_back_row_avx512(const float *x, const float *dy, float *dz, float a, float b, long n) {
	const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b), one = _mm512_set1_ps(1.0f);
	long i = 0;
	for (; i + 16 <= n; i += 16) {
		__m512 z = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), va, vb), s = v_sigmoid512(z);
		__m512 d = _mm512_fmadd_ps(z, _mm512_sub_ps(one, s), one);
		_mm512_storeu_ps(dz + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(dy + i), s), d));
	}
	silu_back_row_avx2(x + i, dy + i, dz + i, a, b, n - i);
}

typedef void (*silu_row_fn)(const float *, float *, float *, long);
typedef void (*silu_back_row_fn)(const float *, const float *, float *, float, float, long);

// dx = dy·σ·(1 + x·(1−σ)).
INL void k_silu_grad(const float *x, const float *dy, const float *sig, float *dx, long n) {
	for (long i = 0; i < n; i++) {
		float s = sig[i];
		dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
	}
}

INL double k_sum(const float *x, long n) {
	double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
	long i = 0;
	for (; i + 8 <= n; i += 8)
		for (int l = 0; l < 8; l++)
			acc[l] += (double)x[i + l];
	double t = 0;
	for (; i < n; i++)
		t += (double)x[i];
	return (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))) + t;
}

INL double k_sqdev(const float *x, long n, double mean) {
	double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
	long i = 0;
	for (; i + 8 <= n; i += 8)
		for (int l = 0; l < 8; l++) {
			double d = (double)x[i + l] - mean;
			acc[l] += d * d;
		}
	double t = 0;
	for (; i < n; i++) {
		double d = (double)x[i] - mean;
		t += d * d;
	}
	return (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))) + t;
}

INL double k_dot(const float *a, const float *b, long n) {
	double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
	long i = 0;
	for (; i + 8 <= n; i += 8)
		for (int l = 0; l < 8; l++)
			acc[l] += (double)a[i + l] * (double)b[i + l];
	double t = 0;
	for (; i < n; i++)
		t += (double)a[i] * (double)b[i];
	return (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))) + t;
}

// Float32 sums with eight partial sums per block of 256, the blocks added
// in float64: for the bias gradients (rows of a few hundred values).
INL double k_sumf(const float *x, long n) {
	double tot = 0;
	long i = 0;
	while (i + 8 <= n) {
		float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
		long end = i + 256 <= n ? i + 256 : n - (n - i) % 8;
		for (; i < end; i += 8)
			for (int l = 0; l < 8; l++)
				acc[l] += x[i + l];
		tot += (double)(((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
	}
	for (; i < n; i++)
		tot += (double)x[i];
	return tot;
}

// A group's mean and 1/σ: two passes in float64 (op_norm.go).
INL void k_gn_stats(const float *xs, long m, double eps, double *mean, double *rstd) {
	*mean = k_sum(xs, m) / (double)m;
	*rstd = 1.0 / sqrt(k_sqdev(xs, m, *mean) / (double)m + eps);
}

// GroupNorm (optionally fused with SiLU) over groups [lo,hi) of a tensor
// (N, C, P) viewed as N·groups groups of cg·p values; see op_norm.go.
INL void k_gn_forward(const float *x, const float *gamma, const float *beta, float *y, int silu,
		double *mean_out, double *rstd_out, long lo, long hi, long groups, long cg, long p, double eps, silu_row_fn silu_row) {
	long m = cg * p;
	for (long ng = lo; ng < hi; ng++) {
		const float *xs = x + ng * m;
		double mean, rstd;
		k_gn_stats(xs, m, eps, &mean, &rstd);
		mean_out[ng] = mean;
		rstd_out[ng] = rstd;
		long g0 = (ng % groups) * cg;
		for (long j = 0; j < cg; j++) {
			float a = (float)rstd * gamma[g0 + j];
			float b = beta[g0 + j] - (float)mean * a;
			const float *xr = xs + j * p;
			float *yr = y + ng * m + j * p;
			for (long i = 0; i < p; i++)
				yr[i] = xr[i] * a + b;
			if (silu)
				silu_row(yr, 0, yr, p);
		}
	}
}

// The same with SiLU for groups [lo,hi) of one image x (C, h, w), written
// into the interiors of the padded planes xp of the conv that reads it
// (wq wide, pp apart, bordered by pad; op_normconv.go): each element goes
// through the same affine and SiLU as k_gn_forward's, which compute every
// element alone, so the values are k_gn_forward's. SiLU runs over each
// plane's span from its first interior row to its last in one row (the
// fewer tails the better): the border columns in between hold zeros, and
// silu(0) = 0 keeps them so.
INL void k_gn_silu_pad(const float *x, const float *gamma, const float *beta, float *xp, double *mean_out, double *rstd_out,
		long lo, long hi, long cg, long h, long w, long pad, long wq, long pp, double eps, silu_row_fn silu_row) {
	long p = h * w, m = cg * p;
	for (long gi = lo; gi < hi; gi++) {
		const float *xs = x + gi * m;
		double mean, rstd;
		k_gn_stats(xs, m, eps, &mean, &rstd);
		mean_out[gi] = mean;
		rstd_out[gi] = rstd;
		long g0 = gi * cg;
		for (long j = 0; j < cg; j++) {
			float a = (float)rstd * gamma[g0 + j];
			float b = beta[g0 + j] - (float)mean * a;
			const float *xr = xs + j * p;
			float *plane = xp + (g0 + j) * pp + pad * wq + pad;
			for (long r = 0; r < h; r++) {
				const float *xrr = xr + r * w;
				float *yr = plane + r * wq;
				for (long i = 0; i < w; i++)
					yr[i] = xrr[i] * a + b;
			}
			silu_row(plane, 0, plane, (h - 1) * wq + w);
		}
	}
}

INL void k_gn_backward(const float *x, const float *gamma, const float *beta, const float *dy, int silu,
		float *dx, const double *mean_in, const double *rstd_in, double *sdz, double *sdzx,
		long lo, long hi, long groups, long c, long p, silu_back_row_fn silu_back_row) {
	long cg = c / groups, m = cg * p;
	for (long ng = lo; ng < hi; ng++) {
		double mean = mean_in[ng], rstd = rstd_in[ng];
		long g0 = (ng % groups) * cg;
		long nc0 = (ng / groups) * c + g0;
		double sg = 0, sgx = 0;
		for (long j = 0; j < cg; j++) {
			long off = ng * m + j * p;
			const float *dz = dy + off;
			if (silu) {
				float a = (float)rstd * gamma[g0 + j];
				float b = beta[g0 + j] - (float)mean * a;
				silu_back_row(x + off, dy + off, dx + off, a, b, p);
				dz = dx + off;
			}
			double s1 = k_sum(dz, p);
			double s2 = (k_dot(dz, x + off, p) - mean * s1) * rstd;
			sdz[nc0 + j] = s1;
			sdzx[nc0 + j] = s2;
			double gm = (double)gamma[g0 + j];
			sg += gm * s1;
			sgx += gm * s2;
		}
		sg /= (double)m;
		sgx /= (double)m;
		float bx = (float)(-sgx * rstd * rstd), cc = (float)(-sg * rstd), meanf = (float)mean;
		for (long j = 0; j < cg; j++) {
			long off = ng * m + j * p;
			float a = (float)rstd * gamma[g0 + j];
			const float *xr = x + off;
			const float *dz = silu ? dx + off : dy + off;
			float *dxr = dx + off;
			for (long i = 0; i < p; i++)
				dxr[i] = a * dz[i] + (xr[i] - meanf) * bx + cc;
		}
	}
}

// Padded planes for the shifted-GEMM convs (op_conv_shift.go): copy c
// planes h×w into the interiors of planes wq wide and pp apart, bordered by
// pad; and back, adding b[ch] when b is not NULL.
INL void k_pad_planes(const float *x, float *xp, long c, long h, long w, long pad, long wq, long pp) {
	for (long ch = 0; ch < c; ch++)
		for (long r = 0; r < h; r++) {
			const float *src = x + (ch * h + r) * w;
			float *d = xp + ch * pp + (r + pad) * wq + pad;
			for (long i = 0; i < w; i++)
				d[i] = src[i];
		}
}

// The same at stride 2: row r, column q of the padded image to phase plane
// (r%2, q%2), psz apart, at row r/2, column q/2.
INL void k_pad_phases(const float *x, float *xp, long c, long h, long w, long pad, long wq, long pp, long psz) {
	for (long ch = 0; ch < c; ch++)
		for (long r = 0; r < h; r++) {
			const float *src = x + (ch * h + r) * w;
			long pr = r + pad;
			float *row = xp + ch * pp + pr % 2 * 2 * psz + pr / 2 * wq;
			for (long i = 0; i < w; i++) {
				long pq = i + pad;
				row[pq % 2 * psz + pq / 2] = src[i];
			}
		}
}

INL void k_unpad_planes(const float *op, float *y, const float *b, long c, long ho, long wo, long wq) {
	for (long ch = 0; ch < c; ch++) {
		float bc = b ? b[ch] : 0.0f;
		for (long r = 0; r < ho; r++) {
			const float *src = op + (ch * ho + r) * wq;
			float *d = y + (ch * ho + r) * wo;
			for (long i = 0; i < wo; i++)
				d[i] = src[i] + bc;
		}
	}
}

// Direct k×k convolutions over padded planes (op_conv_direct.go): the
// output channels of blocks [cb_lo, cb_hi) of four, at the positions q in
// [0, 16·nvec) of the planes,
//
//	o[co][q] = bias[co] + Σ_ci Σ_t W[co][ci][t] · xp[ci·cs + toff[t] + q].
//
// wr holds W in those blocks, wr[((cb·cin + ci)·taps + t)·4 + c] =
// W[4cb+c][ci][t], zero past cout. Every output is one chain of
// multiply-adds over ci, then t, in order, starting from the bias (FMA with
// AVX2 and AVX-512, multiply then add at the baseline), whichever tile,
// lane or worker computes it: an image's output depends on that image and
// W alone. xp is readable 16 floats past the last tap's reach. Of each
// vector of 16 positions, those set in the mask vm[i] are outputs (the
// others lie past a row's end), stored in order at y + co·pout + yoff[i].
// When given, ca[co] (one per output channel) and then ra (laid out as y)
// are added to an output after its chain, each as one more rounded add:
// the per-channel embedding and the residual of a residual block, the
// same bytes as adding them in a pass of their own afterwards.
// Tiles of 4 channels × nv vectors of positions keep their sums in
// registers: 24 of AVX-512's 32, 8 of AVX2's 16.
#define CONV_CB 4

// The bias of channel block cb, zero past cout, and how many of its
// channels exist.
INL int conv_bias4(const float *bias, long cout, long cb, float *b4) {
	int n = cout - 4 * cb < CONV_CB ? (int)(cout - 4 * cb) : CONV_CB;
	for (int c = 0; c < CONV_CB; c++)
		b4[c] = c < n ? bias[4 * cb + c] : 0.0f;
	return n;
}

// The outputs among 16 positions, in order, plus *ca and r's when given.
INL void conv_store16(const float *v, unsigned m, float *y, const float *ca, const float *r) {
	for (int l = 0; l < 16; l++)
		if (m >> l & 1) {
			float o = v[l];
			if (ca)
				o = o + *ca;
			if (r)
				o = o + *r++;
			*y++ = o;
		}
}

AVX512 INL void conv_tile512(const float *xp, long cs, const long *toff, long taps, const float *wb,
		const float *b4, float *y, const float *ca, const float *ra, long pout, const unsigned short *vm, const long *yoff,
		long cin, long v0, int cb, const int nv) {
	__m512 acc[CONV_CB][6];
	for (int c = 0; c < CONV_CB; c++)
		for (int v = 0; v < nv; v++)
			acc[c][v] = _mm512_set1_ps(b4[c]);
	for (long ci = 0; ci < cin; ci++) {
		const float *xc = xp + ci * cs + 16 * v0;
		const float *wc = wb + ci * taps * CONV_CB;
		for (long t = 0; t < taps; t++) {
			const float *xt = xc + toff[t];
			const float *wt = wc + t * CONV_CB;
			__m512 w0 = _mm512_set1_ps(wt[0]), w1 = _mm512_set1_ps(wt[1]);
			__m512 w2 = _mm512_set1_ps(wt[2]), w3 = _mm512_set1_ps(wt[3]);
			for (int v = 0; v < nv; v++) {
				__m512 x = _mm512_loadu_ps(xt + 16 * v);
				acc[0][v] = _mm512_fmadd_ps(w0, x, acc[0][v]);
				acc[1][v] = _mm512_fmadd_ps(w1, x, acc[1][v]);
				acc[2][v] = _mm512_fmadd_ps(w2, x, acc[2][v]);
				acc[3][v] = _mm512_fmadd_ps(w3, x, acc[3][v]);
			}
		}
	}
	for (int v = 0; v < nv; v++) {
		__mmask16 m = vm[v0 + v];
		if (!m)
			continue;
		// The outputs packed to the front, stored as one run.
		__mmask16 run = (__mmask16)((1u << __builtin_popcount(m)) - 1);
		float *yv = y + yoff[v0 + v];
		for (int c = 0; c < cb; c++) {
			__m512 o = _mm512_maskz_compress_ps(m, acc[c][v]);
			if (ca)
				o = _mm512_add_ps(o, _mm512_set1_ps(ca[c]));
			if (ra)
				o = _mm512_add_ps(o, _mm512_maskz_loadu_ps(run, ra + yoff[v0 + v] + c * pout));
			_mm512_mask_storeu_ps(yv + c * pout, run, o);
		}
	}
}

#define CONV_TILE512(NV) \
	AVX512 static void conv_tile512_##NV(const float *xp, long cs, const long *toff, long taps, const float *wb, \
			const float *b4, float *y, const float *ca, const float *ra, long pout, const unsigned short *vm, const long *yoff, \
			long cin, long v0, int cb) { \
		conv_tile512(xp, cs, toff, taps, wb, b4, y, ca, ra, pout, vm, yoff, cin, v0, cb, NV); }
CONV_TILE512(1)
CONV_TILE512(2)
CONV_TILE512(3)
CONV_TILE512(4)
CONV_TILE512(5)
CONV_TILE512(6)

#define CONV_ARGS const float *xp, long cs, const long *toff, long taps, const float *wr, const float *bias, \
	float *y, const float *cadd, const float *radd, long pout, const unsigned short *vm, const long *yoff, long cin, long cout, \
	long nvec, long cb_lo, long cb_hi

AVX512 static void conv_direct_avx512(CONV_ARGS) {
	long nt = (nvec + 5) / 6;
	for (long i = 0; i < nt; i++) { // tiles of nearly equal widths
		long v0 = i * nvec / nt, nv = (i + 1) * nvec / nt - v0;
		for (long cb = cb_lo; cb < cb_hi; cb++) {
			float b4[CONV_CB];
			int n = conv_bias4(bias, cout, cb, b4);
			const float *wb = wr + cb * cin * taps * CONV_CB;
			float *o = y + 4 * cb * pout;
			const float *ca = cadd ? cadd + 4 * cb : 0, *ra = radd ? radd + 4 * cb * pout : 0;
			switch (nv) {
			case 1: conv_tile512_1(xp, cs, toff, taps, wb, b4, o, ca, ra, pout, vm, yoff, cin, v0, n); break;
			case 2: conv_tile512_2(xp, cs, toff, taps, wb, b4, o, ca, ra, pout, vm, yoff, cin, v0, n); break;
			case 3: conv_tile512_3(xp, cs, toff, taps, wb, b4, o, ca, ra, pout, vm, yoff, cin, v0, n); break;
			case 4: conv_tile512_4(xp, cs, toff, taps, wb, b4, o, ca, ra, pout, vm, yoff, cin, v0, n); break;
			case 5: conv_tile512_5(xp, cs, toff, taps, wb, b4, o, ca, ra, pout, vm, yoff, cin, v0, n); break;
			default: conv_tile512_6(xp, cs, toff, taps, wb, b4, o, ca, ra, pout, vm, yoff, cin, v0, n);
			}
		}
	}
}

AVX2 static void conv_direct_avx2(CONV_ARGS) {
	for (long vi = 0; vi < nvec; vi++)
		for (long cb = cb_lo; cb < cb_hi; cb++) {
			float b4[CONV_CB];
			int n = conv_bias4(bias, cout, cb, b4);
			const float *wb = wr + cb * cin * taps * CONV_CB;
			__m256 acc[CONV_CB][2];
			for (int c = 0; c < CONV_CB; c++)
				acc[c][0] = acc[c][1] = _mm256_set1_ps(b4[c]);
			for (long ci = 0; ci < cin; ci++) {
				const float *xc = xp + ci * cs + 16 * vi;
				const float *wc = wb + ci * taps * CONV_CB;
				for (long t = 0; t < taps; t++) {
					const float *xt = xc + toff[t];
					const float *wt = wc + t * CONV_CB;
					__m256 x0 = _mm256_loadu_ps(xt), x1 = _mm256_loadu_ps(xt + 8);
					for (int c = 0; c < CONV_CB; c++) {
						__m256 w = _mm256_set1_ps(wt[c]);
						acc[c][0] = _mm256_fmadd_ps(w, x0, acc[c][0]);
						acc[c][1] = _mm256_fmadd_ps(w, x1, acc[c][1]);
					}
				}
			}
			for (int c = 0; c < n; c++) {
				float v[16];
				_mm256_storeu_ps(v, acc[c][0]);
				_mm256_storeu_ps(v + 8, acc[c][1]);
				long at = (4 * cb + c) * pout + yoff[vi];
				conv_store16(v, vm[vi], y + at, cadd ? cadd + 4 * cb + c : 0, radd ? radd + at : 0);
			}
		}
}

static void conv_direct_base(CONV_ARGS) {
	for (long vi = 0; vi < nvec; vi++)
		for (long cb = cb_lo; cb < cb_hi; cb++) {
			float b4[CONV_CB];
			int n = conv_bias4(bias, cout, cb, b4);
			const float *wb = wr + cb * cin * taps * CONV_CB;
			for (int c = 0; c < n; c++) {
				float acc[16];
				for (int l = 0; l < 16; l++)
					acc[l] = b4[c];
				for (long ci = 0; ci < cin; ci++)
					for (long t = 0; t < taps; t++) {
						const float *xt = xp + ci * cs + toff[t] + 16 * vi;
						float w = wb[(ci * taps + t) * CONV_CB + c];
						for (int l = 0; l < 16; l++)
							acc[l] = acc[l] + w * xt[l];
					}
				long at = (4 * cb + c) * pout + yoff[vi];
				conv_store16(acc, vm[vi], y + at, cadd ? cadd + 4 * cb + c : 0, radd ? radd + at : 0);
			}
		}
}

// Softmax of each of rows rows of n values, in place.
static void softmax_rows_base(float *a, long rows, long n) {
	for (long r = 0; r < rows; r++) {
		float *x = a + r * n, m = x[0];
		for (long i = 1; i < n; i++)
			m = x[i] > m ? x[i] : m;
		double s = 0;
		for (long i = 0; i < n; i++) {
			float t = x[i] - m;
			float e = t < -87.33f ? 0.0f : k_expf(t);
			x[i] = e;
			s += e;
		}
		float inv = (float)(1.0 / s);
		for (long i = 0; i < n; i++)
			x[i] *= inv;
	}
}

AVX2 INL __m256 v_expf(__m256 t) { // t ≤ 0; e^t, 0 below −87.33
	__m256 keep = _mm256_cmp_ps(t, _mm256_set1_ps(-87.33f), _CMP_GE_OQ);
	t = _mm256_max_ps(t, _mm256_set1_ps(-87.33f));
	__m256 fn = _mm256_floor_ps(_mm256_fmadd_ps(t, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
	__m256 r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(-2.12194440e-4f), _mm256_fnmadd_ps(fn, _mm256_set1_ps(0.693359375f), t));
	__m256 p = _mm256_set1_ps(1.9875691500e-4f);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
	p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
	__m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fn), _mm256_set1_epi32(127)), 23);
	return _mm256_and_ps(keep, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
}

AVX2 static void softmax_rows_avx2(float *a, long rows, long n) {
	if (n < 8) {
		softmax_rows_base(a, rows, n);
		return;
	}
	for (long r = 0; r < rows; r++) {
		float *x = a + r * n, m = x[0];
		for (long i = 1; i < n; i++)
			m = x[i] > m ? x[i] : m;
		__m256 vm = _mm256_set1_ps(m), acc = _mm256_setzero_ps();
		long i = 0;
		for (; i + 8 <= n; i += 8) {
			__m256 e = v_expf(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
			_mm256_storeu_ps(x + i, e);
			acc = _mm256_add_ps(acc, e);
		}
		float l[8];
		_mm256_storeu_ps(l, acc);
		double s = (((double)l[0] + l[1]) + ((double)l[2] + l[3])) + (((double)l[4] + l[5]) + ((double)l[6] + l[7]));
		for (; i < n; i++) {
			float t = x[i] - m;
			float e = t < -87.33f ? 0.0f : k_expf(t);
			x[i] = e;
			s += e;
		}
		float inv = (float)(1.0 / s);
		for (i = 0; i < n; i++)
			x[i] *= inv;
	}
}

// The rows [lo,hi) of y = x·Wᵀ + b, with wt = Wᵀ (in×out, row-major):
// y[r][o] = b[o] + Σₖ x[r][k]·wt[k][o]. Every output is one chain of
// multiply-adds over k in order, starting from b[o], in one arithmetic per
// level (FMA with AVX2 and AVX-512, multiply then add at the baseline),
// whichever block of rows or columns, vector lane or tail it falls in: a
// row's result is a function of that row and W alone, not of the batch.
// Blocks of 8 rows share each load of wt.
static void linear_rows_base(const float *x, const float *wt, const float *b, float *y, long lo, long hi, long in, long out) {
	for (long r = lo; r < hi; r++) {
		float *yr = y + r * out;
		for (long o = 0; o < out; o++)
			yr[o] = b[o];
		for (long k = 0; k < in; k++) {
			float xv = x[r * in + k];
			const float *w = wt + k * out;
			for (long o = 0; o < out; o++)
				yr[o] = yr[o] + xv * w[o];
		}
	}
}

AVX2 static void linear_rows_avx2(const float *x, const float *wt, const float *b, float *y, long lo, long hi, long in, long out) {
	long r = lo;
	for (; r + 8 <= hi; r += 8) {
		long o = 0;
		for (; o + 8 <= out; o += 8) {
			__m256 acc[8];
			for (int i = 0; i < 8; i++)
				acc[i] = _mm256_loadu_ps(b + o);
			for (long k = 0; k < in; k++) {
				__m256 w = _mm256_loadu_ps(wt + k * out + o);
				for (int i = 0; i < 8; i++)
					acc[i] = _mm256_fmadd_ps(_mm256_set1_ps(x[(r + i) * in + k]), w, acc[i]);
			}
			for (int i = 0; i < 8; i++)
				_mm256_storeu_ps(y + (r + i) * out + o, acc[i]);
		}
		for (; o < out; o++)
			for (int i = 0; i < 8; i++) {
				float a = b[o];
				for (long k = 0; k < in; k++)
					a = fmaf(x[(r + i) * in + k], wt[k * out + o], a);
				y[(r + i) * out + o] = a;
			}
	}
	for (; r < hi; r++) {
		long o = 0;
		for (; o + 8 <= out; o += 8) {
			__m256 acc = _mm256_loadu_ps(b + o);
			for (long k = 0; k < in; k++)
				acc = _mm256_fmadd_ps(_mm256_set1_ps(x[r * in + k]), _mm256_loadu_ps(wt + k * out + o), acc);
			_mm256_storeu_ps(y + r * out + o, acc);
		}
		for (; o < out; o++) {
			float a = b[o];
			for (long k = 0; k < in; k++)
				a = fmaf(x[r * in + k], wt[k * out + o], a);
			y[r * out + o] = a;
		}
	}
}

AVX512 static void linear_rows_avx512(const float *x, const float *wt, const float *b, float *y, long lo, long hi, long in, long out) {
	for (long r = lo; r < hi; r += 8) {
		int rows = hi - r < 8 ? (int)(hi - r) : 8;
		for (long o = 0; o < out; o += 16) {
			__mmask16 m = out - o >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (out - o)) - 1);
			__m512 acc[8];
			for (int i = 0; i < rows; i++)
				acc[i] = _mm512_maskz_loadu_ps(m, b + o);
			for (long k = 0; k < in; k++) {
				__m512 w = _mm512_maskz_loadu_ps(m, wt + k * out + o);
				for (int i = 0; i < rows; i++)
					acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(x[(r + i) * in + k]), w, acc[i]);
			}
			for (int i = 0; i < rows; i++)
				_mm512_mask_storeu_ps(y + (r + i) * out + o, m, acc[i]);
		}
	}
}

// out[r] = Σ x[r·p : (r+1)·p] for rows [lo,hi).
INL void k_row_sums(const float *x, double *out, long lo, long hi, long p) {
	for (long r = lo; r < hi; r++)
		out[r] = k_sumf(x + r * p, p);
}

#define VARIANT(SUF, ATTR) \
	ATTR static void silu_grad_##SUF(const float *x, const float *dy, const float *sig, float *dx, long n) { k_silu_grad(x, dy, sig, dx, n); } \
	ATTR static void gn_forward_##SUF(const float *x, const float *gamma, const float *beta, float *y, int silu, \
			double *mean, double *rstd, long lo, long hi, long groups, long cg, long p, double eps) { \
		k_gn_forward(x, gamma, beta, y, silu, mean, rstd, lo, hi, groups, cg, p, eps, silu_row_##SUF); } \
	ATTR static void gn_silu_pad_##SUF(const float *x, const float *gamma, const float *beta, float *xp, double *mean, \
			double *rstd, long lo, long hi, long cg, long h, long w, long pad, long wq, long pp, double eps) { \
		k_gn_silu_pad(x, gamma, beta, xp, mean, rstd, lo, hi, cg, h, w, pad, wq, pp, eps, silu_row_##SUF); } \
	ATTR static void gn_backward_##SUF(const float *x, const float *gamma, const float *beta, const float *dy, int silu, \
			float *dx, const double *mean, const double *rstd, double *sdz, double *sdzx, long lo, long hi, long groups, long c, long p) { \
		k_gn_backward(x, gamma, beta, dy, silu, dx, mean, rstd, sdz, sdzx, lo, hi, groups, c, p, silu_back_row_##SUF); } \
	ATTR static void row_sums_##SUF(const float *x, double *out, long lo, long hi, long p) { k_row_sums(x, out, lo, hi, p); } \
	ATTR static void pad_planes_##SUF(const float *x, float *xp, long c, long h, long w, long pad, long wq, long pp) { \
		k_pad_planes(x, xp, c, h, w, pad, wq, pp); } \
	ATTR static void pad_phases_##SUF(const float *x, float *xp, long c, long h, long w, long pad, long wq, long pp, long psz) { \
		k_pad_phases(x, xp, c, h, w, pad, wq, pp, psz); } \
	ATTR static void unpad_planes_##SUF(const float *op, float *y, const float *b, long c, long ho, long wo, long wq) { \
		k_unpad_planes(op, y, b, c, ho, wo, wq); }

VARIANT(avx512, AVX512)
VARIANT(avx2, AVX2)
VARIANT(base, )

// 2: AVX-512, 1: AVX2 and FMA, 0: the x86-64 baseline.
static int level = -1;

static int pick(void) {
	if (level < 0) {
		__builtin_cpu_init();
		level = 0;
		if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
			level = 1;
		if (level == 1 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
				__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
			level = 2;
	}
	return level;
}

// genlab_set_level forces a variant (for tests), at most what the CPU has;
// it returns the previous level.
static int genlab_set_level(int l) {
	int old = pick();
	level = -1;
	int best = pick();
	level = l < best ? l : best;
	return old;
}

static const char *genlab_kernels_isa(void) {
	static const char *names[] = {"x86-64", "AVX2+FMA", "AVX-512"};
	return names[pick()];
}

#define DISPATCH(NAME, ...) \
	switch (pick()) { \
	case 2: NAME##_avx512(__VA_ARGS__); break; \
	case 1: NAME##_avx2(__VA_ARGS__); break; \
	default: NAME##_base(__VA_ARGS__); \
	}

static void genlab_silu(const float *z, float *sig, float *y, long n) {
	DISPATCH(silu_row, z, sig, y, n)
}
static void genlab_silu_grad(const float *x, const float *dy, const float *sig, float *dx, long n) {
	DISPATCH(silu_grad, x, dy, sig, dx, n)
}
static void genlab_gn_forward(const float *x, const float *gamma, const float *beta, float *y, int silu,
		double *mean, double *rstd, long lo, long hi, long groups, long cg, long p, double eps) {
	DISPATCH(gn_forward, x, gamma, beta, y, silu, mean, rstd, lo, hi, groups, cg, p, eps)
}
static void genlab_gn_silu_pad(const float *x, const float *gamma, const float *beta, float *xp, double *mean,
		double *rstd, long lo, long hi, long cg, long h, long w, long pad, long wq, long pp, double eps) {
	DISPATCH(gn_silu_pad, x, gamma, beta, xp, mean, rstd, lo, hi, cg, h, w, pad, wq, pp, eps)
}
static void genlab_gn_backward(const float *x, const float *gamma, const float *beta, const float *dy, int silu,
		float *dx, const double *mean, const double *rstd, double *sdz, double *sdzx, long lo, long hi, long groups, long c, long p) {
	DISPATCH(gn_backward, x, gamma, beta, dy, silu, dx, mean, rstd, sdz, sdzx, lo, hi, groups, c, p)
}
static void genlab_row_sums(const float *x, double *out, long lo, long hi, long p) {
	DISPATCH(row_sums, x, out, lo, hi, p)
}
static void genlab_pad_planes(const float *x, float *xp, long c, long h, long w, long pad, long wq, long pp) {
	DISPATCH(pad_planes, x, xp, c, h, w, pad, wq, pp)
}
static void genlab_pad_phases(const float *x, float *xp, long c, long h, long w, long pad, long wq, long pp, long psz) {
	DISPATCH(pad_phases, x, xp, c, h, w, pad, wq, pp, psz)
}
static void genlab_unpad_planes(const float *op, float *y, const float *b, long c, long ho, long wo, long wq) {
	DISPATCH(unpad_planes, op, y, b, c, ho, wo, wq)
}
static void genlab_conv_direct(CONV_ARGS) {
	DISPATCH(conv_direct, xp, cs, toff, taps, wr, bias, y, cadd, radd, pout, vm, yoff, cin, cout, nvec, cb_lo, cb_hi)
}
static void genlab_linear_rows(const float *x, const float *wt, const float *b, float *y, long lo, long hi, long in, long out) {
	DISPATCH(linear_rows, x, wt, b, y, lo, hi, in, out)
}

static void genlab_softmax_rows(float *a, long rows, long n) {
	if (pick()) softmax_rows_avx2(a, rows, n); else softmax_rows_base(a, rows, n);
}
*/
import "C"

import (
	"slices"
	"unsafe"
)

// KernelISA names the instruction set genlab's own float32 kernels run
// with: "AVX-512", "AVX2+FMA", "x86-64", or "Go" in a build without cgo.
var KernelISA = C.GoString(C.genlab_kernels_isa())

// kernelLevels are the variants this CPU can run, best last.
func kernelLevels() []int {
	best := int(C.genlab_set_level(99))
	l := make([]int, best+1)
	for i := range l {
		l[i] = i
	}
	return l
}

// setKernelLevel makes the kernels run variant l (0 x86-64, 1 AVX2+FMA,
// 2 AVX-512, capped by the CPU) and returns the previous one; for tests,
// not to be called while kernels run.
func setKernelLevel(l int) int { return int(C.genlab_set_level(C.int(l))) }

func f32p(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

func f64p(s []float64) *C.double {
	if len(s) == 0 {
		return nil
	}
	return (*C.double)(unsafe.Pointer(&s[0]))
}

func siluRow32(z, sig, y []float32) {
	if len(z) == 0 {
		return
	}
	_ = y[len(z)-1]
	if sig != nil {
		_ = sig[len(z)-1]
	}
	C.genlab_silu(f32p(z), f32p(sig), f32p(y), C.long(len(z)))
}

func siluGradRow32(x, dy, sig, dx []float32) {
	if len(x) == 0 {
		return
	}
	_, _, _ = dy[len(x)-1], sig[len(x)-1], dx[len(x)-1]
	C.genlab_silu_grad(f32p(x), f32p(dy), f32p(sig), f32p(dx), C.long(len(x)))
}

// gnForward32 is groupNormForward's loop over groups [lo,hi) in float32.
func gnForward32(op *groupNormOp, x, gamma, beta, y []float32, lo, hi, c, p int) {
	cg := c / op.groups
	_, _ = x[hi*cg*p-1], y[hi*cg*p-1]
	_, _, _, _ = gamma[c-1], beta[c-1], op.mean[hi-1], op.rstd[hi-1]
	C.genlab_gn_forward(f32p(x), f32p(gamma), f32p(beta), f32p(y), cbool(op.silu), f64p(op.mean), f64p(op.rstd),
		C.long(lo), C.long(hi), C.long(op.groups), C.long(cg), C.long(p), C.double(op.eps))
}

// gnSiLUPad32 normalises groups [lo,hi) of one image x with SiLU into the
// padded planes xp of sg, whose borders must be zero (see k_gn_silu_pad),
// keeping their statistics in mean and rstd (indexed by group).
func gnSiLUPad32(sg shiftGeom, x, gamma, beta, xp []float32, mean, rstd []float64, lo, hi, cg int, eps float64) {
	if hi <= lo {
		return
	}
	_, _ = x[hi*cg*sg.h*sg.w-1], xp[(hi*cg-1)*sg.pp+(sg.pad+sg.h-1)*sg.wq+sg.pad+sg.w-1]
	_, _, _, _ = gamma[hi*cg-1], beta[hi*cg-1], mean[hi-1], rstd[hi-1]
	C.genlab_gn_silu_pad(f32p(x), f32p(gamma), f32p(beta), f32p(xp), f64p(mean), f64p(rstd), C.long(lo), C.long(hi),
		C.long(cg), C.long(sg.h), C.long(sg.w), C.long(sg.pad), C.long(sg.wq), C.long(sg.pp), C.double(eps))
}

// gnBackward32 is groupNormBackward's loop over groups [lo,hi) in float32.
func gnBackward32(op *groupNormOp, x, gamma, beta, dy, dx []float32, lo, hi, c, p int) {
	cg := c / op.groups
	_, _, _ = x[hi*cg*p-1], dy[hi*cg*p-1], dx[hi*cg*p-1]
	_, _, _, _ = gamma[c-1], beta[c-1], op.mean[hi-1], op.rstd[hi-1]
	_, _ = op.sdz[(hi-1)/op.groups*c+c-1], op.sdzx[(hi-1)/op.groups*c+c-1]
	C.genlab_gn_backward(f32p(x), f32p(gamma), f32p(beta), f32p(dy), cbool(op.silu), f32p(dx),
		f64p(op.mean), f64p(op.rstd), f64p(op.sdz), f64p(op.sdzx), C.long(lo), C.long(hi), C.long(op.groups), C.long(c), C.long(p))
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// rowSums32 sets out[r] = Σ x[r·p:(r+1)·p] for rows [lo,hi).
func rowSums32(x []float32, out []float64, lo, hi, p int) {
	if hi <= lo {
		return
	}
	_, _ = x[hi*p-1], out[hi-1]
	C.genlab_row_sums(f32p(x), f64p(out), C.long(lo), C.long(hi), C.long(p))
}

// padPlanes32 is padPlanes in float32.
func padPlanes32(s shiftGeom, x, xp []float32) {
	if s.c == 0 {
		return
	}
	_, _ = x[s.c*s.h*s.w-1], xp[s.planes()-1]
	C.genlab_pad_planes(f32p(x), f32p(xp), C.long(s.c), C.long(s.h), C.long(s.w), C.long(s.pad), C.long(s.wq), C.long(s.pp))
}

// padPhases32 is padPhases in float32.
func padPhases32(s shiftGeom, x, xp []float32) {
	if s.c == 0 {
		return
	}
	_, _ = x[s.c*s.h*s.w-1], xp[s.planes()-1]
	C.genlab_pad_phases(f32p(x), f32p(xp), C.long(s.c), C.long(s.h), C.long(s.w), C.long(s.pad), C.long(s.wq), C.long(s.pp), C.long(s.psz))
}

// unpadPlanes32 is unpadPlanes in float32.
func unpadPlanes32(s shiftGeom, op, y, b []float32, c int) {
	if c == 0 {
		return
	}
	_, _ = op[c*s.nq()-1], y[c*s.ho*s.wo-1]
	if b != nil {
		_ = b[c-1]
	}
	C.genlab_unpad_planes(f32p(op), f32p(y), f32p(b), C.long(c), C.long(s.ho), C.long(s.wo), C.long(s.wq))
}

// softmaxRows32 applies softmax to each row of n values of a.
func softmaxRows32(a []float32, n int) {
	if len(a) == 0 {
		return
	}
	C.genlab_softmax_rows(f32p(a), C.long(len(a)/n), C.long(n))
}

// linearRows32 sets rows [lo,hi) of y (n×out) to x·Wᵀ + b given wt = Wᵀ
// (in×out); see linear_rows_base.
func linearRows32(x, wt, b, y []float32, lo, hi, in, out int) {
	if hi <= lo || out == 0 {
		return
	}
	_, _, _ = x[hi*in-1], y[hi*out-1], wt[in*out-1]
	C.genlab_linear_rows(f32p(x), f32p(wt), f32p(b), f32p(y), C.long(lo), C.long(hi), C.long(in), C.long(out))
}

// haveDirectConv: convDirect32 runs in C here (see conv_direct_base).
const haveDirectConv = true

// convDirect32 computes the output channels of blocks [cbLo,cbHi) of four
// of a direct convolution over the padded planes d.xp into d.y; see
// conv_direct_base for the layouts.
func convDirect32(d *directConvArgs, cbLo, cbHi int) {
	if cbHi <= cbLo {
		return
	}
	taps, nvec := len(d.toff), len(d.vm)
	_, _ = d.wr[cbHi*d.cin*taps*4-1], d.b[d.cout-1]
	_, _ = d.xp[(d.cin-1)*d.cs+int(slices.Max(d.toff))+16*nvec-1], d.y[(min(d.cout, 4*cbHi)-1)*d.pout+d.pout-1]
	_ = d.yoff[nvec-1]
	if d.e != nil {
		_ = d.e[d.cout-1]
	}
	if d.r != nil {
		_ = d.r[(min(d.cout, 4*cbHi)-1)*d.pout+d.pout-1]
	}
	C.genlab_conv_direct(f32p(d.xp), C.long(d.cs), (*C.long)(unsafe.Pointer(&d.toff[0])), C.long(taps), f32p(d.wr), f32p(d.b),
		f32p(d.y), f32p(d.e), f32p(d.r), C.long(d.pout), (*C.ushort)(unsafe.Pointer(&d.vm[0])), (*C.long)(unsafe.Pointer(&d.yoff[0])),
		C.long(d.cin), C.long(d.cout), C.long(nvec), C.long(cbLo), C.long(cbHi))
}
