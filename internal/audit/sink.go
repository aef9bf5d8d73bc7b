package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"sync"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/hook"
)

// FileSink appends every entry, once it is in the database, to a file as
// a line of NDJSON in the export's shape: a copy of the trail outside the
// database, for a log shipper to follow (Vault's file audit device). The
// database stays the record: a failed write is logged, never a failed
// request.
type FileSink struct {
	mu     sync.Mutex
	f      *os.File
	logger *slog.Logger
}

// OpenFileSink opens path for appending, creating it readable by its owner
// only.
func OpenFileSink(path string, logger *slog.Logger) (*FileSink, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &FileSink{f: f, logger: logger}, nil
}

// Hook is the ent hook that feeds the sink: an entry created in a
// transaction is written once the transaction commits (never one rolled
// back); any other once its insert has succeeded. Every way of writing
// entries, Record, the Batcher and the Committer, goes through it.
func (s *FileSink) Hook() ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return hook.AuditLogFunc(func(ctx context.Context, m *ent.AuditLogMutation) (ent.Value, error) {
			v, err := next.Mutate(ctx, m)
			entry, ok := v.(*ent.AuditLog)
			if err != nil || !ok || !m.Op().Is(ent.OpCreate) {
				return v, err
			}
			tx, err := m.Tx()
			if err != nil {
				s.write(entry)
				return v, nil
			}
			tx.OnCommit(func(next ent.Committer) ent.Committer {
				return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
					if err := next.Commit(ctx, tx); err != nil {
						return err
					}
					s.write(entry)
					return nil
				})
			})
			return v, nil
		})
	}
}

func (s *FileSink) write(entry *ent.AuditLog) {
	line, err := json.Marshal(NewView(entry))
	if err == nil {
		s.mu.Lock()
		_, err = s.f.Write(append(line, '\n'))
		s.mu.Unlock()
	}
	if err != nil {
		s.logger.Error("audit file: entry not written", "entry", entry.ID, "err", err)
	}
}

// Close closes the file.
func (s *FileSink) Close() error { return s.f.Close() }
