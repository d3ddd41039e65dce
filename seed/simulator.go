package seed

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/sentinel-fraud/sentinel/scoring"
)

// SimConfig configures the PaySim-style simulator.
type SimConfig struct {
	Rows      int
	FraudRate float64 // share of rows that are fraud (each fraud is a TRANSFER + CASH_OUT pair)
	Seed      uint64
	Steps     int // simulated hours; PaySim runs 720 (30 days)
	// FanIn is the chance that a fraud's TRANSFER goes to a mule already used
	// in the same day, so one mule collects from several victims.
	FanIn float64
	// StartHour is the hour of the week (0 = Monday 00:00) of step 0, so
	// that the daily and weekly rhythm can fall on real days.
	StartHour int
	// Declined is the share of legitimate payments and cash-outs that ask
	// for a little more than the balance holds and are refused.
	Declined float64
	// Progress, when set, is called after every simulated day with the rows written.
	Progress func(rows int)
}

// DefaultSimConfig mirrors the shared PaySim file: 720 hourly steps and its fraud rate.
func DefaultSimConfig() SimConfig {
	return SimConfig{Rows: 100_000, FraudRate: 0.00057, Seed: 1, Steps: 720, FanIn: 0.1}
}

// typeMix is the share of legitimate rows per type and the log-normal
// parameters (median, sigma) of their amounts, after the published PaySim
// aggregate profile.
var typeMix = []struct {
	typ    string
	share  float64
	median float64
	sigma  float64
}{
	{"CASH_IN", 0.454, 120_000, 1.0},
	{"CASH_OUT", 0.238, 150_000, 1.1},
	{"PAYMENT", 0.234, 8_000, 1.2},
	{"TRANSFER", 0.060, 550_000, 1.1},
	{"DEBIT", 0.014, 4_000, 1.0},
}

type account struct {
	name    string
	balance float64
}

// simulator holds the state of one run.
type simulator struct {
	cfg       SimConfig
	rng       *rand.Rand
	clients   []account
	merchants []string
	banks     []string
	mules     []*account // mules opened today
	muleDay   int
	buf       []byte
	w         *bufio.Writer
	// collect, when set, receives every row instead of the CSV writer.
	collect func(tx scoring.Transaction, fraud bool)
}

// Simulate writes cfg.Rows PaySim-format rows (Kaggle header, in step order)
// to w: clients with balances, merchants and banks, an hourly and weekly
// volume cycle, the five types with their own amount distributions, and
// account takeovers (a TRANSFER of the victim's whole balance to a fresh mule,
// then the mule's CASH_OUT of it in the same step). The same seed writes the
// same bytes.
func Simulate(w io.Writer, cfg SimConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	s := &simulator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x9a751)), w: bufio.NewWriterSize(w, 1<<16)}
	if _, err := s.w.WriteString("step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest,isFraud,isFlaggedFraud\n"); err != nil {
		return err
	}
	s.run()
	return s.w.Flush()
}

// SimulateTransactions returns the rows Simulate would write, with their labels.
func SimulateTransactions(cfg SimConfig) ([]scoring.Transaction, []bool, error) {
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	var txs []scoring.Transaction
	var labels []bool
	s := &simulator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x9a751)), collect: func(tx scoring.Transaction, fraud bool) {
		txs = append(txs, tx)
		labels = append(labels, fraud)
	}}
	s.run()
	return txs, labels, nil
}

func (cfg SimConfig) validate() error {
	if cfg.Rows < 1 || cfg.Steps < 1 || cfg.FraudRate < 0 || cfg.FraudRate > 0.5 || cfg.FanIn < 0 || cfg.FanIn > 1 ||
		cfg.StartHour < 0 || cfg.Declined < 0 || cfg.Declined > 1 {
		return fmt.Errorf("seed: simulate: need rows ≥ 1, steps ≥ 1, fraud rate in [0, 0.5], fan-in and declined share in [0, 1], start hour ≥ 0")
	}
	return nil
}

