package invalidate_test

import (
	"database/sql"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// TestReconnectDropsEverything: when the listening connection is lost,
// whatever was published meanwhile never arrives, so once it is back every
// subscriber hears All and drops every cache.
func TestReconnectDropsEverything(t *testing.T) {
	base := os.Getenv(storetest.EnvURL)
	if base == "" {
		t.Skip(storetest.EnvURL + " is not set: LISTEN needs PostgreSQL")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	// The listener's own name, so that only its connection is cut.
	name := "credvault-bus-" + uuid.NewString()
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()

	bus, err := invalidate.New(dialect.Postgres, u.String(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	// Other suites sharing the database publish their own topics on the
	// same channel: only All is what this test waits for.
	heard := make(chan invalidate.Topic, 1)
	bus.Subscribe(func(tp invalidate.Topic) {
		if kind, _ := tp.Split(); kind == invalidate.All {
			select {
			case heard <- tp:
			default:
			}
		}
	})

	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var cut int
	if err := db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, name).Scan(&cut); err != nil {
		t.Fatal(err)
	}
	if cut != 1 {
		t.Fatalf("%d listening connections cut, want 1", cut)
	}
	select {
	case <-heard:
	case <-time.After(10 * time.Second):
		t.Fatalf("%q not heard within 10 s of losing the listening connection", invalidate.All)
	}
}
