package datasets

import (
	"image"
	"math"
	"math/bits"
	"slices"

	"github.com/disintegration/imaging"
)

// pHashSide is the side of the grey image a perceptual hash is taken of.
const pHashSide = 32

// pHashCos[k][x] is cos((2x+1)kπ/64), the DCT-II basis of the hash.
var pHashCos = func() (c [8][pHashSide]float64) {
	for k := range c {
		for x := range c[k] {
			c[k][x] = math.Cos(float64(2*x+1) * float64(k) * math.Pi / (2 * pHashSide))
		}
	}
	return c
}()

// PHash is a perceptual hash of img (the "pHash" of Zauner 2010): the
// image in grey at 32x32, the lowest 8x8 frequencies of its discrete
// cosine transform, one bit per frequency set when its coefficient is
// above their median (the constant term, bit 0, left at 0). Images that
// look alike have hashes a few bits apart whatever their brightness,
// contrast, compression or small resizing; the Hamming distance of two
// hashes (bits.OnesCount64(a^b)) is how unlike they look.
func PHash(img image.Image) uint64 {
	g := imaging.Resize(imaging.Grayscale(img), pHashSide, pHashSide, imaging.Linear)
	var px [pHashSide][pHashSide]float64
	for y := 0; y < pHashSide; y++ {
		for x := 0; x < pHashSide; x++ {
			px[y][x] = float64(g.Pix[y*g.Stride+4*x])
		}
	}
	// Rows first (8 frequencies of each), then columns.
	var rows [pHashSide][8]float64
	for y := range rows {
		for k := range rows[y] {
			var s float64
			for x := 0; x < pHashSide; x++ {
				s += px[y][x] * pHashCos[k][x]
			}
			rows[y][k] = s
		}
	}
	var coef [64]float64
	for v := 0; v < 8; v++ {
		for u := 0; u < 8; u++ {
			var s float64
			for y := 0; y < pHashSide; y++ {
				s += rows[y][u] * pHashCos[v][y]
			}
			coef[v*8+u] = s
		}
	}
	ac := slices.Clone(coef[1:])
	slices.Sort(ac)
	med := ac[31] // the middle of 63: every hash has 31 bits set
	var h uint64
	for i := 1; i < 64; i++ {
		if coef[i] > med {
			h |= 1 << i
		}
	}
	return h
}

// hamming is the number of bits two hashes differ in.
func hamming(a, b uint64) int { return bits.OnesCount64(a ^ b) }
