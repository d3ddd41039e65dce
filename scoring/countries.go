package scoring

import (
	"strings"
	"sync"
)

//go:generate go run gen_iso3166.go

// Country is one ISO 3166-1 country.
type Country struct {
	Code    string // alpha-2, e.g. "US"
	Numeric string // numeric, e.g. "840"
	Name    string
}

// Countries lists every ISO 3166-1 country, by alpha-2 code.
func Countries() []Country { return countryList }

var countryIndex = sync.OnceValue(func() map[string]*Country {
	m := make(map[string]*Country, len(countryList))
	for i := range countryList {
		m[countryList[i].Code] = &countryList[i]
	}
	return m
})

var regionIndex = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(regionCodes) {
		m[c] = true
	}
	return m
})

// IsCountry reports whether code is an ISO 3166-1 alpha-2 code (upper case).
func IsCountry(code string) bool { return countryIndex()[code] != nil }

// CountryName is the English name of an alpha-2 code, or the code itself.
func CountryName(code string) string {
	if c := countryIndex()[code]; c != nil {
		return c.Name
	}
	return code
}

// IsRegion reports whether code is an ISO 3166-2 subdivision code
// (upper case, e.g. "US-NY").
func IsRegion(code string) bool { return regionIndex()[code] }
