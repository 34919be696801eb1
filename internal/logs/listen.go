package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// finalFlushTimeout bounds the last Write of a stream after its context
// was cancelled: events already read are still handed to the Sink.
const finalFlushTimeout = 5 * time.Second

// StreamServer receives syslog over a stream listener: plain TCP, or TLS
// when given a tls.Listener. Framing is detected per connection from its
// first byte: a digit means octet counting (RFC 6587 "LEN SP MSG"),
// anything else newline-terminated records.
//
// Backpressure: a connection is read through one buffer of
// MaxRecordSize+16 bytes; its events are written to the Sink when the
// batch is full or the buffer is drained, and nothing more is read from
// that connection until Write returns. Syslog over TCP has no
// application-level acknowledgement, so a slow Sink stalls the reader and
// the kernel's receive window then stalls the sender. When Write fails
// the connection is closed, so the sender sees the failure instead of
// losing later records silently.
type StreamServer struct {
	opts Options
}

// NewStreamServer returns a server; opts.Sink is required.
func NewStreamServer(opts Options) *StreamServer {
	opts.defaults()
	return &StreamServer{opts: opts}
}

// Counters returns the server's counters.
func (s *StreamServer) Counters() *Counters { return s.opts.Counters }

// Serve accepts connections on ln until ctx is cancelled, then closes ln
// and every connection and returns nil once all handlers are done.
func (s *StreamServer) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	stop := context.AfterFunc(ctx, func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	var err error
	for {
		c, aerr := ln.Accept()
		if aerr != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("syslog accept: %w", aerr)
			}
			break
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			_ = c.Close()
			break
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				_ = c.Close()
			}()
			if herr := s.handle(ctx, c); herr != nil && ctx.Err() == nil {
				s.opts.Logger.Warn("syslog connection closed", "peer", c.RemoteAddr().String(), "err", herr)
			}
		})
	}
	wg.Wait()
	return err
}

// handle reads one connection to its end.
func (s *StreamServer) handle(ctx context.Context, c net.Conn) error {
	b := newBatcher(&s.opts, c.RemoteAddr().String(), s.opts.Tenant)
	w := newStreamWriter(ctx, s.opts.Sink, s.opts.BatchSize, func() { _ = c.Close() })
	err := readStream(ctx, bufio.NewReaderSize(c, MaxRecordSize+16), b, w)
	if werr := w.close(b); werr != nil {
		return fmt.Errorf("sink: %w", werr)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// readStream reads framed records from r into b until EOF or an error,
// handing b's events to w whenever the batch fills or r has nothing
// buffered (so that nothing waits while the reader blocks).
func readStream(ctx context.Context, r *bufio.Reader, b *batcher, w *streamWriter) error {
	first, err := r.Peek(1)
	if err != nil {
		return err
	}
	octet := first[0] >= '1' && first[0] <= '9'
	for {
		var rec []byte
		var truncated bool
		if octet {
			rec, truncated, err = readOctetFrame(r)
		} else {
			rec, truncated, err = readLine(r)
		}
		if len(rec) > 0 {
			full := b.add(ctx, rec, truncated)
			if full || r.Buffered() == 0 {
				if werr := w.hand(b); werr != nil {
					return fmt.Errorf("sink: %w", werr)
				}
			}
		}
		if err != nil {
			return err
		}
	}
}

// streamWriter writes a stream's events to the Sink from its own
// goroutine, so that reading and parsing the next records overlaps the
// previous Write (a spool's fsync). Events handed over while a Write is
// in flight wait in pending and all go in the next Write: the slower the
// Sink, the larger its batches. Memory stays bounded: at most one Write
// in flight and about one batch pending; beyond that hand blocks, which
// stops reading the connection. The first failed Write stops the writer
// and calls abort (closing the connection), and hand reports it.
type streamWriter struct {
	sink  Sink
	max   int
	abort func()

	mu      sync.Mutex
	cond    *sync.Cond
	pending []Event
	spare   []Event
	closed  bool
	err     error

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newStreamWriter(ctx context.Context, sink Sink, maxBatch int, abort func()) *streamWriter {
	// Events already read are still written after ctx ends, within
	// finalFlushTimeout of the stream's end (see close).
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &streamWriter{sink: sink, max: maxBatch, abort: abort, ctx: wctx, cancel: cancel, done: make(chan struct{}),
		pending: make([]Event, 0, maxBatch), spare: make([]Event, 0, maxBatch)}
	w.cond = sync.NewCond(&w.mu)
	go w.run()
	return w
}

// hand moves b's events to pending, waiting while too many are pending.
func (w *streamWriter) hand(b *batcher) error {
	if len(b.events) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.err == nil && len(w.pending) > 0 && len(w.pending)+len(b.events) > w.max {
		w.cond.Wait()
	}
	if w.err != nil {
		return w.err
	}
	w.pending = append(w.pending, b.events...)
	clear(b.events)
	b.events = b.events[:0]
	w.cond.Broadcast()
	return nil
}

// close hands b's last events over, waits until everything is written
// (at most finalFlushTimeout) and returns the first Write error.
func (w *streamWriter) close(b *batcher) error {
	err := w.hand(b)
	w.mu.Lock()
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
	t := time.AfterFunc(finalFlushTimeout, w.cancel)
	<-w.done
	t.Stop()
	w.cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	return err
}

func (w *streamWriter) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		for len(w.pending) == 0 && !w.closed {
			w.cond.Wait()
		}
		if len(w.pending) == 0 {
			w.mu.Unlock()
			return
		}
		batch := w.pending
		w.pending = w.spare[:0]
		w.mu.Unlock()

		err := w.sink.Write(w.ctx, batch)

		w.mu.Lock()
		clear(batch)
		w.spare = batch[:0]
		if err != nil {
			w.err = err
			w.pending = w.pending[:0]
		}
		w.cond.Broadcast()
		w.mu.Unlock()
		if err != nil {
			w.abort()
			return
		}
	}
}

// readLine reads one newline-terminated record (the newline and a CR
// before it dropped). A line longer than the reader's buffer is cut
// there and the rest of it discarded. The slice is valid until the next
// read.
func readLine(r *bufio.Reader) ([]byte, bool, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		rec := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return rec, true, err
	}
	return trimRecord(line), false, err
}

