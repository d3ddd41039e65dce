package handlers

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/models"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
)

func TestBatchAnswerMatchesEncodingJSON(t *testing.T) {
	m, err := scoring.Load(models.Default)
	if err != nil {
		t.Fatal(err)
	}
	lm := &live.Version{VersionID: store.NewID(), Name: models.DefaultName, Version: 2, Model: m}
	takeover := scoring.Transaction{Step: 400, Type: "TRANSFER", Amount: 181000, NameOrig: `C1<&>"é`, OldBalanceOrg: 181000, NameDest: "C2"}
	payment := scoring.Transaction{Step: 9, Type: "PAYMENT", Amount: 12.34, NameOrig: "C3", OldBalanceOrg: 1e6, NewBalanceOrig: 1e6 - 12.34, NameDest: "M4"}
	var items []batchItem
	for i, c := range []struct {
		tx scoring.Transaction
		ws store.WatchStatus
	}{{takeover, store.WatchStatus{}}, {payment, store.WatchStatus{ReceiverBlocked: true}}, {payment, store.WatchStatus{SenderTrusted: true}}} {
		in := live.Input{ExternalID: "ext-" + string(rune('a'+i)), Tx: c.tx, Source: store.SourceAPI}
		switch i {
		case 0:
			in.KeyID = store.NewID()
		case 2:
			in.UserID = `u"<&>`
		}
		tx, p, fe, err := lm.Score(in, c.ws)
		if err != nil {
			t.Fatal(err)
		}
		res, err := toResponse(&store.Scored{Transaction: *tx, Prediction: *p}, fe, i != 1)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, batchItem{Index: len(items), Result: &res})
	}
	// A stored one read back (its top list rebuilt), one with no top list, one
	// received on a whole second, and an invalid item.
	stored, err := toResponse(&store.Scored{Transaction: store.Transaction{ID: "t", ExternalID: "s"},
		Prediction: store.Prediction{Explanation: []byte(`{"explanation":{"contributions":[{"feature":"amount","value":1,"contribution":-2}]}}`)}}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	bare := *items[0].Result
	bare.Explanation.Top = nil
	bare.ReceivedAt = bare.ReceivedAt.Truncate(time.Second)
	items = append(items, batchItem{Index: 3, Result: &stored}, batchItem{Index: 4, Result: &bare},
		batchItem{Index: 5, Errors: []scoring.FieldError{{Field: "amount", Message: "must be > 0 & finite"}}})

	got, err := batchJSON(5, 1, items)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(struct {
		Scored  int         `json:"scored"`
		Invalid int         `json:"invalid"`
		Items   []batchItem `json:"items"`
	}{5, 1, items})
	if err != nil {
		t.Fatal(err)
	}
	if want = append(want, '\n'); !bytes.Equal(got, want) {
		t.Errorf("batch answer\n%s\nwant (encoding/json)\n%s", got, want)
	}
}
