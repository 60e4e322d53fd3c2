package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// raw builds a tensor of any dtype from its bytes.
func raw(name, dtype string, shape []int, data ...byte) Tensor {
	return Tensor{Name: name, DType: dtype, Shape: cloneShape(shape), Data: data}
}

// sample is a file with every dtype, a scalar, an empty tensor and metadata
// that needs escaping.
func sample() *File {
	return &File{
		Metadata: map[string]string{
			KeyFamily: "diffusion",
			KeyConfig: `{"channels":[32,64],"note":"<a&b> \"q\" é 猫"}`,
			KeyStep:   "500",
			KeyFormat: "1",
		},
		Tensors: []Tensor{
			F32("down.0.conv.weight", []int{2, 1, 1, 2}, []float32{1, -2.5, float32(math.Pi), 1e-30}),
			F64("sched.betas", []int{3}, []float64{1e-4, 0.02, -0}),
			I64("step", []int{}, []int64{-7}),
			U8("rng", []int{2, 2}, []byte{0, 1, 254, 255}),
			F32("empty", []int{0, 3}, nil),
			raw("i8", "I8", []int{2}, 0x80, 0x7f),
			raw("u16", "U16", []int{1}, 0xff, 0xff),
			raw("i16", "I16", []int{1}, 0x00, 0x80),
			raw("i32", "I32", []int{1}, 0xff, 0xff, 0xff, 0xff),
			raw("u32", "U32", []int{1}, 1, 0, 0, 0),
			raw("u64", "U64", []int{1}, 2, 0, 0, 0, 0, 0, 0, 0),
			raw("f16", "F16", []int{2}, 0x00, 0x3c, 0x00, 0xc0),
			raw("bf16", "BF16", []int{1}, 0x80, 0x3f),
			raw("bool", "BOOL", []int{3}, 1, 0, 1),
			raw("f8a", "F8_E5M2", []int{1}, 0x3c),
			raw("f8b", "F8_E4M3", []int{1}, 0x38),
			raw("f8c", "F8_E8M0", []int{1}, 0x7f),
		},
	}
}

// sameFile compares two files, treating nil and empty as equal.
func sameFile(t *testing.T, got, want *File) {
	t.Helper()
	if len(got.Metadata) != len(want.Metadata) || (len(want.Metadata) > 0 && !reflect.DeepEqual(got.Metadata, want.Metadata)) {
		t.Errorf("metadata = %v, want %v", got.Metadata, want.Metadata)
	}
	if len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for _, w := range want.Tensors {
		g, ok := got.Get(w.Name)
		if !ok {
			t.Errorf("tensor %q missing", w.Name)
			continue
		}
		if g.DType != w.DType || !reflect.DeepEqual(cloneShape(g.Shape), cloneShape(w.Shape)) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("tensor %q = %s %v % x, want %s %v % x", w.Name, g.DType, g.Shape, g.Data, w.DType, w.Shape, w.Data)
		}
	}
	for i := 1; i < len(got.Tensors); i++ {
		if got.Tensors[i-1].Name >= got.Tensors[i].Name {
			t.Errorf("tensors not sorted: %q before %q", got.Tensors[i-1].Name, got.Tensors[i].Name)
		}
	}
}

