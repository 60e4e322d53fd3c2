package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"genlab/checkpoint"
	"genlab/diffusion"
	"genlab/eval"
	"genlab/flow"
	"genlab/gan"
	"genlab/images"
	"genlab/internal/corpus"
	"genlab/models"
	"genlab/vae"
)

// untrainedDiffusion saves a tiny class-conditional diffusion model with
// its initial weights: a valid checkpoint, made in milliseconds, to derive
// bad ones from.
func untrainedDiffusion(t *testing.T, dir string) string {
	t.Helper()
	cfg, err := diffusion.NewConfig("tiny", 1, 28, "class", 10)
	if err != nil {
		t.Fatal(err)
	}
	net, err := diffusion.NewNetwork(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cfg)
	path := filepath.Join(dir, "good.safetensors")
	if err := models.SaveWeights(path, net.Params, models.Meta{Family: diffusion.Family, Config: raw, Step: 1}); err != nil {
		t.Fatal(err)
	}
	return path
}

// badCheckpoints derives the bad-checkpoint corpus from good, in dir: each
// file is one way a downloaded or damaged checkpoint can lie. The value is
// what the one-line error must mention.
func badCheckpoints(t *testing.T, dir, good string) map[string]string {
	t.Helper()
	bad := map[string]string{}
	edit := func(name, mention string, set map[string]any) {
		p := filepath.Join(dir, name+".safetensors")
		if err := corpus.EditConfig(good, p, set); err != nil {
			t.Fatal(err)
		}
		bad[p] = mention
	}
	edit("channels-1e9", "channels 1000000000", map[string]any{"unet.channels": 1_000_000_000})
	edit("size-1e6", "size 1000000", map[string]any{"unet.size": 1_000_000})
	edit("timesteps-1e12", "timesteps", map[string]any{"timesteps": 1_000_000_000_000})
	edit("classes-1e12", "classes", map[string]any{"unet.classes": 1_000_000_000_000})
	edit("negative-channels", "channels -16", map[string]any{"unet.channels": -16})
	edit("negative-heads", "heads -2", map[string]any{"unet.heads": -2})
	edit("negative-groups", "groups -8", map[string]any{"unet.groups": -8})
	edit("zero-timesteps", "timesteps 0", map[string]any{"timesteps": 0})
	edit("wider-than-weights", "weights do not fit", map[string]any{"unet.channels": 32})
	edit("config-not-an-object", "config", map[string]any{"unet": "big"})
	nan := filepath.Join(dir, "nan-weight.safetensors")
	if _, err := corpus.Poison(good, nan, "", 0, float32(math.NaN())); err != nil {
		t.Fatal(err)
	}
	bad[nan] = "non-finite"
	b, _ := os.ReadFile(good)
	truncated := filepath.Join(dir, "truncated.safetensors")
	os.WriteFile(truncated, b[:len(b)-100], 0o644)
	bad[truncated] = "truncated"
	text := filepath.Join(dir, "text.safetensors")
	os.WriteFile(text, []byte("this is not a checkpoint, only some words in a file\n"), 0o644)
	bad[text] = "not a safetensors file"
	empty := filepath.Join(dir, "empty.safetensors")
	os.WriteFile(empty, nil, 0o644)
	bad[empty] = "too short"
	fifo := filepath.Join(dir, "fifo.safetensors")
	if err := corpus.FIFO(fifo); err == nil {
		bad[fifo] = "named pipe"
	}
	sub := filepath.Join(dir, "folder.safetensors")
	os.Mkdir(sub, 0o755)
	bad[sub] = "directory"
	return bad
}

// badImages writes the bad-image corpus into dir.
func badImages(t *testing.T, dir string) map[string]string {
	t.Helper()
	bad := map[string]string{}
	var good bytes.Buffer
	images.Encode(&good, image.NewGray(image.Rect(0, 0, 8, 8)), "")
	huge := bytes.Clone(good.Bytes())
	binary.BigEndian.PutUint32(huge[16:], 11000) // IHDR width
	binary.BigEndian.PutUint32(huge[20:], 11000) // IHDR height
	huge[24] = 16                                // bit depth 16
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))
	write := func(name string, b []byte, mention string) {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		bad[p] = mention
	}
	write("huge.png", huge, "larger than")
	write("truncated.png", good.Bytes()[:40], "truncated")
	write("words.png", []byte("not an image at all"), "not a PNG or JPEG")
	write("empty.png", nil, "")
	fifo := filepath.Join(dir, "fifo.png")
	if err := corpus.FIFO(fifo); err == nil {
		bad[fifo] = "named pipe"
	}
	sub := filepath.Join(dir, "folder.png")
	os.Mkdir(sub, 0o755)
	bad[sub] = "directory"
	return bad
}

