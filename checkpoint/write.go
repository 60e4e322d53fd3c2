package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"genlab/internal/atomicfile"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Write writes f in safetensors format: the 8-byte little-endian header
// length, the compact JSON header padded with spaces so that the data starts
// at a multiple of 8 bytes, then the tensors' bytes in name order. The same
// File always gives the same bytes.
//
// Write checks f first and writes nothing if a tensor's data does not match
// its dtype and shape, a name repeats, or a string is not valid UTF-8.
func Write(w io.Writer, f *File) error {
	if err := write(w, f); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

func write(w io.Writer, f *File) error {
	header, order, err := encodeHeader(f)
	if err != nil {
		return err
	}
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(len(header)))
	if _, err := w.Write(prefix[:]); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	for _, t := range order {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// encodeHeader checks f and returns its padded JSON header and its tensors in
// file order.
func encodeHeader(f *File) ([]byte, []Tensor, error) {
	order := slices.Clone(f.Tensors)
	slices.SortStableFunc(order, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	for i, t := range order {
		if i > 0 && order[i-1].Name == t.Name {
			return nil, nil, fmt.Errorf("duplicate tensor name %q", t.Name)
		}
		if t.Name == metadataKey {
			return nil, nil, fmt.Errorf("tensor name %q is reserved", t.Name)
		}
		if !utf8.ValidString(t.Name) {
			return nil, nil, fmt.Errorf("tensor name %q is not valid UTF-8", t.Name)
		}
		if err := t.check(); err != nil {
			return nil, nil, err
		}
	}

	var b bytes.Buffer
	b.WriteByte('{')
	if len(f.Metadata) > 0 {
		b.WriteString(`"` + metadataKey + `":{`)
		keys := make([]string, 0, len(f.Metadata))
		for k := range f.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			v := f.Metadata[k]
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, nil, fmt.Errorf("metadata %q is not valid UTF-8", k)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(&b, k)
			b.WriteByte(':')
			writeString(&b, v)
		}
		b.WriteByte('}')
	}
	var offset int64
	for i, t := range order {
		if i > 0 || len(f.Metadata) > 0 {
			b.WriteByte(',')
		}
		writeString(&b, t.Name)
		b.WriteString(`:{"dtype":`)
		writeString(&b, t.DType)
		b.WriteString(`,"shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprint(&b, d)
		}
		end := offset + int64(len(t.Data))
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	b.WriteByte('}')
	// Pad so that 8 + header length, the start of the data, is a multiple of 8.
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len() > MaxHeaderSize {
		return nil, nil, fmt.Errorf("header of %d bytes exceeds the %d-byte limit", b.Len(), MaxHeaderSize)
	}
	return b.Bytes(), order, nil
}

// writeString writes s as a JSON string, leaving <, > and & as they are.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // cannot fail for a string
	b.Truncate(b.Len() - 1)
}

// Save writes f to path atomically: it writes a temporary file in the same
// directory, syncs it, closes it, renames it over path and syncs the
// directory. On any error path is left as it was (absent, or the previous
// checkpoint) and the temporary file is removed. The file gets mode 0644.
func Save(path string, f *File) error {
	return saveWith(path, f, write)
}

// saveWith is Save with the encoder as a parameter, so tests can make the
// write fail half-way.
func saveWith(path string, f *File, enc func(io.Writer, *File) error) error {
	if _, _, err := encodeHeader(f); err != nil {
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	err := atomicfile.Write(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := enc(bw, f); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("checkpoint: save %s: %w", path, err)
	}
	return nil
}
