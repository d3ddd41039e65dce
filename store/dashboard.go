package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// HourlyRollup counts the transactions of one received hour (UTC), type and
// band (migration 0016): sums, how many were flagged for review, how many
// carry each decision, and a score histogram.
type HourlyRollup struct {
	Owned
	Hour        string // HourLayout
	Type        string
	Band        string // from the review priority, as TransactionRollup's
	N           int64
	Amount      float64
	Score       float64
	Flagged     int64
	Fraud       int64
	FraudAmount float64
	FalsePos    int64
	Escalated   int64
	H0          int64 `gorm:"column:h0"`
	H1          int64 `gorm:"column:h1"`
	H2          int64 `gorm:"column:h2"`
	H3          int64 `gorm:"column:h3"`
	H4          int64 `gorm:"column:h4"`
	H5          int64 `gorm:"column:h5"`
	H6          int64 `gorm:"column:h6"`
	H7          int64 `gorm:"column:h7"`
	H8          int64 `gorm:"column:h8"`
	H9          int64 `gorm:"column:h9"`
	H10         int64 `gorm:"column:h10"`
	H11         int64 `gorm:"column:h11"`
	H12         int64 `gorm:"column:h12"`
	H13         int64 `gorm:"column:h13"`
	H14         int64 `gorm:"column:h14"`
	H15         int64 `gorm:"column:h15"`
}

// Histogram is the rollup's score histogram.
func (r *HourlyRollup) Histogram() Histogram {
	return Histogram{r.H0, r.H1, r.H2, r.H3, r.H4, r.H5, r.H6, r.H7, r.H8, r.H9, r.H10, r.H11, r.H12, r.H13, r.H14, r.H15}
}

// PlaceRollup counts the transactions of one received hour whose sender is
// in one country and region (migration 0016).
type PlaceRollup struct {
	Owned
	Hour    string
	Country string
	Region  string
	N       int64
	Amount  float64
	Score   float64
	Risky   int64 // in the high or critical band
	Fraud   int64 // confirmed fraud
}

// DashboardSums is what the dashboard adds up over a set of rollups.
type DashboardSums struct {
	N        int64
	Flagged  int64   // given a review priority when scored
	Fraud    int64   // decided confirmed fraud
	Risky    int64   // in the high or critical band
	Exposure float64 // amount of the critical band plus confirmed fraud
	Amount   float64
	Score    float64 // sum of the scores
}

// AvgScore is the mean score, 0 without transactions.
func (s DashboardSums) AvgScore() float64 {
	if s.N == 0 {
		return 0
	}
	return s.Score / float64(s.N)
}

// FraudRate is the share of confirmed fraud.
func (s DashboardSums) FraudRate() float64 { return ratio(s.Fraud, s.N) }

// RiskRate is the share of transactions in the high or critical band.
func (s DashboardSums) RiskRate() float64 { return ratio(s.Risky, s.N) }

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// hourSums is the SQL of DashboardSums' columns over hourly_rollups.
const hourSums = "SUM(n) AS n, SUM(flagged) AS flagged, SUM(fraud) AS fraud, " +
	"SUM(CASE WHEN band IN ('high', 'critical') THEN n ELSE 0 END) AS risky, " +
	"SUM(CASE WHEN band = 'critical' THEN amount ELSE fraud_amount END) AS exposure, " +
	"SUM(amount) AS amount, SUM(score) AS score"

// HourSums are the sums of one hour.
type HourSums struct {
	Hour string // HourLayout
	DashboardSums
}

// TypeBandSums are the sums of one type and band, with their score histogram.
type TypeBandSums struct {
	Type, Band string
	DashboardSums
	H Histogram
}

// CountrySums are the sums of one sender country and region ("" when
// unknown); Flagged and Exposure are not kept per place.
type CountrySums struct {
	Country, Region string
	DashboardSums
}

// Dashboard is what the dashboard's panels read, all from the rollups of
// the window [From, To) (zero From: since the start).
type Dashboard struct {
	Hours     []HourSums // hours with transactions, in order
	TypeBands []TypeBandSums
	Countries []CountrySums
	Total     DashboardSums
	// Latest is the last hour with transactions at all (outside the window
	// too), "" for a tenant without any: the empty states tell the two apart.
	Latest string
}

