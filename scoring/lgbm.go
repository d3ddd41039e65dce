package scoring

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits that keep a hostile model file from exhausting memory.
const (
	maxTrees     = 100_000
	maxLeaves    = 1 << 17
	maxFeatures  = 1024
	maxModelSize = 256 << 20
)

// LightGBM missing-value handling of a numerical split (decision_type bits 2-3).
const (
	missingNone = 0
	missingZero = 1
	missingNaN  = 2
)

// kZeroThreshold is LightGBM's "is zero" band for missing_type=Zero.
const kZeroThreshold = 1e-35

// tree is one regression tree as the package itself reads it from LightGBM
// model text. Node i < numLeaves-1 is internal; a child c < 0 is leaf ^c.
type tree struct {
	numLeaves     int
	splitFeature  []int
	threshold     []float64
	defaultLeft   []bool
	missingType   []uint8
	left, right   []int
	leafValue     []float64
	leafCount     []float64
	internalCount []float64
}

// goesLeft is LightGBM's NumericalDecision for internal node n.
func (t *tree) goesLeft(n int, x float64) bool {
	mt := t.missingType[n]
	if math.IsNaN(x) && mt != missingNaN {
		x = 0
	}
	if (mt == missingZero && x >= -kZeroThreshold && x <= kZeroThreshold) || (mt == missingNaN && math.IsNaN(x)) {
		return t.defaultLeft[n]
	}
	return x <= t.threshold[n]
}

// leaf returns the leaf index that x falls into.
func (t *tree) leaf(x []float64) int {
	if t.numLeaves == 1 {
		return 0
	}
	n := 0
	for {
		var next int
		if t.goesLeft(n, x[t.splitFeature[n]]) {
			next = t.left[n]
		} else {
			next = t.right[n]
		}
		if next < 0 {
			return ^next
		}
		n = next
	}
}

// lgbmModel is a parsed LightGBM binary model.
type lgbmModel struct {
	version      string
	featureNames []string
	trees        []tree
}

// rawMargin walks every tree: the package's own prediction, used to
// cross-check leaves.
func (m *lgbmModel) rawMargin(x []float64) float64 {
	s := 0.0
	for i := range m.trees {
		t := &m.trees[i]
		s += t.leafValue[t.leaf(x)]
	}
	return s
}

