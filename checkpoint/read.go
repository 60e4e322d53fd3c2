package checkpoint

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"genlab/internal/pathcheck"
)

// MaxHeaderSize is the largest JSON header accepted (100 MB), as in the
// reference safetensors implementation.
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved header key holding the string metadata.
const metadataKey = "__metadata__"

// File is a whole checkpoint: string metadata and tensors.
type File struct {
	// Path is the file the checkpoint was loaded from, set by Load and used
	// only to name the file in errors. Write and Save ignore it.
	Path string
	// Metadata is the header's __metadata__ map. Read and Load always set a
	// non-nil map; Write omits __metadata__ when it is empty.
	Metadata map[string]string
	// Tensors are sorted by name after a read. Write writes them sorted by
	// name whatever their order here.
	Tensors []Tensor
}

// Get returns the tensor called name.
func (f *File) Get(name string) (Tensor, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// TensorInfo describes one tensor of a header without its data.
type TensorInfo struct {
	Name  string
	DType string
	Shape []int
	// Begin and End are the data_offsets: the tensor's bytes are
	// [Begin, End) of the data buffer that follows the header.
	Begin, End int64
}

// NumElements returns the number of elements of the tensor (1 for a scalar).
func (ti TensorInfo) NumElements() int64 {
	n, _ := numElements(ti.Shape)
	return int64(n)
}

// Header is what a checkpoint says about itself, read without its data.
type Header struct {
	Path       string            // as given to ReadHeader; "" otherwise
	Metadata   map[string]string // never nil
	Tensors    []TensorInfo      // sorted by name
	HeaderSize int64             // bytes of JSON header, padding included
	DataSize   int64             // bytes of tensor data after the header
}

// NumElements returns the total number of elements of all tensors, e.g. the
// parameter count of a weights-only file.
func (h *Header) NumElements() int64 {
	var n int64
	for _, t := range h.Tensors {
		n += t.NumElements()
	}
	return n
}

// ReadHeader reads and checks the header of the checkpoint at path without
// loading the tensor data: for `genlab info` and for checking a file before
// committing to loading it. It refuses a file whose size does not match its
// header, exactly as Load would.
func ReadHeader(path string) (*Header, error) {
	if err := checkRegular(path); err != nil {
		return nil, err
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if !st.Mode().IsRegular() { // replaced since the check
		return nil, &FormatError{path, "is not a regular file"}
	}
	size := st.Size()
	var prefix [8]byte
	if size < 8 {
		return nil, shortFile(path, size)
	}
	if _, err := io.ReadFull(fh, prefix[:]); err != nil {
		return nil, fmt.Errorf("checkpoint: read %s: %w", path, err)
	}
	hlen := binary.LittleEndian.Uint64(prefix[:])
	if err := checkHeaderLen(path, hlen, size-8); err != nil {
		return nil, err
	}
	raw := make([]byte, hlen) // bounded by the file's actual size
	if _, err := io.ReadFull(fh, raw); err != nil {
		return nil, fmt.Errorf("checkpoint: read %s: %w", path, err)
	}
	h, err := parseHeader(path, raw)
	if err != nil {
		return nil, err
	}
	h.Path = path
	if err := checkDataLen(path, h.DataSize, size-8-int64(hlen)); err != nil {
		return nil, err
	}
	return h, nil
}

// Load reads and checks the whole checkpoint at path. Errors name the file;
// a malformed file gives a *FormatError.
func Load(path string) (*File, error) {
	if err := checkRegular(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	f, err := parseFile(path, b)
	if err != nil {
		return nil, err
	}
	f.Path = path
	return f, nil
}

// ReadBytes parses a checkpoint held in memory. The returned tensors' Data
// alias b: b must not be modified while they are in use.
func ReadBytes(b []byte) (*File, error) {
	return parseFile("", b)
}

// Read reads a checkpoint from a stream. Memory grows with the bytes actually
// read, never with what the header claims, so a lying header cannot make it
// allocate more than the stream holds.
func Read(r io.Reader) (*File, error) {
	var prefix [8]byte
	n, err := io.ReadFull(r, prefix[:])
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil, shortFile("", int64(n))
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read: %w", err)
	}
	hlen := binary.LittleEndian.Uint64(prefix[:])
	if err := checkHeaderLen("", hlen, -1); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(r, int64(hlen)))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read: %w", err)
	}
	if err := checkHeaderLen("", hlen, int64(len(raw))); err != nil {
		return nil, err
	}
	h, err := parseHeader("", raw)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, h.DataSize+1))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read: %w", err)
	}
	if int64(len(data)) > h.DataSize {
		return nil, &FormatError{"", fmt.Sprintf("trailing bytes after the last tensor: header says %d data bytes, stream has more", h.DataSize)}
	}
	if err := checkDataLen("", h.DataSize, int64(len(data))); err != nil {
		return nil, err
	}
	return assemble(h, data), nil
}

