package store

import (
	"database/sql"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// GuardTenantScope makes every statement on a tenant table fail when its SQL
// has no tenant_id condition, unless it runs inside a function that may
// cross tenants by design: the Admin* functions, the migrations, the session
// store, and test helpers named *ForTest. The test suites turn it on for
// every database they open (storetest), so a query that forgets its tenant
// fails loudly there. It reads the statement after it ran: it is a test
// alarm, not a production wall (the Tenant type is that).
func GuardTenantScope(db *DB) error {
	guard := func(tx *gorm.DB) {
		if tx.Error != nil || tx.Statement == nil {
			return
		}
		query := tx.Statement.SQL.String()
		if strings.Contains(query, "tenant_id") || !tenantTables().MatchString(query) || crossTenantCaller() {
			return
		}
		// A row query has run already: release its connection before failing.
		switch r := tx.Statement.Dest.(type) {
		case *sql.Rows:
			r.Close()
		case *sql.Row:
			_ = r.Scan()
		}
		_ = tx.AddError(fmt.Errorf("store: tenant guard: statement on a tenant table without a tenant_id condition: %s", query))
	}
	handles := []*gorm.DB{db.gorm}
	if db.read != db.gorm {
		handles = append(handles, db.read)
	}
	for _, h := range handles {
		cb := h.Callback()
		for _, err := range []error{
			cb.Query().After("gorm:query").Register("sentinel:tenant_guard", guard),
			cb.Row().After("gorm:row").Register("sentinel:tenant_guard", guard),
			cb.Raw().After("gorm:raw").Register("sentinel:tenant_guard", guard),
			cb.Update().After("gorm:update").Register("sentinel:tenant_guard", guard),
			cb.Delete().After("gorm:delete").Register("sentinel:tenant_guard", guard),
		} {
			if err != nil {
				return fmt.Errorf("store: tenant guard: %w", err)
			}
		}
	}
	return nil
}

// tenantTables matches the name of any table whose rows carry a tenant_id.
var tenantTables = sync.OnceValue(func() *regexp.Regexp {
	var names []string
	for _, m := range tenantModels() {
		s, err := schema.Parse(m, &sync.Map{}, schema.NamingStrategy{})
		if err != nil {
			panic(fmt.Sprintf("store: table of %T: %v", m, err))
		}
		names = append(names, s.Table)
	}
	return regexp.MustCompile(`(?i)\b(` + strings.Join(names, "|") + `)\b`)
})

// crossTenantCaller reports whether a function allowed to cross tenants is
// on the call stack.
func crossTenantCaller() bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		name := f.Function[strings.LastIndex(f.Function, "/")+1:]
		if strings.HasPrefix(name, "store.Admin") || strings.HasPrefix(name, "store.Migrate") ||
			strings.HasPrefix(name, "store.(*SessionStore)") || strings.HasSuffix(name, "ForTest") {
			return true
		}
		if !more {
			return false
		}
	}
}
