package training

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// num writes a float the shortest way that reads back exactly.
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func joinF(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = num(x)
	}
	return strings.Join(parts, " ")
}

func joinI(v []int) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, " ")
}

// treeText is one tree's block as LightGBM writes it, without the Tree= line.
func treeText(t *Tree) string {
	var b strings.Builder
	fmt.Fprintf(&b, "num_leaves=%d\nnum_cat=0\n", t.NumLeaves)
	if t.NumLeaves > 1 {
		dt := make([]int, len(t.SplitFeature))
		for i := range dt {
			dt[i] = 2 // numerical, default left, no missing values
		}
		fmt.Fprintf(&b, "split_feature=%s\nsplit_gain=%s\nthreshold=%s\ndecision_type=%s\n",
			joinI(t.SplitFeature), joinF(t.SplitGain), joinF(t.Threshold), joinI(dt))
		fmt.Fprintf(&b, "left_child=%s\nright_child=%s\n", joinI(t.Left), joinI(t.Right))
	}
	fmt.Fprintf(&b, "leaf_value=%s\nleaf_weight=%s\nleaf_count=%s\n", joinF(t.LeafValue), joinF(t.LeafWeight), joinI(t.LeafCount))
	if t.NumLeaves > 1 {
		fmt.Fprintf(&b, "internal_value=%s\ninternal_weight=%s\ninternal_count=%s\n",
			joinF(t.InternalValue), joinF(t.InternalWeight), joinI(t.InternalCount))
	}
	fmt.Fprintf(&b, "is_linear=0\nshrinkage=%s\n\n\n", num(t.Shrinkage))
	return b.String()
}

// ModelText writes the ensemble as LightGBM model text (version v4), which
// LightGBM's own loader and leaves (after the v4→v3 header rewrite) read.
func (e *Ensemble) ModelText() string {
	blocks := make([]string, len(e.Trees))
	sizes := make([]string, len(e.Trees))
	for i, t := range e.Trees {
		blocks[i] = fmt.Sprintf("Tree=%d\n", i) + treeText(t)
		sizes[i] = strconv.Itoa(len(blocks[i]))
	}
	infos := make([]string, len(e.FeatureNames))
	for f := range infos {
		infos[f] = "[" + num(e.FeatureMin[f]) + ":" + num(e.FeatureMax[f]) + "]"
	}
	var b strings.Builder
	b.WriteString("tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n")
	fmt.Fprintf(&b, "max_feature_idx=%d\nobjective=binary sigmoid:1\n", len(e.FeatureNames)-1)
	fmt.Fprintf(&b, "feature_names=%s\nfeature_infos=%s\ntree_sizes=%s\n\n",
		strings.Join(e.FeatureNames, " "), strings.Join(infos, " "), strings.Join(sizes, " "))
	for _, blk := range blocks {
		b.WriteString(blk)
	}
	b.WriteString("end of trees\n\nfeature_importances:\n")
	for _, fi := range e.SplitCounts() {
		if fi.Value > 0 {
			fmt.Fprintf(&b, "%s=%d\n", fi.Feature, int(fi.Value))
		}
	}
	p := e.Params
	b.WriteString("\nparameters:\n[boosting: gbdt]\n[objective: binary]\n[tree_learner: serial]\n")
	fmt.Fprintf(&b, "[num_iterations: %d]\n[learning_rate: %s]\n[num_leaves: %d]\n[max_depth: %d]\n",
		p.NumTrees, num(p.LearningRate), p.NumLeaves, p.MaxDepth)
	fmt.Fprintf(&b, "[min_data_in_leaf: %d]\n[min_sum_hessian_in_leaf: %s]\n[lambda_l2: %s]\n[scale_pos_weight: %s]\n",
		p.MinDataInLeaf, num(p.MinSumHessianInLeaf), num(p.LambdaL2), num(p.ScalePosWeight))
	fmt.Fprintf(&b, "[feature_fraction: %s]\n[bagging_fraction: %s]\n[bagging_freq: %d]\n[early_stopping_round: %d]\n[seed: %d]\n",
		num(p.FeatureFraction), num(p.BaggingFraction), p.BaggingFreq, p.EarlyStoppingRounds, p.Seed)
	b.WriteString("[max_bin: 255]\n\nend of parameters\n\npandas_categorical:null\n")
	return b.String()
}

// Importance is one feature's importance.
type Importance struct {
	Feature string  `json:"feature"`
	Value   float64 `json:"value"`
}

// SplitCounts counts how often each feature is split on, most first.
func (e *Ensemble) SplitCounts() []Importance {
	return e.importance(func(t *Tree, i int) float64 { return 1 })
}

// GainImportance sums each feature's split gains, most first.
func (e *Ensemble) GainImportance() []Importance {
	return e.importance(func(t *Tree, i int) float64 { return t.SplitGain[i] })
}

func (e *Ensemble) importance(v func(t *Tree, i int) float64) []Importance {
	out := make([]Importance, len(e.FeatureNames))
	for f := range out {
		out[f].Feature = e.FeatureNames[f]
	}
	for _, t := range e.Trees {
		for i, f := range t.SplitFeature {
			out[f].Value += v(t, i)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Value > out[b].Value })
	return out
}
