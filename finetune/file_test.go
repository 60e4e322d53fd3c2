package finetune

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A LoRA file is read by checkpoint's independent Python reader (json and
// struct only): peft's tensor names and shapes, and the genlab.* keys.
func TestLoRAFileIndependentReader(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			t.Skip("python3 not installed: cannot cross-check with an independent reader")
		}
	}
	m := newMiniBase(t)
	tune, err := New(m.p, Config{Method: "lora", Rank: 2, Alpha: 4, Targets: []string{"attn", "text"}, NewWords: []string{"c"}, BaseHash: "0123456789"}, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lora.safetensors")
	if err := tune.Save(path, 10, nil); err != nil {
		t.Fatal(err)
	}
	// -S: no site packages, so the reader uses json and struct alone (importing torch takes seconds).
	out, err := exec.Command(py, "-S", "../checkpoint/testdata/read_safetensors.py", path).Output()
	if err != nil {
		t.Fatalf("read_safetensors.py: %v", err)
	}
	var got struct {
		Metadata map[string]string `json:"metadata"`
		Tensors  map[string]struct {
			DType string `json:"dtype"`
			Shape []int  `json:"shape"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{KeyMethod: "lora", KeyRank: "2", KeyAlpha: "4", KeyTargets: "attn,text", KeyNewTokens: `["c"]`, KeyBaseHash: "0123456789", "genlab.family": Family} {
		if got.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, got.Metadata[k], v)
		}
	}
	want := map[string][]int{
		"cross.k.lora_A.weight":         {2, 4},
		"cross.k.lora_B.weight":         {8, 2},
		"attn.qkv.lora_A.weight":        {2, 8, 1, 1},
		"attn.qkv.lora_B.weight":        {24, 2, 1, 1},
		"text.layers.0.q.lora_A.weight": {2, 4},
		"text.tok_new.weight":           {1, 4},
	}
	for name, shape := range want {
		g, ok := got.Tensors[name]
		if !ok || g.DType != "F32" || len(g.Shape) != len(shape) {
			t.Errorf("%s: %+v, want F32 %v", name, g, shape)
			continue
		}
		for i := range shape {
			if g.Shape[i] != shape[i] {
				t.Errorf("%s: shape %v, want %v", name, g.Shape, shape)
			}
		}
	}
	for name := range got.Tensors {
		if !strings.HasSuffix(name, ".lora_A.weight") && !strings.HasSuffix(name, ".lora_B.weight") && name != "text.tok_new.weight" {
			t.Errorf("tensor %s in a LoRA file", name)
		}
	}
	if n := len(got.Tensors); n != 2*(4+2+4)+1 {
		t.Errorf("%d tensors, want %d (A and B of attn qkv/out, cross q/k/v/out, text q/k/v/out, and the new word)", n, 2*(4+2+4)+1)
	}
}
