package images

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Parameters are the generation settings stored with an image, in the
// AUTOMATIC1111 "parameters" text format:
//
//	<prompt, may span lines>
//	Negative prompt: <negative prompt, may span lines>
//	Steps: 50, Sampler: DDIM, CFG scale: 2, Seed: 42, Size: 28x28, Model: ckpt-000500, Model hash: 0123456789, Family: diffusion
//
// The last line holds "Key: value" pairs separated by ", ". A value holding
// ',', ':' or a newline is written as a JSON string, as A1111 does.
type Parameters struct {
	Prompt         string
	NegativePrompt string
	Steps          int     // "Steps", omitted when 0
	Sampler        string  // "Sampler", e.g. "DDIM"; omitted when ""
	CFGScale       float64 // "CFG scale" (classifier-free guidance), omitted when 0 unless ZeroCFG
	// ZeroCFG says the image was drawn at CFG scale 0 (the unconditional
	// model of a guided one): "CFG scale: 0" is written. Parsing sets it
	// when the text says "CFG scale: 0".
	ZeroCFG       bool
	Seed          int64  // "Seed", always written: 0 is a valid seed
	Width, Height int    // "Size: WxH", omitted when either is 0
	Model         string // "Model", the checkpoint's name
	ModelHash     string // "Model hash", see ModelHash
	Family        string // "Family" (genlab's own key): "diffusion", "vae", "flow", "gan"
	// VariationSeed and VariationStrength are AUTOMATIC1111's
	// "Variation seed" and "Variation seed strength": the noise was moved
	// towards that seed's by that much. Both are omitted when the
	// strength is 0.
	VariationSeed     int64
	VariationStrength float64
	// Extra holds every other pair, in order, e.g. "Denoising strength".
	// Keys must not repeat the fields above, nor contain ':' or ','.
	Extra []Field
}

// Field is one "Key: value" pair of the parameters line.
type Field struct {
	Key, Value string
}

// Lookup returns the value of the Extra field key.
func (p Parameters) Lookup(key string) (string, bool) {
	for _, f := range p.Extra {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// String formats p in the A1111 format. The prompt lines come first, then
// "Negative prompt: ..." if there is one, then the parameters line in the
// order of docs/formats.md: Steps, Sampler, CFG scale, Seed, Size, Model, Model
// hash, Family, Variation seed, Variation seed strength, then Extra. Zero fields are left out, except Seed.
func (p Parameters) String() string {
	var fields []string
	add := func(key, value string) {
		fields = append(fields, key+": "+quote(value))
	}
	if p.Steps != 0 {
		add("Steps", strconv.Itoa(p.Steps))
	}
	if p.Sampler != "" {
		add("Sampler", p.Sampler)
	}
	if p.CFGScale != 0 || p.ZeroCFG {
		add("CFG scale", strconv.FormatFloat(p.CFGScale, 'g', -1, 64))
	}
	add("Seed", strconv.FormatInt(p.Seed, 10))
	if p.Width != 0 && p.Height != 0 {
		add("Size", fmt.Sprintf("%dx%d", p.Width, p.Height))
	}
	if p.Model != "" {
		add("Model", p.Model)
	}
	if p.ModelHash != "" {
		add("Model hash", p.ModelHash)
	}
	if p.Family != "" {
		add("Family", p.Family)
	}
	if p.VariationStrength != 0 {
		add("Variation seed", strconv.FormatInt(p.VariationSeed, 10))
		add("Variation seed strength", strconv.FormatFloat(p.VariationStrength, 'g', -1, 64))
	}
	for _, f := range p.Extra {
		add(f.Key, f.Value)
	}

	var lines []string
	if p.Prompt != "" {
		lines = append(lines, p.Prompt)
	}
	if p.NegativePrompt != "" {
		lines = append(lines, "Negative prompt: "+p.NegativePrompt)
	}
	lines = append(lines, strings.Join(fields, ", "))
	return strings.Join(lines, "\n")
}

// quote writes a value as A1111 does: as is, unless it holds a comma, a
// colon or a newline, then as a JSON string. Unlike A1111 it also quotes a
// value that starts with a quote or has surrounding spaces, so that parsing
// gives it back unchanged.
func quote(v string) string {
	if !strings.ContainsAny(v, ",:\n") && !strings.HasPrefix(v, `"`) && v == strings.TrimSpace(v) {
		return v
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	enc.Encode(v) // cannot fail for a string
	return strings.TrimSuffix(sb.String(), "\n")
}

// ParseParameters parses text in the A1111 "parameters" format, as written
// by String, by AUTOMATIC1111 or by tools copying it. Like A1111's own
// parser it strips each line, takes everything before a line starting with
// "Negative prompt:" as the prompt, and reads the last line as the
// parameters line if it holds at least 3 "Key: value" pairs; genlab also
// accepts a shorter last line made only of pairs that include a key it
// knows (such as "Seed: 7"). Keys it does not know go to Extra in order.
//
// Text without a parameters line is all prompt, and not an error. A known
// key whose value does not parse (e.g. "Steps: many") is reported in the
// error, after the rest has been parsed into p.
func ParseParameters(s string) (Parameters, error) {
	var p Parameters
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\r\n", "\n"), "\uFFFD")
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var fields []Field
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		var whole bool
		fields, whole = parseFields(last)
		if len(fields) >= 3 || whole && len(fields) > 0 && hasKnownKey(fields) {
			lines = lines[:len(lines)-1]
		} else {
			fields = nil
		}
	}

	var prompt, negative []string
	inNegative := false
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "Negative prompt:"); ok {
			inNegative = true
			line = strings.TrimSpace(rest)
		}
		if inNegative {
			negative = append(negative, line)
		} else {
			prompt = append(prompt, line)
		}
	}
	p.Prompt = strings.Join(prompt, "\n")
	p.NegativePrompt = strings.Join(negative, "\n")

	var errs []string
	bad := func(f Field, want string) {
		errs = append(errs, fmt.Sprintf("%s: %q is not %s", f.Key, f.Value, want))
	}
	for _, f := range fields {
		switch f.Key {
		case "Steps":
			n, err := strconv.Atoi(f.Value)
			if err != nil {
				bad(f, "an integer")
			}
			p.Steps = n
		case "Sampler":
			p.Sampler = f.Value
		case "CFG scale":
			v, err := strconv.ParseFloat(f.Value, 64)
			if err != nil {
				bad(f, "a number")
			}
			p.CFGScale, p.ZeroCFG = v, err == nil && v == 0
		case "Seed":
			n, err := strconv.ParseInt(f.Value, 10, 64)
			if err != nil {
				bad(f, "an integer")
			}
			p.Seed = n
		case "Size":
			w, h, ok := parseSize(f.Value)
			if !ok {
				bad(f, "WIDTHxHEIGHT")
			}
			p.Width, p.Height = w, h
		case "Model":
			p.Model = f.Value
		case "Model hash":
			p.ModelHash = f.Value
		case "Family":
			p.Family = f.Value
		case "Variation seed":
			n, err := strconv.ParseInt(f.Value, 10, 64)
			if err != nil {
				bad(f, "an integer")
			}
			p.VariationSeed = n
		case "Variation seed strength":
			v, err := strconv.ParseFloat(f.Value, 64)
			if err != nil {
				bad(f, "a number")
			}
			p.VariationStrength = v
		default:
			p.Extra = append(p.Extra, f)
		}
	}
	if len(errs) > 0 {
		return p, fmt.Errorf("images: parameters: %s", strings.Join(errs, "; "))
	}
	return p, nil
}

