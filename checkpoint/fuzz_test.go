package checkpoint

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the readers. They must never panic,
// ReadBytes and Read must agree, and whatever they accept must survive a
// write and a second read unchanged. The seed corpus (valid files, every
// corruption case, and testdata/fuzz/FuzzRead) runs under plain go test.
func FuzzRead(f *testing.F) {
	for _, v := range validSeeds(f) {
		f.Add(v)
		f.Add(v[:len(v)-1])
	}
	for _, c := range corruptCases {
		f.Add(c.file)
	}
	f.Fuzz(checkRead)
}

// FuzzHeader fuzzes the JSON header and the data separately, so that the
// fuzzer spends its time on header structure rather than on the length
// prefix.
func FuzzHeader(f *testing.F) {
	for _, v := range validSeeds(f) {
		n := binary.LittleEndian.Uint64(v)
		f.Add(string(v[8:8+n]), v[8+n:])
	}
	for _, c := range corruptCases {
		if len(c.file) >= 8 {
			if n := binary.LittleEndian.Uint64(c.file); n <= uint64(len(c.file)-8) {
				f.Add(string(c.file[8:8+n]), c.file[8+n:])
			}
		}
	}
	f.Fuzz(func(t *testing.T, header string, data []byte) {
		checkRead(t, build(header, data))
	})
}

func validSeeds(f *testing.F) [][]byte {
	var out [][]byte
	for _, v := range []*File{
		sample(),
		{},
		{Metadata: map[string]string{"k": "v"}},
		{Tensors: []Tensor{F32("a", nil, []float32{1}), U8("b", []int{0}, nil)}},
	} {
		var b bytes.Buffer
		if err := Write(&b, v); err != nil {
			f.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
	return out
}

func checkRead(t *testing.T, b []byte) {
	got, err := ReadBytes(b)
	streamed, serr := Read(bytes.NewReader(b))
	if (err == nil) != (serr == nil) {
		t.Fatalf("ReadBytes err = %v, Read err = %v", err, serr)
	}
	if err != nil {
		return
	}
	var out bytes.Buffer
	if err := Write(&out, got); err != nil {
		t.Fatalf("accepted file does not write back: %v", err)
	}
	again, err := ReadBytes(out.Bytes())
	if err != nil {
		t.Fatalf("written file does not read back: %v", err)
	}
	sameFile(t, again, got)
	sameFile(t, streamed, got)
	var out2 bytes.Buffer
	if err := Write(&out2, again); err != nil || !bytes.Equal(out.Bytes(), out2.Bytes()) {
		t.Fatalf("write is not deterministic (err %v)", err)
	}
}
