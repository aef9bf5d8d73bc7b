// Package logbuf buffers log output: one access-log line per request must
// not cost one write system call per request. The buffer is flushed every
// interval and on Close, so at most one interval of lines waits in memory.
package logbuf

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Writer is a buffered, periodically flushed writer, safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// New buffers w and flushes it every interval.
func New(w io.Writer, interval time.Duration) *Writer {
	bw := &Writer{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go bw.loop(interval)
	return bw
}

func (w *Writer) loop(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = w.Flush()
		case <-w.stop:
			return
		}
	}
}

// Write appends p to the buffer.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Flush()
}

// Close stops the flushing and flushes one last time.
func (w *Writer) Close() error {
	close(w.stop)
	<-w.done
	return w.Flush()
}
