package live

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// Frozen is what a prediction keeps: the explanation and the model that
// made it, never recomputed.
type Frozen struct {
	Model         FrozenModel         `json:"model"`
	Result        scoring.Result      `json:"result"`
	Explanation   scoring.Explanation `json:"explanation"`
	WatchOverride *scoring.Watch      `json:"watch,omitempty"`
}

type FrozenModel struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version int    `json:"version"`
}

// AppendStored appends what a prediction stores of fe: exactly what
// json.Marshal writes for it without the top list (TopContributions
// rebuilds it) and without labels and directions (Describe does), which
// halves the bytes. Written out by hand because it runs for every scored
// transaction, where encoding/json's reflection was a fifth of the
// server's work; a test holds it byte for byte to json.Marshal.
func (fe *Frozen) AppendStored(b []byte) ([]byte, error) {
	r, ex := &fe.Result, &fe.Explanation
	for _, f := range []float64{r.RawMargin, r.Score, ex.BaseValue, ex.RawMargin} {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("encode explanation: non-finite number %v", f)
		}
	}
	b = append(b, `{"model":`...)
	b = fe.Model.AppendJSON(b)
	b = append(b, `,"result":{"raw_margin":`...)
	b = AppendJSONFloat(b, r.RawMargin)
	b = append(b, `,"score":`...)
	b = AppendJSONFloat(b, r.Score)
	b = AppendVerdict(b, string(r.Band), string(r.ModelBand), r.Override, r.Trusted, r.Review)
	b = append(b, `},"explanation":{"base_value":`...)
	b = AppendJSONFloat(b, ex.BaseValue)
	b = append(b, `,"raw_margin":`...)
	b = AppendJSONFloat(b, ex.RawMargin)
	b = append(b, `,"contributions":[`...)
	for i, c := range ex.All {
		if math.IsNaN(c.Value) || math.IsInf(c.Value, 0) || math.IsNaN(c.Contribution) || math.IsInf(c.Contribution, 0) {
			return nil, fmt.Errorf("encode explanation: non-finite %s", c.Feature)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendContribution(b, &ex.All[i], false)
	}
	b = append(b, `],"summary":`...)
	b = AppendJSONString(b, ex.Summary)
	b = append(b, '}')
	if w := fe.WatchOverride; w != nil {
		b = fmt.Appendf(b, `,"watch":{"SenderBlocked":%t,"ReceiverBlocked":%t,"SenderTrusted":%t,"ReceiverTrusted":%t}`,
			w.SenderBlocked, w.ReceiverBlocked, w.SenderTrusted, w.ReceiverTrusted)
	}
	return append(b, '}'), nil
}

// AppendVerdict writes the band fields of a result, from ,"band" to
// "review", as encoding/json writes them for scoring.Result and the API.
func AppendVerdict(b []byte, band, modelBand, override string, trusted, review bool) []byte {
	b = append(b, `,"band":`...)
	b = AppendJSONString(b, band)
	b = append(b, `,"model_band":`...)
	b = AppendJSONString(b, modelBand)
	if override != "" {
		b = append(b, `,"override":`...)
		b = AppendJSONString(b, override)
	}
	if trusted {
		b = append(b, `,"trusted":true`...)
	}
	b = append(b, `,"review":`...)
	return strconv.AppendBool(b, review)
}

func (m FrozenModel) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = AppendJSONString(b, m.ID)
	b = append(b, `,"name":`...)
	b = AppendJSONString(b, m.Name)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(m.Version), 10)
	return append(b, '}')
}

// AppendContribution writes c as encoding/json does; without text only its
// feature, value and contribution, as a prediction stores it.
func AppendContribution(b []byte, c *scoring.Contribution, text bool) []byte {
	b = append(b, `{"feature":`...)
	b = AppendJSONString(b, c.Feature)
	if text && c.Label != "" {
		b = append(b, `,"label":`...)
		b = AppendJSONString(b, c.Label)
	}
	b = append(b, `,"value":`...)
	b = AppendJSONFloat(b, c.Value)
	b = append(b, `,"contribution":`...)
	b = AppendJSONFloat(b, c.Contribution)
	if text && c.Direction != "" {
		b = append(b, `,"direction":`...)
		b = AppendJSONString(b, c.Direction)
	}
	return append(b, '}')
}

// AppendJSONFloat writes f as encoding/json does: the shortest form that
// reads back exactly, in exponent form only below 1e-6 or from 1e21.
func AppendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1] // e-07 → e-7
		b = b[:n-1]
	}
	return b
}

// AppendJSONString writes s as a JSON string; anything beyond plain
// printable ASCII goes through encoding/json, which escapes as it does
// everywhere else.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// DecodeFrozen reads a prediction's frozen explanation and rebuilds what
// storage leaves out: labels, directions and the top list.
func DecodeFrozen(s *store.Scored) (*Frozen, error) {
	fe := new(Frozen)
	if err := json.Unmarshal(s.Prediction.Explanation, fe); err != nil {
		return nil, fmt.Errorf("decode explanation of %s: %w", s.Transaction.ID, err)
	}
	for i := range fe.Explanation.All {
		fe.Explanation.All[i].Describe()
	}
	if len(fe.Explanation.Top) == 0 {
		fe.Explanation.Top = scoring.TopContributions(fe.Explanation.All, scoring.DefaultTopK)
	}
	return fe, nil
}