// parseFile checks and splits a whole checkpoint held in b.
func parseFile(name string, b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, shortFile(name, int64(len(b)))
	}
	hlen := binary.LittleEndian.Uint64(b)
	if err := checkHeaderLen(name, hlen, int64(len(b)-8)); err != nil {
		return nil, err
	}
	h, err := parseHeader(name, b[8:8+hlen])
	if err != nil {
		return nil, err
	}
	data := b[8+hlen:]
	if err := checkDataLen(name, h.DataSize, int64(len(data))); err != nil {
		return nil, err
	}
	return assemble(h, data), nil
}

// assemble builds a File from a checked header and a data buffer of exactly
// h.DataSize bytes. Tensor data alias data, each capped at its own end.
func assemble(h *Header, data []byte) *File {
	f := &File{Metadata: h.Metadata, Tensors: make([]Tensor, len(h.Tensors))}
	for i, ti := range h.Tensors {
		f.Tensors[i] = Tensor{
			Name:  ti.Name,
			DType: ti.DType,
			Shape: ti.Shape,
			Data:  data[ti.Begin:ti.End:ti.End],
		}
	}
	return f
}

// checkRegular refuses a path that is not a regular file before anything
// opens it: open blocks forever on a FIFO, and a device reads without end.
func checkRegular(path string) error {
	err := pathcheck.Regular(path)
	var nr *pathcheck.NotRegularError
	if errors.As(err, &nr) {
		return &FormatError{path, "is " + nr.Kind + ", not a checkpoint file"}
	}
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

func shortFile(name string, size int64) error {
	return &FormatError{name, fmt.Sprintf("file is %d bytes, too short for the 8-byte header length", size)}
}

// checkHeaderLen checks the header length read from the prefix against the
// limit and against avail, the bytes present after the prefix (-1: unknown).
func checkHeaderLen(name string, hlen uint64, avail int64) error {
	if hlen > MaxHeaderSize {
		return &FormatError{name, fmt.Sprintf("header length %d exceeds the %d-byte limit (not a safetensors file?)", hlen, MaxHeaderSize)}
	}
	if avail >= 0 && hlen > uint64(avail) {
		return &FormatError{name, fmt.Sprintf("truncated: header says %d header bytes, file has %d after the length prefix", hlen, avail)}
	}
	return nil
}

// checkDataLen compares the data size the header implies with the bytes
// present after it.
func checkDataLen(name string, want, have int64) error {
	switch {
	case have < want:
		return &FormatError{name, fmt.Sprintf("truncated: header says %d data bytes, file has %d", want, have)}
	case have > want:
		return &FormatError{name, fmt.Sprintf("%d trailing bytes after the last tensor: header says %d data bytes, file has %d", have-want, want, have)}
	}
	return nil
}

// parseHeader parses and checks the JSON header: every tensor's dtype, shape
// and offsets, and that the tensors tile the data buffer without holes or
// overlaps. DataSize is set to the end of the last tensor.
func parseHeader(name string, raw []byte) (*Header, error) {
	bad := func(format string, args ...any) error {
		return &FormatError{name, fmt.Sprintf(format, args...)}
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, bad("header does not start with '{' (not a safetensors file?)")
	}
	if !utf8.Valid(raw) {
		return nil, bad("header is not valid UTF-8")
	}
	if err := json.Unmarshal(raw, new(json.RawMessage)); err != nil {
		return nil, bad("header is not valid JSON: %v", err)
	}
	entries, err := objectEntries(raw)
	if err != nil {
		var dup duplicateKeyError
		if errors.As(err, &dup) && string(dup) == metadataKey {
			return nil, bad("duplicate %s in header", metadataKey)
		}
		if errors.As(err, &dup) {
			return nil, bad("duplicate tensor name %q in header", string(dup))
		}
		return nil, bad("header: %v", err)
	}
	h := &Header{HeaderSize: int64(len(raw)), Metadata: map[string]string{}}
	for _, e := range entries {
		if e.key == metadataKey {
			if h.Metadata, err = parseMetadata(e.value); err != nil {
				return nil, bad("%s: %v", metadataKey, err)
			}
			continue
		}
		ti, err := parseInfo(e.key, e.value)
		if err != nil {
			return nil, bad("tensor %q: %v", e.key, err)
		}
		h.Tensors = append(h.Tensors, ti)
	}
	if err := checkLayout(h); err != nil {
		return nil, bad("%v", err)
	}
	slices.SortFunc(h.Tensors, func(a, b TensorInfo) int { return strings.Compare(a.Name, b.Name) })
	return h, nil
}

type entry struct {
	key   string
	value json.RawMessage
}

type duplicateKeyError string

func (e duplicateKeyError) Error() string { return fmt.Sprintf("duplicate key %q", string(e)) }

// objectEntries returns the members of the JSON object raw in file order.
// Unlike json.Unmarshal into a map, it refuses duplicate keys. raw must be
// valid JSON.
func objectEntries(raw []byte) ([]entry, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var out []entry
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		if seen[key] {
			return nil, duplicateKeyError(key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, entry{key, v})
	}
	return out, nil
}

// parseMetadata parses __metadata__: an object of strings, or null.
func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	m := map[string]string{}
	if string(raw) == "null" {
		return m, nil
	}
	entries, err := objectEntries(raw)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if len(e.value) == 0 || e.value[0] != '"' {
			return nil, fmt.Errorf("value of %q is %s, want a string", e.key, jsonKind(e.value))
		}
		var s string
		if err := json.Unmarshal(e.value, &s); err != nil {
			return nil, fmt.Errorf("value of %q: %v", e.key, err)
		}
		m[e.key] = s
	}
	return m, nil
}

