package checkpoint

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// python returns the interpreter for the compatibility tests, preferring
// Debian's /usr/bin/python3 (the one with python3-torch).
func python(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: cannot cross-check with an independent reader")
	}
	return p
}

func pythonHas(py, module string) bool {
	return exec.Command(py, "-c", "import "+module).Run() == nil
}

type pyTensor struct {
	DType   string    `json:"dtype"`
	Shape   []int     `json:"shape"`
	Offsets []int64   `json:"offsets"`
	Values  []float64 `json:"values"`
}

type pyFile struct {
	Metadata    map[string]string   `json:"metadata"`
	DataStart   int64               `json:"data_start"`
	Torch       bool                `json:"torch"`
	Safetensors bool                `json:"safetensors"`
	Tensors     map[string]pyTensor `json:"tensors"`
}

// values returns t's elements as float64 whatever its dtype.
func values(t *testing.T, tt Tensor) []float64 {
	if f, err := tt.Float64s(); err == nil {
		return f
	}
	ints, err := tt.Int64s()
	if err != nil {
		t.Fatalf("%s: %v", tt.Name, err)
	}
	out := make([]float64, len(ints))
	for i, v := range ints {
		out[i] = float64(v)
	}
	return out
}

// TestPythonCompat writes a checkpoint with genlab and reads it back with
// testdata/read_safetensors.py, an independent reader using only json and
// struct (cross-checked with torch.frombuffer when torch is importable and
// with the safetensors package when that is installed).
func TestPythonCompat(t *testing.T) {
	py := python(t)
	f := sample()
	// The F8 dtypes have no struct format; the reader would refuse them.
	var kept []Tensor
	for _, tt := range f.Tensors {
		if pyDTypes[tt.DType] {
			kept = append(kept, tt)
		}
	}
	f.Tensors = kept
	path := filepath.Join(t.TempDir(), "genlab.safetensors")
	if err := Save(path, f); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "testdata/read_safetensors.py", path).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("read_safetensors.py: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var got pyFile
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !reflect.DeepEqual(got.Metadata, f.Metadata) {
		t.Errorf("metadata = %v, want %v", got.Metadata, f.Metadata)
	}
	if got.DataStart%8 != 0 {
		t.Errorf("data starts at %d, not a multiple of 8", got.DataStart)
	}
	if len(got.Tensors) != len(f.Tensors) {
		t.Errorf("python sees %d tensors, want %d", len(got.Tensors), len(f.Tensors))
	}
	for _, want := range f.Tensors {
		g, ok := got.Tensors[want.Name]
		if !ok {
			t.Errorf("python does not see %q", want.Name)
			continue
		}
		if g.DType != want.DType || !reflect.DeepEqual(cloneShape(g.Shape), cloneShape(want.Shape)) {
			t.Errorf("%q: python reads %s %v, want %s %v", want.Name, g.DType, g.Shape, want.DType, want.Shape)
		}
		if v := values(t, want); !reflect.DeepEqual(append([]float64{}, g.Values...), append([]float64{}, v...)) {
			t.Errorf("%q: python reads %v, want %v", want.Name, g.Values, v)
		}
	}
	t.Run("torch", func(t *testing.T) {
		if !pythonHas(py, "torch") {
			t.Skip("torch not importable by " + py)
		}
		if !got.Torch {
			t.Error("torch importable but the script did not use it")
		}
	})
	t.Run("safetensors", func(t *testing.T) {
		if !pythonHas(py, "safetensors") {
			t.Skip("the safetensors Python package is not installed")
		}
		if !got.Safetensors {
			t.Error("safetensors importable but the script did not use it")
		}
	})
}

// pyDTypes lists the dtypes read_safetensors.py understands.
var pyDTypes = map[string]bool{
	"BOOL": true, "U8": true, "I8": true, "I16": true, "U16": true, "F16": true, "BF16": true,
	"I32": true, "U32": true, "F32": true, "I64": true, "U64": true, "F64": true,
}

// TestReadPythonWritten reads a file laid out like the reference
// implementation's (tensors ordered by dtype size, then name) by
// testdata/write_safetensors.py.
func TestReadPythonWritten(t *testing.T) {
	py := python(t)
	path := filepath.Join(t.TempDir(), "python.safetensors")
	if out, err := exec.Command(py, "testdata/write_safetensors.py", path).CombinedOutput(); err != nil {
		t.Fatalf("write_safetensors.py: %v\n%s", err, out)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		dtype  string
		shape  []int
		values []float64
	}{
		"model.bias":   {"F32", []int{3}, []float64{0.5, -1.25, 3}},
		"model.weight": {"F32", []int{2, 2}, []float64{1, 2, 3, 4}},
		"labels":       {"U8", []int{4}, []float64{0, 1, 2, 255}},
		"step":         {"I64", []int{}, []float64{123456789012}},
		"betas":        {"F64", []int{2}, []float64{0.0001, 0.02}},
		"offsets":      {"I16", []int{2, 1}, []float64{-3, 7}},
		"counts":       {"I32", []int{0}, []float64{}},
	}
	if len(f.Tensors) != len(want) {
		t.Errorf("%d tensors, want %d", len(f.Tensors), len(want))
	}
	for name, w := range want {
		tt, ok := f.Get(name)
		if !ok {
			t.Errorf("no tensor %q", name)
			continue
		}
		if tt.DType != w.dtype || !reflect.DeepEqual(tt.Shape, w.shape) {
			t.Errorf("%q = %s %v, want %s %v", name, tt.DType, tt.Shape, w.dtype, w.shape)
		}
		if v := values(t, tt); !reflect.DeepEqual(v, w.values) {
			t.Errorf("%q = %v, want %v", name, v, w.values)
		}
	}
	if f.Metadata["genlab.family"] != "diffusion" || f.Metadata["format"] != "pt" {
		t.Errorf("metadata = %v", f.Metadata)
	}
}
