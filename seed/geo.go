package seed

import (
	"hash/fnv"
	"strings"
)

// weighted is a value and its share of a draw.
type weighted struct {
	code  string
	share float64
}

// homeCountries is where ordinary clients, merchants and banks live: a
// skew like a US-led card and wallet book with a European and a Latin
// American arm, and a long tail.
var homeCountries = []weighted{
	{"US", 0.40}, {"GB", 0.10}, {"DE", 0.07}, {"FR", 0.06}, {"CA", 0.05}, {"MX", 0.04}, {"BR", 0.04},
	{"IN", 0.04}, {"ES", 0.03}, {"IT", 0.03}, {"NL", 0.02}, {"AU", 0.02}, {"JP", 0.02}, {"SG", 0.01},
	{"IE", 0.01}, {"SE", 0.01}, {"PL", 0.01}, {"ZA", 0.01}, {"AR", 0.01}, {"CH", 0.01}, {"AE", 0.01},
}

// muleCountries is where mule accounts are opened: fraud money leaves a
// victim anywhere and concentrates in a few corridors.
var muleCountries = []weighted{{"NG", 0.30}, {"RO", 0.25}, {"HK", 0.20}, {"US", 0.15}, {"PH", 0.10}}

// usStates weights the states of US accounts, roughly by population.
var usStates = []weighted{
	{"US-CA", 0.12}, {"US-TX", 0.09}, {"US-FL", 0.07}, {"US-NY", 0.06}, {"US-PA", 0.04}, {"US-IL", 0.04},
	{"US-OH", 0.035}, {"US-GA", 0.033}, {"US-NC", 0.032}, {"US-MI", 0.03}, {"US-NJ", 0.028}, {"US-VA", 0.026},
	{"US-WA", 0.023}, {"US-AZ", 0.022}, {"US-MA", 0.021}, {"US-TN", 0.021}, {"US-IN", 0.02}, {"US-MD", 0.019},
	{"US-MO", 0.018}, {"US-WI", 0.018}, {"US-CO", 0.018}, {"US-MN", 0.017}, {"US-SC", 0.016}, {"US-AL", 0.015},
	{"US-LA", 0.014}, {"US-KY", 0.013}, {"US-OR", 0.013}, {"US-OK", 0.012}, {"US-CT", 0.011}, {"US-UT", 0.01},
	{"US-IA", 0.01}, {"US-NV", 0.01}, {"US-AR", 0.009}, {"US-MS", 0.009}, {"US-KS", 0.009}, {"US-NM", 0.006},
	{"US-NE", 0.006}, {"US-ID", 0.006}, {"US-WV", 0.005}, {"US-HI", 0.004}, {"US-NH", 0.004}, {"US-ME", 0.004},
	{"US-MT", 0.003}, {"US-RI", 0.003}, {"US-DE", 0.003}, {"US-SD", 0.003}, {"US-ND", 0.002}, {"US-AK", 0.002},
	{"US-DC", 0.002}, {"US-VT", 0.002}, {"US-WY", 0.002},
}

// muleUSStates: mules in the US sit in a few states.
var muleUSStates = []weighted{{"US-FL", 0.5}, {"US-NY", 0.3}, {"US-TX", 0.2}}

// Home is the country (ISO 3166-1 alpha-2) and, for a US account, the state
// (ISO 3166-2) of a simulated account. It is a function of the name alone
// (a hash), so it draws nothing from the simulator's random stream: the
// simulated rows are the same with or without places, and an account is in
// the same place in every row. Mules ("CC…") are placed in a few corridor
// countries.
func Home(name string) (country, region string) {
	h := fnv.New64a()
	h.Write([]byte(name))
	x := h.Sum64()
	u1 := float64(x>>11) / (1 << 53)
	u2 := float64((x*0x9e3779b97f4a7c15)>>11) / (1 << 53)
	countries, states := homeCountries, usStates
	if strings.HasPrefix(name, "CC") {
		countries, states = muleCountries, muleUSStates
	}
	country = pick(countries, u1)
	if country == "US" {
		region = pick(states, u2)
	}
	return country, region
}

// pick draws from w with u in [0, 1); the last value takes what the
// shares leave.
func pick(w []weighted, u float64) string {
	total := 0.0
	for _, x := range w {
		total += x.share
	}
	u *= total
	for _, x := range w {
		if u < x.share {
			return x.code
		}
		u -= x.share
	}
	return w[len(w)-1].code
}