// parseLightGBM reads LightGBM model text (versions v2, v3 and v4) and
// refuses what Sentinel does not support: anything but one binary
// log-loss output, linear trees, categorical splits, averaged (random
// forest) output. Every index and array length is checked, so broken text
// yields an error, never a panic.
func parseLightGBM(text []byte) (*lgbmModel, error) {
	if len(text) > maxModelSize {
		return nil, fmt.Errorf("model text is %d bytes, more than the %d allowed", len(text), maxModelSize)
	}
	lines := strings.Split(strings.ReplaceAll(string(text), "\r\n", "\n"), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "tree" {
		return nil, fmt.Errorf("not a LightGBM model: the first line must be \"tree\"")
	}
	header := map[string]string{}
	i := 1
	for ; i < len(lines) && !strings.HasPrefix(lines[i], "Tree="); i++ {
		if k, v, ok := strings.Cut(lines[i], "="); ok {
			header[k] = v
		}
		if strings.TrimSpace(lines[i]) == "end of trees" {
			break
		}
	}
	m := &lgbmModel{version: header["version"]}
	switch m.version {
	case "v2", "v3", "v4":
	default:
		return nil, fmt.Errorf("unsupported model version %q (want v2, v3 or v4)", m.version)
	}
	if header["num_class"] != "1" || header["num_tree_per_iteration"] != "1" {
		return nil, fmt.Errorf("only binary models are supported (num_class=%q, num_tree_per_iteration=%q)",
			header["num_class"], header["num_tree_per_iteration"])
	}
	if obj := header["objective"]; !(obj == "binary sigmoid:1" || obj == "binary") {
		return nil, fmt.Errorf("objective %q is not supported: want binary sigmoid:1", obj)
	}
	if _, ok := header["average_output"]; ok {
		return nil, fmt.Errorf("averaged (random forest) models are not supported")
	}
	maxIdx, err := strconv.Atoi(header["max_feature_idx"])
	if err != nil || maxIdx < 0 || maxIdx >= maxFeatures {
		return nil, fmt.Errorf("bad max_feature_idx %q", header["max_feature_idx"])
	}
	m.featureNames = strings.Fields(header["feature_names"])
	if len(m.featureNames) != maxIdx+1 {
		return nil, fmt.Errorf("feature_names lists %d names, max_feature_idx says %d", len(m.featureNames), maxIdx+1)
	}
	sizes := strings.Fields(header["tree_sizes"])
	if len(sizes) == 0 || len(sizes) > maxTrees {
		return nil, fmt.Errorf("bad tree_sizes: %d trees", len(sizes))
	}

	for i < len(lines) && len(m.trees) < len(sizes) {
		line := strings.TrimSpace(lines[i])
		if line == "" {
			i++
			continue
		}
		if !strings.HasPrefix(line, "Tree=") {
			break
		}
		if line != "Tree="+strconv.Itoa(len(m.trees)) {
			return nil, fmt.Errorf("expected Tree=%d, found %q", len(m.trees), line)
		}
		fields := map[string]string{}
		for i++; i < len(lines); i++ {
			l := strings.TrimSpace(lines[i])
			if l == "" || strings.HasPrefix(l, "Tree=") || l == "end of trees" {
				break
			}
			if k, v, ok := strings.Cut(l, "="); ok {
				fields[k] = v
			}
		}
		t, err := parseTree(fields, maxIdx)
		if err != nil {
			return nil, fmt.Errorf("tree %d: %w", len(m.trees), err)
		}
		m.trees = append(m.trees, t)
	}
	if len(m.trees) != len(sizes) {
		return nil, fmt.Errorf("tree_sizes announces %d trees, the file has %d", len(sizes), len(m.trees))
	}
	return m, nil
}

func parseTree(f map[string]string, maxIdx int) (tree, error) {
	var t tree
	n, err := strconv.Atoi(f["num_leaves"])
	if err != nil || n < 1 || n > maxLeaves {
		return t, fmt.Errorf("bad num_leaves %q", f["num_leaves"])
	}
	t.numLeaves = n
	if c := f["num_cat"]; c != "" && c != "0" {
		return t, fmt.Errorf("categorical splits are not supported (num_cat=%s)", c)
	}
	if l := f["is_linear"]; l != "" && l != "0" {
		return t, fmt.Errorf("linear trees are not supported")
	}
	if t.leafValue, err = floats(f, "leaf_value", n); err != nil {
		return t, err
	}
	if t.leafCount, err = floats(f, "leaf_count", n); err != nil {
		return t, err
	}
	if n == 1 {
		return t, checkFinite(t.leafValue, "leaf_value")
	}
	in := n - 1
	if t.threshold, err = floats(f, "threshold", in); err != nil {
		return t, err
	}
	if t.internalCount, err = floats(f, "internal_count", in); err != nil {
		return t, err
	}
	var feats, dtypes []int
	if feats, err = ints(f, "split_feature", in); err != nil {
		return t, err
	}
	if dtypes, err = ints(f, "decision_type", in); err != nil {
		return t, err
	}
	if t.left, err = ints(f, "left_child", in); err != nil {
		return t, err
	}
	if t.right, err = ints(f, "right_child", in); err != nil {
		return t, err
	}
	if err := checkFinite(t.leafValue, "leaf_value"); err != nil {
		return t, err
	}
	t.splitFeature = feats
	t.defaultLeft = make([]bool, in)
	t.missingType = make([]uint8, in)
	for k := 0; k < in; k++ {
		if feats[k] < 0 || feats[k] > maxIdx {
			return t, fmt.Errorf("node %d splits on feature %d, outside 0..%d", k, feats[k], maxIdx)
		}
		d := dtypes[k]
		if d < 0 || d > 15 {
			return t, fmt.Errorf("node %d: bad decision_type %d", k, d)
		}
		if d&1 != 0 {
			return t, fmt.Errorf("categorical splits are not supported (node %d)", k)
		}
		t.defaultLeft[k] = d&2 != 0
		t.missingType[k] = uint8((d >> 2) & 3)
		if t.missingType[k] > missingNaN {
			return t, fmt.Errorf("node %d: unknown missing type %d", k, t.missingType[k])
		}
		if math.IsNaN(t.threshold[k]) {
			return t, fmt.Errorf("node %d: threshold is NaN", k)
		}
		if t.internalCount[k] <= 0 {
			return t, fmt.Errorf("node %d: internal_count must be positive for TreeSHAP", k)
		}
	}
	// Every node must be reached exactly once from the root: no cycles, no orphans.
	seenNode := make([]bool, in)
	seenLeaf := make([]bool, n)
	stack := []int{0}
	seenNode[0] = true
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range [2]int{t.left[k], t.right[k]} {
			if c >= 0 {
				if c >= in || seenNode[c] {
					return t, fmt.Errorf("node %d: child %d is out of range or reached twice", k, c)
				}
				seenNode[c] = true
				stack = append(stack, c)
			} else {
				l := ^c
				if l >= n || seenLeaf[l] {
					return t, fmt.Errorf("node %d: leaf %d is out of range or reached twice", k, l)
				}
				seenLeaf[l] = true
			}
		}
	}
	for l, ok := range seenLeaf {
		if !ok {
			return t, fmt.Errorf("leaf %d is not reachable", l)
		}
	}
	for k, ok := range seenNode {
		if !ok {
			return t, fmt.Errorf("node %d is not reachable", k)
		}
	}
	return t, nil
}

