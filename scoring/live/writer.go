package live

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/sentinel-fraud/sentinel/store"
)

// maxGroup is the most transactions one group commit writes.
const maxGroup = 256

// saveRequest is one scored transaction waiting for the writer.
type saveRequest struct {
	t    store.Tenant
	tx   *store.Transaction
	p    *store.Prediction
	done chan saveResult
}

type saveResult struct {
	stored  *store.Scored
	created bool
	err     error
}

// groupWriter stores concurrent single requests together: while one
// database transaction commits, the requests that arrive queue up and go
// into the next one. It adds no waiting of its own.
type groupWriter struct {
	queue   chan saveRequest
	running atomic.Bool
}

// RunWriter writes queued transactions in group commits until ctx ends.
// Stop it only after the HTTP server has drained its requests.
func (s *Scorer) RunWriter(ctx context.Context) {
	s.w.running.Store(true)
	defer s.w.running.Store(false)
	for {
		var first saveRequest
		select {
		case <-ctx.Done():
			return
		case first = <-s.w.queue:
		}
		group := []saveRequest{first}
	drain:
		for len(group) < maxGroup {
			select {
			case r := <-s.w.queue:
				group = append(group, r)
			default:
				break drain
			}
		}
		s.writeGroup(context.WithoutCancel(ctx), group)
	}
}

// writeGroup commits one group per tenant; when an external id is taken it
// falls back to one transaction per request, which resolves the repeat.
func (s *Scorer) writeGroup(ctx context.Context, group []saveRequest) {
	byTenant := map[string][]saveRequest{}
	var order []string
	for _, r := range group {
		if _, ok := byTenant[r.t.ID()]; !ok {
			order = append(order, r.t.ID())
		}
		byTenant[r.t.ID()] = append(byTenant[r.t.ID()], r)
	}
	for _, id := range order {
		rs := byTenant[id]
		txs := make([]store.Transaction, len(rs))
		ps := make([]store.Prediction, len(rs))
		for i, r := range rs {
			txs[i], ps[i] = *r.tx, *r.p
		}
		err := store.SaveScoredBatch(ctx, rs[0].t, txs, ps)
		if errors.Is(err, store.ErrDuplicate) {
			for _, r := range rs {
				stored, created, err := store.SaveScored(ctx, r.t, r.tx, r.p)
				r.done <- saveResult{stored, created, err}
			}
			continue
		}
		for i, r := range rs {
			if err != nil {
				r.done <- saveResult{err: err}
				continue
			}
			r.done <- saveResult{stored: &store.Scored{Transaction: txs[i], Prediction: ps[i]}, created: true}
		}
	}
}

// save stores one scored transaction: through the group writer when it
// runs, directly otherwise.
func (s *Scorer) save(ctx context.Context, t store.Tenant, tx *store.Transaction, p *store.Prediction) (*store.Scored, bool, error) {
	if !s.w.running.Load() {
		return store.SaveScored(ctx, t, tx, p)
	}
	req := saveRequest{t: t, tx: tx, p: p, done: make(chan saveResult, 1)}
	select {
	case s.w.queue <- req:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	r := <-req.done
	return r.stored, r.created, r.err
}
