package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// makeIDX builds an IDX file: two zero bytes, the type, the dimension count,
// big-endian uint32 sizes, then data.
func makeIDX(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestReadIDX(t *testing.T) {
	valid3 := makeIDX(0x08, []uint32{2, 3, 4}, seq(24))
	gz3 := gzipBytes(t, valid3)
	badCRC := slices.Clone(gz3)
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 in the gzip trailer

	tests := []struct {
		name     string
		in       []byte
		wantDims []int
		wantErr  string // substring of the error; "" means success
	}{
		{"1-d", makeIDX(0x08, []uint32{5}, seq(5)), []int{5}, ""},
		{"3-d", valid3, []int{2, 3, 4}, ""},
		{"4-d", makeIDX(0x08, []uint32{1, 2, 1, 3}, seq(6)), []int{1, 2, 1, 3}, ""},
		{"gzipped", gz3, []int{2, 3, 4}, ""},

		{"empty", nil, nil, "too short for an IDX file: 0 bytes"},
		{"short magic", []byte{0, 0, 8}, nil, "too short for an IDX file: 3 bytes"},
		{"bad magic", append([]byte{1, 2}, valid3[2:]...), nil, "bad magic 01 02 08 03"},
		{"float32 type", makeIDX(0x0D, []uint32{1}, seq(4)), nil, "unsupported element type 0x0D (float32)"},
		{"unknown type", makeIDX(0x07, []uint32{1}, seq(1)), nil, "unknown element type 0x07"},
		{"zero dims", makeIDX(0x08, nil, nil), nil, "0 dimensions, want 1 to 4"},
		{"five dims", makeIDX(0x08, []uint32{1, 1, 1, 1, 1}, seq(1)), nil, "5 dimensions, want 1 to 4"},
		{"zero dim", makeIDX(0x08, []uint32{3, 0, 4}, nil), nil, "dimension 1 of 3x0x4 is zero"},
		{"truncated sizes", makeIDX(0x08, []uint32{2, 3, 4}, nil)[:10], nil, "truncated header: 3 dimensions need 12 bytes of sizes, file has 6"},
		{"truncated data", valid3[:len(valid3)-5], nil, "truncated: header says 2x3x4 = 24 bytes, file has 19"},
		{"trailing data", append(slices.Clone(valid3), 9, 9), nil, "trailing data: header says 2x3x4 = 24 bytes, file has 26"},
		{"huge header", makeIDX(0x08, []uint32{60000, 60000, 60000}, seq(10)), nil, "header says 60000x60000x60000 elements, more than the"},
		{"product overflows int64", makeIDX(0x08, []uint32{1<<32 - 1, 1<<32 - 1, 1<<32 - 1, 1<<32 - 1}, nil), nil, "more than the"},
		{"gzipped truncated data", gzipBytes(t, valid3[:20]), nil, "truncated: header says 2x3x4 = 24 bytes, file has 4"},
		{"corrupt gzip header", []byte{0x1f, 0x8b, 0, 0, 0}, nil, "corrupt gzip stream"},
		{"gzip stream cut short", gz3[:len(gz3)/2], nil, "corrupt or truncated gzip stream"},
		{"gzip bad checksum", badCRC, nil, "corrupt or truncated gzip stream: gzip: invalid checksum"},
		{"gzip trailing garbage", append(slices.Clone(gz3), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), nil, "corrupt or truncated gzip stream"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadIDX(bytes.NewReader(tc.in))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ReadIDX: %v", err)
				}
				if got.Type != IDXUbyte || !slices.Equal(got.Dims, tc.wantDims) {
					t.Errorf("got type %#x dims %v, want 0x08 %v", got.Type, got.Dims, tc.wantDims)
				}
				n := 1
				for _, d := range tc.wantDims {
					n *= d
				}
				if !bytes.Equal(got.Data, seq(n)) {
					t.Errorf("data = %v, want %v", got.Data, seq(n))
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadIDX succeeded, want error containing %q", tc.wantErr)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is %T, want *FormatError", err, err)
			}
			if fe.File != "input" || !strings.HasPrefix(err.Error(), "datasets: input: ") {
				t.Errorf("error %q does not name the input", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadIDXNamesFile(t *testing.T) {
	dir := t.TempDir()
	good := makeIDX(0x08, []uint32{4, 2}, seq(8))
	files := []struct {
		name    string
		content []byte
		wantErr string
	}{
		{"plain-idx1-ubyte", good, ""},
		{"zipped-idx1-ubyte.gz", gzipBytes(t, good), ""},
		{"t10k-images-idx3-ubyte.gz", gzipBytes(t, makeIDX(0x08, []uint32{10000, 28, 28}, seq(1234))),
			"t10k-images-idx3-ubyte.gz: truncated: header says 10000x28x28 = 7840000 bytes, file has 1234"},
		{"not-idx.txt", []byte("hello, world"), "not-idx.txt: bad magic"},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(dir, f.name)
			if err := os.WriteFile(path, f.content, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := LoadIDX(path)
			if f.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Dims, []int{4, 2}) || !bytes.Equal(got.Data, seq(8)) {
					t.Errorf("got dims %v data %v", got.Dims, got.Data)
				}
				return
			}
			var fe *FormatError
			if !errors.As(err, &fe) || fe.File != path {
				t.Fatalf("error %v: want *FormatError naming %s", err, path)
			}
			if want := "datasets: " + filepath.Join(dir, f.wantErr); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q, want prefix %q", err, want)
			}
		})
	}

	// ReadIDX takes the name from an *os.File too.
	f, err := os.Open(filepath.Join(dir, "not-idx.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := ReadIDX(f); err == nil || !strings.Contains(err.Error(), "not-idx.txt") {
		t.Errorf("ReadIDX(*os.File) error %v does not name the file", err)
	}

	missing := filepath.Join(dir, "missing.gz")
	if _, err := LoadIDX(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadIDX(missing) error %v does not name the file", err)
	}
}