var knownKeys = map[string]bool{
	"Steps": true, "Sampler": true, "CFG scale": true, "Seed": true, "Size": true,
	"Model": true, "Model hash": true, "Family": true,
	"Variation seed": true, "Variation seed strength": true,
}

func hasKnownKey(fields []Field) bool {
	for _, f := range fields {
		if knownKeys[f.Key] {
			return true
		}
	}
	return false
}

func parseSize(v string) (w, h int, ok bool) {
	ws, hs, ok := strings.Cut(v, "x")
	if !ok {
		return 0, 0, false
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil || w < 0 || h < 0 {
		return 0, 0, false
	}
	return w, h, true
}

// parseFields reads "Key: value, Key: value" pairs from line. A key starts
// with a letter, digit or '_' and goes on with those, spaces, '-' and '/'
// up to a colon; a value is a JSON string or runs to the next comma. Text
// that is not a pair is skipped up to the next comma, as A1111's regular
// expression does; whole reports whether there was none.
func parseFields(line string) (fields []Field, whole bool) {
	whole = true
	i := 0
	for i < len(line) {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) {
			break
		}
		f, next, ok := parseField(line, i)
		if !ok {
			whole = false
			if c := strings.IndexByte(line[i:], ','); c >= 0 {
				i += c + 1
				continue
			}
			break
		}
		fields = append(fields, f)
		i = next
	}
	return fields, whole
}

// parseField parses one pair starting at line[i], returning the index just
// past its separating comma.
func parseField(line string, i int) (Field, int, bool) {
	// A key holds no comma: looking for the colon only up to the next comma
	// keeps parsing linear in the length of the line.
	colon := strings.IndexAny(line[i:], ":,")
	if colon < 0 || line[i+colon] != ':' {
		return Field{}, 0, false
	}
	key := strings.TrimRight(line[i:i+colon], " ")
	if !validKey(key) {
		return Field{}, 0, false
	}
	j := i + colon + 1
	for j < len(line) && line[j] == ' ' {
		j++
	}
	if j < len(line) && line[j] == '"' {
		if end, ok := jsonStringEnd(line, j); ok {
			rest := line[end:]
			if rest == "" || rest[0] == ',' {
				var v string
				if json.Unmarshal([]byte(line[j:end]), &v) == nil {
					return Field{key, v}, end + 1, true
				}
			}
		}
	}
	end := strings.IndexByte(line[j:], ',')
	if end < 0 {
		return Field{key, strings.TrimSpace(line[j:])}, len(line), true
	}
	return Field{key, strings.TrimSpace(line[j : j+end])}, j + end + 1, true
}

// validKey reports whether key is a word character followed by at least one
// word character, space, '-' or '/'.
func validKey(key string) bool {
	if len(key) < 2 {
		return false
	}
	for n, c := range []byte(key) {
		word := c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !word && (n == 0 || c != ' ' && c != '-' && c != '/') {
			return false
		}
	}
	return true
}

// jsonStringEnd returns the index just past the JSON string starting with
// the quote at line[i].
func jsonStringEnd(line string, i int) (int, bool) {
	for j := i + 1; j < len(line); j++ {
		switch line[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}
