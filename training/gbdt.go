package training

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Params are the GBDT hyper-parameters, named as LightGBM names them.
type Params struct {
	NumTrees            int     `json:"num_trees"`
	LearningRate        float64 `json:"learning_rate"`
	NumLeaves           int     `json:"num_leaves"`
	MaxDepth            int     `json:"max_depth"` // ≤ 0: no limit
	MinDataInLeaf       int     `json:"min_data_in_leaf"`
	MinSumHessianInLeaf float64 `json:"min_sum_hessian_in_leaf"`
	LambdaL2            float64 `json:"lambda_l2"`
	ScalePosWeight      float64 `json:"scale_pos_weight"`
	FeatureFraction     float64 `json:"feature_fraction"`
	BaggingFraction     float64 `json:"bagging_fraction"`
	BaggingFreq         int     `json:"bagging_freq"`
	EarlyStoppingRounds int     `json:"early_stopping_rounds"` // ≤ 0: off
	Seed                uint64  `json:"seed"`
}

// DefaultParams are LightGBM's defaults with two changes for fraud's class
// imbalance (about 1 fraud in 1,700 rows): lambda_l2 10 and
// min_data_in_leaf 100, without which a first tree's few-fraud leaves get
// huge values and validation AP falls as trees are added. 500 trees at most,
// early stopping after 20 rounds without a better validation AP (at equal
// AP, a validation log loss 20% lower counts as better).
func DefaultParams() Params {
	return Params{
		NumTrees: 500, LearningRate: 0.1, NumLeaves: 31, MaxDepth: -1, MinDataInLeaf: 100,
		MinSumHessianInLeaf: 1e-3, LambdaL2: 10, ScalePosWeight: 1, FeatureFraction: 1,
		BaggingFraction: 1, BaggingFreq: 0, EarlyStoppingRounds: 20, Seed: 42,
	}
}

// Validate checks that the parameters make sense.
func (p Params) Validate() error {
	switch {
	case p.NumTrees < 1:
		return fmt.Errorf("num_trees must be at least 1")
	case !(p.LearningRate > 0 && p.LearningRate <= 1):
		return fmt.Errorf("learning_rate must be in (0, 1]")
	case p.NumLeaves < 2 || p.NumLeaves > 131072:
		return fmt.Errorf("num_leaves must be in 2..131072")
	case p.MinDataInLeaf < 1:
		return fmt.Errorf("min_data_in_leaf must be at least 1")
	case p.MinSumHessianInLeaf < 0 || p.LambdaL2 < 0:
		return fmt.Errorf("min_sum_hessian_in_leaf and lambda_l2 must be 0 or more")
	case !(p.ScalePosWeight > 0):
		return fmt.Errorf("scale_pos_weight must be positive")
	case !(p.FeatureFraction > 0 && p.FeatureFraction <= 1), !(p.BaggingFraction > 0 && p.BaggingFraction <= 1):
		return fmt.Errorf("feature_fraction and bagging_fraction must be in (0, 1]")
	}
	return nil
}

// Tree is one trained regression tree in LightGBM's layout: internal node i
// < NumLeaves-1; a child c < 0 is leaf ^c.
type Tree struct {
	NumLeaves      int
	SplitFeature   []int
	ThresholdBin   []int
	Threshold      []float64
	SplitGain      []float64
	Left, Right    []int
	InternalValue  []float64
	InternalWeight []float64
	InternalCount  []int
	LeafValue      []float64
	LeafWeight     []float64
	LeafCount      []int
	leafParent     []int
	leafDepth      []int
	Shrinkage      float64
}

// Ensemble is a trained model: trees plus what the text format needs.
type Ensemble struct {
	Trees        []*Tree
	FeatureNames []string
	FeatureMin   []float64
	FeatureMax   []float64
	Params       Params
	// BestIteration is the number of trees kept (early stopping), and
	// ValidAP the validation average precision there.
	BestIteration int
	ValidAP       float64
}

// Progress reports one boosting iteration.
type Progress struct {
	Iteration int
	Trees     int
	Elapsed   time.Duration
	ValidAP   float64
	BestAP    float64
}