// maxFrameDigits bounds the length prefix of an octet-counted frame.
const maxFrameDigits = 9

// readOctetFrame reads "LEN SP MSG". A frame longer than MaxRecordSize is
// cut to it and the rest discarded.
func readOctetFrame(r *bufio.Reader) ([]byte, bool, error) {
	n := 0
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			if i == 0 {
				return nil, false, err
			}
			return nil, false, fmt.Errorf("octet-counted frame: %w", io.ErrUnexpectedEOF)
		}
		if c == ' ' && i > 0 {
			break
		}
		if c == '\n' && i == 0 {
			// Tolerate a stray newline between frames.
			i--
			continue
		}
		if c < '0' || c > '9' || i >= maxFrameDigits {
			return nil, false, fmt.Errorf("octet-counted frame: bad length byte %q", c)
		}
		n = n*10 + int(c-'0')
	}
	keep := min(n, MaxRecordSize)
	rec := make([]byte, keep)
	if _, err := io.ReadFull(r, rec); err != nil {
		return nil, false, fmt.Errorf("octet-counted frame: %w", io.ErrUnexpectedEOF)
	}
	if n > keep {
		if _, err := r.Discard(n - keep); err != nil {
			return rec, true, fmt.Errorf("octet-counted frame: %w", io.ErrUnexpectedEOF)
		}
	}
	return trimRecord(rec), n > keep, nil
}

// UDPServer receives syslog datagrams, one record each. UDP cannot push
// back: events are written in batches (when full, or when no datagram
// arrived for UDPFlushInterval), and a batch the Sink refuses is counted
// as Dropped.
type UDPServer struct {
	opts Options
}

// UDPFlushInterval is how long a partial UDP batch waits for more
// datagrams before it is written.
const UDPFlushInterval = 50 * time.Millisecond

// NewUDPServer returns a server; opts.Sink is required.
func NewUDPServer(opts Options) *UDPServer {
	opts.defaults()
	return &UDPServer{opts: opts}
}

// Counters returns the server's counters.
func (s *UDPServer) Counters() *Counters { return s.opts.Counters }

// Serve reads datagrams from pc until ctx is cancelled, then closes pc and
// returns nil.
func (s *UDPServer) Serve(ctx context.Context, pc net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { _ = pc.Close() })
	defer stop()
	buf := make([]byte, MaxRecordSize+1)
	b := newBatcher(&s.opts, pc.LocalAddr().String(), s.opts.Tenant)
	flush := func(ctx context.Context) {
		n := len(b.events)
		if err := b.flush(ctx); err != nil {
			s.opts.Counters.Dropped.Add(uint64(n))
			s.opts.Logger.Warn("syslog udp: batch dropped", "events", n, "err", err)
			clear(b.events)
			b.events = b.events[:0]
		}
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalFlushTimeout)
		defer cancel()
		flush(fctx)
	}()
	for {
		if len(b.events) > 0 {
			_ = pc.SetReadDeadline(time.Now().Add(UDPFlushInterval))
		} else {
			_ = pc.SetReadDeadline(time.Time{})
		}
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				flush(ctx)
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("syslog udp read: %w", err)
		}
		b.source = addr.String()
		rec := buf[:n]
		truncated := n > MaxRecordSize
		if truncated {
			rec = rec[:MaxRecordSize]
		}
		if b.add(ctx, trimRecord(rec), truncated) {
			flush(ctx)
		}
	}
}