// run simulates every step, handing each row to s.row.
func (s *simulator) run() {
	cfg := s.cfg
	s.population()
	pairs := int(math.Round(float64(cfg.Rows) * cfg.FraudRate / 2))
	legit := cfg.Rows - 2*pairs
	legitPerStep := spread(legit, s.hourWeights())
	// Takeovers come at any hour, day or night (as in PaySim): each in a
	// step drawn at random, not evenly spaced, which with few frauds put
	// every one at the same hour of the day.
	fraudPerStep := make([]int, cfg.Steps)
	for range pairs {
		fraudPerStep[s.rng.IntN(cfg.Steps)]++
	}
	written := 0
	for step := 0; step < cfg.Steps; step++ {
		if day := step / 24; day != s.muleDay {
			s.muleDay, s.mules = day, s.mules[:0]
			if cfg.Progress != nil {
				cfg.Progress(written)
			}
		}
		written += legitPerStep[step] + 2*fraudPerStep[step]
		nl, nf := legitPerStep[step], fraudPerStep[step]
		for nl+nf > 0 {
			// Interleave frauds among the step's legitimate rows.
			if nf > 0 && s.rng.IntN(nl+nf) < nf {
				s.fraud(step)
				nf--
			} else {
				s.legit(step)
				nl--
			}
		}
	}
}

// SimulateTo writes to w, gzip-compressed when gz is set.
func SimulateTo(w io.Writer, gz bool, cfg SimConfig) error {
	if !gz {
		return Simulate(w, cfg)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if err := Simulate(zw, cfg); err != nil {
		return err
	}
	return zw.Close()
}

func (s *simulator) population() {
	nClients := max(1000, s.cfg.Rows/25)
	s.clients = make([]account, nClients)
	for i := range s.clients {
		s.clients[i] = account{name: s.id("C"), balance: cents(s.lognormal(25_000, 1.6))}
		if s.rng.Float64() < 0.25 {
			s.clients[i].balance = 0 // many PaySim clients start empty
		}
	}
	s.merchants = make([]string, max(500, s.cfg.Rows/50))
	for i := range s.merchants {
		s.merchants[i] = s.id("M")
	}
	s.banks = []string{s.id("B"), s.id("B"), s.id("B"), s.id("B"), s.id("B")}
}

func (s *simulator) id(prefix string) string {
	return prefix + strconv.FormatInt(1_000_000_000+s.rng.Int64N(9_000_000_000), 10)
}

func (s *simulator) lognormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*s.rng.NormFloat64())
}

func cents(v float64) float64 { return math.Round(v*100) / 100 }

// hourWeights is the relative volume of each step: busy days, quiet nights,
// calmer weekends.
func (s *simulator) hourWeights() []float64 {
	w := make([]float64, s.cfg.Steps)
	for step := range w {
		at := step + s.cfg.StartHour
		hour, day := at%24, (at/24)%7
		daily := 0.25 + math.Max(0, math.Sin(math.Pi*float64(hour-6)/16))
		if hour < 6 || hour > 22 {
			daily = 0.1
		}
		weekly := 1.0
		if day == 5 || day == 6 {
			weekly = 0.7
		}
		w[step] = daily * weekly
	}
	return w
}

// spread deals n items over len(w) slots in proportion to w, exactly n in all.
func spread(n int, w []float64) []int {
	total := 0.0
	for _, x := range w {
		total += x
	}
	out := make([]int, len(w))
	acc, given := 0.0, 0
	for i, x := range w {
		acc += x
		target := int(math.Round(float64(n) * acc / total))
		out[i] = target - given
		given = target
	}
	return out
}

func (s *simulator) pickType() int {
	u := s.rng.Float64()
	for i, t := range typeMix {
		if u < t.share {
			return i
		}
		u -= t.share
	}
	return 0
}

