package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"genlab/checkpoint"

	"github.com/urfave/cli/v2"
)

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:  "info",
		Usage: "print a checkpoint's metadata and tensor shapes",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ckpt", Usage: "the checkpoint (.safetensors)", Required: true},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object"},
		},
		Action: info,
	}
}

func info(c *cli.Context) error {
	path := c.String("ckpt")
	h, err := checkpoint.ReadHeader(path)
	if err != nil {
		return err
	}
	w := c.App.Writer
	if c.Bool("json") {
		type tensor struct {
			Name  string `json:"name"`
			DType string `json:"dtype"`
			Shape []int  `json:"shape"`
		}
		out := struct {
			Metadata map[string]string `json:"metadata"`
			Tensors  []tensor          `json:"tensors"`
			Params   int64             `json:"parameters"`
		}{Metadata: h.Metadata, Params: h.NumElements()}
		for _, t := range h.Tensors {
			out.Tensors = append(out.Tensors, tensor{t.Name, t.DType, t.Shape})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(w, "%s\n", path)
	keys := make([]string, 0, len(h.Metadata))
	for k := range h.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := h.Metadata[k]
		if k == checkpoint.KeyConfig {
			var pretty bytes.Buffer
			if json.Indent(&pretty, []byte(v), "  ", "  ") == nil {
				v = pretty.String()
			}
		}
		fmt.Fprintf(w, "  %s: %s\n", k, v)
	}
	fmt.Fprintf(w, "%d tensors, %d parameters\n", len(h.Tensors), h.NumElements())
	for _, t := range h.Tensors {
		fmt.Fprintf(w, "  %-40s %s %v\n", t.Name, t.DType, t.Shape)
	}
	return nil
}
