package emailcompromiseprocessor

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSnapshotStepsRunInTheCallsWhileRecordsFlow: while calls follow one
// another, every step a snapshot needs runs inside a call, after its
// records, never on the snapshot's goroutine, so a call never waits for
// that goroutine to be scheduled.
func TestSnapshotStepsRunInTheCallsWhileRecordsFlow(t *testing.T) {
	var mu sync.Mutex
	h := &stepHandoff{mu: &mu}
	inCall := false // guarded by mu
	stop := make(chan struct{})
	var calls sync.WaitGroup
	calls.Add(1)
	go func() { // back-to-back ConsumeLogs calls
		defer calls.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			inCall = true
			processFor(20 * time.Microsecond)
			h.runHanded()
			inCall = false
			mu.Unlock()
		}
	}()
	for h.lastCall.Load() == 0 {
		runtime.Gosched() // until the calls have begun
	}
	const steps = 200
	ranInCall := 0
	for range steps {
		h.underLock(func() {
			if inCall {
				ranInCall++
			}
		})
	}
	close(stop)
	calls.Wait()
	// A step runs outside a call only when no call ended for
	// processingIdle (the calls' goroutine kept off its core that long).
	assert.GreaterOrEqual(t, ranInCall, steps*9/10, "steps run inside the calls")
}

// TestSnapshotStepsRunAtOnceWhenNoRecordsFlow: with no calls, a snapshot
// takes the lock itself and does not wait for one; a call that comes while
// no snapshot runs finds nothing to do.
func TestSnapshotStepsRunAtOnceWhenNoRecordsFlow(t *testing.T) {
	var mu sync.Mutex
	h := &stepHandoff{mu: &mu}
	ran := 0
	for range 1000 {
		h.underLock(func() { ran++ })
	}
	assert.Equal(t, 1000, ran)
	mu.Lock()
	h.runHanded()
	mu.Unlock()
	assert.Equal(t, 1000, ran)
	assert.Nil(t, h.handed.Load())
}

// TestSnapshotStepsWithCallsComingAndGoing: calls that pause now and then
// for longer than processingIdle while a snapshot runs: every step runs
// exactly once, under the lock, whether a call or the snapshot runs it,
// and the snapshot ends (run with -race).
func TestSnapshotStepsWithCallsComingAndGoing(t *testing.T) {
	var mu sync.Mutex
	h := &stepHandoff{mu: &mu}
	stop := make(chan struct{})
	var calls sync.WaitGroup
	calls.Add(1)
	go func() {
		defer calls.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			processFor(20 * time.Microsecond)
			h.runHanded()
			mu.Unlock()
			if i%50 == 0 {
				time.Sleep(processingIdle + time.Millisecond)
			}
		}
	}()
	for h.lastCall.Load() == 0 {
		runtime.Gosched() // until the calls have begun
	}
	runs := make([]int, 1000)
	for i := range runs {
		h.underLock(func() {
			if mu.TryLock() {
				mu.Unlock()
				t.Errorf("step %d ran without the lock held", i)
			}
			runs[i]++
		})
	}
	close(stop)
	calls.Wait()
	for i, n := range runs {
		if n != 1 {
			t.Fatalf("step %d ran %d times", i, n)
		}
	}
}

// processFor keeps the goroutine busy for d, as a call's records do.
func processFor(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// TestSnapshotStepsAfterTheLastCall: when calls stop just after a step
// was handed over (the pipeline went quiet, or is shutting down), the
// snapshot runs the step itself and goes on.
func TestSnapshotStepsAfterTheLastCall(t *testing.T) {
	var mu sync.Mutex
	h := &stepHandoff{mu: &mu}
	mu.Lock()
	h.runHanded() // a call that ends now, and no call after it
	mu.Unlock()
	ran := 0
	for range 10 {
		h.underLock(func() { ran++ })
	}
	assert.Equal(t, 10, ran)
}

// TestSnapshotStepsFromTwoCallers: two goroutines handing steps over at
// once (a snapshot and the expiry, say) each get every step run once.
func TestSnapshotStepsFromTwoCallers(t *testing.T) {
	var mu sync.Mutex
	h := &stepHandoff{mu: &mu}
	stop := make(chan struct{})
	var calls sync.WaitGroup
	calls.Add(1)
	go func() {
		defer calls.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			processFor(20 * time.Microsecond)
			h.runHanded()
			mu.Unlock()
		}
	}()
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
	close(stop)
	calls.Wait()
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
	var mu sync.Mutex
	h := &stepHandoff{mu: &mu}
	callPanics := make(chan any, 100)
	stop := make(chan struct{})
	var calls sync.WaitGroup
	calls.Add(1)
	go func() {
		defer calls.Done()
		call := func() {
			defer func() {
				if r := recover(); r != nil {
					callPanics <- r
				}
			}()
			mu.Lock()
			defer mu.Unlock()
			processFor(20 * time.Microsecond)
			h.runHanded()
		}
		for {
			select {
			case <-stop:
				return
			default:
				call()
			}
		}
	}()
	for h.lastCall.Load() == 0 {
		runtime.Gosched()
	}
	assert.PanicsWithValue(t, "broken step", func() { h.underLock(func() { panic("broken step") }) })
	ran := false
	h.underLock(func() { ran = true })
	assert.True(t, ran, "the lock was released")
	close(stop)
	calls.Wait()
	if len(callPanics) > 0 { // the step may also have run on the snapshot's goroutine
		assert.Equal(t, "broken step", <-callPanics)
	}
}
