package scoring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomTree grows a random tree on nFeat features with counts that add up,
// random thresholds, default directions and missing types.
func randomTree(rng *rand.Rand, nFeat, numLeaves int) tree {
	t := tree{numLeaves: numLeaves}
	in := numLeaves - 1
	t.splitFeature = make([]int, in)
	t.threshold = make([]float64, in)
	t.defaultLeft = make([]bool, in)
	t.missingType = make([]uint8, in)
	t.left = make([]int, in)
	t.right = make([]int, in)
	t.internalCount = make([]float64, in)
	t.leafValue = make([]float64, numLeaves)
	t.leafCount = make([]float64, numLeaves)
	// Grow leaf-wise like LightGBM: split a random leaf each time.
	type slot struct {
		parent int
		left   bool
		count  float64
	}
	leaves := []slot{{parent: -1, count: float64(100 + rng.IntN(900))}}
	for n := 0; n < in; n++ {
		i := rng.IntN(len(leaves))
		s := leaves[i]
		if s.parent >= 0 {
			if s.left {
				t.left[s.parent] = n
			} else {
				t.right[s.parent] = n
			}
		}
		t.splitFeature[n] = rng.IntN(nFeat)
		t.threshold[n] = float64(rng.IntN(7)) - 1.5
		t.defaultLeft[n] = rng.IntN(2) == 0
		t.missingType[n] = uint8(rng.IntN(3))
		t.internalCount[n] = s.count
		lc := math.Max(1, math.Floor(s.count*(0.1+0.8*rng.Float64())))
		rc := math.Max(1, s.count-lc)
		leaves = append(leaves[:i], leaves[i+1:]...)
		leaves = append(leaves, slot{n, true, lc}, slot{n, false, rc})
	}
	for l, s := range leaves {
		if s.parent < 0 { // a one-leaf tree
		} else if s.left {
			t.left[s.parent] = ^l
		} else {
			t.right[s.parent] = ^l
		}
		t.leafValue[l] = rng.NormFloat64()
		t.leafCount[l] = s.count
	}
	return t
}

// modelText writes trees as LightGBM model text.
func modelText(version string, names []string, trees []tree) string {
	var b strings.Builder
	sizes := make([]string, len(trees))
	for i := range sizes {
		sizes[i] = "1"
	}
	fmt.Fprintf(&b, "tree\nversion=%s\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=%d\n", version, len(names)-1)
	fmt.Fprintf(&b, "objective=binary sigmoid:1\nfeature_names=%s\ntree_sizes=%s\n\n", strings.Join(names, " "), strings.Join(sizes, " "))
	join := func(xs any) string { return strings.Trim(fmt.Sprint(xs), "[]") }
	for i, t := range trees {
		fmt.Fprintf(&b, "Tree=%d\nnum_leaves=%d\nnum_cat=0\n", i, t.numLeaves)
		if t.numLeaves > 1 {
			dt := make([]int, t.numLeaves-1)
			for k := range dt {
				dt[k] = int(t.missingType[k]) << 2
				if t.defaultLeft[k] {
					dt[k] |= 2
				}
			}
			th := make([]string, len(t.threshold))
			for k, v := range t.threshold {
				th[k] = fmt.Sprintf("%.17g", v)
			}
			fmt.Fprintf(&b, "split_feature=%s\nthreshold=%s\ndecision_type=%s\nleft_child=%s\nright_child=%s\n",
				join(t.splitFeature), strings.Join(th, " "), join(dt), join(t.left), join(t.right))
			fmt.Fprintf(&b, "internal_value=%s\ninternal_count=%s\n", join(make([]int, t.numLeaves-1)), join(t.internalCount))
		}
		lv := make([]string, len(t.leafValue))
		for k, v := range t.leafValue {
			lv[k] = fmt.Sprintf("%.17g", v)
		}
		fmt.Fprintf(&b, "leaf_value=%s\nleaf_count=%s\nis_linear=0\nshrinkage=1\n\n\n", strings.Join(lv, " "), join(t.leafCount))
	}
	b.WriteString("end of trees\n")
	return b.String()
}

