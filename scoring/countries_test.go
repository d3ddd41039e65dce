package scoring_test

import (
	"errors"
	"testing"

	"github.com/sentinel-fraud/sentinel/scoring"
)

func TestCountryAndRegionValidation(t *testing.T) {
	ok := scoring.Transaction{Type: "PAYMENT", Amount: 1, NameOrig: "C1", NameDest: "M1"}
	cases := []struct {
		name            string
		oc, orr, dc, dr string
		wantFields      []string
	}{
		{"accepts none", "", "", "", "", nil},
		{"accepts a country and a region in it", "US", "US-NY", "GB", "GB-LND", nil},
		{"accepts a country alone", "NG", "", "DE", "", nil},
		{"refuses an unknown country", "XX", "", "", "", []string{"orig_country"}},
		{"refuses a lower-case country", "", "", "us", "", []string{"dest_country"}},
		{"refuses an alpha-3 code", "USA", "", "", "", []string{"orig_country"}},
		{"refuses an unknown region", "US", "US-ZZ", "", "", []string{"orig_region"}},
		{"refuses a region of another country", "CA", "US-NY", "", "", []string{"orig_region"}},
		{"refuses a region without its country", "", "", "", "US-CA", []string{"dest_region"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx := ok
			tx.OrigCountry, tx.OrigRegion, tx.DestCountry, tx.DestRegion = c.oc, c.orr, c.dc, c.dr
			err := tx.Validate()
			var ve *scoring.ValidationError
			if c.wantFields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %v, want a validation error", err)
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			if len(got) != len(c.wantFields) || got[0] != c.wantFields[0] {
				t.Errorf("Validate() fields = %v, want %v", got, c.wantFields)
			}
		})
	}
	if n := len(scoring.Countries()); n != 249 {
		t.Errorf("%d ISO 3166-1 countries, want 249", n)
	}
	if scoring.CountryName("GB") != "United Kingdom" {
		t.Errorf("CountryName(GB) = %q", scoring.CountryName("GB"))
	}
}
