package images

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParametersString(t *testing.T) {
	tests := []struct {
		name string
		p    Parameters
		want string
	}{
		{"documented example", Parameters{
			Prompt: "a small red circle at the top left", Steps: 50, Sampler: "DDIM", CFGScale: 2, Seed: 42,
			Width: 28, Height: 28, Model: "ckpt-000500", ModelHash: "0123456789", Family: "diffusion",
		}, "a small red circle at the top left\nSteps: 50, Sampler: DDIM, CFG scale: 2, Seed: 42, Size: 28x28, Model: ckpt-000500, Model hash: 0123456789, Family: diffusion"},
		{"GAN: no prompt, steps or sampler", Parameters{Seed: 7, Width: 32, Height: 32, Family: "gan"},
			"Seed: 7, Size: 32x32, Family: gan"},
		{"zero value keeps the seed", Parameters{}, "Seed: 0"},
		{"negative prompt", Parameters{Prompt: "cat", NegativePrompt: "dog, blurry", Seed: 1, CFGScale: 7.5},
			"cat\nNegative prompt: dog, blurry\nCFG scale: 7.5, Seed: 1"},
		{"negative prompt only", Parameters{NegativePrompt: "noise", Seed: 3}, "Negative prompt: noise\nSeed: 3"},
		{"multi-line prompt", Parameters{Prompt: "line one\nline two", Seed: -1}, "line one\nline two\nSeed: -1"},
		{"quoted values", Parameters{Seed: 1, Model: "run, final", Extra: []Field{
			{"Denoising strength", "0.6"}, {"Note", "a: b"}, {"Lines", "x\ny"}, {"Quote", `"hi"`}, {"Pad", " x"},
		}}, `Seed: 1, Model: "run, final", Denoising strength: 0.6, Note: "a: b", Lines: "x\ny", Quote: "\"hi\"", Pad: " x"`},
		{"unicode is not escaped", Parameters{Seed: 1, Extra: []Field{{"Label", "猫, <dog> & ü"}}},
			`Seed: 1, Label: "猫, <dog> & ü"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("String() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestParseParameters(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Parameters
	}{
		{"A1111 txt2img",
			"masterpiece, best quality, a cat sitting on a windowsill\n" +
				"Negative prompt: lowres, bad anatomy, blurry\n" +
				"Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.6.0",
			Parameters{
				Prompt: "masterpiece, best quality, a cat sitting on a windowsill", NegativePrompt: "lowres, bad anatomy, blurry",
				Steps: 20, Sampler: "DPM++ 2M Karras", CFGScale: 7, Seed: 1234567890, Width: 512, Height: 768,
				ModelHash: "6ce0161689", Model: "v1-5-pruned-emaonly", Extra: []Field{{"Version", "v1.6.0"}},
			}},
		{"A1111 with quoted values and hires fix",
			"portrait of a woman\n" +
				"Steps: 30, Sampler: Euler a, CFG scale: 7.0, Seed: 42, Size: 512x512, Model hash: abcdef0123, Model: dreamshaper_8, " +
				`Denoising strength: 0.45, Clip skip: 2, Hires upscale: 2, Hires upscaler: Latent, Lora hashes: "add_detail: 7c6bad76eb54, more_details: 3b8aa1d351ef", TI hashes: "bad-hands-5: aa7651be154c"`,
			Parameters{
				Prompt: "portrait of a woman", Steps: 30, Sampler: "Euler a", CFGScale: 7, Seed: 42, Width: 512, Height: 512,
				ModelHash: "abcdef0123", Model: "dreamshaper_8", Extra: []Field{
					{"Denoising strength", "0.45"}, {"Clip skip", "2"}, {"Hires upscale", "2"}, {"Hires upscaler", "Latent"},
					{"Lora hashes", "add_detail: 7c6bad76eb54, more_details: 3b8aa1d351ef"}, {"TI hashes", "bad-hands-5: aa7651be154c"},
				},
			}},
		{"A1111 multi-line prompt and negative prompt",
			"line one\n  line two  \nNegative prompt: bad\nworse\nSteps: 10, Sampler: DDIM, CFG scale: 3, Seed: 9, Size: 32x32",
			Parameters{Prompt: "line one\nline two", NegativePrompt: "bad\nworse", Steps: 10, Sampler: "DDIM", CFGScale: 3, Seed: 9, Width: 32, Height: 32}},
		{"empty prompt",
			"Steps: 10, Sampler: DDIM, Seed: 9",
			Parameters{Steps: 10, Sampler: "DDIM", Seed: 9}},
		{"prompt only: too few pairs for a parameters line",
			"a photo: cat, style: sketch",
			Parameters{Prompt: "a photo: cat, style: sketch"}},
		{"short line with a known key",
			"a cat\nSeed: 5",
			Parameters{Prompt: "a cat", Seed: 5}},
		{"short line of unknown keys is prompt",
			"a cat\nStyle: sketch",
			Parameters{Prompt: "a cat\nStyle: sketch"}},
		{"CRLF and trailing newline",
			"a cat\r\nSteps: 5, Seed: 1, Size: 8x8\r\n",
			Parameters{Prompt: "a cat", Steps: 5, Seed: 1, Width: 8, Height: 8}},
		{"garbage between pairs is skipped",
			"x\nSteps: 5, junk, Seed: 2, Size: 4x4",
			Parameters{Prompt: "x", Steps: 5, Seed: 2, Width: 4, Height: 4}},
		{"genlab keys",
			"Steps: 50, Sampler: DDIM, CFG scale: 2, Seed: 42, Size: 28x28, Model: ckpt-000500, Model hash: 0123456789, Family: diffusion",
			Parameters{Steps: 50, Sampler: "DDIM", CFGScale: 2, Seed: 42, Width: 28, Height: 28, Model: "ckpt-000500", ModelHash: "0123456789", Family: "diffusion"}},
		{"empty", "", Parameters{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseParameters(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseParameters =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestParseParametersErrors(t *testing.T) {
	p, err := ParseParameters("a cat\nSteps: many, CFG scale: high, Seed: 12, Size: big")
	if err == nil {
		t.Fatal("no error")
	}
	for _, part := range []string{`Steps: "many" is not an integer`, `CFG scale: "high" is not a number`, `Size: "big" is not WIDTHxHEIGHT`} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q lacks %q", err, part)
		}
	}
	if p.Prompt != "a cat" || p.Seed != 12 {
		t.Errorf("the valid parts were not kept: %+v", p)
	}
}

func TestParametersRoundTrip(t *testing.T) {
	tests := []Parameters{
		{Prompt: "a small red circle at the top left", Steps: 50, Sampler: "DDIM", CFGScale: 2, Seed: 42, Width: 28, Height: 28, Model: "ckpt-000500.safetensors", ModelHash: "0123456789", Family: "diffusion"},
		{Seed: 0},
		{Seed: -9223372036854775808, Family: "flow", Extra: []Field{{"Temperature", "0.7"}}},
		{Prompt: "multi\nline", NegativePrompt: "neg\nlines", Steps: 1, CFGScale: 0.125, Seed: 1},
		{Prompt: "猫 🐱", Seed: 3, Model: `weird, "name": here`, Extra: []Field{{"Note", "a\nb, c: d"}, {"Path/to-x", `"q"`}}},
		{NegativePrompt: "only negative", Seed: 4, Width: 1, Height: 2},
		{Prompt: "Steps: 5, Seed: 1, Size: 2x2", Seed: 8},
	}
	for _, p := range tests {
		s := p.String()
		got, err := ParseParameters(s)
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("round trip of\n%s\ngave %#v\nwant %#v", s, got, p)
		}
	}
}

func TestLookup(t *testing.T) {
	p := Parameters{Extra: []Field{{"A", "1"}, {"B", "2"}}}
	if v, ok := p.Lookup("B"); !ok || v != "2" {
		t.Errorf("Lookup(B) = %q, %v", v, ok)
	}
	if _, ok := p.Lookup("C"); ok {
		t.Error("Lookup(C) found")
	}
}

// TestParseParametersLinear guards against quadratic parsing of a hostile
// parameters chunk (up to 16 MiB).
func TestParseParametersLinear(t *testing.T) {
	line := "Steps: 1, Seed: 2, Size: 3x3, " + strings.Repeat("x,", 1<<20) + strings.Repeat(`kk: "\", `, 1<<17)
	start := time.Now()
	p, err := ParseParameters("prompt\n" + line)
	if err != nil || p.Steps != 1 {
		t.Errorf("p = %+v, err = %v", p.Steps, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("parsing a %d-byte line took %v", len(line), d)
	}
}

// TestZeroCFGScaleIsWritten: an image drawn at CFG scale 0 (the
// unconditional model of a guided one) says so, and parsing keeps it.
func TestZeroCFGScaleIsWritten(t *testing.T) {
	p := Parameters{Steps: 50, Sampler: "DDPM", ZeroCFG: true, Seed: 3}
	s := p.String()
	if s != "Steps: 50, Sampler: DDPM, CFG scale: 0, Seed: 3" {
		t.Fatalf("%q", s)
	}
	q, err := ParseParameters(s)
	if err != nil || !q.ZeroCFG || q.CFGScale != 0 || q.String() != s {
		t.Errorf("parsed %+v, %v", q, err)
	}
	if q, _ := ParseParameters("Steps: 50, CFG scale: 2, Seed: 3"); q.ZeroCFG {
		t.Error("CFG scale 2 parsed as ZeroCFG")
	}
}