// snapshot hashes every regular file under dir, to tell that a command
// changed none of its inputs.
func snapshot(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	m := map[string][32]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			m[p] = sha256.Sum256(b)
		}
		return nil
	})
	return m
}

// wantRefused runs genlab on bad input: exit 1, one line on stderr that
// mentions what is wrong, no panic, within a few seconds, and not one
// file of dir changed.
func wantRefused(t *testing.T, dir, mention string, args ...string) {
	t.Helper()
	before := snapshot(t, dir)
	start := time.Now()
	status, _, stderr := genlab(t, args...)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("genlab %v took %v", args, took)
	}
	if status != 1 || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
		t.Errorf("genlab %v: exit %d, stderr %q; want exit 1 and one line", args, status, stderr)
	}
	if !strings.Contains(stderr, mention) {
		t.Errorf("genlab %v: stderr %q does not mention %q", args, stderr, mention)
	}
	after := snapshot(t, dir)
	for p, h := range before {
		if after[p] != h {
			t.Errorf("genlab %v changed %s", args, p)
		}
	}
}

// TestBadInputCorpus runs the generated corpus of bad checkpoints and
// images through every command that reads them.
func TestBadInputCorpus(t *testing.T) {
	dir := t.TempDir()
	good := untrainedDiffusion(t, dir)
	img := filepath.Join(dir, "digit.png")
	m := image.NewGray(image.Rect(0, 0, 28, 28))
	for i := range m.Pix {
		m.Pix[i] = uint8(i)
	}
	if err := images.Save(img, m, ""); err != nil {
		t.Fatal(err)
	}
	mask := filepath.Join(dir, "mask.png")
	k := image.NewGray(image.Rect(0, 0, 28, 28))
	k.Set(10, 10, color.Gray{255})
	images.Save(mask, k, "")
	manifest := filepath.Join(dir, "manifest.csv")
	os.WriteFile(manifest, []byte("class,seed,count\n1,0,2\n"), 0o644)
	judge, err := eval.NewClassifier(eval.ClassifierConfig{Channels: 4, Features: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	clf := filepath.Join(dir, "judge.safetensors")
	if err := judge.Save(clf, 1, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	outPNG := out + ".png"

	readers := map[string]func(ckpt string) []string{
		"sample": func(p string) []string {
			return []string{"sample", "diffusion", "--ckpt", p, "--n", "2", "--steps", "2", "--out", out}
		},
		"eval": func(p string) []string {
			return []string{"eval", "--ckpt", p, "--classifier", clf, "--n", "10", "--steps", "2"}
		},
		"batch": func(p string) []string {
			return []string{"batch", "--ckpt", p, "--manifest", manifest, "--steps", "2", "--out", out}
		},
		"edit": func(p string) []string {
			return []string{"edit", "--ckpt", p, "--image", img, "--strength", "0.5", "--class", "1", "--out", outPNG}
		},
		"inpaint": func(p string) []string {
			return []string{"inpaint", "--ckpt", p, "--image", img, "--mask", mask, "--out", outPNG}
		},
		"superres": func(p string) []string {
			return []string{"superres", "--ckpt", p, "--image", img, "--scale", "2", "--out", outPNG}
		},
		"txt2img": func(p string) []string { return []string{"txt2img", "--ckpt", p, "--prompt", "a", "--out", out} },
		"txt2vid": func(p string) []string { return []string{"txt2vid", "--ckpt", p, "--prompt", "a", "--out", out} },
		"img2vid": func(p string) []string { return []string{"img2vid", "--ckpt", p, "--image", img, "--out", out} },
		"eval-video": func(p string) []string {
			return []string{"eval-video", "--ckpt", p, "--attributes", p, "--n", "1", "--out", out}
		},
	}
	for p, mention := range badCheckpoints(t, dir, good) {
		for verb, args := range readers {
			t.Run(verb+"/"+filepath.Base(p), func(t *testing.T) {
				want := mention
				if strings.Contains(filepath.Base(p), "-") && verb != "sample" && verb != "batch" && verb != "eval" {
					want = "" // the task commands may refuse the family first
				}
				wantRefused(t, dir, want, args(p)...)
			})
		}
		if m := mention; m == "named pipe" || m == "directory" || m == "truncated" || m == "too short" || m == "not a safetensors file" {
			t.Run("info/"+filepath.Base(p), func(t *testing.T) { wantRefused(t, dir, m, "info", "--ckpt", p) })
		}
	}
	imgDir := filepath.Join(dir, "images")
	os.Mkdir(imgDir, 0o755)
	for p, mention := range badImages(t, imgDir) {
		for verb, args := range map[string][]string{
			"edit":          {"edit", "--ckpt", good, "--image", p, "--strength", "0.5", "--class", "1", "--out", outPNG},
			"inpaint-image": {"inpaint", "--ckpt", good, "--image", p, "--mask", mask, "--out", outPNG},
			"inpaint-mask":  {"inpaint", "--ckpt", good, "--image", img, "--mask", p, "--out", outPNG},
			"style":         {"style", "--content", img, "--style", p, "--out", outPNG},
		} {
			t.Run(verb+"/"+filepath.Base(p), func(t *testing.T) { wantRefused(t, dir, mention, args...) })
		}
	}
}

// TestFlagsRefuseNonsense: values no command can use are refused when the
// flags are parsed, before any file is read or folder made.
func TestFlagsRefuseNonsense(t *testing.T) {
	dir := t.TempDir()
	good := untrainedDiffusion(t, dir)
	run := filepath.Join(t.TempDir(), "run")
	for _, c := range []struct {
		mention string
		args    []string
	}{
		{"--guidance NaN", []string{"sample", "diffusion", "--ckpt", good, "--guidance", "NaN"}},
		{"--guidance +Inf", []string{"sample", "diffusion", "--ckpt", good, "--guidance", "Inf"}},
		{"--guidance 1e+308", []string{"sample", "diffusion", "--ckpt", good, "--guidance", "1e308"}},
		{"--eta NaN", []string{"sample", "diffusion", "--ckpt", good, "--eta", "NaN"}},
		{"--temperature NaN", []string{"sample", "flow", "--ckpt", good, "--temperature", "NaN"}},
		{"--lr NaN", []string{"train", "diffusion", "--lr", "NaN", "--out", run}},
		{"--lr +Inf", []string{"train", "diffusion", "--lr", "Inf", "--out", run}},
		{"--ema NaN", []string{"train", "diffusion", "--ema", "NaN", "--out", run}},
		{"--keep -1", []string{"train", "diffusion", "--keep", "-1", "--out", run}},
		{"--batch -3", []string{"sample", "diffusion", "--ckpt", good, "--batch", "-3"}},
		{"--seed 18446744073709551615", []string{"sample", "diffusion", "--ckpt", good, "--seed", "18446744073709551615"}},
		{"seed+i for 16 images", []string{"sample", "diffusion", "--ckpt", good, "--seed", "9223372036854775800"}},
		{"--max-memory", []string{"sample", "diffusion", "--ckpt", good, "--max-memory", "NaN"}},
		{"needs about", []string{"sample", "diffusion", "--ckpt", good, "--n", "100000", "--batch", "100000000"}},
		{"needs about", []string{"eval", "--ckpt", good, "--n", "1000000000"}},
		{"needs about", []string{"eval", "--ckpt", good, "--bpd-images", "100000000"}},
		{"needs about", []string{"sample", "diffusion", "--ckpt", good, "--max-memory", "1M"}},
	} {
		t.Run(c.mention, func(t *testing.T) { wantRefused(t, dir, c.mention, c.args...) })
	}
	if _, err := os.Stat(run); !os.IsNotExist(err) {
		t.Errorf("a refused train left a run folder: %v", err)
	}
	// A seed that names no image (data show's shuffle) takes any uint64.
	grid := filepath.Join(t.TempDir(), "g.png")
	if status, _, stderr := genlab(t, "data", "show", "mnist", "--n", "4", "--seed", "18446744073709551615", "--grid", grid); status != 0 {
		t.Errorf("data show with seed 2^64-1: exit %d: %s", status, stderr)
	}
}

// TestInfoEscapesNames: tensor names and metadata read from a file reach
// the terminal escaped, never as newlines or escape sequences.
func TestInfoEscapesNames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "evil.safetensors")
	f := &checkpoint.File{
		Metadata: map[string]string{"note\x1b[2J": "line\nforged: yes\x07"},
		Tensors:  []checkpoint.Tensor{checkpoint.F32("w\n  forged.weight F32 [1]\x1b[31m", []int{1}, []float32{1})},
	}
	if err := checkpoint.Save(path, f); err != nil {
		t.Fatal(err)
	}
	status, stdout, stderr := genlab(t, "info", "--ckpt", path)
	if status != 0 {
		t.Fatalf("exit %d: %s", status, stderr)
	}
	if strings.ContainsAny(stdout, "\x1b\x07") || strings.Contains(stdout, "\n  forged") || strings.Contains(stdout, "\nforged") {
		t.Errorf("info printed control characters from the file:\n%q", stdout)
	}
	if !strings.Contains(stdout, `\x1b[31m`) || !strings.Contains(stdout, `line\nforged`) {
		t.Errorf("info does not show the escaped names:\n%s", stdout)
	}
}

// TestTrainErrorIsOneLine: a run refused before it starts says so in one
// line on stderr (the banner goes to stdout).
func TestTrainErrorIsOneLine(t *testing.T) {
	if testing.Short() {
		t.Skip("loads MNIST")
	}
	wantRefused(t, t.TempDir(), "fewer images than one batch", "train", "vae", "--steps", "1", "--batch", "100000", "--out", filepath.Join(t.TempDir(), "run"))
}

// TestOutputsNeverDestroy: outputs never replace the command's inputs, a
// checkpoint, a non-regular file or a file genlab did not write unless
// --overwrite; an existing directory for a file output, or a file for a
// folder output, is refused before any work; a second sample with the same
// seeds into the same folder is refused with a hint, never silent.
func TestOutputsNeverDestroy(t *testing.T) {
	dir := t.TempDir()
	good := untrainedDiffusion(t, dir)
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("my notes"), 0o644)
	folder := filepath.Join(dir, "folder")
	os.Mkdir(folder, 0o755)
	other := filepath.Join(dir, "other.safetensors")
	if err := corpus.EditMetadata(good, other, checkpoint.KeyStep, "2"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "samples")
	sample := func(extra ...string) []string {
		return append([]string{"sample", "diffusion", "--ckpt", good, "--n", "2", "--steps", "2", "--out", out}, extra...)
	}
	for _, c := range []struct {
		mention string
		args    []string
	}{
		{"also an input", sample("--grid", good)},
		{"not written by genlab", sample("--grid", notes)},
		{"is a directory", sample("--grid", folder)},
		{"is a character device", sample("--grid", "/dev/null")},
		{"is not a folder", []string{"sample", "diffusion", "--ckpt", good, "--out", good}},
		{"is not a folder", []string{"sample", "diffusion", "--ckpt", good, "--out", notes}},
		{"is a directory", []string{"edit", "--ckpt", good, "--image", notes, "--strength", "0.5", "--class", "1", "--out", folder}},
		{"also an input", []string{"style", "--content", notes, "--style", notes, "--out", notes}},
		{"not written by genlab", []string{"inpaint", "--ckpt", good, "--image", notes, "--mask", notes, "--out", other}},
	} {
		t.Run(c.mention, func(t *testing.T) { wantRefused(t, dir, c.mention, c.args...) })
	}
	if status, _, stderr := genlab(t, sample("--grid", filepath.Join(out, "grid.png"))...); status != 0 {
		t.Fatalf("first sample: exit %d: %s", status, stderr)
	}
	wantRefused(t, out, "from an earlier run with these seeds", sample("--grid", filepath.Join(out, "grid.png"))...)
	// Other seeds go beside them, replacing only genlab's own grid.
	if status, _, stderr := genlab(t, sample("--seed", "100", "--grid", filepath.Join(out, "grid.png"))...); status != 0 {
		t.Errorf("sample with other seeds: exit %d: %s", status, stderr)
	}
	if status, _, stderr := genlab(t, sample("--overwrite")...); status != 0 {
		t.Errorf("sample --overwrite: exit %d: %s", status, stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "*.png")); len(m) != 5 {
		t.Errorf("folder holds %v; want 4 samples and a grid", m)
	}
}

