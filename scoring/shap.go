package scoring

import "slices"

// Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018) with per-leaf
// precomputation.
//
// For one leaf l with value v, let F be the distinct features on its path,
// d = |F|, z_j the fraction of the training data (internal/leaf counts) that
// follows the path's edges on feature j, and o_j ∈ {0,1} whether x follows
// all of them. Algorithm 2's recursion sums, for each feature i ∈ F,
//
//	φ_i += v (o_i − z_i) Σ_{S ⊆ F∖{i}} w(|S|, d) Π_{j∈S} o_j Π_{j∈F∖S∖{i}} z_j,
//	w(k, d) = k! (d−k−1)! / d!.
//
// Since o_j is 0 or 1, only subsets of A = {j : o_j = 1} survive. With
// U = F∖A, P_U = Π_{j∈U} z_j and e_m(·) the elementary symmetric polynomials:
//
//	i ∈ A: φ_i += v (1 − z_i) P_U Σ_k w(k, d) e_{a−1−k}(z_{A∖{i}})
//	i ∈ U: φ_i += −v P_U Σ_k w(k, d) e_{a−k}(z_A)          (the same for every i ∈ U)
//
// where a = |A|. The path structure (F, z, the nodes deciding each o_j) is
// precomputed per leaf at load, so a row costs one pass over the internal
// nodes plus O(a²) arithmetic per leaf, with no recursion.

// shapCond is one edge on a leaf's path: internal node and the side taken.
type shapCond struct {
	node int32
	left bool
}

// shapForest holds every leaf's precomputed path in flat arrays, in tree and
// leaf order, so a row streams through memory instead of chasing pointers.
//
// Leaf i has value leafValue[i] and distinct path features
// pf[leafPF[i]:leafPF[i+1]], in order of first appearance on the path; path
// feature p is model feature pfFeat[p] with zero fraction pfZ[p]. When
// leafTable[i] ≥ 0, tables[leafTable[i]+pattern*d+k] is the leaf's
// contribution to its k-th path feature for each pattern of satisfied ones.
type shapForest struct {
	trees     []shapTree
	leafValue []float64
	leafPF    []int32
	leafTable []int32
	pfFeat    []int32
	pfZ       []float64
	tables    []float64

	maxDepth int
	maxNodes int
	// w[d][k] = k!(d−k−1)!/d! for 0 ≤ k < d.
	w         [][]float64
	baseValue float64
}

// shapTree is one tree and the range of its leaves in the flat arrays.
// order lists the internal nodes parents first; nodeBit[n] is the position
// of node n's feature among the distinct features of the path to n, which
// is the same for every leaf below n.
type shapTree struct {
	t                  *tree
	firstLeaf, endLeaf int
	order              []int32
	nodeBit            []uint8
}

func newShapForest(m *lgbmModel) *shapForest {
	f := &shapForest{leafPF: []int32{0}}
	for i := range m.trees {
		t := &m.trees[i]
		st := shapTree{t: t, firstLeaf: len(f.leafValue)}
		if t.numLeaves == 1 {
			f.baseValue += t.leafValue[0]
			st.endLeaf = st.firstLeaf
			f.trees = append(f.trees, st)
			continue
		}
		if t.numLeaves-1 > f.maxNodes {
			f.maxNodes = t.numLeaves - 1
		}
		// Collect every root-to-leaf path, then lay the leaves out in leaf order.
		paths := make([][]shapCond, t.numLeaves)
		type frame struct {
			node int
			path []shapCond
		}
		stack := []frame{{node: 0}}
		for len(stack) > 0 {
			fr := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, side := range [2]bool{true, false} {
				child := t.right[fr.node]
				if side {
					child = t.left[fr.node]
				}
				path := append(append([]shapCond(nil), fr.path...), shapCond{node: int32(fr.node), left: side})
				if child >= 0 {
					stack = append(stack, frame{node: child, path: path})
				} else {
					paths[^child] = path
				}
			}
		}
		st.order, st.nodeBit = nodeOrder(t, paths)
		rootCount := t.internalCount[0]
		for leaf, path := range paths {
			f.addLeafPath(t, leaf, path)
			f.baseValue += t.leafValue[leaf] * t.leafCount[leaf] / rootCount
		}
		st.endLeaf = len(f.leafValue)
		f.trees = append(f.trees, st)
	}
	f.w = make([][]float64, f.maxDepth+1)
	for d := 1; d <= f.maxDepth; d++ {
		f.w[d] = make([]float64, d)
		for k := 0; k < d; k++ {
			// k!(d-k-1)!/d! computed as a product of ratios to stay finite.
			w := 1.0 / float64(d)
			for j := 1; j <= k; j++ {
				w *= float64(j) / float64(d-k-1+j)
			}
			f.w[d][k] = w
		}
	}
	f.buildTables()
	return f
}

