package images

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"unicode/utf8"
)

// parametersKey is the text-chunk keyword AUTOMATIC1111 uses.
const parametersKey = "parameters"

const pngSignature = "\x89PNG\r\n\x1a\n"

// maxTextSize bounds the text read from one chunk, compressed or not.
const maxTextSize = 16 << 20

// textChunk returns a complete PNG chunk (length, type, data, CRC) holding
// key and value: tEXt if value is Latin-1, iTXt (UTF-8, uncompressed)
// otherwise, which is what PIL's PngInfo.add_text does.
func textChunk(key, value string) ([]byte, error) {
	if !utf8.ValidString(value) {
		return nil, errors.New("parameters are not valid UTF-8")
	}
	if strings.IndexByte(value, 0) >= 0 {
		return nil, errors.New("parameters contain a NUL byte")
	}
	var data []byte
	typ := "tEXt"
	if latin1, ok := toLatin1(value); ok {
		data = append(append([]byte(key), 0), latin1...)
	} else {
		// keyword, NUL, compression flag 0, method 0, empty language tag,
		// NUL, empty translated keyword, NUL, UTF-8 text.
		typ = "iTXt"
		data = append(append([]byte(key), 0, 0, 0, 0, 0), value...)
	}
	if len(data) > 1<<31-1 {
		return nil, errors.New("parameters too long for a PNG chunk")
	}
	return chunk(typ, data), nil
}

// chunk frames data as a PNG chunk of type typ.
func chunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	return binary.BigEndian.AppendUint32(out, crc.Sum32())
}

// toLatin1 encodes s as ISO 8859-1 if every rune is below 256.
func toLatin1(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

func fromLatin1(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// readText walks the chunks of the PNG in r and returns the text stored
// under key in a tEXt, zTXt or iTXt chunk ("" if there is none). Other
// chunks are skipped unread; the text chunk found must have a correct CRC.
func readText(r io.Reader, key string) (string, error) {
	br := bufio.NewReader(r)
	var sig [8]byte
	if _, err := io.ReadFull(br, sig[:]); err != nil || string(sig[:]) != pngSignature {
		return "", errors.New("not a PNG image")
	}
	for {
		var head [8]byte
		if _, err := io.ReadFull(br, head[:]); err != nil {
			return "", fmt.Errorf("truncated PNG: no IEND chunk: %w", noEOF(err))
		}
		n := binary.BigEndian.Uint32(head[:4])
		typ := string(head[4:8])
		if n > 1<<31-1 {
			return "", fmt.Errorf("corrupt PNG: %s chunk length %d", printable(typ), n)
		}
		if typ == "IEND" {
			return "", nil
		}
		isText := typ == "tEXt" || typ == "zTXt" || typ == "iTXt"
		if !isText || n > maxTextSize {
			// Skip the data and the CRC.
			if _, err := io.CopyN(io.Discard, br, int64(n)+4); err != nil {
				return "", fmt.Errorf("truncated PNG: %s chunk: %w", printable(typ), noEOF(err))
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(br, int64(n)+4))
		if err != nil {
			return "", err
		}
		if len(data) < int(n)+4 {
			return "", fmt.Errorf("truncated PNG: %s chunk", typ)
		}
		data, sum := data[:n], binary.BigEndian.Uint32(data[n:])
		k, _, ok := bytes.Cut(data, []byte{0})
		if !ok || string(k) != key {
			continue
		}
		crc := crc32.NewIEEE()
		crc.Write(head[4:8])
		crc.Write(data)
		if crc.Sum32() != sum {
			return "", fmt.Errorf("corrupt PNG: bad CRC in %s chunk %q", typ, key)
		}
		s, err := decodeText(typ, data[len(k)+1:])
		if err != nil {
			return "", fmt.Errorf("corrupt PNG: %s chunk %q: %w", typ, key, err)
		}
		return s, nil
	}
}

// decodeText decodes the part of a text chunk after its keyword and NUL.
func decodeText(typ string, b []byte) (string, error) {
	switch typ {
	case "tEXt":
		return fromLatin1(b), nil
	case "zTXt":
		if len(b) < 1 || b[0] != 0 {
			return "", errors.New("unknown compression method")
		}
		text, err := inflate(b[1:])
		return fromLatin1(text), err
	}
	// iTXt: compression flag, method, language tag NUL, translated keyword NUL, text.
	if len(b) < 2 {
		return "", errors.New("too short")
	}
	compressed, method := b[0], b[1]
	_, rest, ok := bytes.Cut(b[2:], []byte{0})
	if ok {
		_, rest, ok = bytes.Cut(rest, []byte{0})
	}
	if !ok {
		return "", errors.New("missing language tag or translated keyword")
	}
	if compressed > 1 || compressed == 1 && method != 0 {
		return "", errors.New("unknown compression")
	}
	if compressed == 1 {
		var err error
		if rest, err = inflate(rest); err != nil {
			return "", err
		}
	}
	if !utf8.Valid(rest) {
		return "", errors.New("text is not valid UTF-8")
	}
	return string(rest), nil
}

// inflate decompresses zlib data, refusing more than maxTextSize bytes.
func inflate(b []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxTextSize+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxTextSize {
		return nil, fmt.Errorf("text larger than %d bytes", maxTextSize)
	}
	return out, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// printable quotes a chunk type for an error message.
func printable(typ string) string {
	return fmt.Sprintf("%q", typ)
}
