package datasets_test

import (
	"fmt"
	"math/rand/v2"

	"genlab/datasets"
)

// A training loop's view of a dataset: generate (or load) a Set, deal it in
// shuffled batches, and checkpoint the loader's position.
func Example() {
	set := datasets.Shapes(100, 1, "train") // or datasets.Load("mnist", "train")
	if err := set.Check(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: %d images of %dx%dx%d\n", set.Name, set.N, set.C, set.H, set.W)

	loader := datasets.NewLoader(set, 32, 7)
	rng := rand.New(rand.NewPCG(1, 1))
	for range 4 {
		b := loader.Next()
		datasets.Dequantize(b.X, b.X, rng) // for a likelihood model
	}
	// After 4 batches of 32 from 100 images (3 per epoch, 4 dropped):
	fmt.Println("epoch", loader.Epoch(), "step", loader.Step())

	a, _ := datasets.ShapeAttrsOf(set, 0)
	fmt.Printf("%q is a %s %s\n", set.Captions[0], a.Color, a.Shape)
	// Output:
	// shapes-train: 100 images of 3x32x32
	// epoch 1 step 1
	// "a small white cross in the center" is a white cross
}

func ExampleParseCaption() {
	a, err := datasets.ParseCaption("a large blue square in the center")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v held out: %v\n", a, a.HeldOut())
	a.Shape = "circle"
	fmt.Printf("%q held out: %v\n", a.Caption(), a.HeldOut())

	_, err = datasets.ParseCaption("a big red circle at the top left")
	fmt.Println(err)
	// Output:
	// {Color:blue Shape:square Size:large Position:center} held out: false
	// "a large blue circle in the center" held out: true
	// datasets: caption "a big red circle at the top left": "big" is not a size (want small, large)
}
