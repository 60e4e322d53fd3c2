package images

import (
	"bytes"
	"testing"
)

// FuzzParseParameters checks that any text parses without panicking and
// that what String writes parses back to the same thing.
func FuzzParseParameters(f *testing.F) {
	f.Add("a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512")
	f.Add(`x` + "\n" + `Steps: 1, Lora hashes: "a: b, c", Seed: 2, Bad: "unterminated`)
	f.Add("Seed: 5")
	f.Add("")
	f.Add("\n\n  \r\n")
	f.Fuzz(func(t *testing.T, s string) {
		p, _ := ParseParameters(s)
		out := p.String()
		q, err := ParseParameters(out)
		if err != nil {
			t.Fatalf("String output %q does not parse: %v", out, err)
		}
		if q.String() != out {
			t.Fatalf("not stable:\n%q\n%q", out, q.String())
		}
	})
}

// FuzzDecodeParameters checks that no input makes the chunk reader panic.
func FuzzDecodeParameters(f *testing.F) {
	var b bytes.Buffer
	Encode(&b, testImage(), "a cat\nSeed: 1")
	f.Add(b.Bytes())
	b.Reset()
	Encode(&b, testImage(), "猫\nSeed: 1")
	f.Add(b.Bytes())
	f.Add(b.Bytes()[:40])
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		DecodeParameters(bytes.NewReader(data))
	})
}
