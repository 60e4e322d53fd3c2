package pipeline_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"genlab/diffusion"
	"genlab/pipeline"
	"genlab/pipeline/pipelinetest"
)

func open(t *testing.T, k pipelinetest.Kind) pipeline.Pipeline {
	t.Helper()
	p, err := pipeline.Open(pipelinetest.Tiny(t, t.TempDir(), "ckpt-000001.safetensors", k))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEveryFamilyDrawsEachImageFromItsOwnSeed opens a tiny model of every
// kind, draws three images with its defaults in batches of two, and
// checks each against the same image drawn alone, and the parameters.
func TestEveryFamilyDrawsEachImageFromItsOwnSeed(t *testing.T) {
	for _, k := range pipelinetest.Kinds {
		t.Run(k.String(), func(t *testing.T) {
			p := open(t, k)
			kn := p.Knobs()
			if kn.Family != k.Family || p.Info().Family != k.Family || p.Info().Name != "ckpt-000001" || len(p.Info().Hash) != 10 {
				t.Fatalf("knobs %+v, info %+v", kn, p.Info())
			}
			r := kn.Request(40, 3)
			r.Batch = 2
			if kn.Sampling {
				r.Steps = 3
			}
			var calls int
			r.Progress = func(pr pipeline.Progress) error {
				calls++
				if pr.Done < 1 || pr.Done > pr.Total {
					t.Errorf("progress %d of %d", pr.Done, pr.Total)
				}
				return nil
			}
			ctx := context.Background()
			out, err := p.Generate(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if out.Len() != 3 || len(out.Pixels) != 3*out.Dim() || calls == 0 {
				t.Fatalf("%d images, %d values, %d progress calls", out.Len(), len(out.Pixels), calls)
			}
			// Image 2 alone from seed 42 (the second batch was image 2
			// alone already, so compare image 1 too, drawn in a batch of
			// two): equal up to float rounding (OpenBLAS sums in another
			// order at another batch size).
			for _, i := range []int{1, 2} {
				one := r
				one.Seeds, one.Progress = r.Seeds[i:i+1], nil
				if r.Classes != nil {
					one.Classes = r.Classes[i : i+1]
				}
				alone, err := p.Generate(ctx, one)
				if err != nil {
					t.Fatal(err)
				}
				d := out.Dim()
				for j, v := range alone.Pixels {
					if diff := math.Abs(float64(v - out.Pixels[i*d+j])); diff > 1e-3 {
						t.Fatalf("image %d alone differs at value %d by %g", i, j, diff)
					}
				}
				if alone.Params[0].String() != out.Params[i].String() {
					t.Errorf("parameters alone %q, in the batch %q", alone.Params[0], out.Params[i])
				}
			}
			q := out.Params[1]
			if q.Seed != 41 || q.Family != k.Family || q.Model != "ckpt-000001" || q.Width != kn.Size {
				t.Errorf("parameters %q", q)
			}
			if kn.Sampling != (q.Sampler != "") || (kn.Sampling && q.Steps != 3) {
				t.Errorf("sampler in the parameters %q", q)
			}
			if _, ok := q.Lookup("Temperature"); ok != kn.Temperature {
				t.Errorf("temperature in the parameters %q", q)
			}
			if kn.Guidance != strings.Contains(q.String(), "CFG scale") {
				t.Errorf("CFG scale in the parameters %q", q)
			}
		})
	}
}

// TestKnobsTable pins the defaults each kind of model samples with.
func TestKnobsTable(t *testing.T) {
	for _, c := range []struct {
		kind                 pipelinetest.Kind
		sampler              string
		guidance             float64
		classes              int
		anyClass, prompt, tp bool
	}{
		{pipelinetest.Kind{Family: "diffusion", Cond: "none"}, "ddim", 0, 0, true, false, false},
		{pipelinetest.Kind{Family: "diffusion", Cond: "class"}, "ddim", 2, 10, true, false, false},
		{pipelinetest.Kind{Family: "diffusion", Cond: "text"}, diffusion.TextSampler, 3, 0, true, true, false},
		{pipelinetest.Kind{Family: "gan", Cond: "class"}, "", 0, 10, false, false, false},
		{pipelinetest.Kind{Family: "vae"}, "", 0, 0, false, false, true},
		{pipelinetest.Kind{Family: "flow"}, "", 0, 0, false, false, true},
	} {
		k := open(t, c.kind).Knobs()
		d := k.Defaults
		if d.Sampler != c.sampler || d.Guidance != c.guidance || k.Classes != c.classes || (k.Classes > 0 && k.AnyClass != c.anyClass) ||
			k.Prompt != c.prompt || k.Temperature != c.tp || (c.prompt && len(k.Vocabulary) == 0) {
			t.Errorf("%s: knobs %+v", c.kind, k)
		}
		if want := map[string]float64{"flow": pipeline.DefaultTemperature, "vae": 1}[c.kind.Family]; k.Temperature && d.Temperature != want {
			t.Errorf("%s: temperature %g", c.kind, d.Temperature)
		}
	}
}

// TestNoZeroValueIsADefault: a request that leaves a control of the model
// at zero is refused (or, for guidance, means the unconditional model),
// and a control the model lacks must stay zero.
func TestNoZeroValueIsADefault(t *testing.T) {
	class := open(t, pipelinetest.Kind{Family: "diffusion", Cond: "class"}).Knobs()
	gan := open(t, pipelinetest.Kind{Family: "gan", Cond: "class"}).Knobs()
	flow := open(t, pipelinetest.Kind{Family: "flow"}).Knobs()
	ok := class.Request(0, 2)
	if err := class.Check(ok); err != nil {
		t.Fatal(err)
	}
	zero := ok
	zero.Guidance = 0
	if err := class.Check(zero); err != nil {
		t.Errorf("guidance 0 is the unconditional model, not an error: %v", err)
	}
	for _, c := range []struct {
		name  string
		k     pipeline.Knobs
		edit  func(*pipeline.Request)
		error string
	}{
		{"no seeds", class, func(r *pipeline.Request) { r.Seeds = nil }, "one seed per image"},
		{"no steps", class, func(r *pipeline.Request) { r.Steps = 0 }, "steps 0"},
		{"no sampler", class, func(r *pipeline.Request) { r.Sampler = "" }, "sampler"},
		{"no batch", class, func(r *pipeline.Request) { r.Batch = 0 }, "batch 0"},
		{"negative guidance", class, func(r *pipeline.Request) { r.Guidance = -1 }, "guidance -1"},
		{"class 10", class, func(r *pipeline.Request) { r.Classes = []int{10, 1} }, "class 10"},
		{"prompt", class, func(r *pipeline.Request) { r.Prompt = "a digit" }, "no prompt"},
		{"gan steps", gan, func(r *pipeline.Request) { r.Steps = 50 }, "no sampler"},
		{"gan no class", gan, func(r *pipeline.Request) { r.Classes = []int{pipeline.NoClass, 2} }, "pick one"},
		{"gan guidance", gan, func(r *pipeline.Request) { r.Guidance = 2 }, "no guidance"},
		{"flow temperature", flow, func(r *pipeline.Request) { r.Temperature = 3 }, "temperature 3"},
		{"class temperature", class, func(r *pipeline.Request) { r.Temperature = 0.7 }, "no temperature"},
	} {
		r := c.k.Request(0, 2)
		c.edit(&r)
		if err := c.k.Check(r); err == nil || !strings.Contains(err.Error(), c.error) {
			t.Errorf("%s: %v, want an error mentioning %q", c.name, err, c.error)
		}
	}
}

// TestGuidanceConvention: 0 is the unconditional model, 1 the conditional
// one alone, whatever is asked for, for a class and a text model.
func TestGuidanceConvention(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		kind string
		ask  func(*pipeline.Request)
	}{
		{"class", func(r *pipeline.Request) { r.Classes = []int{3, 7} }},
		{"text", func(r *pipeline.Request) { r.Prompt = "a large blue circle in the center" }},
	} {
		p := open(t, pipelinetest.Kind{Family: "diffusion", Cond: c.kind})
		gen := func(g float64, ask bool) *pipeline.Output {
			r := p.Knobs().Request(5, 2)
			r.Steps, r.Guidance = 3, g
			if ask {
				c.ask(&r)
			}
			out, err := p.Generate(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		uncond := gen(0, true)
		if !slices.Equal(uncond.Pixels, gen(1, false).Pixels) {
			t.Errorf("%s: guidance 0 is not the unconditional model", c.kind)
		}
		if !strings.Contains(uncond.Params[0].String(), "CFG scale: 0,") {
			t.Errorf("%s: guidance 0 not recorded: %q", c.kind, uncond.Params[0])
		}
		if slices.Equal(uncond.Pixels, gen(1, true).Pixels) {
			t.Errorf("%s: guidance 1 with a condition is the unconditional model", c.kind)
		}
		if slices.Equal(gen(1, true).Pixels, gen(2.5, true).Pixels) {
			t.Errorf("%s: guidance 2.5 changes nothing", c.kind)
		}
	}
}

func TestLikelihoodFamilies(t *testing.T) {
	for _, k := range pipelinetest.Kinds {
		p := open(t, k)
		_, ok := p.(pipeline.Likelihood)
		if want := k.Family != "gan"; ok != want {
			t.Errorf("%s: has bits/dim %v, want %v", k, ok, want)
		}
	}
	p := open(t, pipelinetest.Kind{Family: "vae"}).(pipeline.Likelihood)
	pix := make([]float32, 2*784)
	for i := range pix {
		pix[i] = float32(i%7) / 7
	}
	b, how, err := p.BitsPerDim(context.Background(), pix, 2, pipeline.BitsPerDimOptions{Seed: 1, K: 2})
	if err != nil || !(b > 0) || !strings.Contains(how, "K=2") {
		t.Errorf("vae bits/dim %g (%s), %v", b, how, err)
	}
}