type histBin struct {
	g, h float64
	n    int32
}

// trainer holds the state of one training run. Training rows live in
// "position" order: every split moves the rows of a leaf so that each leaf
// is a contiguous range, and histograms then read memory sequentially. The
// bag of the current iteration is positions [0, nBag).
type trainer struct {
	p       Params
	nf      int
	mappers []binMapper
	// Per position: bins[i*nf:(i+1)*nf], gradient gh[2i] and hessian gh[2i+1],
	// score, label, weight.
	bins   []uint8
	gh     []float64
	scores []float64
	labels []uint8
	weight []float64
	nBag   int
	// Partition scratch, one per array.
	tBins   []uint8
	tGH     []float64
	tScores []float64
	tLabels []uint8
	tWeight []float64

	validCols   [][]uint8
	validLabels []uint8
	validScores []float64
	feats       []bool
	histPool    [][]histBin
}

// Train fits a GBDT on rows train of d, early-stopping on rows valid.
func Train(ctx context.Context, d *Dataset, train, valid []int32, p Params, progress func(Progress)) (*Ensemble, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("training: %w", err)
	}
	if len(train) == 0 {
		return nil, fmt.Errorf("training: no training rows")
	}
	start := time.Now()
	t := &trainer{p: p, nf: d.Features.Len()}
	e := &Ensemble{FeatureNames: d.Features.Names(), Params: p}
	t.bin(d, train, valid, e)
	n := len(train)
	t.labels = gather(d.Labels, train)
	t.validLabels = gather(d.Labels, valid)
	t.weight = make([]float64, n)
	sumW, sumWY := 0.0, 0.0
	for i, y := range t.labels {
		t.weight[i] = 1
		if y == 1 {
			t.weight[i] = p.ScalePosWeight
		}
		sumW += t.weight[i]
		sumWY += t.weight[i] * float64(y)
	}
	// Boost from the (weighted) average: the first tree carries the log-odds.
	init := 0.0
	if sumWY > 0 && sumWY < sumW {
		pw := sumWY / sumW
		init = math.Log(pw / (1 - pw))
	}
	t.scores = make([]float64, n)
	t.validScores = make([]float64, len(valid))
	for i := range t.scores {
		t.scores[i] = init
	}
	for i := range t.validScores {
		t.validScores[i] = init
	}
	t.gh = make([]float64, 2*n)
	t.tBins, t.tGH, t.tScores = make([]uint8, n*t.nf), make([]float64, 2*n), make([]float64, n)
	t.tLabels, t.tWeight = make([]uint8, n), make([]float64, n)
	t.nBag = n
	t.feats = make([]bool, t.nf)

	best, bestAP, bestLL := 0, -1.0, math.Inf(1)
	for it := 0; it < p.NumTrees; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t.gradients()
		t.sample(it)
		tree := t.grow()
		if tree.NumLeaves == 1 && it > 0 {
			break // no split helps any more
		}
		if it == 0 {
			tree.addBias(init)
		}
		e.Trees = append(e.Trees, tree)
		t.update(tree, it == 0, init)
		ap := bestAP
		if len(valid) > 0 {
			ap = AveragePrecision(t.validScores, t.validLabels)
			ll := validLogLoss(t.validScores, t.validLabels)
			// Better AP wins. At equal AP (a separable set sits at 1.0 from the
			// first tree) a validation log loss 20% lower counts as progress, so
			// the model keeps sharpening its ranking while that pays.
			if ap > bestAP || (ap == bestAP && ll < bestLL*0.8) {
				best, bestAP, bestLL = it+1, ap, ll
			}
		} else {
			best = it + 1
		}
		if progress != nil {
			progress(Progress{Iteration: it + 1, Trees: len(e.Trees), Elapsed: time.Since(start), ValidAP: ap, BestAP: bestAP})
		}
		if p.EarlyStoppingRounds > 0 && len(valid) > 0 && it+1-best >= p.EarlyStoppingRounds {
			break
		}
	}
	e.Trees = e.Trees[:best]
	e.BestIteration, e.ValidAP = best, bestAP
	return e, nil
}

