package images_test

import (
	"fmt"
	"image"
	"image/color"

	"genlab/images"
)

func ExampleParameters_String() {
	p := images.Parameters{
		Prompt: "a small red circle at the top left", Steps: 50, Sampler: "DDIM", CFGScale: 2, Seed: 42,
		Width: 28, Height: 28, Model: "ckpt-000500", ModelHash: "0123456789", Family: "diffusion",
	}
	fmt.Println(p)
	// Output:
	// a small red circle at the top left
	// Steps: 50, Sampler: DDIM, CFG scale: 2, Seed: 42, Size: 28x28, Model: ckpt-000500, Model hash: 0123456789, Family: diffusion
}

func ExampleParseParameters() {
	p, err := images.ParseParameters("a cat\nNegative prompt: blurry\n" +
		`Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 512x768, Lora hashes: "detail: 7c6bad76eb54, x: 1"`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q %q %d %s %g %d %dx%d\n", p.Prompt, p.NegativePrompt, p.Steps, p.Sampler, p.CFGScale, p.Seed, p.Width, p.Height)
	fmt.Println(p.Lookup("Lora hashes"))
	// Output:
	// "a cat" "blurry" 20 Euler a 7 1234 512x768
	// detail: 7c6bad76eb54, x: 1 true
}

func ExampleGrid() {
	tiles := make([]image.Image, 64)
	for i := range tiles {
		tiles[i] = images.FromFloats(make([]float32, 28*28), 1, 28, 28)
	}
	g := images.Grid(tiles, 0, 2, color.White)
	fmt.Println(g.Bounds().Dx(), "x", g.Bounds().Dy())
	fmt.Println("tile 9 at", images.GridCell(9, 8, 28, 28, 2))
	// Output:
	// 242 x 242
	// tile 9 at (32,32)
}
