package datasets

import (
	"fmt"
	"os"
	"path/filepath"
)

// Sizes and seeds of the shapes splits that Load generates. The training
// split is kept at 20000 images: at 3x32x32 float32 that is already 246 MB,
// and the per-image jitter makes more images add little (Shapes makes any
// number for callers that want them).
const (
	ShapesTrainN   = 20000
	ShapesTestN    = 5000
	ShapesHeldOutN = 5000
	// ShapesNewN is the size of the "new" split: a fine-tune's handful of
	// examples of the new concepts.
	ShapesNewN = 64
)

// shapesSplits maps each Load split of "shapes" to its size and seed; the
// seeds differ so train and test hold different images.
var shapesSplits = map[string]struct {
	n    int
	seed uint64
}{
	"train":   {ShapesTrainN, 1},
	"test":    {ShapesTestN, 2},
	"heldout": {ShapesHeldOutN, 3},
	"all":     {ShapesTrainN, 4},
	"new":     {ShapesNewN, 6},
	"newall":  {ShapesTestN, 7},
}

// Sizes and seeds of the clips splits Load generates (ClipFrames frames
// each): 4000 training clips are 393 MB of float32.
var clipsSplits = map[string]struct {
	n    int
	seed uint64
}{
	"train":   {4000, 1},
	"test":    {500, 2},
	"heldout": {500, 3},
	"all":     {4000, 4},
}

// Folder images that Load reads are resized to FolderSize x FolderSize RGB,
// the shapes geometry, which the generators' default configs handle.
const FolderSize = 32

// Load returns the named dataset, the entry point of the CLI's --data flag:
//
//   - "mnist": split "train" or "test" (see LoadMNIST);
//   - "shapes": split "train" (ShapesTrainN images), "test" (ShapesTestN,
//     same held-out rule as train, other images), "heldout" (ShapesHeldOutN
//     images of held-out pairs only), "all", "new" (ShapesNewN images of the
//     new concepts purple and star, the few examples a fine-tune learns
//     from) or "newall" (ShapesTestN images of every new-concept pair);
//   - "shapes-new": the shapes "new" split whatever the split asked;
//   - "clips": short captioned videos of a moving, growing, shrinking or
//     turning shape (see Clips), split "train", "test", "heldout" or "all";
//   - a folder of PNG/JPEG images, loaded as FolderSize x FolderSize RGB. If
//     the folder has a subfolder named after the split (DIR/train,
//     DIR/test), that subfolder is loaded; otherwise the folder itself is,
//     whatever the split.
//
// An empty split means "train".
func Load(name, split string) (*Set, error) {
	if split == "" {
		split = "train"
	}
	switch name {
	case "mnist":
		return LoadMNIST(split)
	case "shapes-new":
		split = "new"
		fallthrough
	case "shapes":
		sp, ok := shapesSplits[split]
		if !ok {
			return nil, fmt.Errorf("datasets: shapes: unknown split %q: use train, test, heldout, all, new or newall", split)
		}
		return Shapes(sp.n, sp.seed, split), nil
	case "clips":
		sp, ok := clipsSplits[split]
		if !ok {
			return nil, fmt.Errorf("datasets: clips: unknown split %q: use train, test, heldout or all", split)
		}
		return Clips(sp.n, ClipFrames, sp.seed, split), nil
	}
	st, err := os.Stat(name)
	if err != nil || !st.IsDir() {
		return nil, fmt.Errorf("datasets: unknown dataset %q: use mnist, shapes, shapes-new, clips or a folder of images", name)
	}
	dir := name
	if st, err := os.Stat(filepath.Join(name, split)); err == nil && st.IsDir() {
		dir = filepath.Join(name, split)
	}
	return LoadFolder(dir, FolderSize, 3)
}
