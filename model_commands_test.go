package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
)

func TestModelCommands(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cli.db")
	db, err := store.Open("", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := store.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := seed.Demo(ctx, db); err != nil {
		t.Fatal(err)
	}
	slug := seed.Tenants()[0].Slug
	tenant, err := store.AdminTenantBySlug(ctx, db, slug)
	if err != nil {
		t.Fatal(err)
	}
	tn := store.ForTenant(db, tenant.ID)
	model := "scoring/testdata/reference/seed16/model.txt"
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"import checks and stores a LightGBM file", []string{"model", "import", "--file", model, "--name", "seed16"}, 0},
		{"import refuses a file that is not a model", []string{"model", "import", "--file", "go.mod"}, 1},
		{"list lists the versions", []string{"model", "list"}, 0},
		{"promote takes a name and version", []string{"model", "promote", "--name", "seed16", "--version", "1"}, 0},
		{"promote refuses the production version", []string{"model", "promote", "--name", "seed16", "--version", "1"}, 1},
		{"promote needs a version", []string{"model", "promote"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "--sqlite-path", path, "--tenant", slug, "--log-level", "error")
			if code := run(args); code != tc.code {
				t.Fatalf("run(%v) = %d, want %d", tc.args, code, tc.code)
			}
		})
	}
	prod, err := store.ProductionModel(ctx, tn)
	if err != nil || prod.Name != "seed16" || prod.PromotedByEmail != "cli" {
		t.Fatalf("production after the CLI = %+v, %v; want seed16 promoted by cli", prod, err)
	}
	events, err := store.ListAudit(ctx, tn, store.AuditFilter{Action: store.ActionModelPromote})
	if err != nil || len(events) != 1 || events[0].ActorEmail != "cli" {
		t.Fatalf("promote events = %v, %v", events, err)
	}
}
