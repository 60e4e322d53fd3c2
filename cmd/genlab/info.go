package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"genlab/checkpoint"
	"genlab/torch"

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
			Trained  string            `json:"trained_by,omitempty"`
		}{Metadata: h.Metadata, Params: h.NumElements()}
		if h.Metadata[checkpoint.KeyFormat] != "" {
			out.Trained = torch.TrainedBy(h.Metadata)
		}
		for _, t := range h.Tensors {
			out.Tensors = append(out.Tensors, tensor{t.Name, t.DType, t.Shape})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(w, "%s\n", printable(path))
	if h.Metadata[checkpoint.KeyFormat] != "" {
		fmt.Fprintf(w, "  trained last by: %s\n", printable(torch.TrainedBy(h.Metadata)))
	}
	keys := make([]string, 0, len(h.Metadata))
	for k := range h.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := printable(h.Metadata[k])
		if k == checkpoint.KeyConfig {
			// Valid JSON holds no raw control characters: its strings
			// escape them.
			var pretty bytes.Buffer
			if json.Indent(&pretty, []byte(h.Metadata[k]), "  ", "  ") == nil {
				v = pretty.String()
			}
		}
		fmt.Fprintf(w, "  %s: %s\n", printable(k), v)
	}
	fmt.Fprintf(w, "%d tensors, %d parameters\n", len(h.Tensors), h.NumElements())
	for _, t := range h.Tensors {
		fmt.Fprintf(w, "  %-40s %s %v\n", printable(t.Name), t.DType, t.Shape)
	}
	return nil
}

// printable returns s as it is when it holds only printable characters,
// else quoted with Go escapes:
// a name read from a file must not move the cursor, clear the screen or
// forge lines of the listing with newlines and terminal escape sequences.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 && !strings.ContainsRune(s, utf8.RuneError) {
		return s
	}
	return strconv.QuoteToGraphic(s)
}