func encode(t *testing.T, f *File) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, f); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		file *File
	}{
		{"all dtypes", sample()},
		{"empty metadata", &File{Tensors: []Tensor{F32("w", []int{2}, []float32{1, 2})}}},
		{"metadata only", &File{Metadata: map[string]string{"a": "b"}}},
		{"nothing", &File{}},
		{"scalar", &File{Tensors: []Tensor{F64("x", nil, []float64{42})}}},
		{"empty name", &File{Tensors: []Tensor{U8("", []int{1}, []byte{9})}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encode(t, tt.file)
			if n := binary.LittleEndian.Uint64(b); (8+n)%8 != 0 || b[8] != '{' {
				t.Errorf("header length %d: data not 8-byte aligned or header not starting with '{'", n)
			}
			got, err := ReadBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			sameFile(t, got, tt.file)
			if got.Metadata == nil {
				t.Error("ReadBytes returned nil Metadata")
			}
			streamed, err := Read(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			sameFile(t, streamed, tt.file)
			if again := encode(t, got); !bytes.Equal(again, b) {
				t.Error("re-encoding a read file changed its bytes")
			}

			path := filepath.Join(t.TempDir(), "x.safetensors")
			if err := Save(path, tt.file); err != nil {
				t.Fatal(err)
			}
			loaded, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			sameFile(t, loaded, tt.file)
			if loaded.Path != path {
				t.Errorf("Path = %q, want %q", loaded.Path, path)
			}
			h, err := ReadHeader(path)
			if err != nil {
				t.Fatal(err)
			}
			if int(8+h.HeaderSize+h.DataSize) != len(b) {
				t.Errorf("header %d + data %d bytes, file has %d", h.HeaderSize, h.DataSize, len(b))
			}
			if len(h.Tensors) != len(tt.file.Tensors) {
				t.Errorf("ReadHeader: %d tensors, want %d", len(h.Tensors), len(tt.file.Tensors))
			}
			for _, ti := range h.Tensors {
				w, _ := tt.file.Get(ti.Name)
				if ti.DType != w.DType || ti.End-ti.Begin != int64(len(w.Data)) {
					t.Errorf("ReadHeader: %+v does not describe %s %v", ti, w.DType, w.Shape)
				}
			}
		})
	}
}

func TestTensorDataIsCapped(t *testing.T) {
	got, err := ReadBytes(encode(t, sample()))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range got.Tensors {
		if cap(tt.Data) != len(tt.Data) {
			t.Errorf("%q: cap %d > len %d: an append would overwrite the next tensor", tt.Name, cap(tt.Data), len(tt.Data))
		}
	}
}

// TestWriteGolden checks Write byte for byte against a file worked out by
// hand: header 142 bytes of JSON + 2 spaces = 144 (0x90), so the data starts
// at 152 = 19*8.
func TestWriteGolden(t *testing.T) {
	f := &File{
		Metadata: map[string]string{"genlab.format": "1"},
		Tensors: []Tensor{ // out of order on purpose: Write sorts by name
			U8("b", []int{2}, []byte{1, 2}),
			F32("a", []int{}, []float32{1}),
		},
	}
	want := []byte{0x90, 0, 0, 0, 0, 0, 0, 0}
	want = append(want, `{"__metadata__":{"genlab.format":"1"},`+
		`"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},`+
		`"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}  `...)
	want = append(want, 0x00, 0x00, 0x80, 0x3f) // 1.0 as float32, little-endian
	want = append(want, 0x01, 0x02)
	got := encode(t, f)
	if !bytes.Equal(got, want) {
		t.Errorf("Write =\n%q\nwant\n%q", got, want)
	}
}

