package handlers

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"unsafe"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
)

// decodedByEncodingJSON reads what parse reads, the slow way.
func decodedByEncodingJSON(b []byte) (*exportedExplanation, []scoring.Contribution, error) {
	var fe live.Frozen
	if err := json.Unmarshal(b, &fe); err != nil {
		return nil, nil, err
	}
	ex := &exportedExplanation{ModelName: fe.Model.Name, ModelVersion: int64(fe.Model.Version), Review: fe.Result.Review,
		Summary: fe.Explanation.Summary}
	return ex, fe.Explanation.All, nil
}

// readAll reads every contribution parse kept unread.
func (ex *exportedExplanation) readAll() ([]scoring.Contribution, error) {
	var out []scoring.Contribution
	for i := range ex.contributions {
		c, err := ex.contributions[i].read(ex.names)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// sameExplanation compares what parse read with what encoding/json read.
func sameExplanation(got *exportedExplanation, want *exportedExplanation, all []scoring.Contribution) bool {
	read, err := got.readAll()
	return err == nil && got.ModelName == want.ModelName && got.ModelVersion == want.ModelVersion && got.Review == want.Review &&
		got.Summary == want.Summary && slices.EqualFunc(read, all, func(x, y scoring.Contribution) bool {
		return x.Feature == y.Feature && x.Value == y.Value && x.Contribution == y.Contribution
	})
}

// frozenSamples are explanations as predictions store them, and the same
// re-indented with keys in another order, as another writer might.
func frozenSamples(t testing.TB) [][]byte {
	fe := live.Frozen{Model: live.FrozenModel{ID: "m1", Name: "paysim \"gbdt\" <v>", Version: 3},
		Result: scoring.Result{RawMargin: -2.5, Score: 0.076, Band: "medium", ModelBand: "low", Override: "watch", Review: true},
		Explanation: scoring.Explanation{BaseValue: -3, RawMargin: -2.5, Summary: "Amount \u2014 large; \\ \"quoted\"\nnext",
			All: []scoring.Contribution{{Feature: "amount", Value: 1e-7, Contribution: 0.25}, {Feature: "hour", Value: 3, Contribution: -0.5},
				{Feature: "day", Value: 0, Contribution: 0}, {Feature: "type_DEBIT", Value: 1, Contribution: 0.25}, {Feature: "x", Value: 2.5e21, Contribution: -1e-9}}},
		WatchOverride: &scoring.Watch{SenderBlocked: true}}
	stored, err := fe.AppendStored(nil)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(stored, &tree); err != nil {
		t.Fatal(err)
	}
	sorted, _ := json.Marshal(tree) // keys in another order
	var indented bytes.Buffer
	if err := json.Indent(&indented, sorted, "", "  "); err != nil {
		t.Fatal(err)
	}
	return [][]byte{stored, sorted, indented.Bytes(), []byte(`{"model":{"name":"m","version":1},"explanation":{"contributions":[]}}`)}
}

func TestExplanationParseAgreesWithEncodingJSON(t *testing.T) {
	for i, b := range frozenSamples(t) {
		want, all, err := decodedByEncodingJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		var got exportedExplanation
		if err := got.parse(b); err != nil || !sameExplanation(&got, want, all) {
			t.Errorf("sample %d: parse() = %+v, %v; want %+v", i, got, err, want)
		}
	}
	t.Run("the top three are TopContributions'", func(t *testing.T) {
		var ex exportedExplanation
		if err := ex.parse(frozenSamples(t)[0]); err != nil {
			t.Fatal(err)
		}
		all, err := ex.readAll()
		if err != nil {
			t.Fatal(err)
		}
		want := scoring.TopContributions(all, 3)
		got, err := ex.top3(nil)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("top3() = %v, %v; want %v", got, err, want)
		}
	})
	t.Run("malformed documents fail", func(t *testing.T) {
		for _, b := range []string{``, `{`, `{"model":}`, `{"model":{"name":1}}`, `[]`, `{"a":1}x`, "{\"a\":\"\x01\"}", `{"a" 1}`, `{"a":tru}`,
			`{"explanation":{"contributions":[{"feature":"a","value":1,"contribution":1e}]}}`,
			`{"explanation":{"contributions":[{"feature":"a","value":1,"contribution":1]}}`} {
			var ex exportedExplanation
			if err := ex.parse([]byte(b)); err == nil {
				t.Errorf("parse(%q) = nil error", b)
			}
		}
	})
}

// FuzzExplanationParse: parse never panics, and whatever it accepts
// encoding/json reads the same.
func FuzzExplanationParse(f *testing.F) {
	for _, b := range frozenSamples(f) {
		f.Add(b)
	}
	// Found by fuzzing: keys in another case, bytes that are not UTF-8.
	f.Add([]byte(`{"eXplAnAtion":{"ContriButions":[{"00000000":0},{}]}}`))
	f.Add([]byte("{\"explanation\":{\"summary\":\"\xe2\"}}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got exportedExplanation
		if err := got.parse(b); err != nil {
			return
		}
		want, all, err := decodedByEncodingJSON(b)
		if err != nil {
			return // parse is laxer about the parts it skips (and duplicate keys)
		}
		if !sameExplanation(&got, want, all) {
			t.Errorf("parse(%q) = %+v, encoding/json %+v %v", b, got, *want, all)
		}
	})
}

func TestRawStringEndsAtTheFirstUnescapedQuote(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		escaped  bool
	}{
		{`"plain" rest`, `"plain"`, false},
		{`"" rest`, `""`, false},
		{`"a\"b" rest`, `"a\"b"`, true},
		{`"a\\" rest"`, `"a\\"`, true},
		{`"a\\\"b" rest`, `"a\\\"b"`, true},
		{`"\"\"" rest`, `"\"\""`, true},
		{`"tab\tx" rest`, `"tab\tx"`, true},
	} {
		sc := jsonScanner{b: []byte(tc.in)}
		raw, escaped, err := sc.rawString()
		if err != nil || string(raw) != tc.want || escaped != tc.escaped {
			t.Errorf("rawString(%s) = %s, %v, %v; want %s, %v", tc.in, raw, escaped, err, tc.want, tc.escaped)
		}
	}
	for _, bad := range []string{`"unterminated`, `"ends in a backslash\"`, "\"control\x01\"", `not a string`} {
		sc := jsonScanner{b: []byte(bad)}
		if _, _, err := sc.rawString(); err == nil {
			t.Errorf("rawString(%q) = nil error", bad)
		}
	}
}

func TestNameKeepsOneStringPerName(t *testing.T) {
	names := map[string]string{}
	read := func(doc string) string {
		sc := jsonScanner{b: []byte(doc)}
		n, err := sc.name(names)
		if err != nil {
			t.Fatalf("name(%s): %v", doc, err)
		}
		return n
	}
	first, second := read(`"amount"`), read(`"amount"`)
	if first != "amount" || unsafe.StringData(first) != unsafe.StringData(second) {
		t.Errorf("name read twice = %q and %q, not one string", first, second)
	}
	if got := read(`"caf\u00e9"`); got != "café" {
		t.Errorf("an escaped name = %q, want café", got)
	}
	if len(names) != 1 {
		t.Errorf("names kept %v, want only amount (escaped names are not kept)", names)
	}
}
