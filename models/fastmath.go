package models

import "math"

// expf is e^x in float32 to within 2 ulp, several times faster than
// math.Exp: range reduction x = n·ln2 + r with |r| ≤ ln2/2, a degree-6
// polynomial for e^r, and 2^n put straight into the exponent bits.
// SiLU's sigmoid spends most of its time here.
func expf(x float32) float32 {
	if x > 88.72 {
		return float32(math.Inf(1))
	}
	if x < -87.33 {
		return 0
	}
	return expfCore(x)
}

// expfCore is expf for x in [-87.33, 88.72], without the range checks.
// The floor is taken by truncation (x·log2e+0.5 lies well inside int32),
// which avoids math.Floor's call and its SSE4.1 check.
func expfCore(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	z := x*log2e + 0.5
	n := int32(z)
	if float32(n) > z {
		n--
	}
	fn := float32(n)
	r := x - fn*ln2hi - fn*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// sigmoid is 1/(1+e^−x), in float32 through expf and in float64 exactly.
func sigmoid[T Float](x T) T {
	if v, ok := any(x).(float32); ok {
		return T(1 / (1 + expf(-v)))
	}
	return T(1 / (1 + math.Exp(-float64(x))))
}

// siluRow sets sig[i] = σ(z[i]) (unless sig is nil) and y[i] = z[i]·σ(z[i]);
// y may be z itself. The element type is switched on once per row, not per
// element.
func siluRow[T Float](z, sig, y []T) {
	switch z := any(z).(type) {
	case []float32:
		siluRow32(z, any(sig).([]float32), any(y).([]float32))
	case []float64:
		siluRow64(z, any(sig).([]float64), any(y).([]float64))
	}
}

func siluRow64(z, sig, y []float64) {
	y = y[:len(z)]
	for i, v := range z {
		s := 1 / (1 + math.Exp(-v))
		if sig != nil {
			sig[i] = s
		}
		y[i] = v * s
	}
}

// sumF64 is Σ x in float64, four partial sums so the adds pipeline; the
// order is fixed, so the result is the same every run.
func sumF64[T Float](x []T) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		s0 += float64(v[0])
		s1 += float64(v[1])
		s2 += float64(v[2])
		s3 += float64(v[3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// sqDevF64 is Σ (x−mean)² in float64.
func sqDevF64[T Float](x []T, mean float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(v[0])-mean, float64(v[1])-mean, float64(v[2])-mean, float64(v[3])-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := float64(x[i]) - mean
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// dotF64 is Σ a·b in float64.
func dotF64[T Float](a, b []T) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		u, v := a[i:i+4:i+4], b[i:i+4:i+4]
		s0 += float64(u[0]) * float64(v[0])
		s1 += float64(u[1]) * float64(v[1])
		s2 += float64(u[2]) * float64(v[2])
		s3 += float64(u[3]) * float64(v[3])
	}
	for ; i < len(a); i++ {
		s0 += float64(a[i]) * float64(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// affineRow sets y[i] = x[i]·a + b.
func affineRow[T Float](x, y []T, a, b T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = v*a + b
	}
}
