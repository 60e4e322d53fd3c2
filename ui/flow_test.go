package ui

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"genlab/flow"
	"genlab/images"
	"genlab/models"
)

// A flow checkpoint opens with the flow's controls (temperature, no
// sampler steps), and draws the images flow.Sample makes.
func TestFlowModelDrawsAtItsTemperature(t *testing.T) {
	cfg, err := flow.NewConfig("tiny", 1, 28)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data = "mnist"
	net, err := flow.NewNetwork(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cfg)
	path := filepath.Join(t.TempDir(), "flow", "ckpt-000001.safetensors")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := models.SaveWeights(path, net.Params, models.Meta{Family: flow.Family, Config: raw, Step: 1, Extra: map[string]string{"genlab.data": "mnist"}}); err != nil {
		t.Fatal(err)
	}
	// The same flow with a temperature a sweep stored: selecting it sets
	// the field to its default, as genlab sample would use.
	tuned := cfg
	tuned.Temperature = 0.85
	rawTuned, _ := json.Marshal(tuned)
	tunedPath := filepath.Join(filepath.Dir(path), "tuned.safetensors")
	if err := models.SaveWeights(tunedPath, net.Params, models.Meta{Family: flow.Family, Config: rawTuned, Step: 1, Extra: map[string]string{"genlab.data": "mnist"}}); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Config{Dirs: []string{filepath.Dir(filepath.Dir(path))}})
	h.mustFind("flow/ckpt-000001")
	h.mustFind("Temperature")
	h.u.open(path)
	if got := h.u.temperature.Text(); got != "0.7" {
		t.Errorf("an untuned flow: temperature %q, want 0.7", got)
	}
	h.u.open(tunedPath)
	if got := h.u.temperature.Text(); got != "0.85" {
		t.Errorf("a tuned flow: temperature %q, want its stored 0.85", got)
	}
	h.u.temperature.SetText("0.4")
	h.u.open(path)
	if got := h.u.temperature.Text(); got != "0.4" {
		t.Errorf("the user's temperature was replaced by %q on selecting a model", got)
	}
	if _, ok := h.find("DPM++ 2M"); ok {
		t.Error("a flow model shows diffusion's samplers")
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := DefaultSettings()
	s.Count, s.Seed, s.Temperature = 3, 11, 0.5
	res, err := m.Generate(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := net.Sample(net.Params, 3, 11, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	dim := net.Dim()
	for i, r := range res {
		// Both as 8-bit images: the app's results are PNG-ready.
		a := images.ToFloats(r.Image, 1)
		b := images.ToFloats(images.FromFloats(want[i*dim:(i+1)*dim], 1, 28, 28), 1)
		if !slices.Equal(a, b) {
			t.Fatalf("image %d differs from flow.Sample's at seed %d", i, 11+i)
		}
		if r.Seed != uint64(11+i) {
			t.Errorf("image %d has seed %d", i, r.Seed)
		}
	}
}