// legit writes one ordinary transaction.
func (s *simulator) legit(step int) {
	ti := s.pickType()
	t := typeMix[ti]
	c := &s.clients[s.rng.IntN(len(s.clients))]
	amount := cents(s.lognormal(t.median, t.sigma))
	if (t.typ == "CASH_OUT" || t.typ == "PAYMENT") && c.balance > 0 && s.cfg.Declined > 0 && s.rng.Float64() < s.cfg.Declined {
		amount = cents(c.balance * (1.0001 + 0.0008*s.rng.Float64()))
	}
	oldOrg := c.balance
	newOrg := oldOrg
	dest := ""
	oldDest, newDest := 0.0, 0.0
	switch t.typ {
	case "CASH_IN":
		dest = s.merchants[s.rng.IntN(len(s.merchants))]
		newOrg = cents(oldOrg + amount)
	case "TRANSFER":
		d := &s.clients[s.rng.IntN(len(s.clients))]
		dest = d.name
		oldDest = d.balance
		newDest = oldDest
		if amount <= oldOrg && d != c {
			newOrg = cents(oldOrg - amount)
			newDest = cents(oldDest + amount)
			d.balance = newDest
		}
	case "DEBIT":
		dest = s.banks[s.rng.IntN(len(s.banks))]
		if amount <= oldOrg {
			newOrg = cents(oldOrg - amount)
		}
	default: // CASH_OUT, PAYMENT
		dest = s.merchants[s.rng.IntN(len(s.merchants))]
		if amount <= oldOrg {
			newOrg = cents(oldOrg - amount)
		}
	}
	// A payment the balance cannot cover is refused: the row is logged, the
	// balances do not move.
	c.balance = newOrg
	s.row(step, t.typ, amount, c.name, oldOrg, newOrg, dest, oldDest, newDest, 0)
}

// fraud writes an account takeover: the victim's whole balance goes to a
// mule, and the mule cashes it out in the same step.
func (s *simulator) fraud(step int) {
	var v *account
	for try := 0; try < 20; try++ {
		c := &s.clients[s.rng.IntN(len(s.clients))]
		if c.balance > 0 {
			v = c
			break
		}
	}
	if v == nil {
		v = &s.clients[s.rng.IntN(len(s.clients))]
		v.balance = cents(s.lognormal(25_000, 1.6))
	}
	var mule *account
	if len(s.mules) > 0 && s.rng.Float64() < s.cfg.FanIn {
		mule = s.mules[s.rng.IntN(len(s.mules))]
	} else {
		mule = &account{name: s.id("CC")}
		s.mules = append(s.mules, mule)
	}
	amount := v.balance
	muleOld := mule.balance
	mule.balance = cents(muleOld + amount)
	s.row(step, "TRANSFER", amount, v.name, amount, 0, mule.name, muleOld, mule.balance, 1)
	v.balance = 0
	before := mule.balance
	mule.balance = cents(before - amount)
	s.row(step, "CASH_OUT", amount, mule.name, before, mule.balance, s.merchants[s.rng.IntN(len(s.merchants))], 0, 0, 1)
}

func (s *simulator) row(step int, typ string, amount float64, orig string, oldOrg, newOrg float64, dest string, oldDest, newDest float64, fraud int) {
	if s.collect != nil {
		tx := scoring.Transaction{Step: step, Type: typ, Amount: amount, NameOrig: orig, OldBalanceOrg: oldOrg,
			NewBalanceOrig: newOrg, NameDest: dest, OldBalanceDest: oldDest, NewBalanceDest: newDest}
		tx.OrigCountry, tx.OrigRegion = Home(orig)
		tx.DestCountry, tx.DestRegion = Home(dest)
		s.collect(tx, fraud == 1)
		return
	}
	b := s.buf[:0]
	b = strconv.AppendInt(b, int64(step), 10)
	b = append(b, ',')
	b = append(b, typ...)
	for _, f := range []struct {
		s string
		v float64
	}{{"", amount}, {orig, oldOrg}, {"", newOrg}, {dest, oldDest}, {"", newDest}} {
		if f.s != "" {
			b = append(b, ',')
			b = append(b, f.s...)
		}
		b = append(b, ',')
		b = strconv.AppendFloat(b, f.v, 'f', 2, 64)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(fraud), 10)
	b = append(b, ",0\n"...)
	s.buf = b
	s.w.Write(b)
}
