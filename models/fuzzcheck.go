package models

import (
	"fmt"

	"gorgonia.org/tensor"
)

// CheckBuilt is the property the config fuzzers check of every config a
// family's parser accepts: the model it describes builds (in a shape-only
// store, so nothing is allocated) with every dimension of every parameter
// positive and every parameter's size within an int.
func CheckBuilt(build func(*Params) error) error {
	p := NewShapeParams(tensor.Float32)
	if err := build(p); err != nil {
		return fmt.Errorf("accepted config does not build: %w", err)
	}
	for name, s := range p.Shapes() {
		n := 1
		for _, d := range s {
			if d < 1 {
				return fmt.Errorf("parameter %s has shape %v", name, s)
			}
			if n > (1<<62)/d {
				return fmt.Errorf("parameter %s of shape %v overflows", name, s)
			}
			n *= d
		}
	}
	return nil
}
