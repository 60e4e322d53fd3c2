package datasets

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // for image.DecodeConfig
	_ "image/png"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"genlab/internal/pathcheck"

	"github.com/disintegration/imaging"
)

// folderExts are the file extensions LoadFolder reads (compared in lower case).
var folderExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true}

// LoadFolder loads every PNG and JPEG file in dir (not its subfolders), in
// file-name order, as a Set of size x size images with channels 1 (grey,
// ITU-R BT.601 luma) or 3 (RGB). Each image is turned upright by its EXIF
// orientation, centre-cropped to a square and resized with a Lanczos
// filter; transparent pixels are composited over black.
//
// A metadata.jsonl file, as diffusers' ImageFolder training scripts read
// it, gives the images captions: one JSON object per line with the
// image's "file_name" and its "text". Every image then needs a line, and
// every line an image.
//
// Hidden files (".DS_Store") and subfolders are skipped. Any other file
// that is not a PNG or JPEG, or fails to decode, is an error naming it: a
// file silently left out of a training set is harder to notice than a
// refusal.
func LoadFolder(dir string, size, channels int) (*Set, error) {
	if size < 1 {
		return nil, fmt.Errorf("datasets: image size %d, want >= 1", size)
	}
	if channels != 1 && channels != 3 {
		return nil, fmt.Errorf("datasets: %d channels, want 1 or 3", channels)
	}
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	var paths []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || e.IsDir() || name == MetadataFile {
			continue
		}
		path := filepath.Join(dir, name)
		if !folderExts[strings.ToLower(filepath.Ext(name))] {
			return nil, &FormatError{File: path, Reason: "not a PNG or JPEG image (want .png, .jpg or .jpeg); move it out of the folder"}
		}
		paths = append(paths, path)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("datasets: %s: no PNG or JPEG images in this folder", dir)
	}

	d := channels * size * size
	s := &Set{
		Name: dir, N: len(paths), C: channels, H: size, W: size,
		Pixels: make([]float32, len(paths)*d),
	}
	// Decoding and Lanczos resizing dominate, so spread files over the
	// cores; each writes its own slot, so the result is order-independent.
	errs := make([]error, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(paths)) {
		wg.Go(func() {
			for i := range next {
				errs[i] = loadFolderImage(s.Pixels[i*d:(i+1)*d], paths[i], size, channels)
			}
		})
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the first failing file in name order
		}
	}
	if s.Captions, err = readMetadata(dir, paths); err != nil {
		return nil, err
	}
	return s, nil
}

// MetadataFile is the captions file of an image folder.
const MetadataFile = "metadata.jsonl"

// readMetadata reads dir's metadata.jsonl, if any, into a caption per
// image of paths (nil without the file).
func readMetadata(dir string, paths []string) ([]string, error) {
	path := filepath.Join(dir, MetadataFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	text := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var rec struct {
			FileName *string `json:"file_name"`
			Text     *string `json:"text"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.FileName == nil || rec.Text == nil {
			return nil, &FormatError{File: path, Reason: fmt.Sprintf(`line %d: want {"file_name": "...", "text": "..."}`, i+1)}
		}
		name := *rec.FileName
		if _, dup := text[name]; dup {
			return nil, &FormatError{File: path, Reason: fmt.Sprintf("line %d: %s has a caption already", i+1, name)}
		}
		if !slices.ContainsFunc(paths, func(p string) bool { return filepath.Base(p) == name }) {
			return nil, &FormatError{File: path, Reason: fmt.Sprintf("line %d: no image %s in the folder", i+1, name)}
		}
		text[name] = *rec.Text
	}
	captions := make([]string, len(paths))
	for i, p := range paths {
		c, ok := text[filepath.Base(p)]
		if !ok {
			return nil, &FormatError{File: path, Reason: "no caption for " + filepath.Base(p)}
		}
		captions[i] = c
	}
	return captions, nil
}

// maxFolderPixels refuses images whose header promises more pixels than any
// camera makes, before decoding allocates memory for them.
const maxFolderPixels = 1 << 27

func loadFolderImage(dst []float32, path string, size, channels int) error {
	if err := checkImageHeader(path); err != nil {
		return err
	}
	img, err := imaging.Open(path, imaging.AutoOrientation(true))
	if err != nil {
		return &FormatError{File: path, Reason: fmt.Sprintf("cannot decode image: %v", err)}
	}
	if b := img.Bounds(); b.Dx() < 1 || b.Dy() < 1 {
		return &FormatError{File: path, Reason: fmt.Sprintf("empty image (%dx%d)", b.Dx(), b.Dy())}
	}
	fitted := imaging.Fill(img, size, size, imaging.Center, imaging.Lanczos)
	nrgbaToCHW(dst, fitted, channels)
	return nil
}

// checkImageHeader reads only the image header, so a corrupt or hostile
// size is refused without decoding.
func checkImageHeader(path string) error {
	if err := pathcheck.Regular(path); err != nil {
		var nr *pathcheck.NotRegularError
		if errors.As(err, &nr) {
			return &FormatError{File: path, Reason: "is " + nr.Kind + ", not an image; move it out of the folder"}
		}
		return fmt.Errorf("datasets: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		return &FormatError{File: path, Reason: fmt.Sprintf("cannot decode image: %v", err)}
	}
	if format != "png" && format != "jpeg" {
		return &FormatError{File: path, Reason: fmt.Sprintf("a %s image with a PNG or JPEG name; convert it to PNG", format)}
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxFolderPixels {
		return &FormatError{File: path, Reason: fmt.Sprintf("%dx%d pixels, more than the %d this loader accepts", cfg.Width, cfg.Height, maxFolderPixels)}
	}
	return nil
}

// nrgbaToCHW converts m (size x size, non-premultiplied) to CHW floats in
// [0,1]. Multiplying by alpha composites over black.
func nrgbaToCHW(dst []float32, m *image.NRGBA, channels int) {
	w, h := m.Bounds().Dx(), m.Bounds().Dy()
	plane := w * h
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := y*m.Stride + 4*x
			a := float32(m.Pix[o+3]) / 255
			r := float32(m.Pix[o]) / 255 * a
			g := float32(m.Pix[o+1]) / 255 * a
			b := float32(m.Pix[o+2]) / 255 * a
			p := y*w + x
			if channels == 1 {
				dst[p] = min(1, 0.299*r+0.587*g+0.114*b)
			} else {
				dst[p], dst[plane+p], dst[2*plane+p] = r, g, b
			}
		}
	}
}