// validLogLoss is the mean log loss of raw margins.
func validLogLoss(margins []float64, labels []uint8) float64 {
	s := 0.0
	for i, m := range margins {
		z := m // log(1+e^-z) with z = m for frauds, −m for others, computed stably
		if labels[i] == 0 {
			z = -m
		}
		s += math.Max(-z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
	}
	return s / float64(len(margins))
}

func gather[T any](v []T, rows []int32) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = v[r]
	}
	return out
}

// bin builds the bin mappers from (a sample of) the training rows and bins
// the training and validation rows.
func (t *trainer) bin(d *Dataset, train, valid []int32, e *Ensemble) {
	const sampleSize = 200_000
	sample := train
	if len(train) > sampleSize {
		rng := rand.New(rand.NewPCG(t.p.Seed, 0x5eed))
		sample = slices.Clone(train)
		rng.Shuffle(len(sample), func(i, j int) { sample[i], sample[j] = sample[j], sample[i] })
		sample = sample[:sampleSize]
		slices.Sort(sample)
	}
	t.mappers = make([]binMapper, t.nf)
	e.FeatureMin = make([]float64, t.nf)
	e.FeatureMax = make([]float64, t.nf)
	parallel(t.nf, func(f int) {
		vals := make([]float64, len(sample))
		for i, r := range sample {
			vals[i] = float64(d.X[f][r])
		}
		t.mappers[f] = newBinMapper(vals)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range train {
			v := float64(d.X[f][r])
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		e.FeatureMin[f], e.FeatureMax[f] = lo, hi
	})
	binCols := func(rows []int32) [][]uint8 {
		cols := make([][]uint8, t.nf)
		parallel(t.nf, func(f int) {
			m := &t.mappers[f]
			x := d.X[f]
			cols[f] = make([]uint8, len(rows))
			for i, r := range rows {
				cols[f][i] = m.bin(float64(x[r]))
			}
		})
		return cols
	}
	t.validCols = binCols(valid)
	t.bins = make([]uint8, len(train)*t.nf)
	for f, col := range binCols(train) {
		for i, b := range col {
			t.bins[i*t.nf+f] = b
		}
	}
}

// parallel runs fn(0..n-1) on two goroutines; each index runs once, so the
// result does not depend on scheduling.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 2 {
				fn(i)
			}
		}(w)
	}
	wg.Wait()
}

// gradients computes the log-loss gradient and hessian of every training row.
func (t *trainer) gradients() {
	n := len(t.scores)
	parallel(2, func(w int) {
		lo, hi := w*n/2, (w+1)*n/2
		for i := lo; i < hi; i++ {
			p := 1 / (1 + math.Exp(-t.scores[i]))
			wt := t.weight[i]
			t.gh[2*i] = (p - float64(t.labels[i])) * wt
			t.gh[2*i+1] = math.Max(p*(1-p), 1e-16) * wt
		}
	})
}

// sample draws this iteration's bag of rows (moved to the front) and its features.
func (t *trainer) sample(it int) {
	n := len(t.labels)
	if t.p.BaggingFreq > 0 && t.p.BaggingFraction < 1 && it%t.p.BaggingFreq == 0 {
		rng := rand.New(rand.NewPCG(t.p.Seed, uint64(it)+1))
		in := make([]bool, n)
		for i := range in {
			in[i] = rng.Float64() < t.p.BaggingFraction
		}
		t.nBag = t.partition(0, n, func(i int) bool { return in[i] })
	}
	for f := range t.feats {
		t.feats[f] = true
	}
	if t.p.FeatureFraction < 1 {
		k := max(1, int(math.Ceil(t.p.FeatureFraction*float64(t.nf))))
		rng := rand.New(rand.NewPCG(t.p.Seed^0xfea7, uint64(it)+1))
		perm := rng.Perm(t.nf)
		for f := range t.feats {
			t.feats[f] = false
		}
		for _, f := range perm[:k] {
			t.feats[f] = true
		}
	}
}

