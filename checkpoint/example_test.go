package checkpoint_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"genlab/checkpoint"
)

func Example() {
	dir, err := os.MkdirTemp("", "checkpoint-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ckpt-000500.safetensors")

	f := &checkpoint.File{
		Metadata: map[string]string{
			checkpoint.KeyFamily: "diffusion",
			checkpoint.KeyConfig: `{"channels":[2]}`,
			checkpoint.KeyStep:   "500",
			checkpoint.KeyFormat: strconv.Itoa(checkpoint.FormatVersion),
		},
		Tensors: []checkpoint.Tensor{
			checkpoint.F32("conv.weight", []int{2, 1, 1, 1}, []float32{0.5, -1}),
			checkpoint.F32("conv.bias", []int{2}, []float32{0, 0.25}),
		},
	}
	if err := checkpoint.Save(path, f); err != nil {
		fmt.Println(err)
		return
	}

	// What `genlab info` shows, without reading the weights.
	h, err := checkpoint.ReadHeader(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.Metadata[checkpoint.KeyFamily], "step", h.Metadata[checkpoint.KeyStep], "params", h.NumElements())
	for _, t := range h.Tensors {
		fmt.Println(t.Name, t.DType, t.Shape)
	}

	g, err := checkpoint.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := g.CheckFormat(); err != nil {
		fmt.Println(err)
		return
	}
	w, _ := g.Get("conv.weight")
	v, _ := w.Float32s()
	fmt.Println(v)
	// Output:
	// diffusion step 500 params 4
	// conv.bias F32 [2]
	// conv.weight F32 [2 1 1 1]
	// [0.5 -1]
}

func ExampleFile_CheckShapes() {
	f := &checkpoint.File{Tensors: []checkpoint.Tensor{
		checkpoint.F32("conv.weight", []int{2, 1, 3, 3}, make([]float32, 18)),
	}}
	err := f.CheckShapes(map[string][]int{"conv.weight": {4, 1, 3, 3}, "conv.bias": {4}})
	fmt.Println(err)
	// Output:
	// checkpoint: weights do not fit the model (was it saved by another architecture or config?): 2 problems: tensor "conv.weight": want shape [4 1 3 3], got [2 1 3 3]; missing tensor "conv.bias"
}
