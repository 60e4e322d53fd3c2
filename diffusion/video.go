package diffusion

import (
	"fmt"

	"genlab/models"
)

// Video: a model with Config.Frames > 0 draws clips. A clip is one sample
// of Dim() = Frames·C·S·S values, frame after frame, so the schedule, the
// samplers, guidance and the training loss treat it as they treat an
// image: one time t and one noise draw per clip. Only the network differs:
// its graph runs the clip's frames as a batch of images through a
// models.VideoUNet, every per-image input (time embedding, prompt tokens,
// coordinate channels) repeated for each frame, plus each frame's index
// and, with FirstFrame, the clip's first frame and a given/not-given mask.

// frames is the frames of one sample: 1 for an image model.
func (n *Network) frames() int { return max(1, n.Config.Frames) }

// Frames is the number of frames of the clips a video model draws, 0 for
// an image model.
func (n *Network) Frames() int { return n.Config.Frames }

// firstChannels is the conditioning channels the first frame takes: its
// own and the mask.
func (c Config) firstChannels() int {
	if !c.FirstFrame {
		return 0
	}
	in := c.UNet.InChannels
	if in == 0 {
		in = models.ReferenceUNet().InChannels
	}
	return in + 1
}

// validateVideo checks the video fields of a config.
func (c Config) validateVideo() error {
	switch {
	case c.Frames == 0 && (c.FirstFrame || c.FirstDrop != 0):
		return fmt.Errorf("diffusion: a first-frame condition needs a video model (frames > 0)")
	case c.Frames == 1:
		return fmt.Errorf("diffusion: frames 1: a video model draws clips of at least 2 frames")
	case c.Frames > 0 && c.Cond != "none" && c.Cond != "text":
		return fmt.Errorf("diffusion: a video model is unconditional or text-conditioned, not %s", condName(c.Cond))
	case c.FirstFrame && c.UNet.CondChannels < c.firstChannels():
		return fmt.Errorf("diffusion: a first-frame model with %d conditioning channels, want at least %d", c.UNet.CondChannels, c.firstChannels())
	}
	return nil
}

// SetVideo makes c a video config for clips of the given frames, with the
// first-frame condition (image-to-video) given to half the training clips.
func (c *Config) SetVideo(frames int) error {
	if frames < 2 || frames > models.MaxFrames {
		return fmt.Errorf("diffusion: clips of %d frames: want 2 to %d", frames, models.MaxFrames)
	}
	c.Frames, c.FirstFrame, c.FirstDrop = frames, true, 0.5
	c.UNet.CondChannels += c.firstChannels()
	return c.Validate()
}

// perFrame repeats each row f times: a clip's per-image input for each of
// its frames.
func perFrame[T any](rows []T, f int) []T {
	if f == 1 {
		return rows
	}
	out := make([]T, 0, len(rows)*f)
	for _, r := range rows {
		for range f {
			out = append(out, r)
		}
	}
	return out
}

// setVideoInputs feeds a video graph's frame indices and first frames for
// b clips.
func (n *Network) setVideoInputs(m *models.Machine, b int, c Condition) error {
	if n.video == nil {
		if c.First != nil {
			return fmt.Errorf("diffusion: a first frame for an image model")
		}
		return nil
	}
	f := n.frames()
	ids := make([]float32, b*f)
	for i := range ids {
		ids[i] = float32(i % f)
	}
	if err := m.Set("frame", ids); err != nil {
		return err
	}
	if !n.Config.FirstFrame {
		if c.First != nil {
			return fmt.Errorf("diffusion: this video model takes no first frame")
		}
		return nil
	}
	if c.First != nil && len(c.First) != b {
		return fmt.Errorf("diffusion: %d first frames for %d clips", len(c.First), b)
	}
	u := n.Config.UNet
	d := u.InChannels * u.Size * u.Size
	plane := u.Size * u.Size
	buf := make([]float32, b*f*(d+plane))
	for i := range b {
		if c.First == nil || c.First[i] == nil {
			continue // no frame: zeros, and the mask says so
		}
		if len(c.First[i]) != d {
			return fmt.Errorf("diffusion: a first frame of %d values, the model's frames have %d", len(c.First[i]), d)
		}
		for k := range f {
			img := buf[(i*f+k)*(d+plane):][:d+plane]
			copy(img, c.First[i])
			for j := d; j < len(img); j++ {
				img[j] = 1
			}
		}
	}
	return m.Set("first", buf)
}

// firstFrames turns per-clip first frames in pixels ([0,1], nil for none)
// into the model's range.
func (n *Network) firstFrames(pix [][]float32) ([][]float32, error) {
	if pix == nil {
		return nil, nil
	}
	u := n.Config.UNet
	d := u.InChannels * u.Size * u.Size
	out := make([][]float32, len(pix))
	for i, p := range pix {
		if p == nil {
			continue
		}
		if !n.Config.FirstFrame {
			return nil, fmt.Errorf("diffusion: this %s takes no first frame", n.kind())
		}
		if len(p) != d {
			return nil, fmt.Errorf("diffusion: a first frame of %d values, the model's frames are %dx%dx%d", len(p), u.InChannels, u.Size, u.Size)
		}
		out[i] = make([]float32, d)
		ToModelRange(out[i], p)
	}
	return out, nil
}

// kind names the model for messages.
func (n *Network) kind() string {
	if n.video != nil {
		return condName(n.Config.Cond) + " video model"
	}
	return condName(n.Config.Cond) + " model"
}

// ClipStrips lays each of n clips (frames·c·s·s values) out as one image
// of c×s×(frames·s), its frames side by side: training grids show clips
// as frame strips.
func ClipStrips(pix []float32, n, frames, c, s int) []float32 {
	out := make([]float32, len(pix))
	d := c * s * s
	w := frames * s
	for i := range n {
		for f := range frames {
			src := pix[(i*frames+f)*d:][:d]
			for ch := range c {
				for y := range s {
					copy(out[i*frames*d+ch*s*w+y*w+f*s:][:s], src[ch*s*s+y*s:][:s])
				}
			}
		}
	}
	return out
}
