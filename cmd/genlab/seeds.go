package main

import (
	"fmt"
	"strconv"

	"genlab/pipeline"

	"github.com/urfave/cli/v2"
)

// The --seed of the commands that draw images: one seed (image i of a run
// gets seed+i), -1 for a random one (AUTOMATIC1111's convention), or, for
// the commands that draw several images (listSeeds), a list of seeds and
// ranges such as 1,5,9 or 10-13, one per image. A random seed is drawn
// once, before any work, said on stderr and recorded in each PNG, so the
// image can be drawn again.

// listSeeds are the commands whose --seed may list one seed per image.
var listSeeds = map[string]bool{"sample": true, "txt2img": true}

// seedFlag is a drawing command's --seed, defaulting to value.
func seedFlag(value, usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: "seed", Value: value, Usage: usage + "; -1: a random one (said on stderr, recorded in the PNG)"}
}

// seedListUsage is the --seed help of the commands in listSeeds.
const seedListUsage = "image i's noise comes from seed+i, its file is NNNNN-SEED.png; or one seed per image: 1,5,9 or 10-13 (sets --n)"

// resolveSeedFlag checks --seed (or --subseed) before any work and
// replaces a random seed with the one drawn, so that the command, its
// output checks and its PNGs all see the same seeds. A list of seeds sets
// --n when --n is not given.
func resolveSeedFlag(ctx *cli.Context, name string) error {
	verb, raw := ctx.Command.Name, ctx.String(name)
	s, err := pipeline.ParseSeeds(raw)
	if err != nil {
		return userErrorf("%s: --%s %s: %v", verb, name, raw, err)
	}
	n := 1
	if c := s.Count(); c > 0 {
		switch {
		case !listSeeds[verb] || name != "seed":
			return userErrorf("%s: --%s %s: %s takes one seed (or -1 for a random one)", verb, name, raw, verb)
		case ctx.IsSet("n") && ctx.Int("n") != c:
			return userErrorf("%s: --%s %s names %d seeds but --n is %d: give one seed per image, or leave --n out", verb, name, raw, c, ctx.Int("n"))
		}
		if err := ctx.Set("n", strconv.Itoa(c)); err != nil {
			return err
		}
	}
	if hasFlag(ctx, "n") {
		n = max(1, ctx.Int("n"))
	}
	// One seed is resolved alone: --n may be too large to hold before
	// the memory check refuses it.
	seeds, err := s.Resolve(max(1, s.Count()), nil)
	if err == nil && s.Count() == 0 {
		err = pipeline.CheckSeedRun(seeds[0], n)
	}
	if err != nil {
		return userErrorf("%s: --%s %s: %v", verb, name, raw, err)
	}
	if !s.Random() {
		return nil
	}
	resolved := pipeline.SeedList(seeds).String()
	if s.Count() == 0 {
		resolved = strconv.FormatUint(seeds[0], 10)
	}
	fmt.Fprintf(ctx.App.ErrWriter, "%s: --%s %s: seed %s\n", verb, name, raw, resolved)
	return ctx.Set(name, resolved)
}

// variationFlags are AUTOMATIC1111's variation seeds.
func variationFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "subseed", Usage: "diffusion: variation seed, image i's noise is moved towards the noise of subseed+i by --subseed-strength (default: -1, a random one)"},
		&cli.Float64Flag{Name: "subseed-strength", Usage: "diffusion: how far towards the variation seed's noise, 0 (the seed's image) to 1 (the variation seed's); small values give variations of one image"},
	}
}

// resolveSubseed checks the variation seed flags and draws a random one,
// as resolveSeedFlag does for --seed.
func resolveSubseed(ctx *cli.Context) error {
	verb := ctx.Command.Name
	strength := ctx.Float64("subseed-strength")
	switch {
	case ctx.IsSet("subseed") && strength == 0:
		return userErrorf("%s: --subseed needs --subseed-strength, more than 0", verb)
	case strength == 0:
		return nil
	case !ctx.IsSet("subseed"):
		if err := ctx.Set("subseed", "-1"); err != nil {
			return err
		}
	}
	return resolveSeedFlag(ctx, "subseed")
}

// variation sets r's variation seeds from the flags, for its n images.
func variation(c *cli.Context, verb string, p pipeline.Pipeline, r *pipeline.Request) error {
	if !hasFlag(c, "subseed-strength") || c.Float64("subseed-strength") == 0 {
		return nil
	}
	s, _ := pipeline.ParseSeeds(c.String("subseed"))
	subseeds, err := s.Resolve(len(r.Seeds), nil)
	if err != nil {
		return userErrorf("%s: --subseed: %v", verb, err)
	}
	r.Subseeds, r.SubseedStrength = subseeds, c.Float64("subseed-strength")
	if err := p.Check(*r); err != nil {
		return userErrorf("%s: --subseed-strength: %v", verb, err)
	}
	return nil
}

// seedsOf are the seeds of n images (resolveSeedFlag has checked them).
func seedsOf(c *cli.Context, n int) []uint64 {
	s, err := pipeline.ParseSeeds(c.String("seed"))
	if err != nil {
		panic(fmt.Sprintf("genlab: --seed %q unchecked: %v", c.String("seed"), err))
	}
	seeds, err := s.Resolve(n, nil)
	if err != nil || s.Random() {
		panic(fmt.Sprintf("genlab: --seed %q unchecked: %v", c.String("seed"), err))
	}
	return seeds
}

// seedOf is the seed of a command that takes one.
func seedOf(c *cli.Context) uint64 { return seedsOf(c, 1)[0] }
