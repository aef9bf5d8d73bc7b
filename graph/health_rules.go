package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime/debug"

	"github.com/credvault/credvault/internal/health"

	"github.com/credvault/credvault/ent/migrate"
	"github.com/credvault/credvault/internal/access"
)

// schemaVersion digests the tables and columns this build migrates to: two
// instances with the same value agree on the schema.
var schemaVersion = func() string {
	h := sha256.New()
	for _, t := range migrate.Tables {
		fmt.Fprintf(h, "%s(", t.Name)
		for _, c := range t.Columns {
			fmt.Fprintf(h, "%s %s %v,", c.Name, c.Type, c.Nullable)
		}
		fmt.Fprint(h, ")")
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

// commit is the VCS revision the binary was built from, when Go recorded it.
var commit = func() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}()

// AdminHealth is the health report for a principal holding tenant:read,
// as GET /api/v1/admin/health serves it.
func (r *Resolver) AdminHealth(ctx context.Context) (*health.Health, error) {
	if _, err := r.require(ctx, access.TenantRead); err != nil {
		return nil, err
	}
	return r.Query().Health(ctx)
}
