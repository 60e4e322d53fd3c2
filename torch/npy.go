package torch

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
)

// WriteNPY writes data as a NumPy .npy file (format 1.0, little-endian,
// C order) of the given shape: data is []float32 ('<f4') or []int64
// ('<i8').
func WriteNPY(w io.Writer, shape []int, data any) error {
	var descr string
	var n int
	switch d := data.(type) {
	case []float32:
		descr, n = "<f4", len(d)
	case []int64:
		descr, n = "<i8", len(d)
	default:
		return fmt.Errorf("torch: npy of %T", data)
	}
	want := 1
	dims := make([]string, len(shape))
	for i, s := range shape {
		want *= s
		dims[i] = fmt.Sprint(s)
	}
	if want != n {
		return fmt.Errorf("torch: npy of %d values for shape %v", n, shape)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	// The magic, version, length and header end on a multiple of 64 bytes,
	// the header closed by a newline.
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	if _, err := w.Write(append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), byte(len(header)>>8))); err != nil {
		return err
	}
	if _, err := io.WriteString(w, header); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	switch d := data.(type) {
	case []float32:
		for _, v := range d {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	case []int64:
		for _, v := range d {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(v))
			if len(buf) == cap(buf) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}