// partition (used for bags) stably moves the rows at positions [start, end) for which left
// holds to the front of the range, carrying every per-row array along, and
// returns where the right part begins. left sees positions before any move.
func (t *trainer) partition(start, end int, left func(i int) bool) int {
	nf := t.nf
	w, r := start, 0
	for i := start; i < end; i++ {
		if left(i) {
			if w != i {
				copy(t.bins[w*nf:(w+1)*nf], t.bins[i*nf:(i+1)*nf])
				t.gh[2*w], t.gh[2*w+1] = t.gh[2*i], t.gh[2*i+1]
				t.scores[w], t.labels[w], t.weight[w] = t.scores[i], t.labels[i], t.weight[i]
			}
			w++
			continue
		}
		copy(t.tBins[r*nf:(r+1)*nf], t.bins[i*nf:(i+1)*nf])
		t.tGH[2*r], t.tGH[2*r+1] = t.gh[2*i], t.gh[2*i+1]
		t.tScores[r], t.tLabels[r], t.tWeight[r] = t.scores[i], t.labels[i], t.weight[i]
		r++
	}
	copy(t.bins[w*nf:end*nf], t.tBins[:r*nf])
	copy(t.gh[2*w:2*end], t.tGH[:2*r])
	copy(t.scores[w:end], t.tScores[:r])
	copy(t.labels[w:end], t.tLabels[:r])
	copy(t.weight[w:end], t.tWeight[:r])
	return w
}

// partitionSplit moves the rows at positions [start, end) with bin ≤ bin on
// feature f to the front and returns where the others begin. It swaps
// misplaced pairs from both ends, so a lopsided split moves only the rows of
// its smaller side. The order it leaves is deterministic.
func (t *trainer) partitionSplit(start, end, f int, bin uint8) int {
	nf := t.nf
	i, j := start, end-1
	for {
		for i <= j && t.bins[i*nf+f] <= bin {
			i++
		}
		for i <= j && t.bins[j*nf+f] > bin {
			j--
		}
		if i >= j {
			return i
		}
		t.swap(i, j)
		i++
		j--
	}
}

// swap exchanges the rows at positions i and j in every per-row array.
func (t *trainer) swap(i, j int) {
	nf := t.nf
	a, b := t.bins[i*nf:(i+1)*nf], t.bins[j*nf:(j+1)*nf]
	for k := range a {
		a[k], b[k] = b[k], a[k]
	}
	t.gh[2*i], t.gh[2*j] = t.gh[2*j], t.gh[2*i]
	t.gh[2*i+1], t.gh[2*j+1] = t.gh[2*j+1], t.gh[2*i+1]
	t.scores[i], t.scores[j] = t.scores[j], t.scores[i]
	t.labels[i], t.labels[j] = t.labels[j], t.labels[i]
	t.weight[i], t.weight[j] = t.weight[j], t.weight[i]
}

// leaf is a leaf of the tree being grown: its rows at positions
// [start, end), sums, histogram and best split.
type leaf struct {
	id         int
	start, end int
	g, h       float64
	hist       []histBin
	// best split
	splittable    bool
	feat, bin     int
	gain          float64
	leftG, rightG float64
	leftH, rightH float64
	leftN, rightN int
}

func (t *trainer) newHist() []histBin {
	if n := len(t.histPool); n > 0 {
		h := t.histPool[n-1]
		t.histPool = t.histPool[:n-1]
		clear(h)
		return h
	}
	return make([]histBin, t.nf*256)
}

// buildHist fills h from the rows at positions [start, end), on two
// goroutines for large leaves; the halves are added in a fixed order.
func (t *trainer) buildHist(h []histBin, start, end int) {
	add := func(h []histBin, lo, hi int) {
		nf := t.nf
		bins := t.bins[lo*nf : hi*nf]
		gh := t.gh[2*lo : 2*hi]
		for i := 0; i < hi-lo; i++ {
			g, hs := gh[2*i], gh[2*i+1]
			for f, b := range bins[i*nf : (i+1)*nf] {
				hb := &h[f*256+int(b)]
				hb.g += g
				hb.h += hs
				hb.n++
			}
		}
	}
	if end-start < 50_000 {
		add(h, start, end)
		return
	}
	mid := (start + end) / 2
	other := t.newHist()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); add(other, mid, end) }()
	add(h, start, mid)
	wg.Wait()
	for i := range h {
		h[i].g += other[i].g
		h[i].h += other[i].h
		h[i].n += other[i].n
	}
	t.histPool = append(t.histPool, other)
}

