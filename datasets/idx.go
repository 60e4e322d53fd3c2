package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// IDX is a decoded IDX file (the format MNIST ships in): an n-dimensional
// array of Type elements, stored row-major with Dims[0] varying slowest.
type IDX struct {
	Type byte   // element type code from the magic number; always IDXUbyte today
	Dims []int  // size of each dimension, all > 0
	Data []byte // the elements, exactly the product of Dims bytes
}

// IDXUbyte is the IDX type code of unsigned 8-bit elements, the only element
// type genlab reads (MNIST images and labels both use it).
const IDXUbyte byte = 0x08

// idxTypeNames names the other element types the format defines, so that a
// refused file says what it holds instead of "bad magic".
var idxTypeNames = map[byte]string{
	0x09: "signed byte",
	0x0B: "int16",
	0x0C: "int32",
	0x0D: "float32",
	0x0E: "float64",
}

// maxIDXBytes bounds the payload a header may announce. MNIST's largest file
// is 47 MB; the bound only stops a corrupt header from looking plausible.
const maxIDXBytes = 1 << 34

// FormatError reports a data file that cannot be used: a malformed IDX file,
// a corrupt gzip stream, an undecodable image. Error prints
// "datasets: FILE: REASON".
type FormatError struct {
	File   string // the file as the caller named it
	Reason string // what is wrong, with the numbers that show it
}

func (e *FormatError) Error() string {
	return "datasets: " + e.File + ": " + e.Reason
}

// LoadIDX reads the IDX file at path, gunzipping it first when it starts with
// the gzip magic bytes. Errors are *FormatError naming path, or the error
// os.Open returned.
func LoadIDX(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	return readIDX(path, f)
}

// ReadIDX reads one IDX file from r, gunzipping it first when it starts with
// the gzip magic bytes. Errors name r's Name() when it has one (an *os.File
// does), and "input" otherwise.
func ReadIDX(r io.Reader) (*IDX, error) {
	name := "input"
	if n, ok := r.(interface{ Name() string }); ok {
		name = n.Name()
	}
	return readIDX(name, r)
}

func readIDX(name string, r io.Reader) (*IDX, error) {
	fail := func(format string, args ...any) (*IDX, error) {
		return nil, &FormatError{File: name, Reason: fmt.Sprintf(format, args...)}
	}

	br := bufio.NewReaderSize(r, 1<<16)
	// IDX files start with two zero bytes, gzip streams with 1f 8b, so
	// two bytes tell them apart.
	gzipped := false
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fail("corrupt gzip stream: %v", err)
		}
		defer zr.Close()
		r, gzipped = zr, true
	} else {
		r = br
	}
	readErr := func(err error) (*IDX, error) {
		if gzipped {
			return fail("corrupt or truncated gzip stream: %v", err)
		}
		return fail("read: %v", err)
	}

	// readUpTo, unlike io.ReadFull, keeps a clean end of input (too short a
	// file) apart from a gzip stream cut short (a read error).
	head, err := readUpTo(r, 4)
	if err != nil {
		return readErr(err)
	}
	if len(head) < 4 {
		return fail("too short for an IDX file: %d bytes, want at least 4", len(head))
	}
	if head[0] != 0 || head[1] != 0 {
		return fail("bad magic % x: an IDX file starts with 00 00", head)
	}
	if head[2] != IDXUbyte {
		if t, ok := idxTypeNames[head[2]]; ok {
			return fail("unsupported element type 0x%02X (%s): only 0x08 (unsigned byte) is supported", head[2], t)
		}
		return fail("bad magic % x: unknown element type 0x%02X", head, head[2])
	}
	ndims := int(head[3])
	if ndims < 1 || ndims > 4 {
		return fail("bad magic % x: %d dimensions, want 1 to 4", head, ndims)
	}

	raw, err := readUpTo(r, int64(4*ndims))
	if err != nil {
		return readErr(err)
	}
	if len(raw) < 4*ndims {
		return fail("truncated header: %d dimensions need %d bytes of sizes, file has %d", ndims, 4*ndims, len(raw))
	}
	dims := make([]int, ndims)
	total := int64(1)
	for i := range dims {
		d := int64(binary.BigEndian.Uint32(raw[4*i:]))
		if d == 0 {
			return fail("dimension %d of %s is zero", i, formatDims(raw, ndims))
		}
		if d > maxIDXBytes/total { // total*d > maxIDXBytes, tested without overflow
			return fail("header says %s elements, more than the %d this reader accepts", formatDims(raw, ndims), int64(maxIDXBytes))
		}
		total *= d
		dims[i] = int(d)
	}
	shape := formatDims(raw, ndims)

	data, err := readUpTo(r, total)
	if err != nil {
		return readErr(err)
	}
	if int64(len(data)) < total {
		return fail("truncated: header says %s = %d bytes, file has %d", shape, total, len(data))
	}
	extra, err := io.Copy(io.Discard, r)
	if err != nil {
		return readErr(err)
	}
	if extra > 0 {
		return fail("trailing data: header says %s = %d bytes, file has %d", shape, total, total+extra)
	}
	return &IDX{Type: head[2], Dims: dims, Data: data}, nil
}

// readUpTo reads until n bytes or EOF. It grows its buffer as data arrives
// rather than trusting the header's n, so a corrupt header cannot make it
// allocate gigabytes for a small file.
func readUpTo(r io.Reader, n int64) ([]byte, error) {
	const chunk = 64 << 20
	buf := make([]byte, 0, min(n, chunk))
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, int64(cap(buf))*2))
			copy(grown, buf)
			buf = grown
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// formatDims prints the raw header sizes as "10000x28x28".
func formatDims(raw []byte, ndims int) string {
	parts := make([]string, ndims)
	for i := range parts {
		parts[i] = strconv.FormatUint(uint64(binary.BigEndian.Uint32(raw[4*i:])), 10)
	}
	return strings.Join(parts, "x")
}
