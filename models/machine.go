package models

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Machine runs a built graph again and again: set the inputs, Run, read the
// outputs (and, for a training graph, the gradients).
type Machine struct {
	g     *Graph
	vm    gorgonia.VM
	loss  *Node
	learn Nodes
}

// Compile makes a machine for g. With a loss, it also differentiates the
// loss with respect to every parameter the graph uses; the gradients are
// summed over runs until ZeroGrads.
func (g *Graph) Compile(loss *Node) (*Machine, error) {
	if g.err != nil {
		return nil, g.err
	}
	m := &Machine{g: g, loss: loss}
	if loss == nil {
		m.vm = gorgonia.NewTapeMachine(g.G)
		return m, nil
	}
	if g.infer {
		return nil, fmt.Errorf("models: a graph built for inference has no gradients")
	}
	if loss.Shape().TotalSize() != 1 {
		return nil, fmt.Errorf("models: loss must be a scalar, got shape %v", loss.Shape())
	}
	m.learn = g.Learnables()
	if _, err := gorgonia.Grad(loss, m.learn...); err != nil {
		return nil, fmt.Errorf("models: differentiate: %w", err)
	}
	m.vm = gorgonia.NewTapeMachine(g.G, gorgonia.BindDualValues(m.learn...))
	return m, nil
}

// Set copies v into the named input.
func (m *Machine) Set(name string, v []float32) error {
	n, ok := m.g.inputs[name]
	if !ok {
		return fmt.Errorf("models: no input %s", name)
	}
	t := n.Value().(*tensor.Dense)
	if t.Shape().TotalSize() != len(v) {
		return fmt.Errorf("models: input %s has %d values, got %d", name, t.Shape().TotalSize(), len(v))
	}
	switch d := t.Data().(type) {
	case []float32:
		copy(d, v)
	case []float64:
		for i, x := range v {
			d[i] = float64(x)
		}
	}
	return nil
}

// Input returns the named input's tensor, to fill in place.
func (m *Machine) Input(name string) *tensor.Dense {
	if n, ok := m.g.inputs[name]; ok {
		return n.Value().(*tensor.Dense)
	}
	return nil
}

// Run evaluates the graph once (forward, and backward when there is a loss).
func (m *Machine) Run() error {
	m.vm.Reset()
	return m.vm.RunAll()
}

// Loss is the last run's loss.
func (m *Machine) Loss() float64 {
	switch v := m.loss.Value().Data().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	case []float32:
		return float64(v[0])
	case []float64:
		return v[0]
	}
	return 0
}

// Grads maps parameter names to their summed gradients (views, not copies).
func (m *Machine) Grads() (map[string]*tensor.Dense, error) {
	out := make(map[string]*tensor.Dense, len(m.learn))
	for _, n := range m.learn {
		gv, err := n.Grad()
		if err != nil {
			return nil, fmt.Errorf("models: gradient of %s: %w", n.Name(), err)
		}
		out[n.Name()] = gv.(*tensor.Dense)
	}
	return out, nil
}

// ZeroGrads clears the summed gradients before the next step.
func (m *Machine) ZeroGrads() {
	for _, n := range m.learn {
		if gv, err := n.Grad(); err == nil {
			gv.(*tensor.Dense).Zero()
		}
	}
}

// Close releases the machine.
func (m *Machine) Close() error { return m.vm.Close() }