func (t *trainer) output(g, h float64) float64 {
	return -g / (h + t.p.LambdaL2) * t.p.LearningRate
}

func (t *trainer) score(g, h float64) float64 { return g * g / (h + t.p.LambdaL2) }

// findSplit finds the leaf's best split over the sampled features.
func (t *trainer) findSplit(l *leaf, depth int) {
	l.splittable = false
	n := l.end - l.start
	if n < 2*t.p.MinDataInLeaf || (t.p.MaxDepth > 0 && depth >= t.p.MaxDepth) {
		return
	}
	parent := t.score(l.g, l.h)
	bestGain := 0.0
	for f := 0; f < t.nf; f++ {
		if !t.feats[f] {
			continue
		}
		hist := l.hist[f*256 : f*256+t.mappers[f].numBins()]
		lg, lh, ln := 0.0, 0.0, 0
		for b := 0; b+1 < len(hist); b++ {
			lg += hist[b].g
			lh += hist[b].h
			ln += int(hist[b].n)
			rn := n - ln
			if ln < t.p.MinDataInLeaf || lh < t.p.MinSumHessianInLeaf {
				continue
			}
			if rn < t.p.MinDataInLeaf {
				break
			}
			rg, rh := l.g-lg, l.h-lh
			if rh < t.p.MinSumHessianInLeaf {
				continue
			}
			gain := t.score(lg, lh) + t.score(rg, rh) - parent
			if gain > bestGain {
				bestGain = gain
				l.splittable = true
				l.feat, l.bin, l.gain = f, b, gain
				l.leftG, l.leftH, l.leftN = lg, lh, ln
				l.rightG, l.rightH, l.rightN = rg, rh, rn
			}
		}
	}
}

// grow builds one tree leaf-wise: always split the leaf with the best gain.
func (t *trainer) grow() *Tree {
	maxL := t.p.NumLeaves
	tr := &Tree{
		SplitFeature: make([]int, 0, maxL-1), ThresholdBin: make([]int, 0, maxL-1), Threshold: make([]float64, 0, maxL-1),
		SplitGain: make([]float64, 0, maxL-1), Left: make([]int, 0, maxL-1), Right: make([]int, 0, maxL-1),
		InternalValue: make([]float64, 0, maxL-1), InternalWeight: make([]float64, 0, maxL-1), InternalCount: make([]int, 0, maxL-1),
		LeafValue: make([]float64, 1, maxL), LeafWeight: make([]float64, 1, maxL), LeafCount: make([]int, 1, maxL),
		leafParent: make([]int, 1, maxL), leafDepth: make([]int, 1, maxL), NumLeaves: 1, Shrinkage: t.p.LearningRate,
	}
	tr.leafParent[0] = -1
	root := &leaf{id: 0, start: 0, end: t.nBag, hist: t.newHist()}
	t.buildHist(root.hist, root.start, root.end)
	for i := 0; i < t.nBag; i++ {
		root.g += t.gh[2*i]
		root.h += t.gh[2*i+1]
	}
	tr.LeafValue[0] = t.output(root.g, root.h)
	tr.LeafWeight[0] = root.h
	tr.LeafCount[0] = t.nBag
	t.findSplit(root, 0)
	leaves := []*leaf{root}
	for tr.NumLeaves < maxL {
		var best *leaf
		for _, l := range leaves {
			if l.splittable && (best == nil || l.gain > best.gain) {
				best = l
			}
		}
		if best == nil {
			break
		}
		right := t.split(tr, best)
		leaves = append(leaves, right)
	}
	for _, l := range leaves {
		t.histPool = append(t.histPool, l.hist)
	}
	return tr
}

