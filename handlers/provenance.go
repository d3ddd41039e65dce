package handlers

import (
	"context"
	"fmt"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// sourceNames are the transaction sources in words.
var sourceNames = map[string]string{
	store.SourceAPI:    "API",
	store.SourceUpload: "CSV upload",
	store.SourceReplay: "Replay",
	store.SourceSeed:   "Demo seed",
	store.SourceWeb:    "Workspace",
}

// provenanceField says how a transaction arrived and who sent it, for the
// transaction page.
func provenanceField(ctx context.Context, t store.Tenant, tx *store.Transaction) (views.Field, error) {
	who, err := store.SubmitterOf(ctx, t, tx)
	if err != nil {
		return views.Field{}, err
	}
	v := sourceNames[tx.Source]
	if v == "" {
		v = tx.Source
	}
	switch {
	case who.KeyID != "":
		v += fmt.Sprintf(" · key %q (%s…)", who.KeyName, who.KeyPrefix)
	case who.UserID != "":
		v += fmt.Sprintf(" · %s (%s)", who.UserName, who.UserEmail)
	}
	return views.Field{Label: "Arrived through", Value: v}, nil
}