func fieldsOf(f map[string]string, key string, want int) ([]string, error) {
	v, ok := f[key]
	if !ok {
		return nil, fmt.Errorf("missing %s", key)
	}
	parts := strings.Fields(v)
	if len(parts) != want {
		return nil, fmt.Errorf("%s has %d values, want %d", key, len(parts), want)
	}
	return parts, nil
}

func floats(f map[string]string, key string, want int) ([]float64, error) {
	parts, err := fieldsOf(f, key, want)
	if err != nil {
		return nil, err
	}
	out := make([]float64, want)
	for i, p := range parts {
		if out[i], err = strconv.ParseFloat(p, 64); err != nil {
			return nil, fmt.Errorf("%s[%d]: bad number %q", key, i, p)
		}
	}
	return out, nil
}

func ints(f map[string]string, key string, want int) ([]int, error) {
	parts, err := fieldsOf(f, key, want)
	if err != nil {
		return nil, err
	}
	out := make([]int, want)
	for i, p := range parts {
		if out[i], err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("%s[%d]: bad integer %q", key, i, p)
		}
	}
	return out, nil
}

func checkFinite(v []float64, key string) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s[%d] is not finite", key, i)
		}
	}
	return nil
}

// leavesText adapts model text for github.com/dmitryikh/leaves, which accepts
// only version=v2 or v3 headers. LightGBM 4's v4 text is the same for
// numerical trees, so the header line is rewritten.
func leavesText(text []byte) []byte {
	return bytes.Replace(text, []byte("\nversion=v4\n"), []byte("\nversion=v3\n"), 1)
}

// maxDistinctPathFeatures is the largest number of distinct features on any
// root-to-leaf path of the model.
func maxDistinctPathFeatures(m *lgbmModel) int {
	best := 0
	for ti := range m.trees {
		t := &m.trees[ti]
		if t.numLeaves == 1 {
			continue
		}
		type frame struct {
			node  int
			feats map[int]bool
		}
		stack := []frame{{0, map[int]bool{}}}
		for len(stack) > 0 {
			fr := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			feats := make(map[int]bool, len(fr.feats)+1)
			for k := range fr.feats {
				feats[k] = true
			}
			feats[t.splitFeature[fr.node]] = true
			best = max(best, len(feats))
			for _, c := range [2]int{t.left[fr.node], t.right[fr.node]} {
				if c >= 0 {
					stack = append(stack, frame{c, feats})
				}
			}
		}
	}
	return best
}
