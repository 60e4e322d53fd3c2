package images

import (
	"image"
	"image/color"
	"testing"
)

func solid(w, h int, c uint8) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = c
	}
	return img
}

func TestGridGeometry(t *testing.T) {
	tests := []struct {
		name         string
		n, cols, pad int
		w, h         int // tile size
		wantCols     int
		wantW, wantH int
	}{
		{"64 MNIST samples: 8x8", 64, 0, 2, 28, 28, 8, 8*28 + 9*2, 8*28 + 9*2},
		{"5 tiles: 3 columns, 2 rows", 5, 0, 2, 10, 6, 3, 3*10 + 4*2, 2*6 + 3*2},
		{"one tile", 1, 0, 2, 4, 4, 1, 4 + 2*2, 4 + 2*2},
		{"explicit columns", 6, 2, 1, 3, 3, 2, 2*3 + 3, 3*3 + 4},
		{"columns capped at n", 3, 10, 0, 5, 5, 3, 15, 5},
		{"no padding", 4, 0, 0, 7, 2, 2, 14, 4},
		{"negative padding is none", 4, 0, -3, 7, 2, 2, 14, 4},
		{"25 samples", 25, 0, 2, 32, 32, 5, 5*32 + 6*2, 5*32 + 6*2},
		{"10 samples: 4 columns", 10, 0, 2, 1, 1, 4, 4 + 5*2, 3 + 4*2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tiles := make([]image.Image, tt.n)
			for i := range tiles {
				tiles[i] = solid(tt.w, tt.h, uint8(10+i))
			}
			bg := color.NRGBA{200, 0, 0, 255}
			g := Grid(tiles, tt.cols, tt.pad, bg)
			if got := g.Bounds(); got != image.Rect(0, 0, tt.wantW, tt.wantH) {
				t.Fatalf("bounds %v, want %dx%d", got, tt.wantW, tt.wantH)
			}
			pad := max(tt.pad, 0)
			for i := range tiles {
				at := GridCell(i, tt.wantCols, tt.w, tt.h, pad)
				if want := image.Pt(pad+(i%tt.wantCols)*(tt.w+pad), pad+(i/tt.wantCols)*(tt.h+pad)); at != want {
					t.Fatalf("GridCell(%d) = %v, want %v", i, at, want)
				}
				for _, p := range []image.Point{at, at.Add(image.Pt(tt.w-1, tt.h-1))} {
					if got := color.NRGBAModel.Convert(g.At(p.X, p.Y)); got != (color.NRGBA{uint8(10 + i), uint8(10 + i), uint8(10 + i), 255}) {
						t.Fatalf("tile %d pixel %v = %v", i, p, got)
					}
				}
			}
			if pad > 0 {
				for _, p := range []image.Point{{0, 0}, {tt.wantW - 1, tt.wantH - 1}, {pad + tt.w, pad}} {
					if got := g.At(p.X, p.Y); color.NRGBAModel.Convert(got) != bg {
						t.Errorf("padding pixel %v = %v, want %v", p, got, bg)
					}
				}
			}
		})
	}
}

func TestGridMixedSizes(t *testing.T) {
	g := Grid([]image.Image{solid(4, 2, 50), nil, solid(2, 6, 60)}, 0, 1, nil)
	// 2 columns of 4x6 cells: 2*4+3 by 2*6+3.
	if got := g.Bounds().Size(); got != image.Pt(11, 15) {
		t.Fatalf("size %v, want 11x15", got)
	}
	if got := color.GrayModel.Convert(g.At(1, 1)).(color.Gray).Y; got != 50 {
		t.Errorf("tile 0 = %d", got)
	}
	if got := color.NRGBAModel.Convert(g.At(1, 2+1+1)); got != (color.NRGBA{0, 0, 0, 255}) {
		t.Errorf("below a short tile = %v, want the black background", got)
	}
	if got := color.NRGBAModel.Convert(g.At(6, 1)); got != (color.NRGBA{0, 0, 0, 255}) {
		t.Errorf("nil tile cell = %v, want background", got)
	}
	if got := color.GrayModel.Convert(g.At(1, 8)).(color.Gray).Y; got != 60 {
		t.Errorf("tile 2 = %d", got)
	}
}

func TestGridEmpty(t *testing.T) {
	if g := Grid(nil, 0, 2, nil); !g.Bounds().Empty() {
		t.Errorf("Grid(nil) = %v", g.Bounds())
	}
}

func TestGridOffsetTiles(t *testing.T) {
	// A sub-image's bounds do not start at 0,0.
	big := solid(10, 10, 0)
	big.SetGray(5, 5, color.Gray{99})
	sub := big.SubImage(image.Rect(5, 5, 7, 7))
	g := Grid([]image.Image{sub}, 0, 2, nil)
	if got := color.GrayModel.Convert(g.At(2, 2)).(color.Gray).Y; got != 99 {
		t.Errorf("sub-image pixel = %d, want 99", got)
	}
}

func TestGridColumns(t *testing.T) {
	for n, want := range map[int]int{0: 1, 1: 1, 2: 2, 4: 2, 5: 3, 9: 3, 10: 4, 16: 4, 17: 5, 64: 8, 65: 9, 100: 10} {
		if got := GridColumns(n); got != want {
			t.Errorf("GridColumns(%d) = %d, want %d", n, got, want)
		}
	}
}
