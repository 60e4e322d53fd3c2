// Package pipelinetest writes tiny untrained checkpoints of every family,
// for the tests of the pipeline and of its front ends (the CLI and the
// app) to share.
package pipelinetest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"genlab/datasets"
	"genlab/diffusion"
	"genlab/flow"
	"genlab/gan"
	"genlab/models"
	"genlab/vae"
)

// Kind names a tiny model: a family and, for diffusion and the GAN, its
// conditioning.
type Kind struct {
	Family string
	Cond   string // diffusion: none, class or text; gan: none or class
}

// Kinds are the tiny models Tiny makes: every family, and diffusion in
// each of its generating conditionings.
var Kinds = []Kind{
	{diffusion.Family, "none"}, {diffusion.Family, "class"}, {diffusion.Family, "text"},
	{gan.Family, "none"}, {gan.Family, "class"},
	{vae.Family, ""}, {flow.Family, ""},
}

// Video is a tiny text-to-video and image-to-video model of 4-frame
// clips of 32×32 shapes; it is not in Kinds (not every front end draws
// clips).
var Video = Kind{diffusion.Family, "video"}

func (k Kind) String() string {
	if k.Cond == "" {
		return k.Family
	}
	return k.Family + "-" + k.Cond
}

// Tiny writes a freshly initialised tiny model of kind k at dir/name and
// returns its path: 28×28 grey digits with 10 classes, or for a text
// model 32×32 RGB shapes over the shapes vocabulary.
func Tiny(t testing.TB, dir, name string, k Kind) string {
	t.Helper()
	var (
		p   *models.Params
		cfg any
		err error
	)
	data := "mnist"
	switch k.Family {
	case diffusion.Family:
		c, s, classes := 1, 28, 0
		if k.Cond == "class" {
			classes = 10
		}
		cond, captions := k.Cond, []string(nil)
		switch k.Cond {
		case "text":
			c, s, data, captions = 3, 32, "shapes", datasets.Shapes(50, 1, "all").Captions
		case "video":
			c, s, data, cond, captions = 3, 32, "clips", "text", datasets.Clips(100, 2, 1, "all").Captions
		}
		dc, err := diffusion.NewConfig("tiny", c, s, cond, classes)
		if err != nil {
			t.Fatal(err)
		}
		if captions != nil {
			if err := dc.SetCaptions(captions); err != nil {
				t.Fatal(err)
			}
		}
		if k.Cond == "video" {
			if err := dc.SetVideo(4); err != nil {
				t.Fatal(err)
			}
		}
		dc.Data = data
		net, err := diffusion.NewNetwork(dc, 1)
		if err != nil {
			t.Fatal(err)
		}
		p, cfg = net.Params, dc
	case gan.Family:
		gc := gan.DefaultConfig(1, 28)
		gc.ZDim, gc.GenCh, gc.DiscCh, gc.Data = 16, 16, 8, data
		if k.Cond == "class" {
			gc.Classes = 10
		}
		net, err := gan.NewNetworks(gc, 1)
		if err != nil {
			t.Fatal(err)
		}
		p, cfg = net.GP, gc
	case vae.Family:
		vc := vae.DefaultConfig(1, 28)
		vc.Channels = 16
		net, err := vae.NewNetwork(vc, 1)
		if err != nil {
			t.Fatal(err)
		}
		p, cfg = net.Params, vc
	case flow.Family:
		fc, err := flow.NewConfig("tiny", 1, 28)
		if err != nil {
			t.Fatal(err)
		}
		net, err := flow.NewNetwork(fc, 1)
		if err != nil {
			t.Fatal(err)
		}
		p, cfg = net.Params, fc
	default:
		t.Fatalf("pipelinetest: no tiny %s model", k)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := models.SaveWeights(path, p, models.Meta{Family: k.Family, Config: raw, Step: 1, Extra: map[string]string{"genlab.data": data}}); err != nil {
		t.Fatal(err)
	}
	return path
}