// nodeOrder lists t's internal nodes parents first and gives each node the
// bit of its feature in the distinct-feature order of the paths through it.
func nodeOrder(t *tree, paths [][]shapCond) ([]int32, []uint8) {
	in := t.numLeaves - 1
	order := make([]int32, 0, in)
	queue := []int{0}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		order = append(order, int32(n))
		for _, c := range [2]int{t.left[n], t.right[n]} {
			if c >= 0 {
				queue = append(queue, c)
			}
		}
	}
	bits := make([]uint8, in)
	for _, path := range paths {
		var seen []int
		for _, c := range path {
			feat := t.splitFeature[c.node]
			k := slices.Index(seen, feat)
			if k < 0 {
				k = len(seen)
				seen = append(seen, feat)
			}
			bits[c.node] = uint8(k) // Load refuses paths of more than maxPathFeatures
		}
	}
	return order, bits
}

// addLeafPath appends one leaf: its path edges grouped by feature, and each
// feature's zero fraction from the counts.
func (f *shapForest) addLeafPath(t *tree, leaf int, path []shapCond) {
	countOf := func(child int) float64 {
		if child < 0 {
			return t.leafCount[^child]
		}
		return t.internalCount[child]
	}
	var order []int32
	zOf := map[int32]float64{}
	for _, c := range path {
		feat := int32(t.splitFeature[c.node])
		if _, ok := zOf[feat]; !ok {
			order = append(order, feat)
			zOf[feat] = 1
		}
		child := t.right[c.node]
		if c.left {
			child = t.left[c.node]
		}
		zOf[feat] *= countOf(child) / t.internalCount[c.node]
	}
	for _, feat := range order {
		f.pfFeat = append(f.pfFeat, feat)
		f.pfZ = append(f.pfZ, zOf[feat])
	}
	f.leafValue = append(f.leafValue, t.leafValue[leaf])
	f.leafPF = append(f.leafPF, int32(len(f.pfFeat)))
	f.leafTable = append(f.leafTable, -1)
	if len(order) > f.maxDepth {
		f.maxDepth = len(order)
	}
}

// shapScratch is per-call working memory, reused through a pool.
type shapScratch struct {
	miss     []uint64  // per internal node: path features x fails on the way to it
	leafMiss []uint64  // the same per leaf of the current tree
	sat      []bool    // o_j of the current leaf's features
	out      []float64 // the current leaf's contribution per path feature
	e        []float64 // elementary symmetric polynomials of z over A
	ei       []float64 // the same with one feature divided out
}

func (f *shapForest) newScratch() *shapScratch {
	return &shapScratch{
		miss: make([]uint64, f.maxNodes), leafMiss: make([]uint64, f.maxNodes+1), sat: make([]bool, f.maxDepth), out: make([]float64, f.maxDepth),
		e: make([]float64, f.maxDepth+1), ei: make([]float64, f.maxDepth+1),
	}
}

// contributions adds every feature's SHAP value for x into phi (which the
// caller zeroes). The base value is f.baseValue.
// The race detector ignores contributions, addLeaf and leafPhi (go:norace):
// they read the forest, which never changes after Load, and write only the
// caller's phi and its pooled scratch, and instrumented they made every
// explanation of a race-enabled test run 4.5 times slower (241 against
// 54 µs), which is most of the test suite's time under -race.
//
//go:norace
func (f *shapForest) contributions(x []float64, phi []float64, s *shapScratch) {
	for ti := range f.trees {
		st := &f.trees[ti]
		t := st.t
		if t.numLeaves == 1 {
			continue
		}
		// One pass down the tree marks, for every node and leaf, the path
		// features whose edges x does not follow.
		s.miss[0] = 0
		for _, n := range st.order {
			m := s.miss[n]
			bit := uint64(1) << st.nodeBit[n]
			ml, mr := m|bit, m
			if t.goesLeft(int(n), x[t.splitFeature[n]]) {
				ml, mr = m, m|bit
			}
			if c := t.left[n]; c >= 0 {
				s.miss[c] = ml
			} else {
				s.leafMiss[^c] = ml
			}
			if c := t.right[n]; c >= 0 {
				s.miss[c] = mr
			} else {
				s.leafMiss[^c] = mr
			}
		}
		for leaf := st.firstLeaf; leaf < st.endLeaf; leaf++ {
			f.addLeaf(leaf, s.leafMiss[leaf-st.firstLeaf], phi, s)
		}
	}
}

