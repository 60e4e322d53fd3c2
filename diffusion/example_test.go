package diffusion_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"genlab/diffusion"
)

// knowsTheData returns a toy ε-predictor for data that is always the image
// xstar: x_t = √ᾱ x* + √(1−ᾱ) ε, so ε = (x_t − √ᾱ x*)/√(1−ᾱ). A real
// model would run the UNet here.
func knowsTheData(sched diffusion.Schedule, xstar []float32) diffusion.Model {
	dim := len(xstar)
	return func(_ context.Context, x []float32, t []int, eps []float32) error {
		for k := range x {
			a, b := sched.SqrtAlphaBar(t[k/dim]), sched.SqrtOneMinusAlphaBar(t[k/dim])
			eps[k] = float32((float64(x[k]) - a*float64(xstar[k%dim])) / b)
		}
		return nil
	}
}

// Sampling two images with DDIM in 10 steps, each from its own seed.
func ExampleDDIM() {
	sched, err := diffusion.NewSchedule("linear", 1000)
	if err != nil {
		fmt.Println(err)
		return
	}
	xstar := []float32{-0.5, 0.25, 0.5, 1}
	const n, dim, seed = 2, 4, 42

	ddim, err := diffusion.NewDDIM(sched, 10, 0) // η = 0: deterministic
	if err != nil {
		fmt.Println(err)
		return
	}
	rngs := diffusion.ImageRNGs(seed, 0, n) // image i from seed+i
	x := make([]float32, n*dim)
	diffusion.InitialNoise(x, rngs, dim)
	err = diffusion.Sample(context.Background(), knowsTheData(sched, xstar), ddim, x, n, dim, rngs, nil,
		func(step, total int, x0 []float32) error {
			if step%5 == 0 {
				fmt.Printf("step %d/%d\n", step, total)
			}
			return nil
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ddim.Timesteps())
	fmt.Printf("%.3f\n", x)
	// Output:
	// step 5/10
	// step 10/10
	// [999 888 777 666 555 444 333 222 111 0]
	// [-0.500 0.250 0.500 1.000 -0.500 0.250 0.500 1.000]
}

// A hand-written loop over Step, as Sample runs it: the sampler never sees
// the model.
func ExampleDDIM_Step() {
	sched := diffusion.Cosine(1000, 0.008)
	xstar := []float32{0.75, -0.25}
	model := knowsTheData(sched, xstar)
	s, _ := diffusion.NewDDIM(sched, 4, 1) // η = 1: noise from rngs
	rngs := []*rand.Rand{diffusion.ImageRNG(7)}
	x := make([]float32, 2)
	diffusion.InitialNoise(x, rngs, 2)
	eps := make([]float32, 2)
	for i, t := range s.Timesteps() {
		if err := model(context.Background(), x, []int{t}, eps); err != nil {
			fmt.Println(err)
			return
		}
		prev, x0, err := s.Step(i, eps, x, rngs)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("t=%3d  x̂0=%.2f\n", t, x0)
		x = prev
	}
	fmt.Printf("sample %.2f\n", x)
	// Output:
	// t=999  x̂0=[0.75 -0.25]
	// t=666  x̂0=[0.75 -0.25]
	// t=333  x̂0=[0.75 -0.25]
	// t=  0  x̂0=[0.75 -0.25]
	// sample [0.75 -0.25]
}

func ExampleNewSampler() {
	sched, _ := diffusion.NewSchedule("cosine", 1000)
	for _, name := range []string{"ddpm", "dpmpp2m", "euler"} {
		s, err := diffusion.NewSampler(name, sched, 5, 0)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%T %v\n", s, s.Timesteps())
	}
	_, err := diffusion.NewSampler("ddim", sched, 2000, 0)
	fmt.Println(err)
	// Output:
	// *diffusion.DDPM [999 749 500 250 0]
	// *diffusion.DPMSolver [999 749 500 250 0]
	// diffusion: unknown sampler "euler" (valid: ddpm, ddim, dpmpp2m)
	// diffusion: ddim sampler: 2000 sampling steps on a schedule of T=1000: want 1..1000
}

// Classifier-free guidance with the two halves evaluated separately; see
// Guidance for the doubled-batch form.
func ExampleGuidance() {
	sched, _ := diffusion.NewSchedule("linear", 1000)
	cond := knowsTheData(sched, []float32{0.5})   // "the condition says 0.5"
	uncond := knowsTheData(sched, []float32{0.1}) // "without it, 0.1"
	for _, scale := range []float64{0, 1, 1.5} {
		s, _ := diffusion.NewDDIM(sched, 20, 0)
		x := []float32{0.3}
		err := diffusion.Sample(context.Background(), cond, s, x, 1, 1, nil,
			&diffusion.Guidance{Scale: scale, Uncond: uncond}, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("scale %.1f: %.2f\n", scale, x[0])
	}
	// Output:
	// scale 0.0: 0.10
	// scale 1.0: 0.50
	// scale 1.5: 0.70
}
