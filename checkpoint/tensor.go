package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// dtypeSizes maps every safetensors dtype genlab reads and writes to its size
// in bytes. The sub-byte types of newer safetensors versions (F4, F6_*) are
// bit-packed and not supported: a file using them is refused as an unknown
// dtype.
var dtypeSizes = map[string]int{
	"BOOL":    1,
	"U8":      1,
	"I8":      1,
	"F8_E5M2": 1,
	"F8_E4M3": 1,
	"F8_E8M0": 1,
	"I16":     2,
	"U16":     2,
	"F16":     2,
	"BF16":    2,
	"I32":     4,
	"U32":     4,
	"F32":     4,
	"I64":     8,
	"U64":     8,
	"F64":     8,
}

// DTypeSize reports the size in bytes of one element of dtype ("F32" -> 4),
// and whether the dtype is known.
func DTypeSize(dtype string) (int, bool) {
	n, ok := dtypeSizes[dtype]
	return n, ok
}

// Tensor is one named array: its dtype, its shape and its raw little-endian,
// row-major bytes. A scalar has the empty shape and one element.
type Tensor struct {
	Name  string
	DType string // "F32", "F64", "I64", "U8", ... (see DTypeSize)
	Shape []int
	Data  []byte
}

// F32 returns a tensor of dtype F32 holding a copy of v. It panics if len(v)
// is not the number of elements of shape, or shape has a negative dimension.
func F32(name string, shape []int, v []float32) Tensor {
	t := newTensor(name, "F32", shape, len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(x))
	}
	return t
}

// F64 returns a tensor of dtype F64 holding a copy of v; it panics like F32.
func F64(name string, shape []int, v []float64) Tensor {
	t := newTensor(name, "F64", shape, len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(t.Data[8*i:], math.Float64bits(x))
	}
	return t
}

// I64 returns a tensor of dtype I64 holding a copy of v; it panics like F32.
func I64(name string, shape []int, v []int64) Tensor {
	t := newTensor(name, "I64", shape, len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(t.Data[8*i:], uint64(x))
	}
	return t
}

// U8 returns a tensor of dtype U8 holding a copy of v; it panics like F32.
func U8(name string, shape []int, v []byte) Tensor {
	t := newTensor(name, "U8", shape, len(v))
	copy(t.Data, v)
	return t
}

func newTensor(name, dtype string, shape []int, n int) Tensor {
	want, ok := numElements(shape)
	if !ok {
		panic(fmt.Sprintf("checkpoint: %s %q: invalid shape %v", dtype, name, shape))
	}
	if want != n {
		panic(fmt.Sprintf("checkpoint: %s %q: %d values for shape %v (%d elements)", dtype, name, n, shape, want))
	}
	return Tensor{
		Name:  name,
		DType: dtype,
		Shape: append([]int{}, shape...),
		Data:  make([]byte, n*dtypeSizes[dtype]),
	}
}

// numElements is the product of shape (1 for a scalar); ok is false for a
// negative dimension or a product that overflows int.
func numElements(shape []int) (n int, ok bool) {
	n = 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return 0, false
		}
		n = int(lo)
	}
	return n, true
}

// NumElements returns the number of elements of t's shape: 1 for a scalar,
// 0 if the shape is invalid.
func (t Tensor) NumElements() int {
	n, _ := numElements(t.Shape)
	return n
}

// check reports whether t's dtype is known and its data has the size its
// shape calls for.
func (t Tensor) check() error {
	size, ok := dtypeSizes[t.DType]
	if !ok {
		return fmt.Errorf("tensor %q: unknown dtype %q", t.Name, t.DType)
	}
	n, ok := numElements(t.Shape)
	if !ok || n > math.MaxInt/size {
		return fmt.Errorf("tensor %q: invalid shape %v", t.Name, t.Shape)
	}
	if len(t.Data) != n*size {
		return fmt.Errorf("tensor %q: %s shape %v needs %d bytes, has %d", t.Name, t.DType, t.Shape, n*size, len(t.Data))
	}
	return nil
}

// Float32s returns a new slice with t's elements as float32. F32 is copied
// exactly; F64 is rounded to the nearest float32; F16 and BF16 are widened
// exactly. Any other dtype is an error: integers are not silently taken for
// weights.
func (t Tensor) Float32s() ([]float32, error) {
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	out := make([]float32, t.NumElements())
	le := binary.LittleEndian
	switch t.DType {
	case "F32":
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(t.Data[4*i:]))
		}
	case "F64":
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(t.Data[8*i:])))
		}
	case "F16":
		for i := range out {
			out[i] = halfToFloat32(le.Uint16(t.Data[2*i:]))
		}
	case "BF16":
		for i := range out {
			out[i] = math.Float32frombits(uint32(le.Uint16(t.Data[2*i:])) << 16)
		}
	default:
		return nil, fmt.Errorf("checkpoint: tensor %q is %s, want a float tensor (F32, F64, F16 or BF16)", t.Name, t.DType)
	}
	return out, nil
}

// Float64s returns a new slice with t's elements as float64. F64 is copied;
// F32, F16 and BF16 are widened exactly. Any other dtype is an error.
func (t Tensor) Float64s() ([]float64, error) {
	if t.DType != "F64" {
		f, err := t.Float32s()
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(f))
		for i, x := range f {
			out[i] = float64(x)
		}
		return out, nil
	}
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	out := make([]float64, t.NumElements())
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return out, nil
}

// Int64s returns a new slice with t's elements as int64. Every integer dtype
// and BOOL (0 or 1) is accepted; a U64 value above math.MaxInt64 is an error,
// and so is a float dtype.
func (t Tensor) Int64s() ([]int64, error) {
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	out := make([]int64, t.NumElements())
	le := binary.LittleEndian
	d := t.Data
	for i := range out {
		switch t.DType {
		case "BOOL", "U8":
			out[i] = int64(d[i])
		case "I8":
			out[i] = int64(int8(d[i]))
		case "I16":
			out[i] = int64(int16(le.Uint16(d[2*i:])))
		case "U16":
			out[i] = int64(le.Uint16(d[2*i:]))
		case "I32":
			out[i] = int64(int32(le.Uint32(d[4*i:])))
		case "U32":
			out[i] = int64(le.Uint32(d[4*i:]))
		case "I64":
			out[i] = int64(le.Uint64(d[8*i:]))
		case "U64":
			u := le.Uint64(d[8*i:])
			if u > math.MaxInt64 {
				return nil, fmt.Errorf("checkpoint: tensor %q: element %d (%d) overflows int64", t.Name, i, u)
			}
			out[i] = int64(u)
		default:
			return nil, fmt.Errorf("checkpoint: tensor %q is %s, want an integer tensor", t.Name, t.DType)
		}
	}
	return out, nil
}

// halfToFloat32 widens an IEEE 754 binary16 value exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch exp {
	case 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case 0: // zero or subnormal: frac * 2^-24
		f := float32(frac) / (1 << 24)
		if sign != 0 {
			f = -f
		}
		return f
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	}
}

// cloneShape returns a non-nil copy of s, so a scalar's shape is []int{}.
func cloneShape(s []int) []int {
	if s == nil {
		return []int{}
	}
	return slices.Clone(s)
}
