package live

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/sentinel-fraud/sentinel/models"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// storedByReflection is the stored form as json.Marshal writes it, the
// reference AppendStored must match byte for byte.
func storedByReflection(t *testing.T, fe Frozen) []byte {
	t.Helper()
	fe.Explanation.Top = nil
	all := make([]scoring.Contribution, len(fe.Explanation.All))
	for i, c := range fe.Explanation.All {
		all[i] = scoring.Contribution{Feature: c.Feature, Value: c.Value, Contribution: c.Contribution}
	}
	fe.Explanation.All = all
	b, err := json.Marshal(fe)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStoredExplanationMatchesEncodingJSON(t *testing.T) {
	m, err := scoring.Load(models.Default)
	if err != nil {
		t.Fatal(err)
	}
	lm := &Version{VersionID: store.NewID(), Name: models.DefaultName, Version: 3, Model: m}
	takeover := scoring.Transaction{Step: 400, Type: "TRANSFER", Amount: 181000, NameOrig: "C1", OldBalanceOrg: 181000, NameDest: "C2"}
	payment := scoring.Transaction{Step: 9, Type: "PAYMENT", Amount: 12.34, NameOrig: "C3", OldBalanceOrg: 1e6, NewBalanceOrig: 1e6 - 12.34, NameDest: "M4"}
	for name, c := range map[string]struct {
		tx scoring.Transaction
		ws store.WatchStatus
	}{
		"takeover":         {takeover, store.WatchStatus{}},
		"payment":          {payment, store.WatchStatus{}},
		"blocked receiver": {payment, store.WatchStatus{ReceiverBlocked: true}},
		"trusted sender":   {takeover, store.WatchStatus{SenderTrusted: true}},
	} {
		_, p, fe, err := lm.Score(Input{ExternalID: "x", Tx: c.tx}, c.ws)
		if err != nil {
			t.Fatal(err)
		}
		if want := storedByReflection(t, *fe); !bytes.Equal(p.Explanation, want) {
			t.Errorf("%s: stored explanation\n%s\nwant (encoding/json)\n%s", name, p.Explanation, want)
		}
	}

	// Numbers at the edges of encoding/json's formats, and strings it escapes.
	fe := Frozen{
		Model:  FrozenModel{ID: "id", Name: `<fraud & "friends"> é` + "\t\u2028", Version: 1},
		Result: scoring.Result{RawMargin: -1e-7, Score: 1e21, Band: scoring.BandHigh, ModelBand: scoring.BandLow, Override: "<b>blocked</b> & more", Trusted: true},
		Explanation: scoring.Explanation{BaseValue: 0, RawMargin: 123456789.125, Summary: "a \"quoted\" \\ summary\n",
			All: []scoring.Contribution{{Feature: "amount", Label: "Amount", Value: 5e-324, Contribution: -0.1, Direction: "down"},
				{Feature: "x", Value: math.MaxFloat64, Contribution: 1e-6}}},
		WatchOverride: &scoring.Watch{SenderTrusted: true, ReceiverBlocked: true},
	}
	got, err := fe.AppendStored(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := storedByReflection(t, fe); !bytes.Equal(got, want) {
		t.Errorf("edge cases:\n%s\nwant (encoding/json)\n%s", got, want)
	}
	fe.Explanation.All[1].Contribution = math.NaN()
	if _, err := fe.AppendStored(nil); err == nil {
		t.Error("AppendStored(NaN contribution) = nil error")
	}
}