// split splits leaf l of tree tr at its best split; l becomes the left child
// and the returned leaf the right one.
func (t *trainer) split(tr *Tree, l *leaf) *leaf {
	f, bin := l.feat, l.bin
	nl := t.partitionSplit(l.start, l.end, f, uint8(bin))

	node := tr.NumLeaves - 1
	newLeaf := tr.NumLeaves
	if parent := tr.leafParent[l.id]; parent >= 0 {
		if tr.Left[parent] == ^l.id {
			tr.Left[parent] = node
		} else {
			tr.Right[parent] = node
		}
	}
	tr.SplitFeature = append(tr.SplitFeature, f)
	tr.ThresholdBin = append(tr.ThresholdBin, bin)
	tr.Threshold = append(tr.Threshold, t.mappers[f].threshold(bin))
	tr.SplitGain = append(tr.SplitGain, l.gain)
	tr.Left = append(tr.Left, ^l.id)
	tr.Right = append(tr.Right, ^newLeaf)
	tr.InternalValue = append(tr.InternalValue, tr.LeafValue[l.id])
	tr.InternalWeight = append(tr.InternalWeight, l.h)
	tr.InternalCount = append(tr.InternalCount, l.end-l.start)
	depth := tr.leafDepth[l.id] + 1
	tr.leafParent[l.id] = node
	tr.leafDepth[l.id] = depth
	tr.leafParent = append(tr.leafParent, node)
	tr.leafDepth = append(tr.leafDepth, depth)
	tr.LeafValue[l.id] = t.output(l.leftG, l.leftH)
	tr.LeafWeight[l.id] = l.leftH
	tr.LeafCount[l.id] = l.leftN
	tr.LeafValue = append(tr.LeafValue, t.output(l.rightG, l.rightH))
	tr.LeafWeight = append(tr.LeafWeight, l.rightH)
	tr.LeafCount = append(tr.LeafCount, l.rightN)
	tr.NumLeaves++

	r := &leaf{id: newLeaf, start: nl, end: l.end, g: l.rightG, h: l.rightH}
	l.end, l.g, l.h = nl, l.leftG, l.leftH
	// Histogram of the smaller child from its rows; the larger is parent − smaller.
	small, large := l, r
	if r.end-r.start < l.end-l.start {
		small, large = r, l
	}
	parentHist := l.hist
	small.hist = t.newHist()
	t.buildHist(small.hist, small.start, small.end)
	for i := range parentHist {
		parentHist[i].g -= small.hist[i].g
		parentHist[i].h -= small.hist[i].h
		parentHist[i].n -= small.hist[i].n
	}
	large.hist = parentHist
	t.findSplit(l, depth)
	t.findSplit(r, depth)
	return r
}

// addBias adds the initial score to every value of the first tree, as
// LightGBM does with boost_from_average.
func (tr *Tree) addBias(b float64) {
	for i := range tr.LeafValue {
		tr.LeafValue[i] += b
	}
	for i := range tr.InternalValue {
		tr.InternalValue[i] += b
	}
}

// leafOf walks the tree on a row whose feature f has bin bin(f).
func (tr *Tree) leafOf(bin func(f int) uint8) int {
	if tr.NumLeaves == 1 {
		return 0
	}
	n := 0
	for {
		var next int
		if int(bin(tr.SplitFeature[n])) <= tr.ThresholdBin[n] {
			next = tr.Left[n]
		} else {
			next = tr.Right[n]
		}
		if next < 0 {
			return ^next
		}
		n = next
	}
}

// update adds the new tree's output to every training and validation score.
// The first tree's values include the initial score, which the scores
// already hold.
func (t *trainer) update(tr *Tree, first bool, init float64) {
	bias := 0.0
	if first {
		bias = init
	}
	n := len(t.scores)
	parallel(2, func(w int) {
		for i := w * n / 2; i < (w+1)*n/2; i++ {
			row := t.bins[i*t.nf : (i+1)*t.nf]
			t.scores[i] += tr.LeafValue[tr.leafOf(func(f int) uint8 { return row[f] })] - bias
		}
	})
	m := len(t.validScores)
	parallel(2, func(w int) {
		for i := w * m / 2; i < (w+1)*m/2; i++ {
			t.validScores[i] += tr.LeafValue[tr.leafOf(func(f int) uint8 { return t.validCols[f][i] })] - bias
		}
	})
}