// TestManifestLimits: a manifest's seeds must stay nameable, and its total
// must fit in memory, checked row by row before batch expands it.
func TestManifestLimits(t *testing.T) {
	dir := t.TempDir()
	good := untrainedDiffusion(t, dir)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	wrap := write("wrap.csv", "class,seed,count\n1,18446744073709551615,2\n")
	edge := write("edge.csv", "class,seed,count\n1,9223372036854775807,2\n")
	var big strings.Builder
	big.WriteString("class,seed,count\n")
	for range 100 {
		big.WriteString("1,0,1000000\n") // 100 million images
	}
	huge := write("huge.csv", big.String())
	out := filepath.Join(t.TempDir(), "out")
	wantRefused(t, dir, "line 2: seed 18446744073709551615", "batch", "--ckpt", good, "--manifest", wrap, "--out", out)
	wantRefused(t, dir, "line 2: seed 9223372036854775807 with count 2", "batch", "--ckpt", good, "--manifest", edge, "--out", out)
	wantRefused(t, dir, "needs about", "batch", "--ckpt", good, "--manifest", huge, "--out", out, "--max-memory", "100M")
	fifo := filepath.Join(dir, "fifo.csv")
	if corpus.FIFO(fifo) == nil {
		wantRefused(t, dir, "named pipe", "batch", "--ckpt", good, "--manifest", fifo, "--out", out)
	}
}