// parseInfo parses one tensor's {"dtype","shape","data_offsets"} object and
// checks that its byte span fits its dtype and shape.
func parseInfo(name string, raw json.RawMessage) (TensorInfo, error) {
	ti := TensorInfo{Name: name}
	entries, err := objectEntries(raw)
	var dup duplicateKeyError
	if errors.As(err, &dup) {
		return ti, fmt.Errorf("duplicate field %q", string(dup))
	}
	if err != nil {
		return ti, fmt.Errorf("entry is %s, want an object with dtype, shape and data_offsets", jsonKind(raw))
	}
	fields := map[string]json.RawMessage{}
	for _, e := range entries {
		fields[e.key] = e.value
	}
	dt, ok := fields["dtype"]
	if !ok {
		return ti, errors.New("missing dtype")
	}
	if err := json.Unmarshal(dt, &ti.DType); err != nil || dt[0] != '"' {
		return ti, fmt.Errorf("dtype is %s, want a string", jsonKind(dt))
	}
	size, ok := dtypeSizes[ti.DType]
	if !ok {
		return ti, fmt.Errorf("unknown dtype %q", ti.DType)
	}

	sh, ok := fields["shape"]
	if !ok {
		return ti, errors.New("missing shape")
	}
	dims, err := parseUints(sh, math.MaxInt)
	if err != nil {
		return ti, fmt.Errorf("shape %s: %v", snippet(sh), err)
	}
	ti.Shape = make([]int, len(dims))
	for i, d := range dims {
		ti.Shape[i] = int(d)
	}

	off, ok := fields["data_offsets"]
	if !ok {
		return ti, errors.New("missing data_offsets")
	}
	offs, err := parseUints(off, math.MaxInt64)
	if err != nil {
		return ti, fmt.Errorf("data_offsets %s: %v", snippet(off), err)
	}
	if len(offs) != 2 {
		return ti, fmt.Errorf("data_offsets has %d values, want [begin, end]", len(offs))
	}
	ti.Begin, ti.End = int64(offs[0]), int64(offs[1])
	if ti.End < ti.Begin {
		return ti, fmt.Errorf("data_offsets [%d, %d] end before they begin", ti.Begin, ti.End)
	}

	need, ok := byteCount(dims, size)
	span := uint64(ti.End - ti.Begin)
	if !ok {
		return ti, fmt.Errorf("%s shape %v is too large (more than 2^64 bytes)", ti.DType, ti.Shape)
	}
	if need != span {
		return ti, fmt.Errorf("%s shape %v needs %d bytes, data_offsets [%d, %d] span %d",
			ti.DType, ti.Shape, need, ti.Begin, ti.End, span)
	}
	return ti, nil
}

