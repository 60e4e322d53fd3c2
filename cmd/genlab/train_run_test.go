package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"genlab/models"
)

// A fresh run of every family records the shared recipe flags in its
// checkpoint's config: --lr (the GAN's for both players), --batch, --ema,
// and --warmup and --lr-schedule for the families that have them.
func TestTrainRecipeFlags(t *testing.T) {
	for _, c := range []struct {
		family string
		extra  []string
		want   map[string]any // the config's JSON fields
	}{
		{"diffusion", []string{"--size", "tiny"}, map[string]any{"lr": 0.0005, "batch": 4.0, "ema": 0.9, "warmup": 3.0, "cosine_lr": true}},
		{"vae", nil, map[string]any{"lr": 0.0005, "batch": 4.0, "ema": 0.9, "warmup": 3.0, "cosine_lr": true}},
		{"flow", []string{"--size", "tiny"}, map[string]any{"lr": 0.0005, "batch": 4.0, "ema": 0.9, "warmup": 3.0, "cosine": true}},
		{"gan", []string{"--select", "none"}, map[string]any{"lr": 0.0005, "d_lr": 0.0005, "batch": 4.0, "ema": 0.9}},
	} {
		t.Run(c.family, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"train", c.family, "--data", "mnist", "--steps", "1", "--samples", "1", "--out", out,
				"--lr", "0.0005", "--batch", "4", "--ema", "0.9", "--warmup", "3", "--lr-schedule", "cosine"}, c.extra...)
			if status, _, stderr := genlab(t, args...); status != 0 {
				t.Fatalf("exit %d: %s", status, stderr)
			}
			meta, err := models.ReadMeta(filepath.Join(out, "ckpt-000001.safetensors"), c.family)
			if err != nil {
				t.Fatal(err)
			}
			var cfg map[string]any
			if err := json.Unmarshal(meta.Config, &cfg); err != nil {
				t.Fatal(err)
			}
			for k, v := range c.want {
				if cfg[k] != v {
					t.Errorf("config %s = %v, want %v", k, cfg[k], v)
				}
			}
		})
	}
}
