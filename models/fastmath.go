package models

import "math"

// expf is e^x in float32 to within 2 ulp, several times faster than
// math.Exp: range reduction x = n·ln2 + r with |r| ≤ ln2/2, a degree-6
// polynomial for e^r, and 2^n put straight into the exponent bits.
// SiLU's sigmoid spends most of its time here.
func expf(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	if x > 88.72 {
		return float32(math.Inf(1))
	}
	if x < -87.33 {
		return 0
	}
	fn := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - fn*ln2hi - fn*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	return p * math.Float32frombits(uint32(int32(fn)+127)<<23)
}

// sigmoid is 1/(1+e^−x), in float32 through expf and in float64 exactly.
func sigmoid[T Float](x T) T {
	if v, ok := any(x).(float32); ok {
		return T(1 / (1 + expf(-v)))
	}
	return T(1 / (1 + math.Exp(-float64(x))))
}