//go:norace
func (f *shapForest) addLeaf(leaf int, miss uint64, phi []float64, s *shapScratch) {
	p0, p1 := int(f.leafPF[leaf]), int(f.leafPF[leaf+1])
	d := p1 - p0
	feats := f.pfFeat[p0:p1]
	if off := int(f.leafTable[leaf]); off >= 0 {
		pattern := int(^miss & (1<<d - 1))
		for k, v := range f.tables[off+pattern*d : off+pattern*d+d] {
			phi[feats[k]] += v
		}
		return
	}
	sat := s.sat[:d]
	for k := range sat {
		sat[k] = miss&(1<<k) == 0
	}
	out := s.out[:d]
	f.leafPhi(leaf, sat, s.e, s.ei, out)
	for k, v := range out {
		phi[feats[k]] += v
	}
}

// leafPhi writes into out[k] the leaf's contribution to its k-th path
// feature, given which path features x satisfies (the formulas at the top of
// this file); e and ei are scratch of length d+1.
//
//go:norace
func (f *shapForest) leafPhi(leaf int, sat []bool, e, ei []float64, out []float64) {
	p0 := int(f.leafPF[leaf])
	d := len(sat)
	z := f.pfZ[p0 : p0+d]
	a := 0
	pU := 1.0
	e[0] = 1
	for k := 0; k < d; k++ {
		if !sat[k] {
			pU *= z[k]
			continue
		}
		// Multiply the polynomial by (1 + z t): e_m += z e_{m-1}.
		a++
		e[a] = 0
		for m := a; m >= 1; m-- {
			e[m] += z[k] * e[m-1]
		}
	}
	w := f.w[d]
	scale := f.leafValue[leaf] * pU
	u := 0.0
	if a < d {
		// Unsatisfied features all receive −v P_U Σ_k w(k,d) e_{a−k}(z_A).
		for k := 0; k <= a; k++ {
			u += w[k] * e[a-k]
		}
		u *= -scale
	}
	for k := 0; k < d; k++ {
		if !sat[k] {
			out[k] = u
			continue
		}
		// Divide (1 + z t) back out: ei_m = e_m − z ei_{m−1}.
		ei[0] = 1
		for m := 1; m < a; m++ {
			ei[m] = e[m] - z[k]*ei[m-1]
		}
		sum := 0.0
		for j := 0; j < a; j++ {
			sum += w[j] * ei[a-1-j]
		}
		out[k] = scale * (1 - z[k]) * sum
	}
}

// Leaves with at most maxTableDepth distinct path features get a table of
// their contributions for every pattern of satisfied features (the idea of
// Fast TreeSHAP v2), within a budget of tableBudget values per model; other
// leaves are computed per row.
// maxPathFeatures is the most distinct features one root-to-leaf path may
// use: a row's pattern of followed edges is a 64-bit mask.
const maxPathFeatures = 64

const (
	maxTableDepth = 10
	tableBudget   = 8 << 20
)

// buildTables precomputes the pattern tables, shortest paths first.
func (f *shapForest) buildTables() {
	e := make([]float64, f.maxDepth+1)
	ei := make([]float64, f.maxDepth+1)
	sat := make([]bool, f.maxDepth)
	want := 0
	for d := 1; d <= maxTableDepth && d <= f.maxDepth; d++ {
		for leaf := range f.leafValue {
			if int(f.leafPF[leaf+1]-f.leafPF[leaf]) != d || want+(1<<d)*d > tableBudget {
				continue
			}
			f.leafTable[leaf] = int32(want)
			want += (1 << d) * d
		}
	}
	f.tables = make([]float64, want)
	for leaf, off := range f.leafTable {
		if off < 0 {
			continue
		}
		d := int(f.leafPF[leaf+1] - f.leafPF[leaf])
		for pattern := 0; pattern < 1<<d; pattern++ {
			for k := 0; k < d; k++ {
				sat[k] = pattern&(1<<k) != 0
			}
			at := int(off) + pattern*d
			f.leafPhi(leaf, sat[:d], e, ei, f.tables[at:at+d])
		}
	}
}
