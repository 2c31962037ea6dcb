package emailcompromiseprocessor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A snapshot copies state a step at a time under the processing lock (a
// step: a few hundred users, a fraction of a millisecond). Whichever thread
// holds that lock can be taken off its core by the machine for tens of
// milliseconds (BenchmarkSnapshotPause: steps of 0.2 ms at the median held
// the lock up to 20-30 ms, with no collection, assist or allocation during
// them), and every record arriving meanwhile waits for it. So while records
// are flowing, a step is not run by the snapshot's goroutine but handed to
// the next ConsumeLogs call, which runs it after its records, holding the
// lock anyway: records never wait for another goroutine to be scheduled.
// When no call has ended for processingIdle, the snapshot runs the step
// itself, first yielding its core: it then starts a fresh time slice, and
// the scheduler does not take it off the core with the lock held for a
// step that lasts a fraction of one (a call arriving then waits for one
// step).
const processingIdle = 5 * time.Millisecond

// stepHandoff passes the snapshot's steps to the processing path.
type stepHandoff struct {
	mu *sync.Mutex
	// handing serialises underLock's callers: one step is handed at a time.
	handing sync.Mutex
	// handed is the step waiting for the next call, nil when there is none.
	handed atomic.Pointer[handedStep]
	// lastCall is when the latest call ended, in nanoseconds since
	// clockStart (0: none yet). The monotonic clock: a wall clock set back
	// would make processing look busy, and the snapshot wait for calls
	// that may not come.
	lastCall atomic.Int64
}

// clockStart is the origin of stepHandoff.lastCall.
var clockStart = time.Now()

// idle reports whether no call has ended for processingIdle.
func (h *stepHandoff) idle() bool {
	return time.Since(clockStart)-time.Duration(h.lastCall.Load()) > processingIdle
}

type handedStep struct {
	run  func()
	done chan struct{}
	// panicked is what the step panicked with in the call, if it did: the
	// snapshot panics with it too, as it would have running the step itself.
	panicked any
}

// underLock runs step while mu is held: at the end of the next call when
// records are flowing, or at once under mu when they are not. It returns
// once step has run.
func (h *stepHandoff) underLock(step func()) {
	h.handing.Lock()
	defer h.handing.Unlock()
	for {
		if h.idle() {
			runtime.Gosched()
		}
		if h.idle() && h.mu.TryLock() {
			step()
			h.mu.Unlock()
			return
		}
		s := &handedStep{run: step, done: make(chan struct{})}
		h.handed.Store(s)
		timer := time.NewTimer(processingIdle)
		select {
		case <-s.done:
			timer.Stop()
			s.rethrow()
			return
		case <-timer.C:
		}
		if !h.handed.CompareAndSwap(s, nil) {
			<-s.done // a call took it as the wait ended
			s.rethrow()
			return
		}
	}
}

// runHanded is called by ConsumeLogs while it holds mu, after its records:
// it runs the step a snapshot handed over, if any.
func (h *stepHandoff) runHanded() {
	h.lastCall.Store(int64(time.Since(clockStart)))
	s := h.handed.Swap(nil)
	if s == nil {
		return
	}
	defer close(s.done) // even if the step panics: the snapshot must not wait for ever
	defer func() {
		if r := recover(); r != nil {
			s.panicked = r
			panic(r)
		}
	}()
	s.run()
}

// rethrow panics with what the step panicked with in a call, if it did.
func (s *handedStep) rethrow() {
	if s.panicked != nil {
		panic(s.panicked)
	}
}
