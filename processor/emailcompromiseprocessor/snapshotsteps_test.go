package emailcompromiseprocessor

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCalls makes calls one after the other, as a pipeline's batches come,
// until the returned stop is called (which waits for the last). It returns
// once the first call has ended.
func runCalls(h *stepHandoff, call func(i int)) (stop func()) {
	done := make(chan struct{})
	var calls sync.WaitGroup
	calls.Add(1)
	go func() {
		defer calls.Done()
		for i := 1; ; i++ {
			select {
			case <-done:
				return
			default:
				call(i)
			}
		}
	}()
	for h.lastCall.Load() == 0 {
		runtime.Gosched()
	}
	return func() {
		close(done)
		calls.Wait()
	}
}

// batch is a ConsumeLogs call: the lock held for its records, then the
// step handed over.
func batch(h *stepHandoff) {
	h.mu.Lock()
	defer h.mu.Unlock()
	processFor(20 * time.Microsecond)
	h.runHanded()
}

// processFor keeps the goroutine busy for d, as a call's records do.
func processFor(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// TestSnapshotStepsRunInTheCallsWhileRecordsFlow: while calls follow one
// another, every step a snapshot needs runs inside a call, after its
// records, never on the snapshot's goroutine, so a call never waits for
// that goroutine to be scheduled.
func TestSnapshotStepsRunInTheCallsWhileRecordsFlow(t *testing.T) {
	h := &stepHandoff{mu: new(sync.Mutex)}
	inCall := false // guarded by mu
	stop := runCalls(h, func(int) {
		h.mu.Lock()
		defer h.mu.Unlock()
		inCall = true
		processFor(20 * time.Microsecond)
		h.runHanded()
		inCall = false
	})
	const steps = 200
	ranInCall := 0
	for range steps {
		h.underLock(func() {
			if inCall {
				ranInCall++
			}
		})
	}
	stop()
	// A step runs outside a call only when no call ended for
	// processingIdle (the calls' goroutine kept off its core that long).
	assert.GreaterOrEqual(t, ranInCall, steps*9/10, "steps run inside the calls")
}

// TestSnapshotStepsRunAtOnceWhenNoRecordsFlow: with no calls, a snapshot
// takes the lock itself and does not wait for one; a call that comes while
// no snapshot runs finds nothing to do.
func TestSnapshotStepsRunAtOnceWhenNoRecordsFlow(t *testing.T) {
	h := &stepHandoff{mu: new(sync.Mutex)}
	ran := 0
	for range 1000 {
		h.underLock(func() { ran++ })
	}
	assert.Equal(t, 1000, ran)
	batch(h)
	assert.Equal(t, 1000, ran)
	assert.Nil(t, h.handed.Load())
}

// TestSnapshotStepsAfterTheLastCall: when calls stop just after a step
// was handed over (the pipeline went quiet, or is shutting down), the
// snapshot runs the step itself and goes on.
func TestSnapshotStepsAfterTheLastCall(t *testing.T) {
	h := &stepHandoff{mu: new(sync.Mutex)}
	batch(h) // a call that ends now, and no call after it
	ran := 0
	for range 10 {
		h.underLock(func() { ran++ })
	}
	assert.Equal(t, 10, ran)
}

// TestSnapshotStepsWithCallsComingAndGoing: calls that pause now and then
// for longer than processingIdle while a snapshot runs: every step runs
// exactly once, under the lock, whether a call or the snapshot runs it,
// and the snapshot ends (run with -race).
func TestSnapshotStepsWithCallsComingAndGoing(t *testing.T) {
	h := &stepHandoff{mu: new(sync.Mutex)}
	stop := runCalls(h, func(i int) {
		batch(h)
		if i%50 == 0 {
			time.Sleep(processingIdle + time.Millisecond)
		}
	})
	runs := make([]int, 1000)
	for i := range runs {
		h.underLock(func() {
			if h.mu.TryLock() {
				h.mu.Unlock()
				t.Errorf("step %d ran without the lock held", i)
			}
			runs[i]++
		})
	}
	stop()
	for i, n := range runs {
		require.Equal(t, 1, n, "step %d", i)
	}
}

// TestSnapshotStepsFromTwoCallers: two goroutines handing steps over at
// once (a snapshot and the expiry, say) each get every step run once.
func TestSnapshotStepsFromTwoCallers(t *testing.T) {
	h := &stepHandoff{mu: new(sync.Mutex)}
	stop := runCalls(h, func(int) { batch(h) })
	runs := [2][300]int{}
	var callers sync.WaitGroup
	for c := range runs {
		callers.Add(1)
		go func() {
			defer callers.Done()
			for i := range runs[c] {
				h.underLock(func() { runs[c][i]++ })
			}
		}()
	}
	callers.Wait()
	stop()
	for c := range runs {
		for i, n := range runs[c] {
			require.Equal(t, 1, n, "caller %d, step %d", c, i)
		}
	}
}

// TestSnapshotStepPanickingInACall: a step that panics in the call running
// it panics there (the call releases the lock as it unwinds) and in the
// snapshot too, which does not wait for ever.
func TestSnapshotStepPanickingInACall(t *testing.T) {
	h := &stepHandoff{mu: new(sync.Mutex)}
	callPanics := make(chan any, 100)
	stop := runCalls(h, func(int) {
		defer func() {
			if r := recover(); r != nil {
				callPanics <- r
			}
		}()
		batch(h)
	})
	assert.PanicsWithValue(t, "broken step", func() { h.underLock(func() { panic("broken step") }) })
	ran := false
	h.underLock(func() { ran = true })
	assert.True(t, ran, "the lock was released")
	stop()
	if len(callPanics) > 0 { // the step may also have run on the snapshot's goroutine
		assert.Equal(t, "broken step", <-callPanics)
	}
}
