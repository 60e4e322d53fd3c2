package ui

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"time"

	"genlab/images"
	"genlab/pipeline"

	"gioui.org/layout"
	"gioui.org/op"
	"gioui.org/widget"
	"gioui.org/widget/material"
)

// A clip (a video model's result, or an animated PNG opened from disk)
// plays in the stage's pane and the zoomed view: it starts playing when
// selected, Pause holds the frame shown, and the frame slider picks one
// (and pauses). Its gallery tile shows frame 1.

// player is the state of the clip shown.
type player struct {
	clip    image.Image // the clip's frame 1: another selection starts anew
	playing bool
	frame   int       // the frame shown when paused; where playing started
	cur     int       // the frame shown in the last frame of the window
	since   time.Time // when playing started (zero: at the next frame)
	btn     widget.Clickable
	slider  widget.Float
}

// shownClip is the clip the stage or the zoomed view shows (nil for none).
func (u *UI) shownClip() *Result {
	if u.tab != TabGenerate && !u.zoom {
		return nil
	}
	if u.sel < 0 || u.sel >= len(u.results) || !u.results[u.sel].IsClip() {
		return nil
	}
	if js := u.tabs[TabGenerate].job; !u.zoom && js != nil && js.Status().Running && js.Status().Preview != nil {
		return nil // the live preview is on the stage
	}
	return &u.results[u.sel]
}

// delay is how long r shows each frame.
func (r *Result) delay() time.Duration {
	if r.DelayMS <= 0 {
		return pipeline.FrameDelayMS * time.Millisecond
	}
	return time.Duration(r.DelayMS) * time.Millisecond
}

// frameAt is the frame of r the player shows at now.
func (p *player) frameAt(r *Result, now time.Time) int {
	n := len(r.Frames)
	if !p.playing || p.since.IsZero() {
		return min(p.frame, n-1)
	}
	return (p.frame + int(now.Sub(p.since)/r.delay())) % n
}

// updatePlayer handles the player's button and slider, and asks for a
// frame when the next clip frame is due.
func (u *UI) updatePlayer(gtx C) {
	p := &u.player
	r := u.shownClip()
	if r == nil {
		p.btn.Clicked(gtx)
		p.slider.Update(gtx)
		return
	}
	if p.clip != r.Frames[0] {
		*p = player{clip: r.Frames[0], playing: true}
	}
	if p.since.IsZero() && p.playing {
		p.since = gtx.Now
	}
	if p.btn.Clicked(gtx) {
		u.playPause(gtx.Now)
	}
	n := len(r.Frames)
	if p.slider.Update(gtx) {
		p.frame = int(math.Round(float64(p.slider.Value) * float64(n-1)))
		p.playing = false
	}
	p.cur = p.frameAt(r, gtx.Now)
	p.slider.Value = float32(p.cur) / float32(n-1)
	if p.playing {
		d := r.delay()
		next := p.since.Add((gtx.Now.Sub(p.since)/d + 1) * d)
		gtx.Execute(op.InvalidateCmd{At: next})
	}
}

// playPause pauses the clip shown on its frame, or plays it on from there.
func (u *UI) playPause(now time.Time) {
	p := &u.player
	r := u.shownClip()
	if r == nil {
		return
	}
	if p.playing {
		p.frame, p.playing = p.frameAt(r, now), false
	} else {
		p.since, p.playing = now, true
	}
}

// PlayPause pauses or plays the clip shown (Pause and Play do).
func (u *UI) PlayPause() { u.playPause(time.Now()) }

// ClipFrame is the frame of the clip shown in the last frame of the
// window, its frames and whether it plays (0, 0, false when no clip is
// shown).
func (u *UI) ClipFrame() (frame, frames int, playing bool) {
	r := u.shownClip()
	if r == nil || u.player.clip != r.Frames[0] {
		return 0, 0, false
	}
	return u.player.cur, len(r.Frames), u.player.playing
}

// frameShown is the image of r the stage shows: the player's frame of
// the clip shown, or r's image.
func (u *UI) frameShown(r *Result) image.Image {
	if r.IsClip() && u.player.clip == r.Frames[0] {
		return r.Frames[min(u.player.cur, len(r.Frames)-1)]
	}
	return r.Image
}

// layoutPlayer is the clip's controls beside its pane: Play or Pause,
// the frame slider and the frame shown.
func (u *UI) layoutPlayer(gtx C) D {
	r := u.shownClip()
	if r == nil {
		return D{}
	}
	p := &u.player
	txt := "Pause"
	if !p.playing {
		txt = "Play"
	}
	n := len(r.Frames)
	gtx.Constraints.Max.X = min(gtx.Constraints.Max.X, gtx.Dp(320))
	gtx.Constraints.Min.X = 0
	return layout.Flex{Axis: layout.Vertical}.Layout(gtx,
		layout.Rigid(func(gtx C) D { return layout.Spacer{Height: 18}.Layout(gtx) }),
		layout.Rigid(u.button(&p.btn, txt, true)),
		gap(8),
		layout.Rigid(func(gtx C) D {
			gtx.Constraints.Min.X = gtx.Constraints.Max.X
			return material.Slider(u.th, &p.slider).Layout(gtx)
		}),
		layout.Rigid(u.muted(fmt.Sprintf("frame %d of %d · %d fps", p.cur+1, n, int(time.Second/r.delay())))),
		gap(4),
		layout.Rigid(u.muted("an animated PNG: any PNG reader shows frame 1")),
	)
}

// loadClip reads the frames of the animated PNG at path (nil for a still
// image) and how long each is shown.
func loadClip(path string) ([]image.Image, int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0
	}
	if n, err := images.AnimationFrames(bytes.NewReader(b)); err != nil || n < 2 {
		return nil, 0
	}
	a, err := images.DecodeAnimation(b)
	if err != nil || len(a.Frames) < 2 {
		return nil, 0
	}
	return a.Frames, a.DelayMS[0]
}

// saveResult writes r's image, or its clip as an animated PNG, to path
// with params, each frame enlarged f times.
func saveResult(path string, r *Result, f int, params string) error {
	if !r.IsClip() {
		img := r.Image
		if f > 1 {
			img = Enlarge(img, f)
		}
		return images.Save(path, img, params)
	}
	frames := r.Frames
	if f > 1 {
		frames = make([]image.Image, len(r.Frames))
		for i, fr := range r.Frames {
			frames[i] = Enlarge(fr, f)
		}
	}
	return images.SaveAnimation(path, frames, int(r.delay()/time.Millisecond), params)
}

// firstFrameRow is an image-to-video model's choice of its clips' first
// frame: drawn, or the gallery's selected image.
func (u *UI) firstFrameRow() layout.Widget {
	return func(gtx C) D {
		return layout.Inset{Bottom: 6}.Layout(gtx, func(gtx C) D {
			cb := material.CheckBox(u.th, &u.firstFromSel, "start from the selected image")
			cb.TextSize = 13
			return cb.Layout(gtx)
		})
	}
}

// firstFrame is the gallery's selected image (the frame shown of a clip)
// as m's first frame.
func (u *UI) firstFrame(m *Model) (image.Image, error) {
	if u.sel < 0 || u.sel >= len(u.results) {
		return nil, errors.New("select the first frame's image in the gallery, or untick start from the selected image")
	}
	img := u.frameShown(&u.results[u.sel])
	if b := img.Bounds(); b.Dx() != m.Size || b.Dy() != m.Size {
		return nil, fmt.Errorf("the selected image is %dx%d; %s starts clips from %dx%d frames", b.Dx(), b.Dy(), m.Name(), m.Size, m.Size)
	}
	return img, nil
}
