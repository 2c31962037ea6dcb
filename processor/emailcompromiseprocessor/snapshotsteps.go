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
	// handed is the step waiting for the next call, nil when there is none.
	handed atomic.Pointer[handedStep]
	// lastCall is when the latest call ended, in Unix nanoseconds.
	lastCall atomic.Int64
}

type handedStep struct {
	run  func()
	done chan struct{}
}

// underLock runs step while mu is held: at the end of the next call when
// records are flowing, or at once under mu when they are not. It returns
// once step has run.
func (h *stepHandoff) underLock(step func()) {
	for {
		if time.Since(time.Unix(0, h.lastCall.Load())) > processingIdle {
			runtime.Gosched()
		}
		if time.Since(time.Unix(0, h.lastCall.Load())) > processingIdle && h.mu.TryLock() {
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
			return
		case <-timer.C:
		}
		if !h.handed.CompareAndSwap(s, nil) {
			<-s.done // a call took it as the wait ended
			return
		}
	}
}

// runHanded is called by ConsumeLogs while it holds mu, after its records:
// it runs the step a snapshot handed over, if any.
func (h *stepHandoff) runHanded() {
	if s := h.handed.Swap(nil); s != nil {
		s.run()
		close(s.done)
	}
	h.lastCall.Store(time.Now().UnixNano())
}