func TestConversions(t *testing.T) {
	s := sample()
	get := func(name string) Tensor {
		tt, ok := s.Get(name)
		if !ok {
			t.Fatalf("no tensor %q", name)
		}
		return tt
	}
	f32 := func(name string) []float32 {
		v, err := get(name).Float32s()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	i64 := func(name string) []int64 {
		v, err := get(name).Int64s()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got, want := f32("down.0.conv.weight"), []float32{1, -2.5, math.Pi, 1e-30}; !reflect.DeepEqual(got, want) {
		t.Errorf("F32 = %v, want %v", got, want)
	}
	if got, want := f32("sched.betas"), []float32{1e-4, 0.02, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("F64 as float32 = %v, want %v", got, want)
	}
	if got, want := f32("f16"), []float32{1, -2}; !reflect.DeepEqual(got, want) {
		t.Errorf("F16 = %v, want %v", got, want)
	}
	if got, want := f32("bf16"), []float32{1}; !reflect.DeepEqual(got, want) {
		t.Errorf("BF16 = %v, want %v", got, want)
	}
	if got, err := get("sched.betas").Float64s(); err != nil || !reflect.DeepEqual(got, []float64{1e-4, 0.02, 0}) {
		t.Errorf("F64 = %v, %v", got, err)
	}
	if got, err := get("down.0.conv.weight").Float64s(); err != nil || got[1] != -2.5 {
		t.Errorf("F32 as float64 = %v, %v", got, err)
	}
	if got := f32("empty"); len(got) != 0 {
		t.Errorf("empty = %v", got)
	}
	for name, want := range map[string][]int64{
		"step": {-7}, "rng": {0, 1, 254, 255}, "i8": {-128, 127}, "u16": {65535}, "i16": {-32768},
		"i32": {-1}, "u32": {1}, "u64": {2}, "bool": {1, 0, 1},
	} {
		if got := i64(name); !reflect.DeepEqual(got, want) {
			t.Errorf("%s as int64 = %v, want %v", name, got, want)
		}
	}
	for _, name := range []string{"step", "rng", "bool", "f8a"} {
		if _, err := get(name).Float32s(); err == nil {
			t.Errorf("%s.Float32s: no error", name)
		}
	}
	if _, err := get("sched.betas").Int64s(); err == nil {
		t.Error("F64.Int64s: no error")
	}
	big := raw("big", "U64", []int{1}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	if _, err := big.Int64s(); err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Errorf("U64 max: err = %v", err)
	}
	short := raw("short", "F32", []int{2}, 0, 0, 0, 0)
	if _, err := short.Float32s(); err == nil || !strings.Contains(err.Error(), "needs 8 bytes, has 4") {
		t.Errorf("short data: err = %v", err)
	}
}

func TestHalfToFloat32(t *testing.T) {
	tests := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x3555, 0.333251953125},
		{0x7bff, 65504}, {0x0001, 1.0 / (1 << 24)}, {0x03ff, 1023.0 / (1 << 24)},
		{0x0400, 1.0 / (1 << 14)}, {0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	}
	for _, tt := range tests {
		if got := halfToFloat32(tt.h); got != tt.want {
			t.Errorf("halfToFloat32(%#04x) = %g, want %g", tt.h, got, tt.want)
		}
	}
	if got := halfToFloat32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("halfToFloat32(0x8000) = %g, want -0", got)
	}
	if got := halfToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("halfToFloat32(0x7e00) = %g, want NaN", got)
	}
}

func TestConstructorsPanicOnMisuse(t *testing.T) {
	for name, fn := range map[string]func(){
		"too few values":     func() { F32("w", []int{2, 3}, make([]float32, 5)) },
		"negative dimension": func() { F64("w", []int{-1}, nil) },
		"scalar needs one":   func() { I64("w", nil, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.HasPrefix(s, "checkpoint: ") {
					t.Errorf("recovered %v, want a checkpoint: panic", r)
				}
			}()
			fn()
		})
	}
}