// LoadDashboard sums the tenant's hourly rollups of [from, to) by hour and
// by type and band, and its place rollups by country, in one read
// snapshot. Each is a sum over the window's rollups (some 20 rows an hour,
// and one per place and hour), never a read of the transactions.
func LoadDashboard(ctx context.Context, t Tenant, from, to time.Time) (*Dashboard, error) {
	d := &Dashboard{}
	window := func(q *gorm.DB) *gorm.DB {
		if !from.IsZero() {
			q = q.Where("hour >= ?", from.UTC().Format(HourLayout))
		}
		if !to.IsZero() {
			q = q.Where("hour < ?", to.UTC().Format(HourLayout))
		}
		return q
	}
	var hist strings.Builder
	for i := range len(Histogram{}) {
		fmt.Fprintf(&hist, ", SUM(h%d) AS h%d", i, i)
	}
	err := t.ReadTx(ctx, func(tx Tenant) error {
		if err := window(tx.scoped(ctx).Model(&HourlyRollup{})).Select("hour, " + hourSums).Group("hour").
			Having("SUM(n) <> 0").Order("hour").Scan(&d.Hours).Error; err != nil {
			return fmt.Errorf("by hour: %w", err)
		}
		var tb []struct {
			Type, Band string
			DashboardSums
			H0, H1, H2, H3, H4, H5, H6, H7, H8, H9, H10, H11, H12, H13, H14, H15 int64
		}
		if err := window(tx.scoped(ctx).Model(&HourlyRollup{})).Select("type, band, " + hourSums + hist.String()).
			Group("type, band").Having("SUM(n) <> 0").Order("type, band").Scan(&tb).Error; err != nil {
			return fmt.Errorf("by type and band: %w", err)
		}
		for _, r := range tb {
			d.TypeBands = append(d.TypeBands, TypeBandSums{Type: r.Type, Band: r.Band, DashboardSums: r.DashboardSums,
				H: Histogram{r.H0, r.H1, r.H2, r.H3, r.H4, r.H5, r.H6, r.H7, r.H8, r.H9, r.H10, r.H11, r.H12, r.H13, r.H14, r.H15}})
		}
		if err := window(tx.scoped(ctx).Model(&PlaceRollup{})).
			Select("country, region, SUM(n) AS n, SUM(risky) AS risky, SUM(fraud) AS fraud, SUM(amount) AS amount, SUM(score) AS score").
			Group("country, region").Having("SUM(n) <> 0").Order("country, region").Scan(&d.Countries).Error; err != nil {
			return fmt.Errorf("by country: %w", err)
		}
		var latest struct{ Hour *string }
		if err := tx.scoped(ctx).Model(&HourlyRollup{}).Select("MAX(hour) AS hour").Where("n > 0").
			Scan(&latest).Error; err != nil {
			return fmt.Errorf("latest hour: %w", err)
		}
		if latest.Hour != nil {
			d.Latest = *latest.Hour
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: dashboard: %w", err)
	}
	for _, h := range d.Hours {
		d.Total.add(h.DashboardSums)
	}
	return d, nil
}

func (s *DashboardSums) add(o DashboardSums) {
	s.N += o.N
	s.Flagged += o.Flagged
	s.Fraud += o.Fraud
	s.Risky += o.Risky
	s.Exposure += o.Exposure
	s.Amount += o.Amount
	s.Score += o.Score
}

// DashboardRollupsForTest lists the tenant's hourly and place rollups with
// transactions, and BruteDashboardRollupsForTest computes the same from the
// transactions themselves: the two must be equal.
func DashboardRollupsForTest(ctx context.Context, t Tenant) ([]HourlyRollup, []PlaceRollup, error) {
	var hours []HourlyRollup
	var places []PlaceRollup
	if err := t.scoped(ctx).Where("n <> 0").Order("hour, type, band").Find(&hours).Error; err != nil {
		return nil, nil, err
	}
	err := t.scoped(ctx).Where("n <> 0").Order("hour, country, region").Find(&places).Error
	return hours, places, err
}

// BruteDashboardRollupsForTest computes the dashboard's rollups from every
// transaction of the tenant, in Go, in the order DashboardRollupsForTest
// lists them.
func BruteDashboardRollupsForTest(ctx context.Context, t Tenant) ([]HourlyRollup, []PlaceRollup, error) {
	var txs []Transaction
	if err := t.scoped(ctx).Find(&txs).Error; err != nil {
		return nil, nil, err
	}
	c := newRollupChanges()
	for i := range txs {
		c.add(&txs[i], "", txs[i].Score, txs[i].Label, 1)
	}
	var hours []HourlyRollup
	for _, st := range c.hours.upserts(t.id, func(int) string { return "?" }) {
		for i := 0; i < len(st.Args); i += len(hourColumns) {
			a := st.Args[i : i+len(hourColumns)]
			r := HourlyRollup{Owned: Owned{t.id}, Hour: a[1].(string), Type: a[2].(string), Band: a[3].(string), N: a[4].(int64),
				Amount: a[5].(float64), Score: a[6].(float64), Flagged: a[7].(int64), Fraud: a[8].(int64), FraudAmount: a[9].(float64),
				FalsePos: a[10].(int64), Escalated: a[11].(int64)}
			h := []*int64{&r.H0, &r.H1, &r.H2, &r.H3, &r.H4, &r.H5, &r.H6, &r.H7, &r.H8, &r.H9, &r.H10, &r.H11, &r.H12, &r.H13, &r.H14, &r.H15}
			for j := range h {
				*h[j] = a[12+j].(int64)
			}
			hours = append(hours, r)
		}
	}
	var places []PlaceRollup
	for _, st := range c.places.upserts(t.id, func(int) string { return "?" }) {
		for i := 0; i < len(st.Args); i += len(placeColumns) {
			a := st.Args[i : i+len(placeColumns)]
			places = append(places, PlaceRollup{Owned: Owned{t.id}, Hour: a[1].(string), Country: a[2].(string), Region: a[3].(string),
				N: a[4].(int64), Amount: a[5].(float64), Score: a[6].(float64), Risky: a[7].(int64), Fraud: a[8].(int64)})
		}
	}
	return hours, places, nil
}