// expectation is E[tree(x) | x_S] with path-dependent conditioning: features
// in S follow x, others split the weight by the training counts.
func expectation(t *tree, x []float64, inS func(int) bool) float64 {
	if t.numLeaves == 1 {
		return t.leafValue[0]
	}
	var walk func(node int) float64
	count := func(c int) float64 {
		if c < 0 {
			return t.leafCount[^c]
		}
		return t.internalCount[c]
	}
	value := func(c int) float64 {
		if c < 0 {
			return t.leafValue[^c]
		}
		return walk(c)
	}
	walk = func(n int) float64 {
		if inS(t.splitFeature[n]) {
			if t.goesLeft(n, x[t.splitFeature[n]]) {
				return value(t.left[n])
			}
			return value(t.right[n])
		}
		l, r := t.left[n], t.right[n]
		return (count(l)*value(l) + count(r)*value(r)) / t.internalCount[n]
	}
	return walk(0)
}

// bruteShapley enumerates every subset of the M features.
func bruteShapley(trees []tree, x []float64, m int) []float64 {
	f := func(mask int) float64 {
		s := 0.0
		for i := range trees {
			s += expectation(&trees[i], x, func(j int) bool { return mask&(1<<j) != 0 })
		}
		return s
	}
	fact := func(n int) float64 {
		r := 1.0
		for i := 2; i <= n; i++ {
			r *= float64(i)
		}
		return r
	}
	phi := make([]float64, m)
	for i := 0; i < m; i++ {
		for mask := 0; mask < 1<<m; mask++ {
			if mask&(1<<i) != 0 {
				continue
			}
			size := 0
			for j := 0; j < m; j++ {
				if mask&(1<<j) != 0 {
					size++
				}
			}
			w := fact(size) * fact(m-size-1) / fact(m)
			phi[i] += w * (f(mask|1<<i) - f(mask))
		}
	}
	return phi
}

func TestTreeSHAPEqualsBruteForceShapley(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := 0; trial < 60; trial++ {
		m := 1 + rng.IntN(8)
		names := Registry()[:m]
		var ns []string
		for _, f := range names {
			ns = append(ns, f.Name)
		}
		trees := make([]tree, 1+rng.IntN(5))
		for i := range trees {
			trees[i] = randomTree(rng, m, 1+rng.IntN(24))
		}
		model, err := Load([]byte(modelText("v3", ns, trees)))
		if err != nil {
			t.Fatalf("trial %d: Load() = %v", trial, err)
		}
		for row := 0; row < 8; row++ {
			x := make([]float64, m)
			for j := range x {
				switch rng.IntN(4) {
				case 0:
					x[j] = 0 // exercises missing_type=Zero
				case 1:
					x[j] = float64(rng.IntN(7)) - 1.5 // exactly on a threshold
				default:
					x[j] = rng.NormFloat64() * 3
				}
			}
			want := bruteShapley(trees, x, m)
			got := model.Contributions(x)
			for j := range want {
				if math.Abs(got[j]-want[j]) > 1e-9 {
					t.Fatalf("trial %d row %d: φ[%d] = %.15g, brute force %.15g", trial, row, j, got[j], want[j])
				}
			}
			// The empty coalition is the base value.
			empty := 0.0
			for i := range trees {
				empty += expectation(&trees[i], x, func(int) bool { return false })
			}
			if math.Abs(model.BaseValue()-empty) > 1e-9 {
				t.Fatalf("trial %d: base value %.15g, E[f] %.15g", trial, model.BaseValue(), empty)
			}
		}
	}
}

// Leaves above the table limit go through the per-row polynomial path; it
// must agree with the tables.
func TestSHAPTablesAgreeWithDirectComputation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	trees := []tree{randomTree(rng, 8, 40), randomTree(rng, 8, 40)}
	names := []string{}
	for _, f := range Registry()[:8] {
		names = append(names, f.Name)
	}
	lg, err := parseLightGBM([]byte(modelText("v3", names, trees)))
	if err != nil {
		t.Fatal(err)
	}
	tabled := newShapForest(lg)
	direct := newShapForest(lg)
	for i := range direct.leafTable {
		direct.leafTable[i] = -1
	}
	for row := 0; row < 50; row++ {
		x := make([]float64, 8)
		for j := range x {
			x[j] = rng.NormFloat64() * 3
		}
		a, b := make([]float64, 8), make([]float64, 8)
		tabled.contributions(x, a, tabled.newScratch())
		direct.contributions(x, b, direct.newScratch())
		for j := range a {
			if math.Abs(a[j]-b[j]) > 1e-12 {
				t.Fatalf("row %d: tabled φ[%d] = %v, direct %v", row, j, a[j], b[j])
			}
		}
	}
}
