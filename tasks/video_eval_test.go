package tasks

import (
	"slices"
	"testing"

	"genlab/datasets"
)

// Real clips show their caption's motion by the measure eval-video uses
// (turning given the true colours); played backwards, moves, growing and
// shrinking do not; a still clip has no frame change.
func TestMotionMeasureOnRealClips(t *testing.T) {
	const frames, s = 8, 32
	set := datasets.Clips(150, frames, 4, "all")
	d := 3 * s * s
	for i := range set.N {
		a, err := datasets.ClipAttrsOf(set, i)
		if err != nil {
			t.Fatal(err)
		}
		clip := set.Image(i)
		if !MotionMatches(a, TrackClip(clip, frames, s), a.Color, a.To) {
			t.Errorf("%q: real clip's motion not recognised: %+v", set.Captions[i], TrackClip(clip, frames, s))
		}
		back := make([]float32, len(clip))
		for f := range frames {
			copy(back[f*d:(f+1)*d], clip[(frames-1-f)*d:(frames-f)*d])
		}
		if a.Motion != "turning" && MotionMatches(a, TrackClip(back, frames, s), a.Color, a.To) {
			t.Errorf("%q played backwards passes as its motion", set.Captions[i])
		}
	}
	still := slices.Repeat(set.Image(0)[:d], frames)
	if c := FrameChange(still, 1, frames, d); c != 0 {
		t.Errorf("a still clip changes by %v", c)
	}
	if c := FrameChange(set.Pixels, set.N, frames, d); !(c > 0.001 && c < 0.1) {
		t.Errorf("real clips change by %v a pixel a frame", c)
	}
}