// TestBadConfigsEveryFamily: the VAE's, the flow's and the GAN's configs
// are checked as the diffusion model's: sample and eval refuse absurd,
// negative or mismatched fields and NaN weights in one line, at once.
func TestBadConfigsEveryFamily(t *testing.T) {
	dir := t.TempDir()
	judge, err := eval.NewClassifier(eval.ClassifierConfig{Channels: 4, Features: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	clf := filepath.Join(dir, "judge.safetensors")
	if err := judge.Save(clf, 1, nil); err != nil {
		t.Fatal(err)
	}
	save := func(family string, cfg any, p *models.Params) string {
		raw, _ := json.Marshal(cfg)
		path := filepath.Join(dir, family+".safetensors")
		if err := models.SaveWeights(path, p, models.Meta{Family: family, Config: raw, Step: 1}); err != nil {
			t.Fatal(err)
		}
		return path
	}
	vc := vae.DefaultConfig(1, 28)
	vc.Channels, vc.Latent, vc.Groups = 8, 2, 2
	vn, err := vae.NewNetwork(vc, 1)
	if err != nil {
		t.Fatal(err)
	}
	gc := gan.DefaultConfig(1, 28)
	gc.GenCh, gc.DiscCh, gc.ZDim, gc.Groups = 8, 8, 8, 2
	gn, err := gan.NewNetworks(gc, 1)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := flow.NewConfig("tiny", 1, 28)
	if err != nil {
		t.Fatal(err)
	}
	fn, err := flow.NewNetwork(fc, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range []struct {
		name, good, width string
	}{
		{vae.Family, save(vae.Family, vc, vn.Params), "channels"},
		{gan.Family, save(gan.Family, gc, gn.GP), "gen_ch"},
		{flow.Family, save(flow.Family, fc, fn.Params), "hidden"},
	} {
		bad := map[string]string{}
		edit := func(name, mention string, set map[string]any) {
			p := filepath.Join(dir, fam.name+"-"+name+".safetensors")
			if err := corpus.EditConfig(fam.good, p, set); err != nil {
				t.Fatal(err)
			}
			bad[p] = mention
		}
		edit("wide", fam.width+" 1000000000", map[string]any{fam.width: 1_000_000_000})
		edit("size-1e6", "size 1000000", map[string]any{"size": 1_000_000})
		edit("negative-width", fam.width+" -8", map[string]any{fam.width: -8})
		edit("negative-groups", "groups -2", map[string]any{"groups": -2})
		edit("zero-size", "size 0", map[string]any{"size": 0})
		edit("unlike-weights", "weights do not fit", map[string]any{fam.width: 32})
		nan := filepath.Join(dir, fam.name+"-nan.safetensors")
		if _, err := corpus.Poison(fam.good, nan, "", 0, float32(math.Inf(-1))); err != nil {
			t.Fatal(err)
		}
		bad[nan] = "non-finite"
		out := filepath.Join(t.TempDir(), "out")
		for p, mention := range bad {
			t.Run(filepath.Base(p), func(t *testing.T) {
				wantRefused(t, dir, mention, "sample", fam.name, "--ckpt", p, "--n", "2", "--out", out)
				wantRefused(t, dir, mention, "eval", "--ckpt", p, "--classifier", clf, "--n", "10", "--bpd-images", "0")
			})
		}
	}
}

// TestResumeChecksTheConfig: a resumed run's checkpoint is checked like a
// loaded one, before the network is built from its config.
func TestResumeChecksTheConfig(t *testing.T) {
	dir := t.TempDir()
	good := untrainedDiffusion(t, dir)
	run := filepath.Join(dir, "run")
	os.Mkdir(run, 0o755)
	for _, c := range []struct {
		mention string
		set     map[string]any
	}{
		{"weights do not fit", map[string]any{"unet.channels": 64}},
		{"channels 1000000000", map[string]any{"unet.channels": 1_000_000_000}},
	} {
		if err := corpus.EditConfig(good, filepath.Join(run, "ckpt-000001.safetensors"), c.set); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, dir, c.mention, "train", "diffusion", "--resume", "latest", "--steps", "5", "--out", run)
	}
}