// build makes a file from a header and data, without padding.
func build(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func withPrefix(n uint64, rest string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
}

var zeros = make([]byte, 64)

// corruptCases are files every reader must refuse, with the part of the
// error that says why.
var corruptCases = []struct {
	name string
	file []byte
	want string
}{
	{"empty file", nil, "file is 0 bytes, too short for the 8-byte header length"},
	{"shorter than prefix", []byte{1, 2, 3, 4, 5}, "file is 5 bytes, too short"},
	{"header over 100 MB", withPrefix(100_000_001, "{}"), "header length 100000001 exceeds"},
	{"header length 2^64-1", withPrefix(math.MaxUint64, "{}"), "exceeds the 100000000-byte limit"},
	{"header longer than file", withPrefix(100, "{}"), "truncated: header says 100 header bytes, file has 2 after the length prefix"},
	{"zero-length header", withPrefix(0, ""), "header does not start with '{'"},
	{"leading space", build(` {}`, nil), "header does not start with '{'"},
	{"header is an array", build(`[1,2]`, nil), "header does not start with '{'"},
	{"non-JSON header", build(`{"a":`, nil), "header is not valid JSON"},
	{"trailing garbage after object", build(`{} x`, nil), "header is not valid JSON"},
	{"invalid UTF-8", build("{\"\xff\":1}", nil), "not valid UTF-8"},
	{"entry not an object", build(`{"w":[1,2]}`, nil), `tensor "w": entry is an array`},
	{"missing dtype", build(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, zeros[:4]), `tensor "w": missing dtype`},
	{"dtype not a string", build(`{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, zeros[:4]), `dtype is a number`},
	{"unknown dtype", build(`{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`, zeros[:16]), `tensor "w": unknown dtype "F128"`},
	{"sub-byte dtype", build(`{"w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}`, zeros[:1]), `unknown dtype "F4"`},
	{"lowercase dtype", build(`{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, zeros[:4]), `unknown dtype "f32"`},
	{"missing shape", build(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, zeros[:4]), `missing shape`},
	{"shape not an array", build(`{"w":{"dtype":"F32","shape":4,"data_offsets":[0,4]}}`, zeros[:4]), `shape 4: is a number`},
	{"negative dimension", build(`{"w":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,4]}}`, zeros[:4]), `negative value -1`},
	{"fractional dimension", build(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, zeros[:4]), `value 1.5 is not an integer`},
	{"dimension as string", build(`{"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, zeros[:4]), `value "1" is not an integer`},
	{"missing offsets", build(`{"w":{"dtype":"F32","shape":[1]}}`, zeros[:4]), `missing data_offsets`},
	{"three offsets", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, zeros[:8]), `data_offsets has 3 values`},
	{"negative offset", build(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, nil), `negative value -4`},
	{"reversed offsets", build(`{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, zeros[:4]), `data_offsets [4, 0] end before they begin`},
	{"byte count mismatch", build(`{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}`, zeros[:20]), `tensor "w": F32 shape [2 3] needs 24 bytes, data_offsets [0, 20] span 20`},
	{"shape overflows", build(`{"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, zeros[:8]), `is too large`},
	{"hole at start", build(`{"w":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, zeros[:4]), `hole in the data: bytes [0, 2) belong to no tensor (next is "w" at [2, 4])`},
	{"hole between", build(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}`, zeros[:5]), `hole in the data: bytes [2, 3)`},
	{"overlap", build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}`, zeros[:4]), `tensors "a" and "b" overlap`},
	{"same offsets", build(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, zeros[:4]), `overlap`},
	{"offset out of range", build(`{"w":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, zeros[:4]), `truncated: header says 8 data bytes, file has 4`},
	{"data missing", build(`{"w":{"dtype":"F32","shape":[16],"data_offsets":[0,64]}}`, nil), `truncated: header says 64 data bytes, file has 0`},
	{"trailing data", build(`{"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, zeros[:5]), `3 trailing bytes after the last tensor`},
	{"duplicate name", build(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, zeros[:2]), `duplicate tensor name "w"`},
	{"duplicate field", build(`{"w":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}`, zeros[:1]), `tensor "w": duplicate field "dtype"`},
	{"duplicate metadata", build(`{"__metadata__":{},"__metadata__":{}}`, nil), `duplicate __metadata__`},
	{"duplicate metadata key", build(`{"__metadata__":{"k":"a","k":"b"}}`, nil), `__metadata__: duplicate key "k"`},
	{"metadata not an object", build(`{"__metadata__":"x"}`, nil), `__metadata__: not a JSON object`},
	{"non-string metadata", build(`{"__metadata__":{"genlab.step":500}}`, nil), `__metadata__: value of "genlab.step" is a number, want a string`},
	{"null metadata value", build(`{"__metadata__":{"k":null}}`, nil), `value of "k" is null`},
	{"nested metadata", build(`{"__metadata__":{"k":{"a":"b"}}}`, nil), `value of "k" is an object`},
}

func TestCorrupt(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range corruptCases {
		t.Run(tt.name, func(t *testing.T) {
			check := func(how string, err error, wantFile string) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s: no error", how)
				}
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("%s: %T %v, want *FormatError", how, err, err)
				}
				if fe.File != wantFile {
					t.Errorf("%s: File = %q, want %q", how, fe.File, wantFile)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s: error %q\ndoes not contain %q", how, err, tt.want)
				}
			}
			_, err := ReadBytes(tt.file)
			check("ReadBytes", err, "")
			_, err = Read(bytes.NewReader(tt.file))
			if !strings.Contains(tt.name, "trailing") { // a stream cannot count what follows
				check("Read", err, "")
			} else if err == nil {
				t.Error("Read: no error")
			}
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".safetensors")
			if err := os.WriteFile(path, tt.file, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Load(path)
			check("Load", err, path)
			if !strings.HasPrefix(err.Error(), "checkpoint: "+path+": ") {
				t.Errorf("Load error %q does not start with the file name", err)
			}
			_, err = ReadHeader(path)
			check("ReadHeader", err, path)
		})
	}
}

// TestValidVariants are files the reference writer or a hand editor may
// produce that genlab did not write itself.
func TestValidVariants(t *testing.T) {
	tests := []struct {
		name   string
		file   []byte
		tensor string
		shape  []int
	}{
		{"offsets not in name order", build(`{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}`, zeros[:6]), "a", []int{2}},
		{"unpadded header", build(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, zeros[:1]), "w", []int{1}},
		{"whitespace", build("{ \"w\" : {\"shape\": [ 1 ], \"dtype\":\"U8\",\n\"data_offsets\":[0 ,1]} }\t\n  ", zeros[:1]), "w", []int{1}},
		{"unknown field ignored", build(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":true}}`, zeros[:1]), "w", []int{1}},
		{"null metadata", build(`{"__metadata__":null,"w":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}`, zeros[:1]), "w", []int{}},
		{"zero-size tensors share an offset", build(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"c":{"dtype":"F32","shape":[2,0],"data_offsets":[4,4]}}`, zeros[:4]), "c", []int{2, 0}},
		{"huge dimension times zero", build(`{"w":{"dtype":"F64","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}`, nil), "w", []int{0, 4294967296, 4294967296}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadBytes(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			g, ok := f.Get(tt.tensor)
			if !ok || !reflect.DeepEqual(g.Shape, tt.shape) {
				t.Errorf("tensor %q = %v, want shape %v", tt.tensor, g, tt.shape)
			}
			if _, err := Read(bytes.NewReader(tt.file)); err != nil {
				t.Errorf("Read: %v", err)
			}
		})
	}
}

func TestWriteRefuses(t *testing.T) {
	tests := []struct {
		name string
		file *File
		want string
	}{
		{"short data", &File{Tensors: []Tensor{raw("w", "F32", []int{2}, 0, 0, 0, 0)}}, `tensor "w": F32 shape [2] needs 8 bytes, has 4`},
		{"unknown dtype", &File{Tensors: []Tensor{raw("w", "F128", []int{1})}}, `unknown dtype "F128"`},
		{"negative dimension", &File{Tensors: []Tensor{raw("w", "U8", []int{-1})}}, `invalid shape [-1]`},
		{"duplicate name", &File{Tensors: []Tensor{U8("w", []int{1}, []byte{1}), U8("w", []int{1}, []byte{2})}}, `duplicate tensor name "w"`},
		{"reserved name", &File{Tensors: []Tensor{U8("__metadata__", []int{1}, []byte{1})}}, `reserved`},
		{"bad UTF-8 name", &File{Tensors: []Tensor{U8("w\xff", []int{1}, []byte{1})}}, `not valid UTF-8`},
		{"bad UTF-8 metadata", &File{Metadata: map[string]string{"k": "\xff"}}, `metadata "k" is not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Write(&b, tt.file)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "checkpoint: ") {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", b.Len())
			}
		})
	}
}

// failAfter is a writer that fails once n bytes have been written.
type failAfter struct{ n int }

func (w *failAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	size := len(encode(t, sample()))
	for _, n := range []int{0, 7, 8, 100, size - 1} {
		err := Write(&failAfter{n}, sample())
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("fail after %d bytes: err = %v", n, err)
		}
	}
	if err := Write(&failAfter{size}, sample()); err != nil {
		t.Errorf("writer with room for exactly %d bytes: %v", size, err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSaveAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	old := &File{Metadata: map[string]string{KeyStep: "100"}, Tensors: []Tensor{F32("w", []int{1}, []float32{1})}}
	if err := Save(path, old); err != nil {
		t.Fatal(err)
	}
	oldBytes, _ := os.ReadFile(path)
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", st.Mode().Perm())
	}

	unchanged := func(what string) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(b, oldBytes) {
			t.Errorf("%s: the existing checkpoint was replaced or damaged (err %v)", what, err)
		}
		if names := listDir(t, dir); !reflect.DeepEqual(names, []string{"ckpt.safetensors"}) {
			t.Errorf("%s: directory holds %q, want only the checkpoint", what, names)
		}
	}

	invalid := &File{Tensors: []Tensor{raw("w", "F32", []int{2})}}
	if err := Save(path, invalid); err == nil || !strings.Contains(err.Error(), "save "+path) {
		t.Errorf("invalid file: err = %v", err)
	}
	unchanged("invalid file")

	// A write that dies half-way, like a full disk or a crash.
	halfway := func(w io.Writer, f *File) error {
		if err := write(w, f); err != nil {
			return err
		}
		return errors.New("disk full")
	}
	err := saveWith(path, sample(), halfway)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("failing write: err = %v", err)
	}
	unchanged("failing write")

	if err := Save(filepath.Join(dir, "no-such-dir", "x.safetensors"), old); err == nil {
		t.Error("save into a missing directory: no error")
	}
	unchanged("missing directory")

	if err := Save(path, sample()); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sameFile(t, got, sample())
	if names := listDir(t, dir); len(names) != 1 {
		t.Errorf("after a good save the directory holds %q", names)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.safetensors")); err == nil || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("missing file: err = %v", err)
	}
	if _, err := ReadHeader(filepath.Join(dir, "missing.safetensors")); err == nil || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("missing file: err = %v", err)
	}
	for _, fn := range []func(string) error{
		func(p string) error { _, err := Load(p); return err },
		func(p string) error { _, err := ReadHeader(p); return err },
	} {
		var fe *FormatError
		if err := fn(dir); !errors.As(err, &fe) || !strings.Contains(err.Error(), "is a directory") {
			t.Errorf("directory: err = %v", err)
		}
	}
}

// TestNotRegular: a FIFO or a device given as a checkpoint is refused
// before open, which would block on a FIFO until a writer comes.
func TestNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe.safetensors")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	for name, fn := range map[string]func(string) error{
		"Load":       func(p string) error { _, err := Load(p); return err },
		"ReadHeader": func(p string) error { _, err := ReadHeader(p); return err },
	} {
		for path, kind := range map[string]string{fifo: "named pipe", "/dev/zero": "character device"} {
			done := make(chan error, 1)
			go func() { done <- fn(path) }()
			select {
			case err := <-done:
				var fe *FormatError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), kind) || !strings.Contains(err.Error(), path) {
					t.Errorf("%s(%s): err = %v; want a FormatError naming a %s", name, path, err, kind)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s(%s) blocked", name, path)
			}
		}
	}
}

// TestHeaderCheckShapes checks a header's tensors against a model's
// before any data is read.
func TestHeaderCheckShapes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, &File{Tensors: []Tensor{F32("w", []int{2, 3}, make([]float32, 6)), F32("b", []int{2}, make([]float32, 2))}}); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.CheckShapes(map[string][]int{"w": {2, 3}, "b": {2}}); err != nil {
		t.Errorf("matching shapes: %v", err)
	}
	err = h.CheckShapes(map[string][]int{"w": {4, 3}, "c": {2}})
	var se *ShapeError
	if !errors.As(err, &se) || len(se.Mismatch) != 1 || len(se.Missing) != 1 || len(se.Extra) != 1 || se.File != path {
		t.Errorf("mismatched shapes: %v", err)
	}
}

// TestTruncatedMessage pins the wording users see for a checkpoint cut short
// by a crash or a full disk.
func TestTruncatedMessage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	os.Mkdir(dir, 0o755)
	path := filepath.Join(dir, "ckpt-000500.safetensors")
	b := encode(t, &File{Tensors: []Tensor{F32("w", []int{256}, make([]float32, 256))}})
	hlen := int(binary.LittleEndian.Uint64(b))
	if err := os.WriteFile(path, b[:8+hlen+1000], 0o644); err != nil {
		t.Fatal(err)
	}
	want := "checkpoint: " + path + ": truncated: header says 1024 data bytes, file has 1000"
	for name, fn := range map[string]func(string) error{
		"Load":       func(p string) error { _, err := Load(p); return err },
		"ReadHeader": func(p string) error { _, err := ReadHeader(p); return err },
	} {
		if err := fn(path); err == nil || err.Error() != want {
			t.Errorf("%s: err = %v\nwant %s", name, err, want)
		}
	}
}

// TestLyingHeader checks that a header claiming gigabytes of data does not
// make the reader allocate them.
func TestLyingHeader(t *testing.T) {
	file := build(`{"w":{"dtype":"F32","shape":[1073741824],"data_offsets":[0,4294967296]}}`, zeros[:16])
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err1 := Read(bytes.NewReader(file))
	_, err2 := ReadBytes(file)
	runtime.ReadMemStats(&after)
	if err1 == nil || err2 == nil {
		t.Fatal("lying header accepted")
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("reading a 100-byte file allocated %d bytes", n)
	}
	if !strings.Contains(err1.Error(), "truncated: header says 4294967296 data bytes, file has 16") {
		t.Errorf("err = %v", err1)
	}
}

func TestCheckShapes(t *testing.T) {
	f := &File{Path: "run/x.safetensors", Tensors: []Tensor{
		F32("conv.weight", []int{8, 1, 3, 3}, make([]float32, 72)),
		F32("conv.bias", []int{8}, make([]float32, 8)),
		F32("scale", nil, []float32{1}),
		F32("old.weight", []int{2}, make([]float32, 2)),
	}}
	if err := f.CheckShapes(map[string][]int{
		"conv.weight": {8, 1, 3, 3}, "conv.bias": {8}, "scale": {}, "old.weight": {2},
	}); err != nil {
		t.Errorf("matching shapes: %v", err)
	}
	err := f.CheckShapes(map[string][]int{
		"conv.weight": {16, 1, 3, 3}, "conv.bias": {8}, "scale": nil, "new.weight": {4, 4},
	})
	var se *ShapeError
	if !errors.As(err, &se) {
		t.Fatalf("err = %T %v, want *ShapeError", err, err)
	}
	want := &ShapeError{
		File:     "run/x.safetensors",
		Missing:  []string{"new.weight"},
		Extra:    []string{"old.weight"},
		Mismatch: []ShapeMismatch{{"conv.weight", []int{16, 1, 3, 3}, []int{8, 1, 3, 3}}},
	}
	if !reflect.DeepEqual(se, want) {
		t.Errorf("got %+v, want %+v", se, want)
	}
	msg := err.Error()
	for _, part := range []string{
		"checkpoint: run/x.safetensors: weights do not fit the model",
		"3 problems",
		`tensor "conv.weight": want shape [16 1 3 3], got [8 1 3 3]`,
		`missing tensor "new.weight"`,
		`unexpected tensor "old.weight"`,
	} {
		if !strings.Contains(msg, part) {
			t.Errorf("message %q lacks %q", msg, part)
		}
	}

	many := map[string][]int{}
	for _, c := range "abcdefgh" {
		many[string(c)] = []int{1}
	}
	err = (&File{}).CheckShapes(many)
	if !strings.Contains(err.Error(), "8 problems") || !strings.Contains(err.Error(), "and 3 more") {
		t.Errorf("long list not summarised: %v", err)
	}
}

func TestCheckFormat(t *testing.T) {
	tests := []struct {
		meta map[string]string
		want string // "" means no error
	}{
		{map[string]string{KeyFormat: "1"}, ""},
		{nil, "not a genlab checkpoint"},
		{map[string]string{KeyFormat: "one"}, `genlab.format is "one"`},
		{map[string]string{KeyFormat: "0"}, `genlab.format is "0"`},
		{map[string]string{KeyFormat: "2"}, "checkpoint format 2 is newer than this genlab reads (1): upgrade genlab"},
	}
	for _, tt := range tests {
		err := (&File{Path: "c.safetensors", Metadata: tt.meta}).CheckFormat()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%v: %v", tt.meta, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "c.safetensors")):
			t.Errorf("%v: err = %v, want %q", tt.meta, err, tt.want)
		}
	}
}

func TestHugeValues(t *testing.T) {
	for _, h := range []string{
		`{"w":{"dtype":"U8","shape":[99999999999999999999],"data_offsets":[0,0]}}`,
		`{"w":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,0]}}`,
		`{"w":{"dtype":"U8","shape":[0],"data_offsets":[9223372036854775808,9223372036854775808]}}`,
	} {
		if _, err := ReadBytes(build(h, nil)); err == nil || !strings.Contains(err.Error(), "is too large") {
			t.Errorf("%s: err = %v", h, err)
		}
	}
}
