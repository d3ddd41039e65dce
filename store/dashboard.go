package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// HourlyRollup counts the transactions of one received hour (UTC) that
// share type, band, review, decision and the sender's country and region
// (migration 0016): the dashboard's panels are sums of them.
type HourlyRollup struct {
	Owned
	Hour    string // HourLayout
	Type    string
	Band    string // from the review priority, as TransactionRollup's
	Review  int
	Label   string
	Country string
	Region  string
	N       int64
	Amount  float64
	Score   float64
	H0      int64 `gorm:"column:h0"`
	H1      int64 `gorm:"column:h1"`
	H2      int64 `gorm:"column:h2"`
	H3      int64 `gorm:"column:h3"`
	H4      int64 `gorm:"column:h4"`
	H5      int64 `gorm:"column:h5"`
	H6      int64 `gorm:"column:h6"`
	H7      int64 `gorm:"column:h7"`
	H8      int64 `gorm:"column:h8"`
	H9      int64 `gorm:"column:h9"`
	H10     int64 `gorm:"column:h10"`
	H11     int64 `gorm:"column:h11"`
	H12     int64 `gorm:"column:h12"`
	H13     int64 `gorm:"column:h13"`
	H14     int64 `gorm:"column:h14"`
	H15     int64 `gorm:"column:h15"`
}

// Histogram is the rollup's score histogram.
func (r *HourlyRollup) Histogram() Histogram {
	return Histogram{r.H0, r.H1, r.H2, r.H3, r.H4, r.H5, r.H6, r.H7, r.H8, r.H9, r.H10, r.H11, r.H12, r.H13, r.H14, r.H15}
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

// FraudRate is the share of confirmed fraud, RiskRate the share in the
// high or critical band.
func (s DashboardSums) FraudRate() float64 { return ratio(s.Fraud, s.N) }

// RiskRate is the share of transactions in the high or critical band.
func (s DashboardSums) RiskRate() float64 { return ratio(s.Risky, s.N) }

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// dashboardSums is the SQL of DashboardSums' columns over hourly_rollups.
const dashboardSums = "SUM(n) AS n, SUM(CASE WHEN review = 1 THEN n ELSE 0 END) AS flagged, " +
	"SUM(CASE WHEN label = '" + DecisionConfirmedFraud + "' THEN n ELSE 0 END) AS fraud, " +
	"SUM(CASE WHEN band IN ('high', 'critical') THEN n ELSE 0 END) AS risky, " +
	"SUM(CASE WHEN band = 'critical' OR label = '" + DecisionConfirmedFraud + "' THEN amount ELSE 0 END) AS exposure, " +
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

// CountrySums are the sums of one sender country and region ("" when unknown).
type CountrySums struct {
	Country, Region string
	DashboardSums
}

// Dashboard is what the dashboard's panels read, all from hourly_rollups
// of the window [From, To) (zero From: since the start).
type Dashboard struct {
	Hours     []HourSums // hours with transactions, in order
	TypeBands []TypeBandSums
	Countries []CountrySums
	Total     DashboardSums
	// Latest is the last hour with transactions at all (outside the window
	// too), "" for a tenant without any: the empty states tell the two apart.
	Latest string
}

// LoadDashboard sums the tenant's hourly rollups of [from, to) by hour, by
// type and band, and by country, in one read snapshot. Each is a sum over
// the window's rollups, never a read of the transactions.
func LoadDashboard(ctx context.Context, t Tenant, from, to time.Time) (*Dashboard, error) {
	d := &Dashboard{}
	window := func(tx Tenant) *gorm.DB {
		q := tx.scoped(ctx).Model(&HourlyRollup{})
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
		if err := window(tx).Select("hour, " + dashboardSums).Group("hour").Having("SUM(n) <> 0").Order("hour").
			Scan(&d.Hours).Error; err != nil {
			return fmt.Errorf("by hour: %w", err)
		}
		var tb []struct {
			Type, Band string
			DashboardSums
			H0, H1, H2, H3, H4, H5, H6, H7, H8, H9, H10, H11, H12, H13, H14, H15 int64
		}
		if err := window(tx).Select("type, band, " + dashboardSums + hist.String()).Group("type, band").
			Having("SUM(n) <> 0").Order("type, band").Scan(&tb).Error; err != nil {
			return fmt.Errorf("by type and band: %w", err)
		}
		for _, r := range tb {
			d.TypeBands = append(d.TypeBands, TypeBandSums{Type: r.Type, Band: r.Band, DashboardSums: r.DashboardSums,
				H: Histogram{r.H0, r.H1, r.H2, r.H3, r.H4, r.H5, r.H6, r.H7, r.H8, r.H9, r.H10, r.H11, r.H12, r.H13, r.H14, r.H15}})
		}
		if err := window(tx).Select("country, region, " + dashboardSums).Group("country, region").
			Having("SUM(n) <> 0").Order("country, region").Scan(&d.Countries).Error; err != nil {
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

// HourlyRollupsForTest lists the tenant's hourly rollups with transactions,
// and BruteHourlyRollupsForTest aggregates the same from the transactions
// themselves: the two must be equal.
func HourlyRollupsForTest(ctx context.Context, t Tenant) ([]HourlyRollup, error) {
	var rows []HourlyRollup
	err := t.scoped(ctx).Where("n <> 0").Order("hour, type, band, review, label, country, region").Find(&rows).Error
	return rows, err
}

// BruteHourlyRollupsForTest computes the hourly rollups from every
// transaction of the tenant, in Go.
func BruteHourlyRollupsForTest(ctx context.Context, t Tenant) ([]HourlyRollup, error) {
	var txs []Transaction
	if err := t.scoped(ctx).Find(&txs).Error; err != nil {
		return nil, err
	}
	d := hourDeltas{}
	for i := range txs {
		d.add(hourOf(&txs[i], txs[i].Label), 1, txs[i].Amount, txs[i].Score)
	}
	var out []HourlyRollup
	for k, s := range d {
		h := s.H
		out = append(out, HourlyRollup{Owned: Owned{t.id}, Hour: k.Hour, Type: k.Type, Band: k.Band, Review: k.Review,
			Label: k.Label, Country: k.Country, Region: k.Region, N: s.N, Amount: s.Amount, Score: s.Score,
			H0: h[0], H1: h[1], H2: h[2], H3: h[3], H4: h[4], H5: h[5], H6: h[6], H7: h[7], H8: h[8], H9: h[9],
			H10: h[10], H11: h[11], H12: h[12], H13: h[13], H14: h[14], H15: h[15]})
	}
	return out, nil
}
