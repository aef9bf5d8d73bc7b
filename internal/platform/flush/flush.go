// Package flush runs the background loops that write what the server
// batches in memory (audit entries of reads, key usage, request counts).
package flush

import (
	"context"
	"log/slog"
	"time"
)

// Every calls fn every interval, and whenever kick fires (kick may be nil),
// until ctx ends; then once more, so nothing batched is lost on shutdown.
// Failures are logged as what.
func Every(ctx context.Context, interval time.Duration, kick <-chan struct{}, logger *slog.Logger, what string, fn func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := fn(context.WithoutCancel(ctx)); err != nil {
				logger.Error("flush "+what, "err", err)
			}
			return
		case <-t.C:
		case <-kick:
		}
		if err := fn(ctx); err != nil {
			logger.Error("flush "+what, "err", err)
		}
	}
}
