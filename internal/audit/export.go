package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/internal/platform/paging"
)

// View is an entry as the API shows it: a REST list's item, and each
// line of an export.
type View struct {
	ID           uuid.UUID      `json:"id"`
	TenantID     uuid.UUID      `json:"tenant_id"`
	OccurredAt   time.Time      `json:"occurred_at"`
	ActorType    string         `json:"actor_type"`
	ActorID      string         `json:"actor_id"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resource_type"`
	ResourceID   string         `json:"resource_id"`
	Outcome      string         `json:"outcome"`
	RequestID    string         `json:"request_id"`
	IP           string         `json:"ip"`
	UserAgent    string         `json:"user_agent"`
	Details      map[string]any `json:"details"`
}

// NewView is a's View; its details are {} rather than null.
func NewView(a *ent.AuditLog) *View {
	d := a.Details
	if d == nil {
		d = map[string]any{}
	}
	return &View{ID: a.ID, TenantID: a.TenantID, OccurredAt: a.OccurredAt, ActorType: a.ActorType, ActorID: a.ActorID,
		Action: a.Action, ResourceType: a.ResourceType, ResourceID: a.ResourceID, Outcome: a.Outcome.String(),
		RequestID: a.RequestID, IP: a.IP, UserAgent: a.UserAgent, Details: d}
}

// Format is how an export writes its entries.
type Format string

// The formats of an export.
const (
	// NDJSON is one View per line, as JSON.
	NDJSON Format = "ndjson"
	// CSV is RFC 4180 with a header row of Columns; details is a JSON
	// object in its cell.
	CSV Format = "csv"
)

// Media types of the formats.
const (
	NDJSONType = "application/x-ndjson"
	CSVType    = "text/csv"
)

// ContentType is f's media type.
func (f Format) ContentType() string {
	if f == CSV {
		return CSVType
	}
	return NDJSONType
}

// FormatOf is the format of media type t: CSV for text/csv, NDJSON otherwise.
func FormatOf(t string) Format {
	if t == CSVType {
		return CSV
	}
	return NDJSON
}

// ParseFormat reads a format's name, as the CLI takes it.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case NDJSON, CSV:
		return f, nil
	}
	return "", fmt.Errorf("audit: format must be ndjson or csv, not %q", s)
}

// Columns are the header of a CSV export: View's JSON names, in order.
var Columns = []string{"id", "tenant_id", "occurred_at", "actor_type", "actor_id", "action", "resource_type",
	"resource_id", "outcome", "request_id", "ip", "user_agent", "details"}

// exportBatch is how many entries an export reads per query: memory holds
// one batch, however long the trail.
const exportBatch = 1000

// batchTimeout bounds each query of an export, as a request's context
// bounds its queries: the export itself runs as long as it streams.
const batchTimeout = 30 * time.Second

// flusher is a destination that passes on what it buffered when asked: an
// HTTP response, which sends it to the client.
type flusher interface{ Flush() error }

// Export writes the entries of the trail that where selects to w in format
// f, oldest first, and returns how many it wrote. It reads them in keyset
// batches on (occurred_at, id), each written and flushed before the next
// is read, so memory stays bounded whatever the count. It sees the
// entries ctx sees: the request's tenant for an API call (the data layer
// filters), every tenant for an operator's unrestricted context.
// An error leaves w with the batches already written.
func Export(ctx context.Context, client *ent.Client, where *ent.AuditLogWhereInput, f Format, w io.Writer) (int, error) {
	q, err := where.Filter(client.AuditLog.Query())
	if err != nil {
		return 0, err
	}
	buf := bufio.NewWriterSize(w, 64<<10)
	enc := newEncoder(f, buf)
	n := 0
	var after *paging.Position
	for {
		rows, err := exportBatchAfter(ctx, q, after)
		if err != nil {
			return n, err
		}
		if after == nil {
			// The header, once the first query has answered: a refused
			// export writes nothing.
			if err := enc.begin(); err != nil {
				return n, err
			}
		}
		for _, r := range rows {
			if err := enc.encode(NewView(r)); err != nil {
				return n, err
			}
			n++
		}
		if err := enc.flush(); err != nil {
			return n, err
		}
		if err := buf.Flush(); err != nil {
			return n, err
		}
		if fl, ok := w.(flusher); ok {
			if err := fl.Flush(); err != nil {
				return n, err
			}
		}
		if len(rows) < exportBatch {
			return n, nil
		}
		last := rows[len(rows)-1]
		after = &paging.Position{Value: last.OccurredAt, ID: last.ID}
	}
}

// exportBatchAfter reads the batch of q that follows after, or the first.
func exportBatchAfter(ctx context.Context, q *ent.AuditLogQuery, after *paging.Position) ([]*ent.AuditLog, error) {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	w := paging.Window{Sort: auditlog.FieldOccurredAt, Limit: exportBatch, After: after}
	return q.Clone().Order(w.Term(), w.Tie()).Limit(exportBatch).All(ctx)
}

// encoder writes Views in a format.
type encoder interface {
	begin() error
	encode(v *View) error
	flush() error
}

func newEncoder(f Format, w io.Writer) encoder {
	if f == CSV {
		return &csvEncoder{w: csv.NewWriter(w)}
	}
	return &ndjsonEncoder{enc: json.NewEncoder(w)}
}

// ndjsonEncoder writes each View as a line of JSON, as json.Marshal
// writes it in a REST answer.
type ndjsonEncoder struct{ enc *json.Encoder }

func (e *ndjsonEncoder) begin() error         { return nil }
func (e *ndjsonEncoder) encode(v *View) error { return e.enc.Encode(v) }
func (e *ndjsonEncoder) flush() error         { return nil }

// csvEncoder writes the header of Columns, then a record per View.
type csvEncoder struct {
	w      *csv.Writer
	record []string
}

func (e *csvEncoder) begin() error { return e.w.Write(Columns) }

func (e *csvEncoder) encode(v *View) error {
	details, err := json.Marshal(v.Details)
	if err != nil {
		return err
	}
	e.record = append(e.record[:0], v.ID.String(), v.TenantID.String(), v.OccurredAt.Format(time.RFC3339Nano),
		v.ActorType, v.ActorID, v.Action, v.ResourceType, v.ResourceID, v.Outcome, v.RequestID, v.IP, v.UserAgent,
		string(details))
	return e.w.Write(e.record)
}

func (e *csvEncoder) flush() error {
	e.w.Flush()
	return e.w.Error()
}
