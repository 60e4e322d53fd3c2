package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"genlab/checkpoint"
	"genlab/eval"
	"genlab/internal/pathcheck"

	"github.com/urfave/cli/v2"
)

func tuneTemperatureCommand() *cli.Command {
	return &cli.Command{
		Name:  "tune-temperature",
		Usage: "choose a flow's or a VAE's sampling temperature by fid_lenet and store it in a copy of the checkpoint",
		Description: "Draws --n samples at each temperature, scores them with the judge against the last " +
			strconv.Itoa(eval.ValidationDigits) + " MNIST training digits (not the test set, which eval and compare report on), " +
			"prints the sweep and writes a copy of the checkpoint whose default temperature is the best one.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ckpt", Usage: "a flow or VAE checkpoint", Required: true},
			&cli.StringFlag{Name: "out", Usage: "the checkpoint to write (.safetensors)", Required: true},
			&cli.StringFlag{Name: "temperatures", Value: "0.5,0.6,0.7,0.8,0.9,1", Usage: "the temperatures to try, comma-separated (0 to 2)"},
			&cli.IntFlag{Name: "n", Value: 1000, Usage: "samples per temperature"},
			&cli.Uint64Flag{Name: "seed", Usage: "first seed; every temperature uses the same seeds"},
			&cli.StringFlag{Name: "classifier", Value: defaultClassifier, Usage: "the judge (genlab train classifier)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace --out if it is there"},
		},
		Action: tuneTemperature,
	}
}

// parseTemperatures reads a comma-separated list of temperatures in [0,2].
func parseTemperatures(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		t, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(t >= 0 && t <= 2) {
			return nil, fmt.Errorf("%q is not a temperature from 0 to 2", f)
		}
		out = append(out, t)
	}
	return out, nil
}

func tuneTemperature(c *cli.Context) error {
	in, out, n := c.String("ckpt"), c.String("out"), c.Int("n")
	temps, err := parseTemperatures(c.String("temperatures"))
	if err != nil {
		return userErrorf("tune-temperature: --temperatures: %v", err)
	}
	if n < 10 {
		return userErrorf("tune-temperature: --n %d: want at least 10 samples", n)
	}
	if err := pathcheck.Output("--out", out, c.Bool("overwrite"), isCheckpoint, in); err != nil {
		return userErrorf("tune-temperature: %v", err)
	}
	if _, err := os.Stat(c.String("classifier")); err != nil {
		return userErrorf("tune-temperature: no classifier at %s: train one with 'genlab train classifier' or pass --classifier FILE", c.String("classifier"))
	}
	p, err := openPipeline("tune-temperature", in)
	if err != nil {
		return err
	}
	k := p.Knobs()
	if !k.Temperature {
		return userErrorf("tune-temperature: %s is a %s checkpoint; only flows and VAEs have a temperature", in, k.Family)
	}
	if k.Channels != 1 || k.Size != 28 {
		return userErrorf("tune-temperature: the judge is an MNIST classifier; %s makes %dx%dx%d images", in, k.Channels, k.Size, k.Size)
	}
	judge, err := eval.NewJudge(c.String("classifier"))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	w := c.App.Writer
	fmt.Fprintf(w, "temperature  fid_lenet (against %d training digits)\n", eval.ValidationDigits)
	best, bestFID := 0.0, math.Inf(1)
	var sweep []string
	for _, t := range temps {
		r := k.Request(c.Uint64("seed"), n)
		r.Temperature = t
		o, err := p.Generate(ctx, r)
		if err != nil {
			return err
		}
		fid, err := judge.ValidationFID(o.Pixels, n)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%-11g  %.2f\n", t, fid)
		sweep = append(sweep, fmt.Sprintf("%g:%.2f", t, fid))
		if fid < bestFID {
			best, bestFID = t, fid
		}
	}
	if err := writeWithTemperature(in, out, best, fmt.Sprintf("fid_lenet of %d samples against the last %d MNIST training digits, by temperature: %s",
		n, eval.ValidationDigits, strings.Join(sweep, " "))); err != nil {
		return err
	}
	if _, err := openPipeline("tune-temperature", out); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s: samples at temperature %g by default\n", out, best)
	return nil
}

// writeWithTemperature copies the checkpoint at in to out with its
// config's default temperature set to t and the sweep recorded.
func writeWithTemperature(in, out string, t float64, sweep string) error {
	f, err := checkpoint.Load(in)
	if err != nil {
		return err
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal([]byte(f.Metadata[checkpoint.KeyConfig]), &cfg); err != nil {
		return &checkpoint.FormatError{File: in, Reason: "genlab.config is not a JSON object"}
	}
	cfg["temperature"] = json.RawMessage(strconv.FormatFloat(t, 'g', -1, 64))
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	f.Metadata[checkpoint.KeyConfig] = string(raw)
	f.Metadata["genlab.temperature_sweep"] = sweep
	return checkpoint.Save(out, f)
}
