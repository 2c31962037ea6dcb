package emailcompromiseprocessor

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