// parseUints parses a JSON array of non-negative integers no larger than max.
func parseUints(raw json.RawMessage, max uint64) ([]uint64, error) {
	var elems []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return nil, fmt.Errorf("is %s, want an array of integers", jsonKind(raw))
	}
	out := make([]uint64, len(elems))
	for i, e := range elems {
		s := string(e)
		if strings.HasPrefix(s, "-") {
			return nil, fmt.Errorf("negative value %s", snippet(e))
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err == nil && v > max || errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("value %s is too large", snippet(e))
		}
		if err != nil {
			return nil, fmt.Errorf("value %s is not an integer", snippet(e))
		}
		out[i] = v
	}
	return out, nil
}

// byteCount is product(dims)*size; ok is false if it overflows uint64.
func byteCount(dims []uint64, size int) (n uint64, ok bool) {
	n = uint64(size)
	overflow := false
	for _, d := range dims {
		if d == 0 {
			return 0, true
		}
		var hi uint64
		hi, n = bits.Mul64(n, d)
		if hi != 0 {
			overflow = true // keep going: a later zero dimension still makes it 0
		}
	}
	return n, !overflow
}

// checkLayout checks that the tensors tile [0, DataSize) exactly, in any
// order, and sets DataSize.
func checkLayout(h *Header) error {
	byOffset := slices.Clone(h.Tensors)
	slices.SortFunc(byOffset, func(a, b TensorInfo) int {
		if a.Begin != b.Begin {
			return cmp.Compare(a.Begin, b.Begin)
		}
		if a.End != b.End {
			return cmp.Compare(a.End, b.End)
		}
		return strings.Compare(a.Name, b.Name)
	})
	var pos int64
	prev := ""
	for _, t := range byOffset {
		switch {
		case t.Begin > pos:
			return fmt.Errorf("hole in the data: bytes [%d, %d) belong to no tensor (next is %q at [%d, %d])",
				pos, t.Begin, t.Name, t.Begin, t.End)
		case t.Begin < pos:
			return fmt.Errorf("tensors %q and %q overlap: %q has data_offsets [%d, %d], but the data before it runs to %d",
				prev, t.Name, t.Name, t.Begin, t.End, pos)
		}
		pos = t.End
		prev = t.Name
	}
	h.DataSize = pos
	return nil
}

// jsonKind names the kind of a JSON value for error messages.
func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// snippet shortens a JSON value for an error message.
func snippet(raw json.RawMessage) string {
	const max = 40
	if len(raw) <= max {
		return string(raw)
	}
	return string(raw[:max]) + "..."
}
