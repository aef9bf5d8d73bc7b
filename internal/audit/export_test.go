package audit

// SetMaxQueued bounds b's queue at n rows, so a test fills it quickly.
func SetMaxQueued(b *Batcher, n int) { b.max = n }
